"""处理笺 / 发文稿纸 PDF (documents.rendering.slip), read back with poppler (pdftotext, pdfinfo, pdffonts)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from documents.rendering.fonts import STANDIN_NOTE
from documents.rendering.slip import (
    KIND_CHECK,
    KIND_COUNTERSIGN,
    KIND_DEPT_REVIEW,
    KIND_OTHER,
    KIND_SIGN,
    ProcessingSlip,
    SlipOpinion,
    format_opinion_date,
    render_processing_slip,
)

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("pdffonts", "pdftotext", "pdfinfo")),
    reason="poppler-utils (pdffonts/pdftotext/pdfinfo) not installed: `make test-deps` installs it",
)

TZ = ZoneInfo("Asia/Shanghai")


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TZ)


OPINIONS = [
    SlipOpinion(step="部门负责人审核", name="李娜", text="请办公室核稿。", date=_at(20, 10, 5), kind=KIND_DEPT_REVIEW),
    SlipOpinion(step="办公室核稿", name="刘洋", text="格式已核，文种正确。", date=_at(21, 9, 40), kind=KIND_CHECK),
    SlipOpinion(step="会签（区财政局）", name="财政甲", text="经费安排无意见。", date=_at(23, 16, 20), kind=KIND_COUNTERSIGN),
    SlipOpinion(step="会签（区教育局）", name="教育乙", on_behalf_of="教育丙", text="同意。", date=_at(24, 8, 15),
                kind=KIND_COUNTERSIGN),
    SlipOpinion(step="签发", name="黄建华", text="同意印发。", date=_at(27, 11, 2), kind=KIND_SIGN),
    SlipOpinion(step="复核", name="刘洋", text="复核无实质性修改。", date=_at(27, 15, 30), kind=KIND_OTHER),
]


def _slip(**kw: object) -> ProcessingSlip:
    base: dict[str, object] = dict(
        title="关于加强政务服务标准化建设的通知",
        doc_type_label="通知",
        agency="揭阳市揭东区人民政府办公室",
        doc_number="揭东府办〔2026〕5号",
        urgency="特急",
        secrecy="秘密★1年",
        copy_number="000017",
        drafter="张伟",
        drafting_department="秘书科",
        draft_date=dt.date(2026, 11, 19),
        main_recipients=["各镇人民政府", "区直各单位"],
        cc=["区委办公室", "区人大常委会办公室"],
        attachments=["检查表", "汇总表"],
        printing_org="揭阳市揭东区人民政府办公室",
        copies=45,
        opinions=OPINIONS,
    )
    base.update(kw)
    return ProcessingSlip(**base)  # type: ignore[arg-type]


def _write(tmp_path: Path, data: bytes, name: str = "slip.pdf") -> Path:
    assert data.startswith(b"%PDF-")
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _text(pdf: Path) -> str:
    """pdftotext output (reading order, so a box label does not cut into the box's text) without whitespace."""
    out = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return re.sub(r"\s+", "", out)


def _pages(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def test_every_element_and_opinion_is_printed(tmp_path: Path) -> None:
    pdf = _write(tmp_path, render_processing_slip(_slip()))
    text = _text(pdf)
    for element in ["揭阳市揭东区人民政府办公室发文稿纸", "揭东府办〔2026〕5号", "关于加强政务服务标准化建设的通知",
                    "各镇人民政府、区直各单位", "区委办公室、区人大常委会办公室", "1.检查表；2.汇总表",
                    "秘书科", "张伟", "2026年11月19日", "特急", "秘密★1年", "000017", "45份", "通知",
                    "签发", "会签", "核稿", "部门审核", "拟稿单位", "拟稿人", "文号", "标题", "主送", "抄送",
                    "附件", "印发份数", "印发机关", "第1页共1页"]:
        assert element in text, element
    for op in OPINIONS:
        assert op.text in text, op.text
        # name and full date (with time) side by side on the signature line
        assert (op.signed_by + format_opinion_date(op.date)).replace(" ", "") in text, op.signed_by
    assert "黄建华2026年11月27日11:02" in text  # 签发: 姓名和完整日期
    assert _pages(pdf) == 1


def test_on_behalf_of_prints_dai(tmp_path: Path) -> None:
    text = _text(_write(tmp_path, render_processing_slip(_slip())))
    assert "教育乙代教育丙2026年11月24日08:15" in text
    assert OPINIONS[3].signed_by == "教育乙 代 教育丙"


def test_circle_read_is_shown_as_approval(tmp_path: Path) -> None:
    circled = SlipOpinion(step="签发", name="王芳", text="", circled=True, date=_at(27, 9, 0), kind=KIND_SIGN)
    text = _text(_write(tmp_path, render_processing_slip(_slip(opinions=[circled]))))
    # the box label "签发" sits between the lines in pdftotext's layout, so check the two lines of the opinion
    assert "圈阅" in text
    assert "王芳2026年11月27日09:00" in text
    assert "未填写意见" not in text


def test_upward_document_lists_its_signers(tmp_path: Path) -> None:
    slip = _slip(is_upward=True, signers=["黄建华", "王芳"], doc_number="", doc_type_label="请示")
    text = _text(_write(tmp_path, render_processing_slip(slip)))
    assert "上行文" in text
    assert "签发人黄建华、王芳" in text
    assert "（登记时编号）" in text  # 文号 not yet allocated


def test_forty_long_opinions_paginate_without_loss(tmp_path: Path) -> None:
    opinions = [
        SlipOpinion(step=f"会签（部门{i:02d}）", name=f"会签人{i:02d}",
                    text=f"第{i:02d}条意见：" + "建议进一步明确责任分工并细化工作措施确保各项任务落到实处。" * 6,
                    date=dt.datetime(2026, 11, 1 + i % 28, 8 + i % 10, i, tzinfo=TZ), kind=KIND_COUNTERSIGN)
        for i in range(40)
    ]
    pdf = _write(tmp_path, render_processing_slip(_slip(opinions=opinions)))
    pages = _pages(pdf)
    assert pages > 1
    text = _text(pdf)
    for op in opinions:
        assert op.text in text, op.step
        assert op.signed_by + format_opinion_date(op.date).replace(" ", "") in text, op.step
    assert "揭东府办〔2026〕5号" in text
    assert "会签（续）" in text  # the box label carries on to the next page
    assert f"第{pages}页共{pages}页" in text
    assert "印发机关" in text  # the 要素 rows after the opinions are not lost


def test_overlong_single_opinion_is_cut_into_rows(tmp_path: Path) -> None:
    sentences = [f"第{i}句内容较长需要多行排版。" for i in range(400)]
    long_text = "".join(sentences)  # taller than one page
    op = SlipOpinion(step="复核", name="刘洋", text=long_text, date=_at(27, 15, 30), kind=KIND_OTHER)
    pdf = _write(tmp_path, render_processing_slip(_slip(opinions=[op])))
    assert _pages(pdf) > 1
    text = _text(pdf)
    # the page footers and continuation headers come between rows, so check sentence by sentence, in order
    positions = [text.find(sentence) for sentence in sentences]
    assert -1 not in positions
    assert positions == sorted(positions)
    assert "刘洋2026年11月27日15:30" in text


def test_fonts_embedded_and_standin_named(tmp_path: Path) -> None:
    pdf = _write(tmp_path, render_processing_slip(_slip()))
    rows = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout.splitlines()[2:]
    assert rows
    for row in rows:
        assert re.search(r"\b(yes)\s+(yes)\s+(yes)\s+\d+\s+\d+\s*$", row), row  # emb, sub, uni
    assert not any("Helvetica" in row for row in rows)
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    assert STANDIN_NOTE in info  # the test host has no licensed fonts
    assert STANDIN_NOTE in _text(pdf)


def test_naive_datetimes_are_printed_as_given_and_aware_ones_in_local_time() -> None:
    assert format_opinion_date(dt.datetime(2026, 3, 5, 7, 9)) == "2026年3月5日 07:09"
    utc = dt.datetime(2026, 3, 4, 23, 30, tzinfo=dt.UTC)
    assert format_opinion_date(utc) == "2026年3月5日 07:30"


def test_unknown_opinion_kind_is_refused() -> None:
    bad = SlipOpinion(step="签发", name="王芳", text="同意", date=_at(27, 9), kind="approve")
    with pytest.raises(ValueError, match="意见类别"):
        render_processing_slip(_slip(opinions=[bad]))
