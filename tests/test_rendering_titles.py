"""标题回行 (GB/T 9704 §7.3.1): the table of real-shaped long titles and how a 区府办 clerk breaks them.

「回行时要做到词意完整，排列对称，长短适宜，间距恰当；标题排列应当使用梯形或菱形」: never inside a word, a 机关名称,
a year or a number; at the natural seams (after the 发文机关, before 关于, before the 事由's last phrase); no 沙漏形,
no lone 「的通知」; the DOCX (read back, and as LibreOffice lays it out) and the PDF show the same lines.
"""

from __future__ import annotations

import datetime
import io
import itertools
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document

from documents.rendering import render_docx
from documents.rendering.pdf import render_pdf
from documents.rendering.spec import BodyBlock, DocumentSpec
from documents.rendering.titles import TITLE_CHARS_PER_LINE, TitleBreakError, break_title, title_width

# What the directory gives (documents.specs.title_terms): 机关全称, 规范化简称, the region's name.
TERMS = (
    "揭阳市揭东区", "揭阳市揭东区人民政府", "揭阳市揭东区人民政府办公室", "揭阳市揭东区政务服务数据管理局",
    "揭阳市揭东区财政局", "揭阳市揭东区教育局", "揭阳市揭东区应急管理局", "揭阳市揭东区市场监督管理局",
    "揭阳市揭东区卫生健康局", "中共揭阳市揭东区委办公室", "揭阳市揭东区发展和改革局", "揭阳市揭东区住房和城乡建设局",
    "揭阳市揭东区农业农村局", "揭阳市揭东区民政局", "区府办", "区政数局", "区财政局",
)

# (title, the lines a clerk would print). " / " separates lines.
TABLE = [
    # Fits on one line (20 字 of 2号 on 156 mm): never broken.
    ("区政府第5次常务会议纪要", "区政府第5次常务会议纪要"),
    ("关于加强政务服务工作的通知", "关于加强政务服务工作的通知"),
    ("揭阳市揭东区人民政府关于拨付防汛应急资金的请示", "揭阳市揭东区人民政府 / 关于拨付防汛应急资金的请示"),
    # After the 发文机关, before 关于; the year stays with its 年度 (LibreOffice printed 「20/26年度」).
    ("揭阳市揭东区人民政府办公室关于印发2026年度政务服务工作要点的通知",
     "揭阳市揭东区人民政府办公室 / 关于印发2026年度政务服务工作要点的通知"),
    ("揭阳市揭东区人民政府办公室关于做好2026年冬季安全生产工作的通知",
     "揭阳市揭东区人民政府办公室 / 关于做好2026年冬季安全生产工作的通知"),
    ("揭阳市揭东区人民政府关于2026年度区级财政预算执行情况的报告",
     "揭阳市揭东区人民政府 / 关于2026年度区级财政预算执行情况的报告"),
    ("揭阳市揭东区应急管理局关于开展2026年“安全生产月”活动的通知",
     "揭阳市揭东区应急管理局 / 关于开展2026年“安全生产月”活动的通知"),
    ("揭阳市揭东区人民政府关于加快推进数字政府建设的实施意见", "揭阳市揭东区人民政府 / 关于加快推进数字政府建设的实施意见"),
    ("揭阳市揭东区人民政府办公室关于商请支持政务服务专项检查的函",
     "揭阳市揭东区人民政府办公室 / 关于商请支持政务服务专项检查的函"),
    ("揭阳市揭东区发展和改革局关于报送2026年度重点项目建设计划的报告",
     "揭阳市揭东区发展和改革局 / 关于报送2026年度重点项目建设计划的报告"),
    ("揭阳市揭东区农业农村局关于下达2026年度乡村振兴专项资金的通知",
     "揭阳市揭东区农业农村局 / 关于下达2026年度乡村振兴专项资金的通知"),
    # Three lines, 菱形 or 梯形, the third line starting the 事由's last phrase (工作要点, 应急预案, 领导小组 …).
    ("揭阳市揭东区人民政府办公室关于进一步加强全区政务服务数据管理工作的通知",
     "揭阳市揭东区人民政府办公室 / 关于进一步加强全区政务服务 / 数据管理工作的通知"),
    ("揭阳市揭东区人民政府办公室关于印发揭东区2026年政务公开工作要点的通知",
     "揭阳市揭东区人民政府办公室 / 关于印发揭东区2026年政务公开 / 工作要点的通知"),
    ("揭阳市揭东区人民政府关于印发揭东区数字政府建设三年行动方案（2026—2028年）的通知",
     "揭阳市揭东区人民政府 / 关于印发揭东区数字政府建设三年 / 行动方案（2026—2028年）的通知"),
    ("揭阳市揭东区政务服务数据管理局关于申请2026年度政务信息化专项资金的请示",
     "揭阳市揭东区政务服务数据管理局 / 关于申请2026年度政务信息化 / 专项资金的请示"),
    ("揭阳市揭东区人民政府办公室关于2026年第一季度政务服务“好差评”情况的通报",
     "揭阳市揭东区人民政府办公室 / 关于2026年第一季度政务服务 / “好差评”情况的通报"),
    ("揭阳市揭东区人民政府关于同意设立揭阳市揭东区政务服务中心分中心的批复",
     "揭阳市揭东区人民政府 / 关于同意设立揭阳市揭东区 / 政务服务中心分中心的批复"),
    ("揭阳市揭东区人民政府办公室关于成立揭阳市揭东区政务服务数据管理工作领导小组的通知",
     "揭阳市揭东区人民政府办公室 / 关于成立揭阳市揭东区政务服务数据管理 / 工作领导小组的通知"),
    ("揭阳市揭东区人民政府关于表彰2026年度安全生产工作先进单位和先进个人的决定",
     "揭阳市揭东区人民政府 / 关于表彰2026年度安全生产工作先进单位 / 和先进个人的决定"),
    ("揭阳市揭东区人民政府办公室关于调整揭阳市揭东区安全生产委员会组成人员的通知",
     "揭阳市揭东区人民政府办公室 / 关于调整揭阳市揭东区安全生产 / 委员会组成人员的通知"),
    ("揭阳市揭东区住房和城乡建设局关于开展2026年度城镇燃气安全专项整治的通知",
     "揭阳市揭东区住房和城乡建设局 / 关于开展2026年度城镇燃气安全 / 专项整治的通知"),
    ("揭阳市揭东区民政局关于做好2026年度最低生活保障对象动态管理工作的通知",
     "揭阳市揭东区民政局 / 关于做好2026年度最低生活保障 / 对象动态管理工作的通知"),
    ("揭阳市揭东区人民政府办公室关于印发揭东区2026—2028年营商环境优化提升行动方案的通知",
     "揭阳市揭东区人民政府办公室 / 关于印发揭东区2026—2028年 / 营商环境优化提升行动方案的通知"),
    ("揭阳市揭东区人民政府办公室关于印发揭阳市揭东区政务服务数据管理局主要职责内设机构和人员编制规定的通知",
     "揭阳市揭东区人民政府办公室 / 关于印发揭阳市揭东区政务服务数据管理局 / 主要职责内设机构和人员编制规定的通知"),
    ("揭阳市揭东区人民政府办公室转发揭阳市揭东区财政局关于加强专项资金管理意见的通知",
     "揭阳市揭东区人民政府办公室 / 转发揭阳市揭东区财政局关于加强 / 专项资金管理意见的通知"),
    ("揭阳市揭东区人民政府关于揭阳市揭东区2025年国民经济和社会发展计划执行情况与2026年计划草案的报告",
     "揭阳市揭东区人民政府关于揭阳市揭东区 / 2025年国民经济和社会发展计划执行情况 / 与2026年计划草案的报告"),
    # 联合行文: one 发文机关 a line, then the 事由.
    ("揭阳市揭东区人民政府办公室 揭阳市揭东区政务服务数据管理局关于推进“一网通办”改革的通知",
     "揭阳市揭东区人民政府办公室 / 揭阳市揭东区政务服务数据管理局 / 关于推进“一网通办”改革的通知"),
    ("揭阳市揭东区财政局 揭阳市揭东区教育局关于联合开展校园食品安全检查的通知",
     "揭阳市揭东区财政局 / 揭阳市揭东区教育局 / 关于联合开展校园食品安全检查的通知"),
    ("中共揭阳市揭东区委办公室 揭阳市揭东区人民政府办公室关于开展“我为群众办实事”实践活动的通知",
     "中共揭阳市揭东区委办公室 / 揭阳市揭东区人民政府办公室 / 关于开展“我为群众办实事”实践活动的通知"),
    # 书名号 longer than a line: broken after the region's name inside it, the quoted name kept whole.
    ("关于印发《揭阳市揭东区政务服务“好差评”管理办法》的通知", "关于印发《揭阳市揭东区 / 政务服务“好差评”管理办法》的通知"),
    ("关于印发《揭阳市揭东区“十四五”数字政府建设规划》的通知", "关于印发《揭阳市揭东区 / “十四五”数字政府建设规划》的通知"),
    ("关于转发《广东省人民政府办公厅关于进一步优化营商环境的若干措施》的通知",
     "关于转发《广东省人民政府办公厅 / 关于进一步优化营商环境的若干措施》的通知"),
    ("揭阳市揭东区人民政府办公室关于印发《揭阳市揭东区突发事件总体应急预案》的通知",
     "揭阳市揭东区人民政府办公室 / 关于印发《揭阳市揭东区突发事件总体 / 应急预案》的通知"),
    ("揭阳市揭东区人民政府关于印发《揭阳市揭东区政府信息公开工作规则》的通知",
     "揭阳市揭东区人民政府 / 关于印发《揭阳市揭东区政府信息公开 / 工作规则》的通知"),
    ("揭阳市揭东区人民政府关于做好2026年度全区安全生产大检查工作的通知",
     "揭阳市揭东区人民政府 / 关于做好2026年度全区 / 安全生产大检查工作的通知"),
    # No 发文机关 in the title: 梯形, the year whole, the coordinated phrase or quoted name whole.
    ("关于做好2027年元旦春节期间安全生产工作的通知", "关于做好2027年 / 元旦春节期间安全生产工作的通知"),
    ("关于开展2026年度全区“双随机、一公开”监管工作的通知", "关于开展2026年度全区 / “双随机、一公开”监管工作的通知"),
    ("关于拨付揭阳市揭东区2026年度防汛应急资金的请示", "关于拨付揭阳市揭东区 / 2026年度防汛应急资金的请示"),
    ("关于对全区政务服务事项办理情况进行专项督查的通报", "关于对全区政务服务 / 事项办理情况进行专项督查的通报"),
    ("关于进一步做好防汛防旱和森林防火工作的紧急通知", "关于进一步做好防汛防旱 / 和森林防火工作的紧急通知"),
]

# Splits the issue saw and no line may show: (end of one line, start of the next).
BAD_SEAMS = [("政务服", "务"), ("安", "全生产"), ("数字", "政府"), ("人民政府", "办公室"), ("20", "26"), ("的", "通知")]


def lines_of(expected: str) -> list[str]:
    return expected.split(" / ")


def test_the_table_is_long_enough_and_real_shaped() -> None:
    assert len(TABLE) >= 30
    assert sum(1 for t, _ in TABLE if re.search(r"20\d\d年", t)) >= 10
    assert sum(1 for t, _ in TABLE if "《" in t) >= 4 and sum(1 for t, _ in TABLE if "“" in t) >= 5
    assert sum(1 for t, _ in TABLE if " " in t) >= 3  # 联合行文


@pytest.mark.parametrize(("title", "expected"), TABLE, ids=[t[:14] for t, _ in TABLE])
def test_break_title_as_a_clerk_would(title: str, expected: str) -> None:
    lines = break_title(title, protected_terms=TERMS)
    assert lines == lines_of(expected)
    # The general rules, whatever the table says.
    assert "".join(lines) == title.replace(" ", "")
    widths = [title_width(s) for s in lines]
    assert len(lines) <= 3 and max(widths) <= TITLE_CHARS_PER_LINE
    assert min(widths) >= 4, "no orphan line such as 「的通知」"
    if len(lines) == 3:
        assert not (widths[1] < widths[0] and widths[1] < widths[2]), "no 沙漏形"
    for upper, lower in itertools.pairwise(lines):
        for end, start in BAD_SEAMS:
            assert not (upper.endswith(end) and lower.startswith(start)), (upper, lower)
        assert not (upper[-1].isdigit() and lower[0].isdigit()), "a number is never split"
    for term in TERMS:
        if term in title:
            assert any(term in s for s in lines), f"机关名称“{term}”被拆开"


def test_the_title_width_is_the_renderers() -> None:
    # 2号 (22 pt) with the grid's −0.25 pt spacing in the 156 mm 版心: 20 ideographs, half-width digits count half.
    assert TITLE_CHARS_PER_LINE == 20
    assert title_width("揭阳市揭东区人民政府办公室") == 13
    assert title_width("关于2026年") == pytest.approx(3 + 2 + 0.4)  # LibreOffice's 0.2 em at each CJK↔digit edge


def test_without_the_directory_the_agency_name_is_still_kept_whole() -> None:
    # 「人民政府/办公室」 was a real break; the built-in lexicon keeps it even with no terms passed.
    lines = break_title("揭阳市揭东区人民政府办公室关于进一步加强全区政务服务数据管理工作的通知")
    assert lines[0] == "揭阳市揭东区人民政府办公室"


@pytest.mark.parametrize("title", [
    "揭阳市揭东区人民政府办公室关于进一步加强和改进全区政务服务数据管理工作和政务信息化项目建设管理工作以及数字政府建设考核评价工作的通知",
    # Three 发文机关 need four lines when no name may be split.
    "揭阳市揭东区市场监督管理局 揭阳市揭东区教育局 揭阳市揭东区卫生健康局关于加强2026年春季学校食品安全管理的通知",
])
def test_a_title_that_cannot_break_within_three_lines_is_refused(title: str) -> None:
    with pytest.raises(TitleBreakError) as err:
        break_title(title, protected_terms=TERMS)
    assert "标题过长" in str(err.value) and "3行" in str(err.value) and "每行最多排20字" in str(err.value)
    assert isinstance(err.value, ValueError)  # spec validation: refused as elements_invalid/title_unbreakable


def spec(title: str) -> DocumentSpec:
    return DocumentSpec(
        issuer_mark="揭阳市揭东区人民政府办公室文件", doc_number="揭东府办〔2026〕5号", title=title,
        main_recipients=["各镇人民政府"], body=[BodyBlock("现将有关事项通知如下。")],
        signature="揭阳市揭东区人民政府办公室", date=datetime.date(2026, 11, 27), title_terms=TERMS,
    )


def docx_title_lines(data: bytes) -> list[str]:
    doc = Document(io.BytesIO(data))
    (title,) = [p for p in doc.paragraphs if p.style.name == "GB Title"]
    # One run per line, explicit w:br between them: nothing for LibreOffice or Word to re-break.
    breaks = title._p.xpath(".//w:br")
    assert len(breaks) == len(title.runs) - 1
    return title.text.split("\n")


def pdf_title_lines(data: bytes, tmp_path: Path) -> list[str]:
    """Page 1's 22 pt lines (the title; the 标志 is larger, the body 16 pt), top to bottom, words joined."""
    path = tmp_path / "title.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-bbox", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    rows: dict[float, list[tuple[float, str]]] = {}
    for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', out):
        if any(abs(float(m[4]) - float(m[2]) - h) < 0.3 for h in (22, 1.3 * 22)):  # reportlab, LibreOffice boxes
            rows.setdefault(round(float(m[2]), 1), []).append((float(m[1]), m[5]))
    unescape = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"'}
    lines = ["".join(w for _, w in sorted(words)) for _, words in sorted(rows.items())]
    return [re.sub("&[a-z]+;", lambda e: unescape[e[0]], line) for line in lines]


needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")


@needs_poppler
@pytest.mark.parametrize(("title", "expected"), TABLE, ids=[t[:14] for t, _ in TABLE])
def test_docx_and_pdf_print_the_same_lines(title: str, expected: str, tmp_path: Path) -> None:
    assert docx_title_lines(render_docx(spec(title))) == lines_of(expected)
    assert pdf_title_lines(render_pdf(spec(title)), tmp_path) == lines_of(expected)


@needs_poppler
@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) not installed")
def test_libreoffice_keeps_the_lines(tmp_path: Path) -> None:
    """LibreOffice printed 「20/26年度」; with explicit breaks it prints the chosen lines, and the PDF the same."""
    from documents.rendering.libreoffice import docx_to_pdf

    for title, expected in (TABLE[3], TABLE[13], TABLE[26]):
        assert pdf_title_lines(docx_to_pdf(render_docx(spec(title))), tmp_path) == lines_of(expected)
