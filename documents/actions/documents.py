"""Writes to the 公文 record itself: create, change 要素, grant access. Flow-agnostic."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from documents.actions.search import do_index_document
from documents.models import (
    UPWARD_DOC_TYPES,
    CoIssuer,
    DocNumberSeries,
    DocType,
    DocumentAccess,
    Layout,
    OfficialDocument,
    Publicity,
    Secrecy,
    Urgency,
)
from documents.rendering.spec import MAX_CC_CHARS
from documents.secrecy import refuse_classified_draft
from documents.selectors.documents import can_edit_document
from documents.validators import CONTROL_CHARS_CODE, CONTROL_CHARS_MESSAGE, has_control_chars
from oa.actions.audit import Write, do_record_audit
from oa.models import Agency, Department, Person
from oa.refusals import Refusal
from oa.sqlwrites import upsert_statement

# 要素 a person may set through the 要素 form (status, identifiers, outputs are set by actions only).
EDITABLE_FIELDS = (
    "doc_type", "layout", "title", "is_upward", "is_important", "publicity", "copy_number", "secrecy",
    "secrecy_period", "urgency", "issuer_mark", "signers", "main_recipients", "attachment_note", "signature",
    "written_date", "seal_required", "notes", "cc", "printing_org", "printing_date",
    "attendees", "absentees", "observers", "number_series",
)
LIST_FIELDS = ("signers", "main_recipients", "attachment_note", "cc", "attendees", "absentees", "observers")
ATTENDANCE_FIELDS = ("attendees", "absentees", "observers")  # 出席、请假、列席 (纪要, GB/T 9704 §10.3)
COPY_NUMBER_RE = re.compile(r"[0-9]{6}")  # 份号: 6 位阿拉伯数字 (GB/T 9704 §7.2.1); ASCII digits only
MAX_NAME_CHARS = 200  # one name in a list 要素 (an agency's full name is far shorter)


def default_issuer_mark(agency: Agency) -> str:
    """发文机关标志: 全称 + "文件" (GB/T 9704 §7.2.4)."""
    return f"{agency.name}文件"


def _label(field: str) -> str:
    return str(OfficialDocument._meta.get_field(field).verbose_name)


def _check_text(field: str, value: Any) -> None:
    """Text a renderer will print: no control/bidi characters, within the column's length (else a 500 later)."""
    if has_control_chars(value):
        raise Refusal(CONTROL_CHARS_CODE, f"“{_label(field)}”{CONTROL_CHARS_MESSAGE}")
    if field in LIST_FIELDS:
        if any(len(v) > MAX_NAME_CHARS for v in value):
            raise Refusal("name_too_long", f"“{_label(field)}”中每个名称不能超过{MAX_NAME_CHARS}字")
        if field == "cc" and len("，".join(value)) > MAX_CC_CHARS:
            raise Refusal("cc_too_long", f"抄送机关合计不能超过{MAX_CC_CHARS}字（版记须排在一页内），"
                                               "请精简或改用“各……”统称")
        return
    limit = getattr(OfficialDocument._meta.get_field(field), "max_length", None)
    if isinstance(value, str) and limit and len(value) > limit:
        raise Refusal("text_too_long", f"“{_label(field)}”不能超过{limit}字")


def _clean(field: str, value: Any) -> Any:
    """Validate one 要素; raise Refusal with the field's own message."""
    if field in LIST_FIELDS:
        if isinstance(value, str):
            value = [v.strip() for v in value.replace("，", ",").replace("、", ",").split(",")]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Refusal("invalid_field", f"{field} 须为名称列表")
        value = [v.strip() for v in value if v.strip()]
        _check_text(field, value)
        return value
    if isinstance(value, str) and has_control_chars(value):
        raise Refusal(CONTROL_CHARS_CODE, f"“{_label(field)}”{CONTROL_CHARS_MESSAGE}")
    if field == "title":
        value = (value or "").strip()
        if not value:
            raise Refusal("title_required", "标题不能为空")
        if len(value) > 300:
            raise Refusal("title_too_long", "标题不能超过300字")
        return value
    if field == "doc_type" and value not in DocType.values:
        raise Refusal("invalid_doc_type", "文种须为条例规定的15种之一")
    if field == "layout" and value not in Layout.values:
        raise Refusal("invalid_layout", "版式须为文件格式、信函格式或纪要格式")
    if field == "publicity" and value not in Publicity.values:
        raise Refusal("invalid_publicity", "发布层次无效")
    if field == "secrecy" and value not in Secrecy.values:
        raise Refusal("invalid_secrecy", "密级须为秘密、机密、绝密或留空")
    if field == "secrecy":
        refuse_classified_draft(value)  # 非涉密 only (docs/security.md §12)
    if field == "urgency" and value not in Urgency.values:
        raise Refusal("invalid_urgency", "紧急程度须为特急、加急或留空")
    if field == "copy_number":
        value = (value or "").strip() if isinstance(value, str) else value
        if value and not (isinstance(value, str) and COPY_NUMBER_RE.fullmatch(value)):
            raise Refusal("invalid_copy_number", "份号须为6位阿拉伯数字（如 000001，不足6位前面补0）")
        return value or ""
    if field == "number_series":
        if value in (None, ""):
            return None
        if isinstance(value, DocNumberSeries):
            return value
        row = DocNumberSeries.objects.filter(pk=value).first() if str(value).isdigit() else None
        if row is None:
            raise Refusal("invalid_number_series", "文号序列不存在")
        return row
    if field in ("written_date", "printing_date") and value not in (None, ""):
        if isinstance(value, str):
            try:
                value = datetime.date.fromisoformat(value)
            except ValueError:
                raise Refusal("invalid_date", "日期格式须为 YYYY-MM-DD") from None
        return value
    if field in ("written_date", "printing_date"):
        return None
    if field in ("is_upward", "is_important", "seal_required"):
        return bool(value)
    value = value.strip() if isinstance(value, str) else value
    _check_text(field, value)
    return value


def refuse_unbreakable_title(title: str) -> None:
    """标题回行 (GB/T 9704 §7.3.1) checked when the title is written, not first at 核稿/套红: a title that
    ``break_title`` cannot set within three lines without splitting a word or a 机关名称 (the directory's names,
    ``documents.specs.title_terms``) is refused with the same message the typesetter would give."""
    from documents.rendering.titles import (  # jieba loads only when a title is checked
        TitleBreakError,
        break_title,
    )
    from documents.specs import title_terms

    try:
        break_title(title, protected_terms=title_terms())
    except TitleBreakError as exc:
        raise Refusal("title_unbreakable", str(exc)) from None


def _check_consistency(doc: OfficialDocument) -> None:
    if doc.secrecy and not doc.copy_number:
        # 涉密公文应当标注份号 (GB/T 9704 §7.2.1).
        raise Refusal("copy_number_required", "涉密公文应当标注份号")
    if doc.secrecy_period and not doc.secrecy:
        raise Refusal("secrecy_period_without_level", "标注保密期限时须同时标注密级")
    if doc.doc_type == DocType.MINUTES and doc.layout != Layout.MINUTES:
        doc.layout = Layout.MINUTES
    if doc.doc_type == DocType.MINUTES:
        doc.seal_required = False  # 纪要不加盖印章 (GB/T 9704 §10.3)
    if doc.doc_type != DocType.MINUTES and any(getattr(doc, f) for f in ATTENDANCE_FIELDS):
        raise Refusal("attendance_only_minutes", "出席、请假、列席人员只用于纪要，请清空或将文种改为纪要")
    series = doc.number_series
    if series is not None:
        if series.agency_id != doc.agency_id or not series.is_active:
            raise Refusal("invalid_number_series", "只能选择本机关在用的文号序列")
        if doc.doc_type not in (series.doc_types or []):
            raise Refusal("invalid_number_series",
                          f"文号序列“{series.name}”不用于{DocType(doc.doc_type).label}，请另选或留空")


def _refuse_cc_overlap(doc: OfficialDocument) -> None:
    """抄送 is for bodies that are not 主送: the same body in both lists (same name, or one directory agency by
    全称 and 简称) is refused with the 抄送 name, and nothing changes."""
    main, cc = list(doc.main_recipients or []), list(doc.cc or [])
    if not main or not cc:
        return
    same = next((name for name in cc if name in main), None)
    if same is None:
        listed = main + cc
        for agency in Agency.objects.filter(Q(name__in=listed) | Q(short_name__in=listed)):
            names = {agency.name, agency.short_name} - {""}
            if names & set(main) and names & set(cc):
                same = next(name for name in cc if name in names)
                break
    if same is not None:
        raise Refusal("cc_overlaps_main", f"“{same}”已是主送机关，不能同时抄送，请从抄送机关中删去。")


@transaction.atomic
def do_create_document(
    *,
    actor: Person,
    agency: Agency,
    title: str,
    doc_type: str = DocType.NOTICE,
    department: Department | None = None,
    direction: str = OfficialDocument.direction.field.default,
    **fields: Any,
) -> OfficialDocument:
    doc = OfficialDocument(agency=agency, department=department, created_by=actor, direction=direction)
    doc.title = _clean("title", title)
    refuse_unbreakable_title(doc.title)
    doc.doc_type = _clean("doc_type", doc_type)
    doc.is_upward = doc.doc_type in UPWARD_DOC_TYPES
    for name, value in fields.items():
        if name not in EDITABLE_FIELDS:
            raise Refusal("unknown_field", f"不能设置字段 {name}")
        setattr(doc, name, _clean(name, value))
    doc.issuer_mark = doc.issuer_mark or default_issuer_mark(agency)
    doc.signature = doc.signature or agency.name
    doc.printing_org = doc.printing_org or agency.name
    _check_consistency(doc)
    _refuse_cc_overlap(doc)
    doc.save()
    do_index_document(doc)
    do_record_audit(
        actor=actor, action="document.create", obj=doc,
        changes={"title": doc.title, "doc_type": doc.doc_type, "agency": agency.name},
    )
    return doc


@transaction.atomic
def check_update_document(actor: Person, document: OfficialDocument, changes: dict[str, Any],
                          *, allowed: frozenset[str] | None = None) -> OfficialDocument:
    """Change 要素. ``allowed`` narrows the fields (a flow step passes its field permissions)."""
    doc = OfficialDocument.objects.select_for_update().get(pk=document.pk)
    if not can_edit_document(actor, doc):
        raise Refusal("not_editable", "当前环节您不能修改此公文", status=403)
    diff: dict[str, list[Any]] = {}
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS or (allowed is not None and name not in allowed):
            raise Refusal("field_not_allowed", f"当前环节不允许修改“{OfficialDocument._meta.get_field(name).verbose_name if name in EDITABLE_FIELDS else name}”", status=403)
        new = _clean(name, value)
        old = getattr(doc, name)
        if new != old:
            diff[name] = [str(old) if old is not None else None, str(new) if new is not None else None] \
                if name == "number_series" else [old, new]
            setattr(doc, name, new)
    if "title" in diff:  # only a changed title: an older record's other 要素 stay editable
        refuse_unbreakable_title(doc.title)
    _check_consistency(doc)
    if "cc" in diff or "main_recipients" in diff:
        _refuse_cc_overlap(doc)
    if diff:
        doc.save()
        if "title" in diff:
            do_index_document(doc)
        do_record_audit(actor=actor, action="document.update", obj=doc, changes=diff)
    return doc


def do_grant_document_access(document: OfficialDocument, person: Person, *, reason: str = DocumentAccess.Reason.PARTICIPANT,
                             can_edit: bool = False) -> DocumentAccess:
    """Flows call this when they hand the document to someone (inside their own transaction)."""
    grant, created = DocumentAccess.objects.get_or_create(
        document=document, person=person, defaults={"reason": reason, "can_edit": can_edit}
    )
    if not created and grant.can_edit != can_edit:
        grant.can_edit = can_edit
        grant.save(update_fields=["can_edit"])
    return grant


def document_access_statement(document: OfficialDocument, person: Person, *,
                              reason: str = DocumentAccess.Reason.PARTICIPANT, can_edit: bool = False) -> Write:
    """do_grant_document_access as one unsent statement (an upsert on the (document, person) constraint), for the
    ``also`` of the audit append of the same act: a new grant as there, or only ``can_edit`` of the existing one."""
    grant = DocumentAccess(document_id=document.pk, person_id=person.pk, reason=reason, can_edit=can_edit,
                           granted_at=timezone.now())
    return upsert_statement(grant, conflict=["document", "person"], update=["can_edit"])


def do_set_document_status(document: OfficialDocument, status: str, *, actor: Person) -> None:
    if status not in OfficialDocument.Status.values:
        raise Refusal("invalid_status", "无效的公文状态")
    old = document.status
    OfficialDocument.objects.filter(pk=document.pk).update(status=status)
    document.status = status
    do_record_audit(actor=actor, action="document.status", obj=document, changes={"status": [old, status]})


def do_record_signoff(document: OfficialDocument, *, signer_name: str, signed_on: datetime.date, actor: Person) -> None:
    """签发: the 签发人 joins the 签发人 要素 and the signing date becomes the 成文日期; status 已签发.
    The flow audits the act itself (issuance.signoff, with opinion and 代签)."""
    names = list(document.signers)
    if signer_name not in names:
        names.append(signer_name)
    OfficialDocument.objects.filter(pk=document.pk).update(signers=names, written_date=signed_on)
    document.signers, document.written_date = names, signed_on
    do_set_document_status(document, OfficialDocument.Status.SIGNED, actor=actor)


def do_set_co_issuers(document: OfficialDocument, agencies: list[Agency], *, actor: Person) -> None:
    """联合行文: the other agencies in order (the lead agency is ``document.agency``; its 文号 is used)."""
    if any(a.pk == document.agency_id for a in agencies):
        raise Refusal("coissuer_is_lead", "联合行文机关不能包含主办机关")
    CoIssuer.objects.filter(document=document).delete()
    CoIssuer.objects.bulk_create(
        [CoIssuer(document=document, agency=a, position=i) for i, a in enumerate(agencies, start=1)]
    )
    do_record_audit(actor=actor, action="document.co_issuers", obj=document,
                    changes={"co_issuers": [a.name for a in agencies]})
