"""Act where you read (docs/workbench.md 在办理页上阅读): every 发文 step page (审核, 核稿, 会签, 签发, 复核) and every 收文
step page (拟办, 批办, 承办) shows the 正文, the 要素, the attachments and every earlier opinion in order, above the
opinion box; the 待办 row opens the step page itself. PostgreSQL, the demo cast, driven through the actions and HTTP."""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from documents.actions.attachments import check_add_attachment
from documents.actions.body import check_save_body
from documents.actions.documents import do_create_document
from documents.models import Attachment, OfficialDocument
from documents.rendering.merge import merged_digests
from oa.models import Agency, Department, Notification, Person, WorkItem
from tests.clients import login
from tests.issued import ensure_office_seal
from tests.test_attachments import make_pdf
from tests.test_receipt import register_fields
from tests.test_receipt import step as receipt_step
from workflows.actions.issuance import (
    StartOptions,
    StepInput,
    check_perform_issuance_step,
    check_start_issuance,
)
from workflows.issuance.flows import IssuanceFlow
from workflows.models import DistributionRecipient
from workflows.receipt.flows import ReceiptFlow

pytestmark = pytest.mark.django_db

OPEN = [STATUS.ASSIGNED, STATUS.STARTED]
TITLE = "关于做好2027年春节期间值班工作的函"
FIRST = "为做好春节期间值班工作，现将有关事项函告如下。"
SECOND = "请各单位安排领导带班，严格执行值班制度。"
ADDED = "值班表于节前三日报送区府办。"  # 李娜's edit at 审核: the 痕迹 later steps can show
ATTACHMENT_TITLE = "春节值班安排表"
BODY = {"blocks": [{"type": "p", "level": 0, "text": FIRST}, {"type": "p", "level": 0, "text": SECOND}]}
EDITED = {"blocks": [*BODY["blocks"], {"type": "p", "level": 0, "text": ADDED}]}

# (node, opinion written there) in the order the 发文 goes
ISSUANCE_CHAIN = [
    (IssuanceFlow.dept_review, "审核同意，请办公室核稿。"),
    (IssuanceFlow.office_check, "文稿已核，格式规范。"),
    (IssuanceFlow.countersign, "综合科会签同意。"),
    (IssuanceFlow.signoff, "同意印发。"),
    (IssuanceFlow.recheck, "复核无误。"),
]


def _open(process: Process, node) -> Task:
    return Task.objects.get(process=process, flow_task=node, status__in=OPEN)


def _main(page: str) -> str:
    return page[page.index("<main"):]


def _in_order(page: str, texts: list[str]) -> None:
    """Each text is on the page, in this order."""
    at = -1
    for text in texts:
        found = page.find(html.escape(text), at + 1)
        assert found > at, f"“{text}” 不在页面上或顺序不对：{texts}"
        at = found


def _above_opinion_box(page: str, *texts: str) -> None:
    box = page.index('id="do-title"')
    for text in texts:
        assert -1 < page.find(html.escape(text)) < box, f"“{text}” 应在意见框之上"


def _draft(cast) -> OfficialDocument:
    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=cast.zhangwei, agency=office,
                             department=Department.objects.get(agency=office, name="秘书科"), title=TITLE,
                             doc_type="han", main_recipients=["区财政局"], cc=["区教育局"], urgency="jiaji")
    check_save_body(cast.zhangwei, doc, BODY, if_match=None)
    check_add_attachment(cast.zhangwei, doc, SimpleUploadedFile("zhiban.pdf", make_pdf(text=ATTACHMENT_TITLE),
                                                                "application/pdf"), title=ATTACHMENT_TITLE)
    return doc


def _signed_and_sent(cast) -> tuple[OfficialDocument, Process, dict[str, str]]:
    """The 发文 through every reading step, each step page checked as its holder opens it; then 登记 … 分发 to
    区财政局. Returns the document, its process and the step pages (node name → HTML)."""
    doc = _draft(cast)
    zonghe = Department.objects.get(agency=doc.agency, name="综合科")
    process = check_start_issuance(cast.zhangwei, doc, StartOptions(countersign_department_ids=[zonghe.pk]))
    pages: dict[str, str] = {}
    written: list[str] = []
    for node, opinion in ISSUANCE_CHAIN:
        task = _open(process, node)
        holder = task.owner
        item = WorkItem.objects.get(ref=f"viewflow.task:{task.pk}", owner=holder, box="todo")
        client = login(holder, otp=True)
        inbox = client.get("/work/", {"box": "todo"}).content.decode()
        # the 待办 row opens the step page itself, no 事项详情 in between
        assert f'href="/flows/issuance/tasks/{task.pk}/"' in inbox and f'href="/work/{item.pk}/"' not in inbox
        page = client.get(f"/flows/issuance/tasks/{task.pk}/").content.decode()
        pages[node.name] = page
        main = _main(page)
        # 正文 of the current version, the 要素, the attachment, every earlier opinion in order — above the box
        _above_opinion_box(main, FIRST, SECOND, TITLE, "区财政局", "区教育局", ATTACHMENT_TITLE, *written)
        for fact in ("函", "加急", "张伟", "秘书科", "尚未编号" if node is not IssuanceFlow.recheck else "发文字号"):
            assert fact in main, fact
        assert f"/documents/{doc.pk}/attachments/" in main and "/download/" in main and "/preview/" in main
        _in_order(main, written)
        if node is IssuanceFlow.dept_review:
            assert "还没有办理意见" in main and "显示修改痕迹" not in main  # version 1: nothing to compare
            check_save_body(holder, doc, EDITED, if_match=1)  # the reviewer adds a sentence: 痕迹
        else:
            # the current version carries 李娜's sentence, and the 痕迹 toggle shows it as her insertion
            assert html.escape(ADDED) in main and "显示修改痕迹" in main
            assert re.search(r"<ins class=\"trk[^\"]*\" title=\"李娜[^\"]*\">.*?" + re.escape(ADDED), main, re.S)
        item.refresh_from_db()
        assert item.opened_at is not None  # opening the step page is opening the 待办
        assert not Notification.objects.filter(work_item=item, read_at__isnull=True).exists()
        check_perform_issuance_step(holder, task, StepInput(decision="agree", opinion=opinion, otp_verified=True,
                                                            signed_date=timezone.localdate()))
        written.append(opinion)
    # the names and the order of signing are on the last page: 审核 李娜 … 签发 “李娜 代 王芳”
    _in_order(_main(pages["recheck"]), ["李娜", "徐丽", "李娜 代 王芳"])

    ensure_office_seal()
    people = {p.username: p for p in Person.objects.filter(username__in=["liuyang", "zhoumin"])}
    for node, who, extra in [(IssuanceFlow.register, "liuyang", {}), (IssuanceFlow.typeset, "liuyang", {}),
                             (IssuanceFlow.seal, "zhoumin", {}),
                             (IssuanceFlow.distribute, "liuyang",
                              {"recipients": [(Agency.objects.get(doc_code="揭东财").pk, "main")]})]:
        check_perform_issuance_step(people[who], _open(process, node),
                                    StepInput(decision="done", otp_verified=True, **extra))
    doc.refresh_from_db()
    return doc, process, pages


def test_issuance_step_pages_show_body_elements_attachments_and_earlier_opinions(cast):
    doc, _process, pages = _signed_and_sent(cast)
    assert set(pages) == {"dept_review", "office_check", "countersign", "signoff", "recheck"}
    # 复核 comes after 签发: the page shows the signer's 签发 opinion with “代” and the 签发 date
    recheck = _main(pages["recheck"])
    assert "同意印发。" in recheck and "李娜 代 王芳" in recheck
    assert doc.status == OfficialDocument.Status.DISTRIBUTED


def test_receipt_step_pages_show_body_elements_attachments_and_earlier_opinions(cast):
    doc, _process, _pages = _signed_and_sent(cast)
    finance = Agency.objects.get(doc_code="揭东财")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    receipt = Process.objects.get(flow_class=ReceiptFlow, data__incoming_id=incoming.pk)
    clerk = login(cast.finance05, otp=True)
    assert receipt_step(clerk, _open(receipt, ReceiptFlow.sign), "sign").status_code == 302
    assert receipt_step(clerk, _open(receipt, ReceiptFlow.register), "register",
                        **register_fields(incoming)).status_code == 302
    office = login(cast.finance03, otp=True)
    assert receipt_step(office, _open(receipt, ReceiptFlow.review), "accept", "请拟办。").status_code == 302
    incoming.refresh_from_db()
    assert incoming.attachments == []
    with incoming.pdf.open("rb") as fh:
        assert merged_digests(fh.read()) == [doc.attachments.get(role=Attachment.Role.ATTACHMENT).sha256]
    budget = Department.objects.get(agency=finance, name="预算科")

    written = ["请拟办。"]
    chain = [
        (ReceiptFlow.propose, "propose", "拟请丁副局长阅示，由预算科办理。",
         {"leader": cast.finance02.pk, "host_department": budget.pk}),
        (ReceiptFlow.instruct, "instruct", "请预算科牵头办理。", {"host_department": budget.pk, "limit_days": 5}),
        (ReceiptFlow.handle, "done", "已按要求安排值班。", {}),
    ]
    for node, decision, opinion, fields in chain:
        task = _open(receipt, node)
        client = login(task.owner, otp=True)
        item = WorkItem.objects.get(ref=f"viewflow.task:{task.pk}", owner=task.owner, box="todo")
        inbox = client.get("/work/", {"box": "todo"}).content.decode()
        assert f'href="/flows/receipt/tasks/{task.pk}/"' in inbox
        main = _main(client.get(f"/flows/receipt/tasks/{task.pk}/").content.decode())
        # 正文 (the sealed 公文's text, and its watermarked pages), 要素, 附件, earlier opinions: above the box
        _above_opinion_box(main, FIRST, ADDED, TITLE, incoming.sender_name, doc.doc_number,
                           incoming.receipt_number, ATTACHMENT_TITLE, *written)
        assert f"/flows/incoming/{incoming.pk}/preview/1.png" in main
        # the 附件 came as pages of the sealed PDF, not as a loose file: the page says where to read it
        assert f"/flows/incoming/{incoming.pk}/attachments/" not in main
        assert "附件已编入正式文件（PDF），排在正文之后，与正文同在电子印章签名范围内" in main
        assert "限办日期" in main
        if node is ReceiptFlow.handle:
            incoming.refresh_from_db()
            assert f"{incoming.due_date:%Y年%-m月%-d日}前" in main
        _in_order(main, written)
        item.refresh_from_db()
        assert item.opened_at is not None
        response = client.post(f"/flows/receipt/tasks/{task.pk}/", {"decision": decision, "opinion": opinion,
                                                                    **fields})
        assert response.status_code == 302, _main(response.content.decode())[:3000]
        written.append(opinion)


def test_work_item_page_sends_the_owner_of_open_step_work_to_the_step_page(cast):
    doc = _draft(cast)
    process = check_start_issuance(cast.zhangwei, doc, StartOptions())
    task = _open(process, IssuanceFlow.dept_review)
    item = WorkItem.objects.get(ref=f"viewflow.task:{task.pk}", owner=task.owner, box="todo")
    # the notification (bell, mobile card) links to /work/<id>/: its owner lands on the step page in one hop
    note = Notification.objects.get(work_item=item)
    assert note.link == f"/work/{item.pk}/"
    response = login(task.owner).get(note.link)
    assert response.status_code == 302 and response["Location"] == f"/flows/issuance/tasks/{task.pk}/"
    # finished work keeps its 事项详情 page (已办)
    check_perform_issuance_step(task.owner, task, StepInput(decision="agree", opinion="同意。"))
    item.refresh_from_db()
    assert item.step_page == ""
    assert login(task.owner).get(f"/work/{item.pk}/").status_code == 200
