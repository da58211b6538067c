"""The catalogue's data language (docs/services.md 如何不写代码新增事项): what an administrator types for an item's
route and materials, parsed with every error named by its line, and checked against the directory when saved.

审批路线, one stage per line; several steps on a line separated by ``|`` run in parallel (协作联办)::

    部门负责人审核：部门负责人@申请人部门
    人事复核：部门负责人@主管部门 | 分管领导审批：分管领导@主管机关

申请材料, one per line: ``名称：来源`` where 来源 is 通讯录, 人事数据, 前序结果 (``前序结果：事项编码``) or 上传.
A 通讯录 / 人事数据 material must be a field the system knows (PREFILL_FIELDS): it is filled in, never asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oa.models import Role

SCOPES = {"申请人部门": "applicant_dept", "主管部门": "competent_dept", "主管机关": "competent_agency"}
SCOPE_LABELS = {v: k for k, v in SCOPES.items()}
SOURCES = {"通讯录": "directory", "人事数据": "hr", "前序结果": "previous", "上传": "upload"}
SOURCE_LABELS = {v: k for k, v in SOURCES.items()}
# Roles a route may name: the working roles, never the three administrators (三员分立).
ROUTE_ROLES = {label: value for value, label in Role.choices if value not in ("sysadmin", "secadmin", "auditadmin")}
ROLE_LABELS = {v: k for k, v in ROUTE_ROLES.items()}

# What the system fills in by itself: key → (label, source). Values come from selectors.prefill_for.
PREFILL_FIELDS = {
    "name": ("姓名", "directory"),
    "agency": ("机关", "directory"),
    "department": ("部门", "directory"),
    "post": ("职务", "directory"),
    "hire_date": ("入职日期", "hr"),
    "grade": ("职级", "hr"),
    "income_band": ("收入档次", "hr"),
    "annual_income": ("年收入", "hr"),
    "leave_balance": ("年休假余额", "hr"),
}
PREFILL_BY_LABEL = {(label, source): key for key, (label, source) in PREFILL_FIELDS.items()}
MAX_LINES = 20
_SEP = re.compile(r"[|｜]")
_COLON = re.compile(r"[:：]")


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"第 {self.line} 行：{self.message}"


class CatalogueError(Exception):
    def __init__(self, errors: list[LineError]) -> None:
        super().__init__("；".join(str(e) for e in errors))
        self.errors = errors


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate((text or "").splitlines(), start=1) if line.strip()]


def parse_route(text: str) -> list[list[dict[str, str]]]:
    """The route text → stages of steps ``{"title", "role", "scope"}``; CatalogueError lists every bad line."""
    errors: list[LineError] = []
    stages = []
    lines = _lines(text)
    if len(lines) > MAX_LINES:
        raise CatalogueError([LineError(lines[MAX_LINES][0], f"审批路线最多 {MAX_LINES} 个环节")])
    for number, line in lines:
        stage = []
        for part in _SEP.split(line):
            bits = _COLON.split(part.strip(), maxsplit=1)
            if len(bits) != 2 or "@" not in bits[1]:
                errors.append(LineError(number, f"“{part.strip()}”应写成“环节名称：岗位@范围”"))
                continue
            title, (role_label, _, scope_label) = bits[0].strip(), bits[1].strip().partition("@")
            role, scope = ROUTE_ROLES.get(role_label.strip()), SCOPES.get(scope_label.strip())
            if not title or len(title) > 30:
                errors.append(LineError(number, "环节名称不能为空，且不超过 30 字"))
            if role is None:
                errors.append(LineError(number, f"没有“{role_label.strip()}”这个岗位（可用：{'、'.join(ROUTE_ROLES)}）"))
            if scope is None:
                errors.append(LineError(number, f"没有“{scope_label.strip()}”这个范围（可用：{'、'.join(SCOPES)}）"))
            if title and role and scope:
                stage.append({"title": title, "role": role, "scope": scope})
        if stage:
            stages.append(stage)
    if errors:
        raise CatalogueError(errors)
    return stages


def format_route(route: list[list[dict[str, str]]]) -> str:
    return "\n".join(" | ".join(f"{s['title']}：{ROLE_LABELS.get(s['role'], s['role'])}@{SCOPE_LABELS[s['scope']]}"
                                for s in stage) for stage in route)


def parse_materials(text: str, known_codes: set[str] | None = None) -> list[dict[str, str]]:
    errors: list[LineError] = []
    materials = []
    for number, line in _lines(text):
        bits = _COLON.split(line, maxsplit=1)
        if len(bits) != 2:
            errors.append(LineError(number, f"“{line}”应写成“材料名称：来源”"))
            continue
        name, source_text = bits[0].strip(), bits[1].strip()
        ref = ""
        if source_text.startswith("前序结果"):
            source_text, _, ref = source_text.partition("@")
        source = SOURCES.get(source_text.strip())
        if source is None:
            errors.append(LineError(number, f"来源“{source_text}”应为 通讯录、人事数据、前序结果@事项编码 或 上传"))
            continue
        if not name or len(name) > 30:
            errors.append(LineError(number, "材料名称不能为空，且不超过 30 字"))
            continue
        field = ""
        if source in ("directory", "hr"):
            field = PREFILL_BY_LABEL.get((name, source), "")
            if not field:
                known = "、".join(label for label, src in PREFILL_FIELDS.values() if src == source)
                errors.append(LineError(number, f"{SOURCE_LABELS[source]}中没有“{name}”（可用：{known}）"))
                continue
        if source == "previous":
            ref = ref.strip()
            if not ref or (known_codes is not None and ref not in known_codes):
                errors.append(LineError(number, f"前序结果须写成“前序结果@事项编码”，且该事项存在（“{ref}”不存在）"))
                continue
        materials.append({"name": name, "source": source, "field": field or ref})
    if errors:
        raise CatalogueError(errors)
    return materials


def format_materials(materials: list[dict[str, str]]) -> str:
    lines = []
    for m in materials:
        source = SOURCE_LABELS[m["source"]]
        lines.append(f"{m['name']}：{source}@{m['field']}" if m["source"] == "previous" else f"{m['name']}：{source}")
    return "\n".join(lines)
