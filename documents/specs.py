"""From the 公文 record to the renderer's DocumentSpec (the only place that knows both)."""

from __future__ import annotations

import hashlib
import io

from django.utils import timezone

from documents.body import body_to_blocks
from documents.models import Attachment, Layout, OfficialDocument
from documents.numbering import format_doc_number, render_series_number
from documents.rendering.libreoffice import ConversionError, office_to_pdf, soffice_available
from documents.rendering.merge import AttachmentPdfError, pdf_page_count
from documents.rendering.spec import AttachmentPage, BodyBlock, DocumentSpec
from documents.rendering.text import clean_spec
from documents.rendering.titles import TitleBreakError
from documents.secrecy import refuse_classified
from documents.selectors.numbering import series_for_document
from documents.uploads import KIND_BY_MIME
from oa.models import Agency
from oa.refusals import Refusal

_OFFICE_KINDS = frozenset({"docx", "xlsx", "pptx"})
_IMAGE_KINDS = frozenset({"png", "jpeg", "tiff"})


def uploaded_attachments(doc: OfficialDocument) -> list[Attachment]:
    """The 附件 (role 附件) in 顺序号 order: what the 附件说明 must list and the 正式文件 must carry."""
    return list(Attachment.objects.filter(document=doc, role=Attachment.Role.ATTACHMENT).order_by("position", "id"))


def check_attachment_note(doc: OfficialDocument, attachments: list[Attachment] | None = None) -> list[str]:
    """The 附件说明 as printed: the uploaded attachments' titles, in order. Refuses (naming the file) when the
    record's 附件说明 lists a name with no uploaded file, leaves an uploaded one out, or orders them otherwise
    (§7.3.7: 附件顺序号和附件标题应与附件说明的表述一致)."""
    rows = uploaded_attachments(doc) if attachments is None else attachments
    titles = [a.title or a.name for a in rows]
    note = [n.strip() for n in (doc.attachment_note or []) if n.strip()]
    if note == titles:
        return titles
    missing = [n for n in note if n not in titles]
    if missing:
        raise Refusal("attachment_note_mismatch",
                      f"附件说明中的“{'”“'.join(missing)}”没有上传对应的附件文件。请在“附件”中上传该文件"
                      "（附件名称与附件说明一致），或从附件说明中删去后再排版、用印", status=422)
    unlisted = [t for t in titles if t not in note]
    if unlisted:
        raise Refusal("attachment_note_mismatch",
                      f"已上传的附件“{'”“'.join(unlisted)}”没有列入附件说明。请把它写入附件说明，或删除该附件后再排版、用印",
                      status=422)
    raise Refusal("attachment_note_mismatch",
                  f"附件说明的顺序（{'、'.join(note)}）与已上传附件的顺序（{'、'.join(titles)}）不一致，请调整后再排版、用印",
                  status=422)


def _unconvertible(title: str, why: str) -> Refusal:
    return Refusal("attachment_unconvertible", f"附件“{title}”不能并入正式文件：{why}", status=422)


def _attachment_page(att: Attachment) -> AttachmentPage:
    """One uploaded 附件 as the pages that follow its title page: PDF as is, office files through LibreOffice,
    pictures as one page each, plain text as 正文 paragraphs. Refuses with the file named when it cannot be."""
    title = att.title or att.name
    with att.file.open("rb") as fh:
        data = fh.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != att.sha256:
        raise _unconvertible(title, "存储中的文件与上传时的校验值不符，请重新上传该附件")
    kind = KIND_BY_MIME.get(att.content_type)
    key = kind.key if kind else ""
    if key == "text":
        lines = [line.strip() for line in data.decode("utf-8-sig", "replace").splitlines() if line.strip()]
        return AttachmentPage(title, body=[BodyBlock(line) for line in lines], digest=digest)
    if key == "pdf":
        pdf = data
    elif key in _OFFICE_KINDS:
        if not soffice_available():
            raise _unconvertible(title, f"{kind.label}须用 LibreOffice 转换为 PDF，本系统未安装 LibreOffice。"
                                        "请把该附件另存为 PDF 后重新上传，或请系统管理员安装 LibreOffice"
                                        "（libreoffice-writer-nogui；表格另需 libreoffice-calc-nogui，"
                                        "演示文稿另需 libreoffice-impress-nogui）")
        try:
            pdf = office_to_pdf(data, key)
        except ConversionError as exc:
            raise _unconvertible(title, f"{kind.label}无法转换为 PDF（{exc}）。请把该附件另存为 PDF 后重新上传") from None
    elif key in _IMAGE_KINDS:
        pdf = _image_pdf(title, data)
    else:
        label = kind.label if kind else att.content_type
        raise _unconvertible(title, f"系统不能把{label}排入公文页面。请上传该附件的 PDF 版本")
    try:
        pdf_page_count(pdf)
    except AttachmentPdfError as exc:
        raise _unconvertible(title, f"{exc}。请重新生成 PDF 后上传") from None
    return AttachmentPage(title, pdf=pdf, digest=digest)


def _image_pdf(title: str, data: bytes) -> bytes:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            frames = []
            for i in range(getattr(im, "n_frames", 1)):
                im.seek(i)
                frames.append(im.convert("RGB"))
    except Exception:  # Pillow raises many types for damaged files
        raise _unconvertible(title, "图片已损坏，无法读取") from None
    buf = io.BytesIO()
    frames[0].save(buf, "PDF", resolution=150.0, save_all=True, append_images=frames[1:])
    return buf.getvalue()

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
    if doc.layout == Layout.MINUTES and mark == f"{doc.agency.name}文件":
        # A 纪要 of a meeting body prints its series' 标志 (e.g. 揭东区人民政府常务会议纪要, §10.3).
        series = series_for_document(doc)
        if series is not None and series.issuer_mark:
            return series.issuer_mark
    if doc.layout == Layout.LETTER:
        # §10.1: 信函 uses the agency's name alone, without "文件".
        return mark.removesuffix("文件")
    if doc.layout == Layout.MINUTES and not mark.endswith("纪要"):
        return f"{mark.removesuffix('文件')}纪要"
    return mark


def spec_from_document(doc: OfficialDocument, *, attachment_content: bool = True) -> DocumentSpec:
    """Every 要素 the renderer prints; refuses (Refusal) when one the standard requires is missing.

    The 附件说明 and the 附件 pages come from the uploaded attachments (``check_attachment_note`` refuses a
    附件说明 that disagrees with them). With ``attachment_content`` each attachment's pages follow its title page
    (converted here, refusing what cannot be); without it (the 核稿 preview) only the title pages are laid out.
    """
    refuse_classified(doc, "排版或生成版式文件")  # 非涉密 only: no file is ever made of a classified record
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
    attachments = uploaded_attachments(doc)
    titles = check_attachment_note(doc, attachments)
    pages = ([_attachment_page(a) for a in attachments] if attachment_content
             else [AttachmentPage(t) for t in titles])
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
            attachments=titles,
            attachment_pages=pages,
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
            attendance=_attendance(doc),
            title_terms=title_terms(),
        ))
    except ValueError as exc:  # the spec's own validation, already in Chinese
        raise Refusal("elements_invalid", str(exc)) from None
    try:
        spec.title_lines()  # 标题回行 (§7.3.1): refused before anything is typeset
    except TitleBreakError as exc:
        raise Refusal("title_unbreakable", str(exc)) from None
    return spec


def _attendance(doc: OfficialDocument) -> list[tuple[str, list[str]]]:
    """纪要: 出席、请假、列席 in that order, each only when the record names someone (§10.3)."""
    if doc.layout != Layout.MINUTES:
        return []
    rows = (("出席", doc.attendees), ("请假", doc.absentees), ("列席", doc.observers))
    return [(label, list(names)) for label, names in rows if names]


def provisional_spec(document: OfficialDocument) -> DocumentSpec:
    """The spec as it would be typeset now, with a provisional 文号, today's date and a 签发人 stand-in where they
    are not known yet (办公室核稿 checks the format before 签发 and 登记). Nothing is saved."""
    probe = OfficialDocument.objects.select_related("agency", "current_body").get(pk=document.pk)
    if not probe.doc_number:
        series = series_for_document(probe)
        if series is not None:
            probe.doc_number = render_series_number(series.number_format, series.code, timezone.localdate().year, 1)
        else:
            probe.doc_number = format_doc_number(probe.agency.doc_code, timezone.localdate().year, 1)
    if probe.written_date is None:
        probe.written_date = timezone.localdate()
    if probe.is_upward and not probe.signers:
        probe.signers = ["（签发人）"]
    return spec_from_document(probe, attachment_content=False)
