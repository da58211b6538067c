"""Markup injection into the typeset 公文, the 处理笺 and the flow trace (issue 11 point 2).

reportlab's Paragraph reads its text as markup: a drafter who put ``<img src=…/>`` into 抄送 got another agency's
seal picture into the signed PDF, ``"><img src=x onerror=…>`` made the 核稿 page answer 500. A corpus of hostile
strings goes through every 要素, 正文 block and opinion into both renderers (read back with pdftotext/pdfimages and
python-docx), the slip, the SVG trace and the step pages: always printed literally, no image added, no 500.
"""

from __future__ import annotations

import ast
import datetime
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.utils import timezone
from django.utils.html import escape as html_escape
from docx import Document
from docx.oxml.ns import qn
from PIL import Image, ImageDraw
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import SimpleDocTemplate
from reportlab.platypus.paragraph import Paragraph
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.rendering import AttachmentPage, BodyBlock, DocumentSpec, TableBlock, render_docx
from documents.rendering.pdf import render_pdf
from documents.rendering.slip import (
    KIND_CHECK,
    KIND_OTHER,
    KIND_SIGN,
    ProcessingSlip,
    SlipOpinion,
    render_processing_slip,
)
from documents.rendering.spec import MAX_CC_CHARS
from documents.rendering.text import para_text, plain
from documents.validators import CONTROL_CHARS_CODE, CONTROL_CHARS_MESSAGE
from tests.astparse import parse
from workflows.diagram import DiagramStep, render_flow_svg

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("pdftotext", "pdfimages")),
                                reason="poppler-utils (pdftotext/pdfimages) not installed: `make test-deps`")

ROOT = Path(__file__).resolve().parent.parent
SEAL_PLACEHOLDER = "{seal}"  # replaced by the path of a real PNG (another agency's seal in the HTTP test)

# The hostile-strings corpus (docs/security.md lists it). Each is embedded as "前…后" so no field turns empty.
MARKUP = [
    ("img_seal", f'<img src="{SEAL_PLACEHOLDER}" width="120" height="120"/>'),
    ("img_onerror", '"><img src=x onerror=alert(1)>'),
    ("img_passwd", '<img src="/etc/passwd"/>'),
    ("a_href", '<a href="javascript:alert(1)">点此查看</a>'),
    ("font", '<font color="red" size="40" face="Courier">大字</font>'),
    ("para_tags", "<para><b>粗体</b><br/><u>下划线</u><strike>删除</strike></para>"),
    ("reportlab_tags", '<seq id="x"/><onDraw name="x"/><span style="x">片</span><bullet>•</bullet>'),
    ("entities", "AT&T &amp; &lt;b&gt; &nbsp; &#60;img src=x&#62; & < >"),
    ("unbalanced", "<b>未闭合<i>标签</font></para>"),
    ("lone_lt", "<"),
    ("lone_amp", "&"),
    ("cdata", "<![CDATA[<img src=x>]]>"),
    ("billion_laughs", '<!DOCTYPE d [<!ENTITY a "哈哈哈哈"><!ENTITY b "&a;&a;&a;&a;">]>&b;&b;&b;'),
    ("svg_script", "<svg onload=alert(1)><script>alert(document.cookie)</script></svg>"),
    ("template", "{{ request.user.password }}{% debug %}${7*7}"),
    ("csv_formula", "=cmd|' /C calc'!A0"),
]
# Characters no renderer may receive: the renderers drop them (tab and line breaks become spaces).
CONTROL = [
    ("c0_controls", "甲" + "".join(chr(c) for c in range(0x20) if c not in (9, 10, 13)) + "乙"),
    ("tab_newline", "甲\t乙\n丙\r丁"),
    ("c1_controls", "甲\x7f\x85\x9f乙"),
    ("bidi_override", "甲\u202e乙丙\u202c丁\u2066戊\u2069"),
    ("noncharacter", "甲\uffff\ufffe乙"),
    ("lone_surrogate", "甲\ud800乙\udfff丙"),
]
LONG = ("long_10k", "长" * 10_000)
CORPUS = MARKUP + CONTROL + [LONG]


def _squash(text: str) -> str:
    """Text with every blank removed: line wrapping and justification may add or drop spaces."""
    return re.sub(r"\s+", "", text)


def _pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _pdf_images(data: bytes, tmp_path: Path) -> int:
    path = tmp_path / "img.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfimages", "-list", str(path)], check=True, capture_output=True, text=True).stdout
    # two header lines, then one line per image ("smask" lines are the alpha channel of an image)
    return sum(1 for line in out.splitlines()[2:] if line.split()[2] == "image")


def _docx_text(data: bytes) -> tuple[str, int]:
    """Every w:t of the document (text boxes of the 标志 and 版记 included) and the number of image parts."""
    doc = Document(io.BytesIO(data))
    text = "".join(t.text or "" for t in doc.element.body.iter(qn("w:t")))
    # (the package's own thumbnail is not the document's: count pictures the body draws and links)
    blips = list(doc.element.body.iter(qn("a:blip")))
    images = [r for r in doc.part.rels.values() if r.reltype.endswith("/image")]
    return text, len(blips) + len(images)


@pytest.fixture(scope="module")
def seal_png(tmp_path_factory) -> Path:
    """A red round "seal" PNG on disk: what an <img src=…> in 抄送 used to pull into the PDF."""
    path = tmp_path_factory.mktemp("seal") / "foreign-seal.png"
    img = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((4, 4, 116, 116), outline=(220, 0, 0, 255), width=8)
    img.save(path)
    return path


def _value(raw: str, seal: Path) -> str:
    return raw.replace(SEAL_PLACEHOLDER, str(seal))


# ---------------------------------------------------------------------------------------------------- renderers


def _hostile_spec(s: str, *, layout: str = "standard") -> tuple[DocumentSpec, dict[str, str]]:
    """A spec with ``s`` in every text 要素 and block, each cut to what its input accepts (title 40 (it must break within three lines), a name 200,
    附注 500, a 正文 paragraph 10 000, a cell 2 000 字); returns it and what each field must print."""
    v = f"前{s}后"
    # The title is cut to what 套红 accepts: three lines of 2号 (documents.rendering.titles), 40 字 of hostile text.
    title, name, notes, cell = v[:40], v[:200], v[:500], v[:2000]
    body = [BodyBlock(v), BodyBlock(name, 1), BodyBlock(name, 2), BodyBlock(name, 3), BodyBlock(name, 4),
            TableBlock([[cell, "表头"], ["单元格", cell]])]
    kw: dict = dict(
        issuer_mark=name, doc_number=f"揭东府办〔2026〕{name}号", title=title, main_recipients=[name, "区直各单位"],
        body=body, signature=name, date=datetime.date(2026, 11, 27), notes=notes, attachments=[name],
        attachment_pages=[AttachmentPage(name, [BodyBlock(v), TableBlock([[cell]])])],
        layout=layout,
    )
    if layout == "minutes":
        kw.update(attendance=[("出席", [name, "李娜"]), ("列席", [name])], sealed=False)
    else:
        kw.update(upward=True, signers=[name, "王芳"], cc=[name, "区委办公室"], printing_org=name)
    expected = {"body": v, "cell": cell, "title": title, "recipients": name, "notes": notes, "attachment": name}
    if len(v) < 100:  # short enough to stay on the page wherever it is drawn
        expected.update(signature=v)
        if layout != "minutes":
            expected.update(cc=v, printing_org=v, signers=v, issuer_mark=v, doc_number=v)
    return DocumentSpec(**kw), expected


@pytest.mark.parametrize("layout", ["standard", "minutes"])
@pytest.mark.parametrize(("name", "raw"), CORPUS, ids=[n for n, _ in CORPUS])
def test_renderers_print_hostile_text_literally(name, raw, layout, seal_png, tmp_path):
    s = _value(raw, seal_png)
    spec, expected = _hostile_spec(s, layout=layout)
    pdf = render_pdf(spec)
    assert _pdf_images(pdf, tmp_path) == 0, "user text drew an image"
    pdf_text = re.sub(r"—\d+—", "", _squash(_pdf_text(pdf, tmp_path)))  # page numbers between a paragraph's pages
    docx_text, docx_images = _docx_text(render_docx(spec))
    assert docx_images == 0
    docx_text = _squash(docx_text)
    for field, value in expected.items():
        printed = _squash(plain(value))
        assert printed in pdf_text, f"{field}: {printed[:80]!r} not printed literally in the PDF"
        assert printed in docx_text, f"{field}: {printed[:80]!r} not in the DOCX"
    for bad in ("\u202e", "\ufffe", "\x00"):
        assert bad not in pdf_text and bad not in docx_text


def test_cc_that_cannot_fit_one_page_is_refused_in_chinese():
    spec, _ = _hostile_spec("x")
    with pytest.raises(ValueError, match="抄送机关合计不能超过"):
        DocumentSpec(**{**spec.__dict__, "cc": ["长" * (MAX_CC_CHARS + 1)]})


def test_the_image_oracle_sees_an_injected_image(seal_png, tmp_path):
    """The check above would catch the old bug: unescaped, the same text does draw the picture."""
    buf = io.BytesIO()
    SimpleDocTemplate(buf).build([Paragraph(f'抄送：<img src="{seal_png}" width="120" height="120"/>',
                                            ParagraphStyle("raw"))])
    assert _pdf_images(buf.getvalue(), tmp_path) == 1
    buf = io.BytesIO()
    SimpleDocTemplate(buf).build([Paragraph(para_text(f'抄送：<img src="{seal_png}"/>'), ParagraphStyle("safe"))])
    assert _pdf_images(buf.getvalue(), tmp_path) == 0


@pytest.mark.parametrize(("name", "raw"), CORPUS, ids=[n for n, _ in CORPUS])
def test_processing_slip_prints_hostile_text_literally(name, raw, seal_png, tmp_path):
    v = "前" + _value(raw, seal_png) + "后"
    n = v[:200]  # names and one-line 要素 as their input accepts them; opinions and lists may be long
    when = datetime.datetime(2026, 11, 27, 9, 30, tzinfo=datetime.UTC)
    ops = [SlipOpinion(step=n, name=n, on_behalf_of=n, text=f"{v}\n第二行{v}", date=when, kind=KIND_OTHER),
           SlipOpinion(step="核稿", name="李娜", text=v, date=when, kind=KIND_CHECK),
           SlipOpinion(step="签发", name="王芳", text=v, date=when, kind=KIND_SIGN)]
    slip = ProcessingSlip(title=v[:300], doc_type_label=n, agency=n, doc_number=n, urgency=n, secrecy=n,
                          copy_number=n, drafter=n, drafting_department=n, draft_date=datetime.date(2026, 11, 26),
                          main_recipients=[n] * 25, cc=[n], attachments=[n, n], printing_org=n, is_upward=True,
                          signers=[n], opinions=ops)
    pdf = render_processing_slip(slip)
    assert _pdf_images(pdf, tmp_path) == 0
    if len(v) < 200:
        assert _squash(plain(v)) in _squash(_pdf_text(pdf, tmp_path))


@pytest.mark.parametrize(("name", "raw"), CORPUS, ids=[n for n, _ in CORPUS])
def test_flow_svg_stays_well_formed_and_literal(name, raw, seal_png):
    v = "前" + _value(raw, seal_png)[:200] + "后"
    svg = render_flow_svg([DiagramStep("a", v, "start"), DiagramStep("b", v), DiagramStep("c", "结束", "end")],
                          [("a", "b"), ("b", "c")], done={"a"}, current={"b"}, returned=set(), title=v)
    tree = ET.fromstring(svg)  # well-formed: no markup escaped its text node
    tags = {el.tag.rsplit("}", 1)[-1] for el in tree.iter()}
    assert tags <= {"svg", "title", "desc", "g", "rect", "polygon", "polyline", "text", "tspan"}, tags
    assert plain(v) in tree.find("{http://www.w3.org/2000/svg}title").text


def test_no_module_builds_a_reportlab_paragraph_from_raw_text():
    """Only documents/rendering/text.py may call Paragraph(...): everything else goes through its helpers."""
    offenders = []
    for folder in ("documents", "workflows", "meetings", "supervision", "oa", "integrations", "frontend"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "documents" / "rendering" / "text.py" or "migrations" in path.parts:
                continue
            for node in ast.walk(parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                        "Paragraph", "XPreformatted", "Preformatted"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


# ------------------------------------------------------------------------------------------------ HTTP, the flow


def _open(process_id: int, node) -> Task:
    return Task.objects.get(process_id=process_id, flow_task=node, status__in=[STATUS.ASSIGNED, STATUS.STARTED])


def _main_text(html: str) -> str:
    """The page's <main> as text, for an assertion message."""
    main = html[html.find("<main"):]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))[:3000]


def _no_live_markup(html: str) -> None:
    for tag in ("<img src=x onerror", '<img src="/etc/passwd"', "<script>alert(", "<svg onload",
                '<a href="javascript:', '<font color="red"', "<![CDATA["):
        assert tag not in html, f"{tag!r} reached the page unescaped"


@pytest.mark.django_db
def test_hostile_elements_through_the_issuance_pages(cast, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from documents.actions.attachments import check_add_attachment
    from documents.actions.seals import check_create_seal, do_init_seal_authority
    from documents.models import OfficialDocument, SealUse
    from oa.models import Agency
    from tests.clients import login, totp_code
    from workflows.issuance.flows import IssuanceFlow

    do_init_seal_authority(actor=None, name="揭东区电子印章制章者")
    office = Agency.objects.get(doc_code="揭东府办")
    check_create_seal(cast.sunhao, agency=office)
    foreign = check_create_seal(cast.sunhao, agency=Agency.objects.get(doc_code="揭东财"))
    seal_path = Path(foreign.image.path)  # another agency's real seal picture on the server's disk
    assert seal_path.read_bytes().startswith(b"\x89PNG")
    values = [_value(raw, seal_path) for _, raw in MARKUP]

    zhang = login(cast.zhangwei)
    created = zhang.post("/api/documents/", {"title": "关于" + values[1] + "的通知", "doc_type": "tongzhi"},
                         content_type="application/json")
    assert created.status_code == 201, created.content
    doc_id = created.json()["id"]
    elements = {
        "title": "关于" + values[2] + values[1] + "的通知",  # three lines of 2号 at most (§7.3.1)
        "main_recipients": values[3:], "cc": values[:3], "attachment_note": values[3:8],  # 主送 ∩ 抄送 is refused
        "notes": " ".join(values[3:9])[:500],  # (署名 stays the agency's: the seal must match it)
        "printing_org": "揭阳市揭东区人民政府办公室" + values[4],
    }
    patched = zhang.patch(f"/api/documents/{doc_id}", elements, content_type="application/json")
    assert patched.status_code == 200, patched.content
    # The 附件说明 names uploaded files (a name without its file is refused at 核稿/套红): hostile names, real files.
    for i, name in enumerate(values[3:8]):
        check_add_attachment(cast.zhangwei, OfficialDocument.objects.get(pk=doc_id),
                             SimpleUploadedFile(f"附件{i}.txt", f"附件{i}的内容".encode()), title=name[:200])
    blocks = [{"type": "p", "level": i % 3, "text": f"第{i}段{v}。"} for i, v in enumerate(values)]
    blocks.append({"type": "table", "header": True, "rows": [["事项", "说明"], *[[v, v] for v in values[:4]]]})
    saved = zhang.put(f"/documents/{doc_id}/body", json.dumps({"blocks": blocks}), content_type="application/json",
                      headers={"If-Match": "0"})
    assert saved.status_code == 200, saved.content
    detail = zhang.get(f"/documents/{doc_id}/")
    assert detail.status_code == 200
    _no_live_markup(detail.content.decode())
    assert html_escape(values[1]) in detail.content.decode()

    started = zhang.post(f"/flows/issuance/start/{doc_id}/", {"countersign_mode": "parallel",
                                                              "countersign_policy": "all"})
    assert started.status_code == 302, started.content.decode()[:2000]
    process_id = int(re.search(r"/(\d+)/?$", started["Location"]).group(1))

    def step(client, node, opinion: str, **fields):
        task = _open(process_id, node)
        url = f"/flows/issuance/tasks/{task.pk}/"
        page = client.get(url)
        assert page.status_code == 200, f"{node.name}: {page.status_code}"
        html = page.content.decode()
        _no_live_markup(html)
        data = {"decision": fields.pop("decision", "agree"), "opinion": opinion, **fields}
        done = client.post(url, data)
        if node is IssuanceFlow.signoff:  # 签发确认 echoes the opinion before the 动态口令 signs it
            assert done.status_code == 200, _main_text(done.content.decode())
            _no_live_markup(done.content.decode())
            done = client.post(url, {**data, "code": totp_code(cast.lina)})
        assert done.status_code == 302, _main_text(done.content.decode())
        return html

    lina = login(cast.lina, otp=True)
    step(lina, IssuanceFlow.dept_review, values[1] + "\n" + values[2])  # 审核
    check_page = step(lina, IssuanceFlow.office_check, values[0])  # 核稿: rendered the draft, used to answer 500
    assert "符合 GB/T 9704-2012" in check_page, _main_text(check_page)
    assert html_escape(values[1]) in check_page
    step(lina, IssuanceFlow.signoff, values[4], signed_date=timezone.localdate().isoformat())  # 签发
    step(lina, IssuanceFlow.recheck, values[5])
    liuyang = login(cast.liuyang)
    step(liuyang, IssuanceFlow.register, "", decision="done")
    step(liuyang, IssuanceFlow.typeset, "", decision="done")

    doc = OfficialDocument.objects.get(pk=doc_id)
    typeset = doc.final_pdf.read()
    assert _pdf_images(typeset, tmp_path) == 0, "an <img> in the 要素 drew a picture"
    text = _squash(_pdf_text(typeset, tmp_path))
    for v in values[:3]:  # 抄送: the seal path, the onerror and the /etc/passwd strings, printed as written
        assert _squash(v) in text
    zhoumin = login(cast.zhoumin, otp=True)
    step(zhoumin, IssuanceFlow.seal, "", decision="done")  # 用印
    signed = SealUse.objects.filter(document_id=doc_id).latest("pk").signed_pdf.read()
    assert _pdf_images(signed, tmp_path) == 1, "only the office's own seal may appear"

    trace = zhang.get(f"/flows/processes/{process_id}/")
    assert trace.status_code == 200
    _no_live_markup(trace.content.decode())
    slip = zhang.get(f"/flows/processes/{process_id}/slip.pdf")
    assert slip.status_code == 200 and slip["Content-Type"] == "application/pdf"
    assert _pdf_images(slip.content, tmp_path) == 0
    slip_text = _squash(_pdf_text(slip.content, tmp_path))
    assert _squash(values[0]) in slip_text and _squash(values[1]) in slip_text


@pytest.mark.django_db
def test_control_characters_are_refused_at_input_in_chinese(cast):
    from documents.actions.documents import check_update_document
    from documents.models import OfficialDocument
    from oa.refusals import Refusal
    from tests.clients import login
    from workflows.issuance.flows import IssuanceFlow

    zhang = login(cast.zhangwei)
    created = zhang.post("/api/documents/", {"title": "关于做好值班工作的通知"}, content_type="application/json")
    doc_id = created.json()["id"]
    for field, value in [("title", "关于\u202e值班的通知"), ("cc", ["区委\x1f办公室"]), ("notes", "甲\x07乙"),
                         ("signature", "甲\uffff乙"), ("main_recipients", ["各镇\u2066人民政府"])]:
        answer = zhang.patch(f"/api/documents/{doc_id}", {field: value}, content_type="application/json")
        assert answer.status_code == 400, (field, answer.content)
        assert answer.json()["code"] == CONTROL_CHARS_CODE and CONTROL_CHARS_MESSAGE in answer.json()["message"]
    # A lone surrogate only arrives through JSON (\ud800): the parser or the action refuses it, never the database.
    raw = '{"title": "\\ud800关于值班的通知"}'
    answer = zhang.patch(f"/api/documents/{doc_id}", raw, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["code"] in ("parse_error", CONTROL_CHARS_CODE)
    with pytest.raises(Refusal) as refused:
        check_update_document(cast.zhangwei, OfficialDocument.objects.get(pk=doc_id), {"cc": ["区委\ud800办公室"]})
    assert refused.value.code == CONTROL_CHARS_CODE and "抄送机关" in refused.value.message
    too_long = zhang.patch(f"/api/documents/{doc_id}", {"cc": ["区委办公室"] * 80}, content_type="application/json")
    assert too_long.status_code == 400 and too_long.json()["code"] == "cc_too_long"
    long_name = zhang.patch(f"/api/documents/{doc_id}", {"signature": "长" * 10_000}, content_type="application/json")
    assert long_name.status_code == 400 and long_name.json()["code"] == "text_too_long"
    doc = OfficialDocument.objects.get(pk=doc_id)
    assert doc.title == "关于做好值班工作的通知" and doc.cc == []

    # The 要素 form shows the refusal inline, on the field.
    edit = zhang.post(f"/documents/{doc_id}/edit", {"doc_type": "tongzhi", "layout": "standard",
                                                    "title": "关于\u202e值班的通知", "publicity": "not_public",
                                                    "cc": "区委\x1f办公室"})
    assert edit.status_code == 400
    assert edit.content.decode().count(CONTROL_CHARS_MESSAGE) == 2

    # An opinion with a control character: the step page says why, nothing moves.
    body = {"blocks": [{"type": "p", "level": 0, "text": "现将有关事项通知如下。"}]}
    zhang.put(f"/documents/{doc_id}/body", json.dumps(body), content_type="application/json",
              headers={"If-Match": "0"})
    started = zhang.post(f"/flows/issuance/start/{doc_id}/", {"countersign_mode": "parallel",
                                                              "countersign_policy": "all"})
    process_id = int(re.search(r"/(\d+)/?$", started["Location"]).group(1))
    task = _open(process_id, IssuanceFlow.dept_review)
    refused = login(cast.lina).post(f"/flows/issuance/tasks/{task.pk}/", {"decision": "agree",
                                                                         "opinion": "同意\u202e。\n第二行"})
    assert refused.status_code == 400 and CONTROL_CHARS_MESSAGE in refused.content.decode()
    task.refresh_from_db()
    assert task.status in (STATUS.ASSIGNED, STATUS.STARTED)
