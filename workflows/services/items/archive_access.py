"""干部人事档案查阅 (docs/services.md): apply to read a named cadre's 档案 for 1–5 working days; approval grants
time-limited access (grants.py) that expires by itself; every read audited; one's own file is never granted
(《干部人事档案工作条例》: 不得查阅本人及其亲属的档案)."""

from __future__ import annotations

from typing import Any

from django import forms

from oa.models import Person
from oa.refusals import Refusal
from workflows.services.handlers import ServiceHandler, register_handler
from workflows.services.items.grants import (
    clean_text,
    do_grant_access,
    grant_detail,
    open_applications,
    until_text,
)
from workflows.services.items.records import AccessGrant, PersonnelFile

KEY = "personnel_archive"
MAX_DAYS = 5


def _files(item) -> Any:
    return PersonnelFile.objects.filter(agency=item.department.agency).select_related("person").order_by(
        "file_number")


def _fields(item, applicant: Person | None, amending: bool) -> dict[str, forms.Field]:
    choices = [("", "请选择")] + [(f.pk, f"{f.person.name}（档号 {f.file_number}）") for f in _files(item)
                                 if applicant is None or f.person_id != applicant.pk]
    return {
        "target": forms.TypedChoiceField(label="查阅谁的档案", coerce=int, choices=choices),
        "days": forms.TypedChoiceField(label="查阅期限", coerce=int, choices=[
            (n, f"{n} 个工作日") for n in range(1, MAX_DAYS + 1)], help_text="批准后起算，到期自动收回"),
        "purpose": forms.CharField(label="查阅事由", max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                                   help_text="如：干部考察、政审、职级晋升审核"),
    }


def _clean(applicant: Person, item, values: dict[str, Any], application_id: int | None) -> dict[str, Any]:
    file = _files(item).filter(pk=values.get("target")).first() if values.get("target") else None
    if file is None:
        raise Refusal("archive_target_invalid", "请选择要查阅档案的干部。")
    if file.person_id == applicant.pk:
        raise Refusal("archive_own_file", "按《干部人事档案工作条例》，不得查阅本人的档案。", status=403)
    days = values.get("days")
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise Refusal("access_days_invalid", f"查阅期限须为 1～{MAX_DAYS} 个工作日。")
    purpose = clean_text(values.get("purpose"), "查阅事由", required=True)
    live = AccessGrant.objects.filter(reader=applicant, personnel_file=file, state=AccessGrant.State.ACTIVE).first()
    if live is not None:
        raise Refusal("archive_already_granted", f"您已有{file.person.name}档案的查阅权限（至{until_text(live.valid_until)}），"
                                                 "无需重复申请。", status=409)
    if open_applications(applicant, KEY, application_id).filter(form__target_id=file.pk).exists():
        raise Refusal("archive_pending", f"您查阅{file.person.name}档案的申请正在办理中，请勿重复申请。", status=409)
    return {"target_id": file.pk, "target": file.person.name, "file_number": file.file_number, "days": days,
            "purpose": purpose}


def _finish(application) -> str:
    form = application.form
    file = PersonnelFile.objects.select_related("person").get(pk=form["target_id"])
    grant = do_grant_access(application, what=f"{file.person.name}的干部人事档案", days=form["days"],
                            personnel_file=file)
    return f"准予查阅{file.person.name}的干部人事档案至{until_text(grant.valid_until)}，到期自动收回"


DEMO = dict(
    code="personnel_archive", name="干部人事档案查阅", handler=KEY, department="综合科", intake_role="dept_head",
    time_limit_days=3, result_type="approval", eligible_roles=["dept_head", "principal", "deputy_leader"],
    legal_basis="《干部人事档案工作条例》（2018 年）第五章 档案利用：查阅须经审批，不得查阅本人及亲属档案。",
    guide="选择要查阅的干部和期限，经综合科受理、分管领导批准后，在期限内网上查阅；到期自动收回，每次查阅记入审计日志。",
    materials="姓名：通讯录\n部门：通讯录\n职务：通讯录", route="分管领导审批：分管领导@主管部门")

DEMO_FILES = {
    "zhangwei": ("JD-GB-2016-017", [("履历材料", "2016年7月参加工作，任区府办秘书科科员。"),
                                    ("考核材料", "2023—2025 年度考核均为称职。"),
                                    ("学历学位材料", "大学本科，法学学士。")]),
    "gaojun": ("JD-GB-2021-032", [("履历材料", "2021年9月参加工作，任区府办综合科科员。"),
                                  ("考核材料", "2022—2025 年度考核均为称职。")]),
    "lina": ("JD-GB-2009-005", [("履历材料", "2009年8月参加工作，2019年起任区府办秘书科科长。"),
                                ("奖惩材料", "2022 年度嘉奖一次。")]),
}


def seed_demo(office) -> int:
    """The demo 档案 of three 区府办 people (idempotent, by person)."""
    count = 0
    for username, (number, sections) in DEMO_FILES.items():
        person = Person.objects.filter(username=username).first()
        if person is None:
            continue
        PersonnelFile.objects.update_or_create(person=person, defaults={
            "agency": office, "file_number": number,
            "sections": [{"title": t, "content": c} for t, c in sections]})
        count += 1
    return count


HANDLER = register_handler(ServiceHandler(
    key=KEY, label="干部人事档案查阅", fields=_fields, clean=_clean, finish=_finish, detail=grant_detail,
    template="services/items/access_grant.html", result_types=("approval",),
    labels={"target": "查阅对象", "file_number": "档号", "days": "查阅期限（工作日）", "purpose": "查阅事由"},
    refusal_fields={"archive_target_invalid": "target", "archive_own_file": "target",
                    "archive_already_granted": "target", "archive_pending": "target", "access_days_invalid": "days",
                    "field_required": "purpose", "field_too_long": "purpose", "control_chars": "purpose"},
    initial=lambda form: {"target": form.get("target_id"), "days": form.get("days"), "purpose": form.get("purpose")},
    demo=DEMO, seed=seed_demo,
))
