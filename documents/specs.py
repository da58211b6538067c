"""From the 公文 record to the renderer's DocumentSpec (the only place that knows both)."""

from __future__ import annotations

from django.utils import timezone

from documents.body import body_to_blocks
from documents.models import Layout, OfficialDocument
from documents.numbering import format_doc_number
from documents.rendering.spec import DocumentSpec
from documents.rendering.text import clean_spec
from documents.rendering.titles import TitleBreakError
from oa.models import Agency
from oa.refusals import Refusal

GOVERNMENT_SUFFIX = "人民政府"


def title_terms() -> tuple[str, ...]:
    """Names a 标题 never breaks inside (§7.3.1): every agency's 全称 and 规范化简称 in the directory, and the region
    names in front of the governments' names (「揭阳市揭东区」 of 「揭阳市揭东区人民政府」)."""
    terms: set[str] = set()
    for name, short in Agency.objects.values_list("name", "short_name"):
        terms.update(t for t in (name, short) if len(t) > 1)
        region = name.removesuffix(GOVERNMENT_SUFFIX)
        if region != name and len(region) > 1:
            terms.add(region)
    return tuple(sorted(terms))


def _issuer_mark(doc: OfficialDocument) -> str:
    mark = doc.issuer_mark or f"{doc.agency.name}文件"
    if doc.layout == Layout.LETTER:
        # §10.1: 信函 uses the agency's name alone, without "文件".
        return mark.removesuffix("文件")
    if doc.layout == Layout.MINUTES and not mark.endswith("纪要"):
        return f"{mark.removesuffix('文件')}纪要"
    return mark


def spec_from_document(doc: OfficialDocument) -> DocumentSpec:
    """Every 要素 the renderer prints; refuses (Refusal) when one the standard requires is missing."""
    missing = []
    if doc.current_body is None:
        missing.append("正文")
    if doc.written_date is None:
        missing.append("成文日期")
    if doc.layout != Layout.MINUTES and not doc.doc_number:
        missing.append("发文字号")
    if doc.is_upward and not doc.signers:
        missing.append("签发人（上行文应当标注）")
    if missing:
        raise Refusal("elements_missing", f"排版前须具备：{'、'.join(missing)}")
    co_agencies = [c.agency for c in doc.coissuer_set.select_related("agency").order_by("position", "id")]
    joint = bool(co_agencies) and doc.layout == Layout.STANDARD
    try:
        # Cleaned inside the try: a 要素 that is nothing but control characters is refused here, not in the renderer.
        spec = clean_spec(DocumentSpec(
            issuer_mark=_issuer_mark(doc),
            doc_number=doc.doc_number,
            title=doc.title,
            main_recipients=list(doc.main_recipients),
            body=body_to_blocks(doc.current_body.content),
            signature=doc.signature or doc.agency.name,
            date=doc.written_date,
            upward=doc.is_upward,
            signers=list(doc.signers),
            attachments=list(doc.attachment_note),
            notes=doc.notes,
            cc=list(doc.cc),
            printing_org=doc.printing_org,
            printing_date=doc.printing_date or doc.written_date,
            layout=doc.layout,
            sealed=doc.seal_required,
            copy_number=doc.copy_number,
            secrecy=doc.get_secrecy_display() if doc.secrecy else "",
            secrecy_period=doc.secrecy_period,
            urgency=doc.get_urgency_display() if doc.urgency else "",
            issuer_names=[doc.agency.name, *(a.name for a in co_agencies)] if joint else [],
            co_signatures=[a.name for a in co_agencies] if joint else [],
            title_terms=title_terms(),
        ))
    except ValueError as exc:  # the spec's own validation, already in Chinese
        raise Refusal("elements_invalid", str(exc)) from None
    try:
        spec.title_lines()  # 标题回行 (§7.3.1): refused before anything is typeset
    except TitleBreakError as exc:
        raise Refusal("title_unbreakable", str(exc)) from None
    return spec


def provisional_spec(document: OfficialDocument) -> DocumentSpec:
    """The spec as it would be typeset now, with a provisional 文号, today's date and a 签发人 stand-in where they
    are not known yet (办公室核稿 checks the format before 签发 and 登记). Nothing is saved."""
    probe = OfficialDocument.objects.select_related("agency", "current_body").get(pk=document.pk)
    if not probe.doc_number:
        probe.doc_number = format_doc_number(probe.agency.doc_code, timezone.localdate().year, 1)
    if probe.written_date is None:
        probe.written_date = timezone.localdate()
    if probe.is_upward and not probe.signers:
        probe.signers = ["（签发人）"]
    return spec_from_document(probe)
