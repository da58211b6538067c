"""收文 files (issue 12 point 6): the 正文 PDF previewed in the browser as watermarked page images like 发文's (200 with
the viewer's watermark for who may see the 收文, 404 for anyone else), and the printable 收文处理单 read back with
pdftotext: 来文单位, 来文字号, 收文号 and the 拟办/批办/承办 opinions with names and Beijing-time dates."""

from __future__ import annotations

import re
import subprocess
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from documents.rendering.slip import ReceiptSlip, SlipOpinion, render_receipt_slip
from oa.models import Agency, Department
from tests.clients import login
from tests.issued import issue_to
from tests.test_preview import png_of, watermark_pixels
from tests.test_receipt import open_task, register_fields, step
from workflows.models import DistributionRecipient, Opinion
from workflows.receipt.flows import ReceiptFlow

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, check=True, capture_output=True).stdout
    return re.sub(r"\s+", "", out.decode())


def beijing(value) -> str:
    """The date an opinion is signed with, worked out here independently of the renderer."""
    local = value.astimezone(BEIJING)
    return f"{local.year}年{local.month}月{local.day}日{local:%H:%M}"


@pytest.fixture
def finance():
    return Agency.objects.get(doc_code="揭东财")


def test_incoming_preview_is_watermarked_for_readers_and_404_for_others(cast, finance):
    doc, _ = issue_to([finance], title="关于报送年度财政预算执行情况的函")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    assert incoming.pdf  # the sealed PDF as distributed
    page_url = reverse("workflows:incoming_preview_page", args=[incoming.pk, 1])
    preview_url = reverse("workflows:incoming_preview", args=[incoming.pk])

    clerk = login(cast.finance05, otp=True)  # the receiving office's 文书
    response = clerk.get(preview_url)
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-store"
    assert f'src="{page_url}"' in html and "水印" in html
    assert incoming.pdf.name not in html  # page images only, never the PDF
    detail = clerk.get(reverse("workflows:incoming_detail", args=[incoming.pk])).content.decode()
    assert preview_url in detail and reverse("workflows:incoming_slip", args=[incoming.pk]) in detail
    image = png_of(clerk.get(page_url))
    assert watermark_pixels(image) > 2000  # the viewer's name and the time, burnt into the pixels

    # A person of the same agency without a role or grant, and someone of another agency: 404, nothing rendered.
    for outsider in (cast.finance06, cast.zhangwei):
        client = login(outsider, otp=True)
        for url in (preview_url, page_url, reverse("workflows:incoming_slip", args=[incoming.pk]),
                    reverse("workflows:incoming_attachment_preview", args=[incoming.pk, 1])):
            assert client.get(url).status_code == 404, (outsider.username, url)
    # Past the last page, and an attachment that does not exist: clear answers, not a crash.
    assert clerk.get(reverse("workflows:incoming_preview_page", args=[incoming.pk, 99])).status_code == 404
    assert clerk.get(reverse("workflows:incoming_attachment_preview", args=[incoming.pk, 7])).status_code == 404


def test_receipt_slip_pdf_carries_the_record_and_every_opinion(cast, finance):
    doc, _ = issue_to([finance], title="关于报送年度财政预算执行情况的函")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    clerk, office = login(cast.finance05, otp=True), login(cast.finance03, otp=True)
    leader, host = login(cast.finance02, otp=True), login(cast.finance04, otp=True)
    budget = Department.objects.get(agency=finance, name="预算科")
    general = Department.objects.get(agency=finance, name="办公室")

    assert step(clerk, open_task(incoming, ReceiptFlow.sign), "sign", copies=2).status_code == 302
    assert step(clerk, open_task(incoming, ReceiptFlow.register), "register",
                **register_fields(incoming)).status_code == 302
    assert step(office, open_task(incoming, ReceiptFlow.review), "accept", "属本机关职权。").status_code == 302
    assert step(office, open_task(incoming, ReceiptFlow.propose), "propose", "拟请丁副局长阅示，由预算科办理。",
                leader=cast.finance02.pk, host_department=budget.pk).status_code == 302
    assert step(leader, open_task(incoming, ReceiptFlow.instruct), "instruct", "请预算科牵头办理，办公室协助。",
                host_department=budget.pk, assist_departments=[general.pk], limit_days=5).status_code == 302
    assert step(office, open_task(incoming, ReceiptFlow.handle, owner=cast.finance03), "assist",
                "办公室已核对报送口径。").status_code == 302
    assert step(host, open_task(incoming, ReceiptFlow.handle, owner=cast.finance04), "done",
                "已按要求报送执行情况。").status_code == 302
    incoming.refresh_from_db()

    response = clerk.get(reverse("workflows:incoming_slip", args=[incoming.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    text = pdf_text(response.content)
    assert f"{finance.name}收文处理单" in text
    for label, value in (("来文单位", incoming.sender_name), ("来文字号", doc.doc_number),
                         ("收文号", incoming.receipt_number)):
        assert label in text and value in text, (label, value)
    assert incoming.receipt_number.startswith("收〔") and doc.doc_number
    assert "预算科" in text and "办公室" in text  # 主办、协办部门
    opinions = list(Opinion.objects.filter(process__data__incoming_id=incoming.pk).select_related("author"))
    assert {o.node for o in opinions} >= {"propose", "instruct", "handle"}
    for o in opinions:
        # each opinion, then "姓名　完整日期" in Beijing time beneath it
        assert o.text in text, o.text
        assert f"{o.author.get_full_name()}{beijing(o.created_at)}" in text, (o.step, beijing(o.created_at))
    for box in ("拟办意见", "领导批示", "承办情况"):
        assert box in text
    assert text.index("拟请丁副局长阅示") < text.index("请预算科牵头办理") < text.index("已按要求报送执行情况")
    # The flow's own 处理笺 address leads to the same form (it used to answer "no 公文" for a 收文 flow).
    process = open_task(incoming, ReceiptFlow.circulate).process
    moved = clerk.get(reverse("workflows:process_slip", args=[process.pk]))
    assert moved.status_code == 302 and moved["Location"] == reverse("workflows:incoming_slip", args=[incoming.pk])


def test_receipt_slip_prints_hostile_text_literally():
    import datetime as dt

    when = dt.datetime(2026, 11, 30, 17, 5, tzinfo=dt.UTC)  # 2026-12-01 01:05 in Beijing
    slip = ReceiptSlip(
        agency="揭阳市揭东区财政局", title="<b>标题</b> & 测试", sender='来文<img src="/etc/passwd"/>单位',
        doc_number="揭东府办函〔2026〕3号", receipt_number="收〔2026〕9号",
        opinions=[SlipOpinion(step="", name="丁丽", text="拟请<font size=40>阅示</font>", date=when,
                              kind="propose")],
    )
    text = pdf_text(render_receipt_slip(slip))
    assert '来文<imgsrc="/etc/passwd"/>单位' in text and "<b>标题</b>&测试" in text
    assert "拟请<fontsize=40>阅示</font>" in text and "丁丽2026年12月1日01:05" in text
    with pytest.raises(ValueError):
        render_receipt_slip(ReceiptSlip(agency="a", title="t", sender="s", opinions=[
            SlipOpinion(step="", name="n", text="x", date=when, kind="sign")]))
