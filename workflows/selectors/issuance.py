"""Reads of the 发文 flow: who signs off, what the office 核稿 check reports."""

from __future__ import annotations

from documents.checker import check_gbt9704
from documents.models import OfficialDocument
from documents.rendering import render_docx
from documents.specs import provisional_spec
from oa.models import Agency, Person
from oa.refusals import Refusal
from oa.selectors.directory import may_sign_off, principals, responsible_leaders


def _first(people, what: str, agency: Agency) -> Person:
    person = next(iter(people), None)
    if person is None:
        raise Refusal("no_assignee", f"{agency.name}没有{what}，无法送审，请联系系统管理员维护角色。", status=409)
    return person


def choose_signer(document: OfficialDocument) -> Person:
    """签发人: 上行文 and 重要公文 → 主要负责人 (条例 第二十二条); otherwise the drafting department's 分管领导 when
    the agency's rule lets deputies sign, else the 主要负责人."""
    agency = document.agency
    if not (document.is_upward or document.is_important) and document.department_id:
        for leader in responsible_leaders(document.department):
            if may_sign_off(leader, agency, upward=False, important=False, department=document.department):
                return leader
    return _first(principals(agency), "主要负责人", agency)


def preview_check(document: OfficialDocument) -> list:
    """办公室核稿: the GB/T 9704 checker on the draft as it would be typeset (with a provisional 文号)."""
    spec = provisional_spec(document)
    return check_gbt9704(render_docx(spec), upward=spec.upward)
