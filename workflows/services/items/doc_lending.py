"""公文借阅 (docs/services.md): borrow an ARCHIVED 公文 of the 主管部门's agency by its 文号 for 1–10 working days.
Approval grants read access (grants.py) to that document only — no DocumentAccess row, so nothing outlives the
loan; every read is audited; the scheduler expires it and later reads are refused. 涉密 documents are refused."""

from __future__ import annotations

from typing import Any

from django import forms

from documents.models import ArchivePackage, OfficialDocument
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
from workflows.services.items.records import AccessGrant

KEY = "doc_lending"
MAX_DAYS = 10


def _fields(item, applicant: Person | None, amending: bool) -> dict[str, forms.Field]:
    return {
        "doc_number": forms.CharField(label="借阅公文的文号", max_length=60,
                                      help_text=f"{item.department.agency.name}已归档的公文，如 揭东府办〔2026〕3号"),
        "days": forms.TypedChoiceField(label="借阅期限", coerce=int, choices=[
            (n, f"{n} 个工作日") for n in range(1, MAX_DAYS + 1)], help_text="批准后起算，到期自动收回"),
        "purpose": forms.CharField(label="借阅事由", max_length=500, widget=forms.Textarea(attrs={"rows": 3})),
    }


def _clean(applicant: Person, item, values: dict[str, Any], application_id: int | None) -> dict[str, Any]:
    number = clean_text(values.get("doc_number"), "文号", required=True)[:60]
    agency = item.department.agency
    document = (OfficialDocument.objects.filter(agency=agency, doc_number=number,
                                                status=OfficialDocument.Status.ARCHIVED)
                .filter(pk__in=ArchivePackage.objects.values("document_id")).first())
    if document is None:
        raise Refusal("lending_document_unknown", f"{agency.name}没有文号为“{number}”的已归档公文，请核对文号。")
    if document.secrecy:
        raise Refusal("lending_classified", "涉密公文不能通过协同办公平台借阅，请按保密规定到机要室办理。", status=403)
    days = values.get("days")
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise Refusal("access_days_invalid", f"借阅期限须为 1～{MAX_DAYS} 个工作日。")
    purpose = clean_text(values.get("purpose"), "借阅事由", required=True)
    live = AccessGrant.objects.filter(reader=applicant, document=document, state=AccessGrant.State.ACTIVE).first()
    if live is not None:
        raise Refusal("lending_already_granted", f"您已借阅该公文（至{until_text(live.valid_until)}），无需重复申请。",
                      status=409)
    if open_applications(applicant, KEY, application_id).filter(form__document_id=document.pk).exists():
        raise Refusal("lending_pending", "您借阅该公文的申请正在办理中，请勿重复申请。", status=409)
    return {"document_id": document.pk, "doc_number": document.doc_number, "title": document.title, "days": days,
            "purpose": purpose}


def _finish(application) -> str:
    form = application.form
    document = OfficialDocument.objects.get(pk=form["document_id"])
    grant = do_grant_access(application, what=f"《{document.title}》（{document.doc_number}）", days=form["days"],
                            document=document)
    return f"准予借阅至{until_text(grant.valid_until)}，到期自动收回"


DEMO = dict(
    code="doc_lending", name="公文借阅", handler=KEY, department="机要室", intake_role="clerk", time_limit_days=2,
    result_type="approval", legal_basis="《党政机关公文处理工作条例》第二十五条至第二十七条；区府办档案利用制度。",
    guide="填写已归档公文的文号和借阅期限，经所在部门负责人审核后在期限内网上阅读；到期自动收回，每次阅读记入审计日志。"
          "涉密公文不在平台借阅。",
    materials="姓名：通讯录\n部门：通讯录", route="部门负责人审核：部门负责人@申请人部门")


HANDLER = register_handler(ServiceHandler(
    key=KEY, label="公文借阅", fields=_fields, clean=_clean, finish=_finish, detail=grant_detail,
    template="services/items/access_grant.html", result_types=("approval",),
    labels={"doc_number": "文号", "title": "标题", "days": "借阅期限（工作日）", "purpose": "借阅事由"},
    refusal_fields={"lending_document_unknown": "doc_number", "lending_classified": "doc_number",
                    "lending_already_granted": "doc_number", "lending_pending": "doc_number",
                    "access_days_invalid": "days", "field_required": "purpose", "field_too_long": "purpose"},
    initial=lambda form: {"doc_number": form.get("doc_number"), "days": form.get("days"),
                          "purpose": form.get("purpose")},
    demo=DEMO,
))
