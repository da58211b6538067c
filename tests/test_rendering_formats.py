"""GB/T 9704 elements beyond the basic 文件格式: 份号/密级/紧急程度, 联合行文, tables, 附件 pages, the blank page
before the 版记, 信函格式 and 纪要格式 — rendered to DOCX (checked by the checker and read back with python-docx) and
to PDF (read back with poppler). LibreOffice page counts for the same samples are in tests/test_layout.py."""

from __future__ import annotations

import datetime
import io
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

from documents.checker import check_gbt9704
from documents.rendering import AttachmentPage, BodyBlock, DocumentSpec, TableBlock, render_docx
from documents.rendering import geometry as g
from documents.rendering.pdf import (
    COLOPHON_AFTER_BLANK,
    COLOPHON_OWN_PAGE,
    plan_colophon,
    render_pdf_with_layout,
)

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("pdftotext", "pdfinfo", "pdftoppm")),
    reason="poppler-utils (pdftotext/pdfinfo/pdftoppm) not installed: `make test-deps` installs it",
)

MM = 72 / 25.4
PITCH = 28.95
PAGE_H = 841.8898
LEFT, RIGHT = 28 * MM, 184 * MM
ADV = 16 * 0.98705  # one 字 in the PDF body
# Grid line n's em box top in the PDF (= LibreOffice's for the 仿宋 stand-in UMing): 版心 top + n pitches + 6.96 pt
# (7.76 pt with UKai, STACK §13; UMing's font box sits 0.80 pt higher in LO's grid line).
LINE_BASELINE = 21.02
LINE0_TOP = 37 * MM + LINE_BASELINE - 0.879 * 16
SENTENCE = "各单位要高度重视政务服务标准化建设工作切实加强组织领导明确责任分工细化工作措施确保各项任务落到实处"


# ---------------------------------------------------------------- samples (also converted by test_layout.py)


def full_document() -> DocumentSpec:
    """文件格式 with 份号/密级/紧急程度, a table, two 附件 pages (one with a table) and a 版记 that needs its own page
    after the (even) page 4: page 5 is blank and neither it nor the 版记 page 6 carries a number."""
    return DocumentSpec(
        issuer_mark="揭阳市揭东区人民政府办公室文件", doc_number="揭东府办〔2026〕5号",
        title="揭阳市揭东区人民政府办公室关于开展政务服务专项检查的通知",
        main_recipients=["各镇人民政府", "区府直属各单位"],
        body=[BodyBlock("为提升政务服务水平，经区人民政府同意，现将有关事项通知如下。"), BodyBlock("检查安排", 1),
              BodyBlock("检查分三组进行，具体分工如下："),
              TableBlock([["组别", "牵头单位", "检查范围"], ["第一组", "区政务服务数据管理局", "各镇政务服务中心"],
                          ["第二组", "区财政局", "区直单位窗口"], ["第三组", "区司法局", "村（社区）服务站"],
                          ["第四组", "区民政局", "社会救助窗口"]]),
              BodyBlock("工作要求", 1), BodyBlock(SENTENCE * 3 + "。"), BodyBlock("各单位要于12月10日前报送自查情况。")],
        attachments=["政务服务专项检查表", "各组联系人名单"],
        attachment_pages=[
            AttachmentPage("政务服务专项检查表", [BodyBlock("检查内容", 1), BodyBlock(SENTENCE * 2 + "。")]),
            AttachmentPage("各组联系人名单", [TableBlock([["组别", "联系人", "电话"], ["第一组", "张伟", "0663-3261234"],
                                                  ["第二组", "李娜", "0663-3265678"]]),
                                       BodyBlock(SENTENCE * 7 + "。")]),
        ],
        signature="揭阳市揭东区人民政府办公室", date=datetime.date(2026, 11, 27), notes="此件公开发布",
        copy_number="000028", secrecy="秘密", secrecy_period="6个月", urgency="加急",
        cc=["区委办公室", "区人大常委会办公室", "区政协办公室"], printing_org="揭阳市揭东区人民政府办公室",
        printing_date=datetime.date(2026, 11, 28),
    )


def letter() -> DocumentSpec:
    """信函格式 over two pages, with 份号 and 密级 under the first double line."""
    return DocumentSpec(
        layout="letter", issuer_mark="揭阳市揭东区人民政府办公室", doc_number="揭东府办函〔2026〕18号",
        title="揭阳市揭东区人民政府办公室关于商请支持政务服务专项检查的函", main_recipients=["揭阳市政务服务数据管理局"],
        body=[BodyBlock(SENTENCE * 6 + "。"), BodyBlock("商请事项", 1), BodyBlock(SENTENCE * 5 + "。"),
              BodyBlock("妥否，请函复。")],
        signature="揭阳市揭东区人民政府办公室", date=datetime.date(2026, 12, 1),
        copy_number="000003", secrecy="机密", secrecy_period="1年",
        cc=["区委办公室"], printing_org="揭阳市揭东区人民政府办公室",  # 信函: printed nowhere
    )


def minutes() -> DocumentSpec:
    return DocumentSpec(
        layout="minutes", issuer_mark="揭阳市揭东区人民政府常务会议纪要", doc_number="第5期",
        title="区政府第5次常务会议纪要", main_recipients=[],
        body=[BodyBlock("2026年11月20日，区长主持召开区政府第5次常务会议，纪要如下。"), BodyBlock("审议事项", 1),
              BodyBlock(SENTENCE * 2 + "。")],
        signature="", date=datetime.date(2026, 11, 21),
        attendance=[("出席", ["区长陈志明", "副区长黄建华", "副区长王芳"] * 4), ("请假", ["副区长林涛"]),
                    ("列席", ["区府办张伟", "区财政局李娜"])],
        cc=["区委办公室"], printing_org="揭阳市揭东区人民政府办公室",
    )


def joint() -> DocumentSpec:
    return DocumentSpec(
        issuer_mark="揭阳市揭东区财政局文件",
        issuer_names=["揭阳市揭东区财政局", "揭阳市揭东区教育局", "揭阳市揭东区卫生健康局"],
        doc_number="揭东财〔2026〕9号", title="关于联合开展校园食品安全检查的通知", main_recipients=["各镇人民政府"],
        body=[BodyBlock(SENTENCE + "。"), BodyBlock("特此通知。")],
        signature="揭东区财政局", co_signatures=["揭东区教育局", "揭东区卫健局"], date=datetime.date(2026, 11, 27),
        cc=["区委办公室"], printing_org="揭阳市揭东区财政局办公室",
    )


def request() -> DocumentSpec:
    """请示 (上行文 with 签发人) whose body puts closing and opening marks where a line ends (标点禁则)."""
    return DocumentSpec(
        issuer_mark="揭阳市揭东区人民政府办公室文件", doc_number="揭东府办〔2026〕12号",
        title="揭阳市揭东区人民政府办公室关于申请政务服务专项经费的请示", main_recipients=["揭阳市人民政府办公室"],
        body=[BodyBlock(SENTENCE[:26] + "，" + SENTENCE[:27] + "。" + SENTENCE[:25] + "“" + SENTENCE[:10] + "”"
                        + SENTENCE[:15] + "（" + SENTENCE[:8] + "）" + SENTENCE + "。"),
              BodyBlock("经费使用", 1), BodyBlock(SENTENCE * 3 + "；" + SENTENCE + "。"), BodyBlock("妥否，请批示。")],
        signature="揭阳市揭东区人民政府办公室", date=datetime.date(2026, 12, 3), upward=True,
        signers=["陈志明", "黄建华", "王芳"], cc=["区委办公室"], printing_org="揭阳市揭东区人民政府办公室",
    )


SAMPLES = {"full": full_document, "letter": letter, "minutes": minutes, "joint": joint, "request": request}


# ---------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    x0: float
    top: float  # from the page top; for these fonts poppler's box is the em box (STACK §13)
    x1: float
    bottom: float


def pdf_words(data: bytes, tmp_path: Path, name: str = "doc.pdf") -> list[Word]:
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True, capture_output=True, text=True).stdout
    words = []
    for page, chunk in enumerate(out.split("<page ")[1:]):
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
                             chunk):
            words.append(Word(page, m[5], *(float(v) for v in m.groups()[:4])))
    return merge_gaps(words)


def merge_gaps(words: list, gap_pt: float = 4.0) -> list:
    """Join the pieces pdftotext splits a line into at the 0.2 em CJK↔digit gaps ("2026 年 11 月"), which both
    LibreOffice and our PDF leave (STACK §13): neighbours on one baseline less than `gap_pt` apart."""
    out: list = []
    for w in words:
        p = out[-1] if out else None
        if p is not None and p.page == w.page and abs(p.bottom - w.bottom) < 0.5 and 0 <= w.x0 - p.x1 < gap_pt:
            out[-1] = type(w)(p.page, p.text + w.text, p.x0, min(p.top, w.top), w.x1, max(p.bottom, w.bottom))
        else:
            out.append(w)
    return out


def page_texts(pdf: Path) -> list[str]:
    """Text per page (pdftotext, form feed separated), whitespace removed."""
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return [re.sub(r"\s+", "", p) for p in out.split("\f")[:-1]]


def pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]


def find(words: list[Word], text: str, page: int | None = None) -> Word:
    hits = [w for w in words if w.text == text and (page is None or w.page == page)]
    assert len(hits) == 1, (text, hits)
    return hits[0]


HEI = 0.80  # WenQuanYi Zen Hei (黑体 stand-in): poppler's box top is 0.80 em above the baseline (UKai/UMing 0.879)


def baseline(w: Word, ascent: float = 0.879) -> float:
    return w.top + ascent * (w.bottom - w.top)


def line_of(w: Word, ascent: float = 0.879) -> float:
    """Grid line (fractional) of a 16 pt word on its page, from its baseline (21.02 pt below the line top)."""
    return (baseline(w, ascent) - (37 * MM + LINE_BASELINE)) / PITCH


def failures(data: bytes, **kw) -> set[str]:
    return {r.rule for r in check_gbt9704(data, **kw) if not r.passed}


def assert_conforms(data: bytes) -> None:
    assert [(r.rule, r.measured) for r in check_gbt9704(data) if not r.passed] == []


def mutate(data: bytes, change: Callable) -> bytes:
    doc = Document(io.BytesIO(data))
    change(doc)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def red_rows(pdf: Path, page: int, dpi: int = 100) -> dict[int, tuple[int, int]]:
    """Per raster row, the longest run of red pixels (length, start) on one page."""
    from PIL import Image

    png = subprocess.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", str(pdf)],
                         check=True, capture_output=True).stdout
    img = Image.open(io.BytesIO(png)).convert("RGB")
    px, (w, h) = img.load(), img.size
    rows = {}
    for y in range(h):
        best, start = (0, 0), None
        for x in range(w + 1):
            r, gg, b = px[x, y] if x < w else (255, 255, 255)
            red = r > 180 and gg < 120 and b < 120
            if red and start is None:
                start = x
            elif not red and start is not None:
                best = max(best, (x - start, start))
                start = None
        if best[0]:
            rows[y] = best
    return rows


# ---------------------------------------------------------------- spec


def test_old_constructor_still_works_with_defaults() -> None:
    s = DocumentSpec(issuer_mark="揭阳市揭东区人民政府办公室文件", doc_number="揭东府办〔2026〕5号", title="通知",
                     main_recipients=["各镇"], body=[BodyBlock("正文。")], signature="揭东区政府办",
                     date=datetime.date(2026, 1, 5))
    assert (s.layout, s.sealed, s.is_sealed, s.header_marks(), s.signatures) == (
        "standard", True, True, [], ["揭东区政府办"])
    assert DocumentSpec(**{**s.__dict__, "layout": "minutes"}).is_sealed is False  # 纪要不加盖印章
    assert full_document().secrecy_text() == "秘密★6个月"
    assert [label for label, _ in full_document().attachment_page_labels()] == ["附件1", "附件2"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"copy_number": "00028"}, "6位"),
        ({"copy_number": "０００００１"}, "6位"),
        ({"secrecy": "机密"}, "份号"),
        ({"copy_number": "000001", "secrecy": "内部"}, "密级"),
        ({"secrecy_period": "1年"}, "密级"),
        ({"copy_number": "000001", "secrecy": "机密", "secrecy_period": "一年"}, "阿拉伯数字"),
        ({"urgency": "特提"}, "紧急程度"),
        ({"layout": "telegram"}, "版式"),
        ({"issuer_names": ["揭东区财政局"]}, "至少两个"),
        ({"issuer_names": ["揭东区财政局", "揭东区教育局"]}, "同样多的署名"),
        ({"attendance": [("出席", ["张三"])]}, "纪要"),
        ({"layout": "minutes", "attendance": [("缺席", ["张三"])]}, "出席"),
        ({"attachment_pages": [AttachmentPage("检查表")]}, "附件说明"),
        ({"body": ["正文"]}, "BodyBlock"),
    ],
)
def test_spec_rejects_bad_fields(changes: dict, message: str) -> None:
    base = dict(issuer_mark="揭阳市揭东区人民政府办公室文件", doc_number="揭东府办〔2026〕5号", title="通知",
                main_recipients=["各镇"], body=[BodyBlock("正文。")], signature="揭东区政府办",
                date=datetime.date(2026, 1, 5))
    with pytest.raises(ValueError, match=message):
        DocumentSpec(**{**base, **changes})


# ---------------------------------------------------------------- every sample


@pytest.mark.parametrize("name", list(SAMPLES))
def test_sample_passes_checker_and_reads_back(name: str) -> None:
    spec = SAMPLES[name]()
    data = render_docx(spec)
    results = check_gbt9704(data)
    assert [(r.rule, r.measured) for r in results if not r.passed] == []
    rules = {r.rule for r in results}
    doc = Document(io.BytesIO(data))  # python-docx reads every DOCX back
    assert doc.core_properties.keywords == f"gbt9704-layout:{spec.layout} gbt9704-sealed:{int(spec.is_sealed)}"
    texts = [p.text for p in doc.paragraphs if p.text.strip()]
    if name == "full":
        assert texts[:4] == ["000028", "秘密★6个月", "加急", "揭阳市揭东区人民政府办公室文件"]
        assert {"7.2.1 份号6位3号阿拉伯数字、顶格第一行", "7.2.2 密级和保密期限3号黑体（如“机密★1年”）",
                "7.2.3 紧急程度3号黑体", "7.4.1 末条分隔线与版心下边缘重合"} <= rules
        assert doc.tables[0].rows[1].cells[1].text == "区政务服务数据管理局"
        assert texts.index("附件1") < texts.index("政务服务专项检查表", texts.index("附件1"))
    elif name == "letter":
        assert texts[0] == "000003\t揭东府办函〔2026〕18号" and texts[1] == "机密★1年"
        assert {r for r in rules if r.startswith("10.1")} == {
            "10.1 信函标志上边缘距上页边30 mm、红色小标宋居中",
            "10.1 信函红色双线170 mm（标志下4 mm上粗下细，距下页边20 mm上细下粗）",
            "10.1 发文字号顶格居版心右边缘、距双线7/8字", "10.1 标题与其上最后一个要素相距二行",
            "10.1 信函首页不显示页码", "10.1 信函版记不加印发机关和印发日期、分隔线"}
        assert not any(r.startswith("7.2.7") for r in rules)  # no 版头红色分隔线 in a 信函
        assert "印发" not in "".join(t.text or "" for t in doc.element.body.iter(qn("w:t")))
    elif name == "minutes":
        assert texts[0] == "揭阳市揭东区人民政府常务会议纪要" and texts[1] == "第5期"
        assert "出席：区长陈志明、副区长黄建华" in next(t for t in texts if t.startswith("出席"))
        assert texts[-1] == "2026年11月21日"  # no 署名: the date alone
        assert {"10.3 纪要标志“×××纪要”", "10.3 纪要不加盖印章",
                "10.3 出席、请假、列席（“出席”黑体、名单仿宋、回行与冒号后首字对齐）",
                "7.3.5.2 不加盖印章：署名右空二字，成文日期首字右移二字"} <= rules
    elif name == "request":
        assert doc.core_properties.category == "上行文"
        # 签发人 two names a row; the 发文字号 shares the last row (居左空一字).
        assert texts[1] == "\t签发人：陈志明\u3000黄建华" and texts[2].startswith("揭东府办〔2026〕12号\t")
    else:
        assert texts[0] == "揭东财〔2026〕9号"  # the 标志 lives in text boxes
        assert "\t揭东区财政局\t揭东区教育局\t揭东区卫健局" in texts
        assert "7.2.5 联合行文标志（名称上下排列，“文件”居右、上下居中）" in rules


# ---------------------------------------------------------------- 份号, 密级, 紧急程度; tables; 附件; blank page


@pytest.fixture(scope="module")
def full_pdf(tmp_path_factory) -> tuple[Path, list[Word]]:
    tmp = tmp_path_factory.mktemp("full")
    rendered = render_pdf_with_layout(full_document())
    path = tmp / "full.pdf"
    path.write_bytes(rendered.data)
    assert rendered.page_count == pdf_pages(path) == 6
    return path, pdf_words(rendered.data, tmp)


def test_header_marks_top_left_one_per_line(full_pdf) -> None:
    _, words = full_pdf
    rows = [find(words, t, 0) for t in ("000028", "秘密★6个月", "加急")]
    for n, (w, ascent) in enumerate(zip(rows, (0.879, HEI, HEI), strict=True)):
        assert abs(w.x0 - LEFT) < 0.3  # 顶格
        assert abs(line_of(w, ascent) - n) < 0.005, (w.text, line_of(w, ascent))  # 份号 line 1, 密级 2, 紧急程度 3
    mark = find(words, "揭阳市揭东区人民政府办公室文件", 0)
    assert mark.top > rows[-1].bottom
    assert abs(mark.top / MM - 72) < 0.1  # the 标志 keeps its 35 mm below the 版心 top


def test_table_rows_on_the_grid_and_split_with_its_header(full_pdf) -> None:
    path, words = full_pdf
    head, first, second, third = (find(words, t, 0) for t in ("组别", "区政务服务数据管理局", "区财政局", "区司法局"))
    # Every row is whole grid lines (borders included), so the rows' text stays on the body grid ...
    assert abs(line_of(head, HEI) - round(line_of(head, HEI))) < 0.005
    for upper, lower in ((head, first), (first, second), (second, third)):
        assert baseline(lower) - baseline(upper, HEI if upper is head else 0.879) == pytest.approx(PITCH, abs=0.05)
    # ... and page 1 is full to its 22nd line (GB/T 9704 §5.2.3, table pages too): the third row is on line 22.
    assert line_of(third) == pytest.approx(g.LINES_PER_PAGE - 1, abs=0.005)
    # The last row goes to page 2 under a repeated header (as in LibreOffice).
    repeated, last = find(words, "组别", 1), find(words, "社会救助窗口", 1)
    assert abs(line_of(repeated, HEI)) < 0.005
    assert baseline(last) - baseline(repeated, HEI) == pytest.approx(PITCH, abs=0.05)
    # The text after the table is back on the grid: two lines below line 0.
    after = next(w for w in words if w.page == 1 and w.text.startswith("二、工作要求"))
    assert line_of(after, HEI) == pytest.approx(2, abs=0.005)
    # Borders from the 版心's left to its right edge: vertical black lines at 28 and 184 mm.
    from PIL import Image

    png = subprocess.run(["pdftoppm", "-r", "100", "-f", "1", "-l", "1", "-png", "-gray", str(path)],
                         check=True, capture_output=True).stdout
    img = Image.open(io.BytesIO(png)).convert("L")
    px = img.load()
    y = round((head.top + head.bottom) / 2 / 72 * 100)
    dark = [x for x in range(img.size[0]) if px[x, y] < 110]
    assert dark and abs(dark[0] * 25.4 / 100 - 28) < 0.5 and abs(dark[-1] * 25.4 / 100 - 184) < 0.5
    assert first.x1 < RIGHT


def test_attachment_pages_and_continuous_numbers(full_pdf) -> None:
    path, words = full_pdf
    texts = page_texts(path)
    for page, (label, title) in ((2, ("附件1", "政务服务专项检查表")), (3, ("附件2", "各组联系人名单"))):
        lab = find(words, label, page)
        assert abs(lab.x0 - LEFT) < 0.3 and abs(line_of(lab, HEI)) < 0.005  # 黑体, 顶格, line 1
        t = find(words, title, page)
        assert abs((t.x0 + t.x1) / 2 - (LEFT + RIGHT) / 2) < 0.5  # centred
        # On line 3, with the baseline where LibreOffice puts a 22 pt line (23.22 pt below the line top).
        assert abs(t.top + 0.879 * 22 - (37 * MM + 2 * PITCH + 23.22)) < 0.3
        assert texts[page].endswith(f"—{page + 1}—")  # numbers continue through the 附件
    # The 正文 ends before the first 附件 page: 附注 on page 2, 附件1 starts page 3.
    assert "（此件公开发布）" in texts[1] and texts[2].startswith("附件1")


def test_blank_page_before_the_colophon_has_no_page_number(full_pdf) -> None:
    path, _ = full_pdf
    plan = plan_colophon(full_document())
    assert (plan.mode, plan.content_pages, plan.unnumbered) == (COLOPHON_AFTER_BLANK, 4, frozenset({5, 6}))
    texts = page_texts(path)
    assert texts[3].endswith("—4—")  # the last 附件 page (even) is numbered
    assert texts[4] == ""  # page 5: blank, no number
    assert texts[5] == "抄送：区委办公室，区人大常委会办公室，区政协办公室。揭阳市揭东区人民政府办公室2026年11月28日印发"
    # DOCX: the blank page and the 版记 page are a last section whose footers have no PAGE field.
    data = render_docx(full_document())
    doc = Document(io.BytesIO(data))
    assert len(doc.sections) == 2
    last = doc.sections[1]
    for footer in (last.footer, last.even_page_footer, last.first_page_footer):
        assert not footer.is_linked_to_previous
        assert not footer._element.findall(f".//{qn('w:instrText')}")
    assert "PAGE" in "".join(t.text for t in doc.sections[0].footer._element.iter(qn("w:instrText")))
    assert "7.5 版记页前空白页和版记页不编页码" in {r.rule for r in check_gbt9704(data) if r.passed}


def test_colophon_alone_after_an_odd_page_keeps_its_number(tmp_path: Path) -> None:
    # Content ending on page 3 with no room: the 版记 goes to page 4 (the back of that sheet), numbered.
    spec = DocumentSpec(issuer_mark="揭阳市揭东区人民政府办公室文件", doc_number="揭东府办〔2026〕5号",
                        title="关于加强政务服务工作的通知", main_recipients=["各镇人民政府"],
                        body=[BodyBlock(SENTENCE * 26 + "。"), BodyBlock("特此通知。")],
                        signature="揭阳市揭东区人民政府办公室", date=datetime.date(2026, 11, 27), cc=["区委办公室"],
                        printing_org="揭东区人民政府办公室秘书科")
    assert plan_colophon(spec).mode == COLOPHON_OWN_PAGE
    data = render_docx(spec)
    assert_conforms(data)
    assert len(Document(io.BytesIO(data)).sections) == 1
    path = tmp_path / "own.pdf"
    path.write_bytes(render_pdf_with_layout(spec).data)
    texts = page_texts(path)
    assert len(texts) == 4 and texts[3].startswith("抄送：") and texts[3].endswith("印发—4—")


# ---------------------------------------------------------------- 联合行文


def test_joint_mark_names_stacked_with_suffix_centred(tmp_path: Path) -> None:
    spec = joint()
    words = pdf_words(render_pdf_with_layout(spec).data, tmp_path)
    page0 = [w for w in words if w.page == 0]
    suffix = find(page0, "文件")
    joint_mark = g.joint_mark(spec.issuer_names, "文件")
    # Each name's characters span the same column (分散对齐); first name's em top 35 mm below the 版心 top.
    tops = sorted({round(w.top, 1) for w in page0 if w.top < suffix.bottom + 30 and w.text != "文件"})[:3]
    assert len(tops) == 3
    assert abs(tops[0] / MM - 72) < 0.1
    rows = [[w for w in page0 if abs(w.top - t) < 0.2 and w.text != "文件"] for t in tops]
    for row in rows:
        assert abs(min(w.x0 for w in row) - (LEFT + joint_mark.names_x0_pt)) < 0.3
        assert abs(max(w.x1 for w in row) - (LEFT + joint_mark.names_x0_pt + joint_mark.names_w_pt)) < 1.0
    assert "".join(w.text for w in rows[0]) == "揭阳市揭东区财政局"  # 主办机关 first
    assert suffix.x0 > max(w.x1 for row in rows for w in row)  # "文件" right of the names ...
    names_mid = (tops[0] + tops[-1] + joint_mark.size) / 2
    assert abs((suffix.top + suffix.bottom) / 2 - names_mid) < 0.3  # ... centred on them
    number = find(page0, "揭东财〔2026〕9号")
    assert line_of(number) == pytest.approx(joint_mark.number_line, abs=0.05)  # 标志下空二行


# ---------------------------------------------------------------- 信函格式


def test_letter_geometry_in_the_pdf(tmp_path: Path) -> None:
    spec = letter()
    rendered = render_pdf_with_layout(spec)
    path = tmp_path / "letter.pdf"
    path.write_bytes(rendered.data)
    words = pdf_words(rendered.data, tmp_path)
    # The 标志 (信函: the name alone) and the title's first line (回行 after the 发文机关, §7.3.1) read the same.
    mark, title = sorted((w for w in words if w.page == 0 and w.text == "揭阳市揭东区人民政府办公室"), key=lambda w: w.top)
    assert abs(mark.top / MM - 30) < 0.1  # 标志上边缘至上页边 30 mm
    number = find(words, "揭东府办函〔2026〕18号", 0)
    copy = find(words, "000003", 0)
    assert abs(number.x1 - RIGHT) < 0.3 and abs(copy.x0 - LEFT) < 0.3  # 顶格居版心右/左边缘
    secrecy = find(words, "机密★1年", 0)
    assert abs(number.top - copy.top) < 0.05 and abs(baseline(secrecy, HEI) - baseline(copy) - PITCH) < 0.05
    # Red double lines: 170 mm long, centred on the page; the pair under the 标志 4 mm below it, the other pair's
    # lower edge 20 mm above the page bottom.
    dpi = 200
    rows = red_rows(path, 1, dpi)
    lines = sorted(y for y, (length, _) in rows.items() if length * 25.4 / dpi > 150)
    assert lines
    for y in lines:
        length, start = rows[y]
        assert length * 25.4 / dpi == pytest.approx(170, abs=0.5)
        assert start * 25.4 / dpi == pytest.approx(20, abs=0.5)
    top_group = [y * 25.4 / dpi for y in lines if y * 25.4 / dpi < 100]
    bottom_group = [y * 25.4 / dpi for y in lines if y * 25.4 / dpi > 200]
    assert min(top_group) - mark.bottom / MM == pytest.approx(4, abs=0.3)
    assert 297 - (max(bottom_group) + 25.4 / dpi) == pytest.approx(20, abs=0.3)
    # 发文字号 7/8 of a 3号 character (14 pt) below the first double line.
    assert number.top - (max(top_group) + 25.4 / dpi) * MM == pytest.approx(14, abs=0.8)
    # Title two lines below the last header line; first page without a number, page 2 numbered.
    # The header lines fill a block of whole grid lines (ending after the 密级 line); the title is on the grid two
    # empty lines after it (a 22 pt line's baseline is 23.22 pt below its line top).
    head = g.letter_head(len(spec.issuer_mark), 2)
    block_bottom = 37 * MM + head.block_pitches * PITCH
    assert secrecy.bottom < block_bottom < secrecy.bottom + PITCH
    assert (baseline(title) - 23.22 - 37 * MM) / PITCH == pytest.approx(head.block_pitches + 2, abs=0.005)
    texts = page_texts(path)
    assert rendered.page_count == len(texts) == 2
    assert not re.search(r"—\d+—", texts[0]) and texts[1].endswith("—2—")
    assert "印发" not in "".join(texts) and "抄送：区委办公室。" in texts[1]
    assert rendered.seal_anchors and rendered.seal_anchors[0].page == 1


# ---------------------------------------------------------------- 纪要格式


def test_minutes_attendance_hanging_and_no_seal(tmp_path: Path) -> None:
    rendered = render_pdf_with_layout(minutes())
    assert rendered.seal_anchors == []
    words = pdf_words(rendered.data, tmp_path)
    mark = find(words, "揭阳市揭东区人民政府常务会议纪要", 0)
    assert abs(mark.top / MM - 72) < 0.1 and abs((mark.x0 + mark.x1) / 2 - (LEFT + RIGHT) / 2) < 0.5
    present = next(w for w in words if w.text.startswith("出席："))
    assert abs(present.x0 - (LEFT + 2 * ADV)) < 0.3  # 左空二字
    cont = [w for w in words if w.page == present.page and abs(baseline(w) - baseline(present, HEI) - PITCH) < 0.1]
    assert cont and abs(cont[0].x0 - (LEFT + 5 * ADV)) < 0.3  # 回行与冒号后的首字对齐
    date = find(words, "2026年11月21日")
    assert abs(RIGHT - date.x1 - 32) < 0.5  # no 署名: the date 右空二字


# ---------------------------------------------------------------- broken documents


def _char_style_font(name: str, font: str) -> Callable:
    def change(doc) -> None:
        rfonts = doc.styles[name].element.rPr.rFonts
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia"):
            rfonts.set(qn(attr), font)

    return change


def _replace(old: str, new: str) -> Callable:
    def change(doc) -> None:
        hits = 0
        for t in doc.element.body.iter(qn("w:t")):
            if old in (t.text or ""):
                t.text, hits = t.text.replace(old, new), hits + 1
        assert hits, old

    return change


def _attachment_title_left(doc) -> None:
    for p in doc.paragraphs:
        if p.style.name == "GB AttachmentTitle":
            p.alignment = 0


def _attachment_label_no_break(doc) -> None:
    p = next(p for p in doc.paragraphs if p.style.name == "GB AttachmentLabel")
    p.paragraph_format.page_break_before = False


def _attendance_label_fangsong(doc) -> None:
    _char_style_font("GB AttendanceLabel Char", "仿宋_GB2312")(doc)


def _table_without_inner_borders(doc) -> None:
    borders = doc.tables[0]._tbl.tblPr.find(qn("w:tblBorders"))
    for tag in ("w:insideH", "w:insideV"):
        borders.remove(borders.find(qn(tag)))


def _blank_page_numbered(doc) -> None:
    doc.sections[1].footer.is_linked_to_previous = True  # the 版记 section inherits the numbered footer


def _header_marks_swapped(doc) -> None:
    body = doc.element.body
    first, second = body[1], body[2]  # 密级 and 紧急程度 lines
    body.remove(second)
    first.addprevious(second)


@pytest.mark.parametrize(
    ("sample", "change", "rules"),
    [
        ("full", _char_style_font("GB Secrecy Char", "仿宋_GB2312"),
         {"7.2.2 密级和保密期限3号黑体（如“机密★1年”）"}),
        ("full", _replace("000028", "00028"), {"7.2.1 份号6位3号阿拉伯数字、顶格第一行"}),
        ("full", _replace("秘密★6个月", "秘密★六个月"), {"7.2.2 密级和保密期限3号黑体（如“机密★1年”）"}),
        ("full", _header_marks_swapped, {"7.2.1–7.2.3 份号→密级→紧急程度顺序、顶格、每行一项"}),
        ("full", _attachment_title_left, {"7.3.7 附件另面编排（“附件N”黑体顶格第一行、标题小标宋居中第三行）"}),
        ("full", _attachment_label_no_break, {"7.3.7 附件另面编排（“附件N”黑体顶格第一行、标题小标宋居中第三行）"}),
        ("full", _replace("附件2", "附件3"), {"7.3.7 附件另面编排（“附件N”黑体顶格第一行、标题小标宋居中第三行）"}),
        ("full", _table_without_inner_borders, {"8 表格宽不超出版心、有边框、3号仿宋（表头黑体）"}),
        ("full", _blank_page_numbered, {"7.5 版记页前空白页和版记页不编页码"}),
        ("full", _replace("〔2026〕5号", "〔2026〕05号"), {"7.2.4 发文字号格式"}),
        ("minutes", _attendance_label_fangsong, {"10.3 出席、请假、列席（“出席”黑体、名单仿宋、回行与冒号后首字对齐）"}),
        ("letter", _replace("揭东府办函〔2026〕18号", "揭东府办函[2026]18号"), {"7.2.4 发文字号格式"}),
    ],
)
def test_broken_documents_caught_by_named_rule(sample: str, change: Callable, rules: set[str]) -> None:
    assert failures(mutate(render_docx(SAMPLES[sample]()), change)) == rules


def test_letter_mark_moved_and_first_page_numbered_caught() -> None:
    def move_mark(doc) -> None:
        anchor = next(a for a in doc.element.body.iter(qn("wp:anchor"))
                      if a.find(f".//{qn('w:txbxContent')}") is not None)
        off = anchor.find(f"{qn('wp:positionV')}/{qn('wp:posOffset')}")
        off.text = str(int(off.text) + 3 * g.EMU_PER_MM)  # 33 mm instead of 30

    def number_first_page(doc) -> None:
        sec = doc.sections[0]
        sec.first_page_footer.is_linked_to_previous = True  # falls back to the numbered default footer

    bad = failures(mutate(render_docx(letter()), move_mark))
    assert {"10.1 信函标志上边缘距上页边30 mm、红色小标宋居中",
            "10.1 信函红色双线170 mm（标志下4 mm上粗下细，距下页边20 mm上细下粗）"} == bad
    assert failures(mutate(render_docx(letter()), number_first_page)) == {"10.1 信函首页不显示页码"}


def test_joint_suffix_off_centre_caught_and_names_alone_pass() -> None:
    def raise_suffix(doc) -> None:
        for anchor in doc.element.body.iter(qn("wp:anchor")):
            content = anchor.find(f".//{qn('w:txbxContent')}")
            if content is not None and "".join(t.text or "" for t in content.iter(qn("w:t"))) == "文件":
                off = anchor.find(f"{qn('wp:positionV')}/{qn('wp:posOffset')}")
                off.text = str(int(off.text) - 5 * g.EMU_PER_MM)  # 5 mm above the names' centre line

    rule = "7.2.5 联合行文标志（名称上下排列，“文件”居右、上下居中）"
    assert failures(mutate(render_docx(joint()), raise_suffix)) == {rule}
    # 发文机关名称 alone (no "文件") is a valid 标志 too.
    alone = render_docx(DocumentSpec(**{**joint().__dict__, "issuer_mark_suffix": ""}))
    assert_conforms(alone)
    assert next(r for r in check_gbt9704(alone) if r.rule == rule).measured.endswith("无“文件”")


def test_unsealed_signature_moved_caught() -> None:
    spec = DocumentSpec(**{**joint().__dict__, "sealed": False})
    data = render_docx(spec)
    assert_conforms(data)

    def indent_date(doc) -> None:
        pf = next(p for p in doc.paragraphs if p.style.name == "GB Date").paragraph_format
        if pf.left_indent is not None:  # one 字 too far right
            pf.left_indent = Pt(pf.left_indent.pt + 16)
        else:
            pf.right_indent = Pt(pf.right_indent.pt - 16)

    assert failures(mutate(data, indent_date)) == {"7.3.5.2 不加盖印章：署名右空二字，成文日期首字右移二字"}


def test_joint_seal_columns_too_close_caught() -> None:
    def squeeze(doc) -> None:
        p = next(p for p in doc.paragraphs if p.style.name == "GB Signature" and "\t" in p.text)
        for tab in p._p.findall(f"{qn('w:pPr')}/{qn('w:tabs')}/{qn('w:tab')}")[:-1]:
            tab.set(qn("w:pos"), str(int(tab.get(qn("w:pos"))) + 400))  # columns 20 pt closer: seals would touch

    assert failures(mutate(render_docx(joint()), squeeze)) == {
        "7.3.5.1 署名以成文日期为准居中（联合行文各署名居中于印章位置）"}


def test_command_reports_letter_rules(tmp_path: Path) -> None:
    path = tmp_path / "letter.docx"
    path.write_bytes(render_docx(letter()))
    out = io.StringIO()
    call_command("check_gbt9704", str(path), stdout=out)
    report = out.getvalue()
    assert "版式：信函格式（letter）" in report
    assert "不符 0 项" in report and "10.1 信函标志上边缘距上页边30 mm" in report and "30.00 mm" in report
    # Checked as a 文件格式 instead, the same file lacks the 版头 red rule and the 35 mm 标志.
    with pytest.raises(CommandError, match=re.escape("7.2.7 版头红色分隔线156 mm")):
        call_command("check_gbt9704", str(path), "--layout", "standard", stdout=io.StringIO())
