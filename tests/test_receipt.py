"""收文办理 (ReceiptFlow) over HTTP as the demo cast (PostgreSQL): a 发文 of 区府办 distributed to 区财政局 is
签收 → 登记 → 初审 → 拟办 → 批办 → 承办 (主办 ∥ 协办) → 传阅 → 办结 (答复 starts a linked draft) → 归档; 初审 退回来文单位
reaches the sender; 取回 before/after 签收; refusals leave nothing changed."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import PROCESS, STATUS

from documents.models import IncomingAccess, IncomingDocument, OfficialDocument
from oa.models import Agency, AuditEntry, Department, WorkItem
from oa.refusals import Refusal
from oa.selectors.calendar import add_working_days
from tests.clients import login
from tests.issued import issue_to
from workflows.actions.distribution import check_withdraw_distribution
from workflows.actions.receipt import do_withdraw_incoming
from workflows.models import CirculationRead, DistributionRecipient, Opinion, TaskEvent
from workflows.receipt.flows import ReceiptFlow

pytestmark = pytest.mark.django_db

OPEN = [STATUS.ASSIGNED, STATUS.STARTED]



@pytest.fixture
def finance():
    return Agency.objects.get(doc_code="揭东财")


@pytest.fixture
def edu():
    return Agency.objects.get(doc_code="揭东教")


def process_of(incoming: IncomingDocument) -> Process:
    return Process.objects.get(flow_class=ReceiptFlow, data__incoming_id=incoming.pk)


def open_task(incoming: IncomingDocument, node, owner=None) -> Task:
    tasks = Task.objects.filter(process=process_of(incoming), flow_task=node, status__in=OPEN)
    return tasks.get(owner=owner) if owner else tasks.get()


def step(client: Client, task: Task, decision: str, opinion: str = "", **fields):
    url = f"/flows/receipt/tasks/{task.pk}/"
    page = client.get(url)
    assert page.status_code == 200, page.content.decode()[:3000]
    return client.post(url, {"decision": decision, "opinion": opinion, **fields})


def register_fields(incoming: IncomingDocument, **changes) -> dict:
    values = {"title": incoming.title, "doc_number": incoming.doc_number, "sender_name": incoming.sender_name,
              "secrecy": incoming.secrecy, "urgency": incoming.urgency,
              "signed_date": incoming.signed_date.isoformat() if incoming.signed_date else "",
              "main_recipients": incoming.main_recipients, "copies": incoming.copies,
              "attachment_note": incoming.attachment_note}
    values.update(changes)
    return values


def test_full_chain_to_archive(cast, finance):
    doc, _ = issue_to([finance], title="关于报送年度财政预算执行情况的函")
    recipient = DistributionRecipient.objects.get(document=doc, agency=finance)
    incoming = recipient.incoming
    year = timezone.localdate().year

    # 签收 by 财政局's 文书; the inbox item opens the step page
    clerk = login(cast.finance05, otp=True)
    sign = open_task(incoming, ReceiptFlow.sign)
    assert sign.owner == cast.finance05
    item = WorkItem.objects.get(ref=f"viewflow.task:{sign.pk}", owner=cast.finance05)
    assert item.link == f"/flows/receipt/tasks/{sign.pk}/"
    assert step(clerk, sign, "sign", copies=3).status_code == 302
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.SIGNED and incoming.signed_by == cast.finance05
    assert incoming.copies == 3 and incoming.signed_at is not None
    # the sender sees 已签收 with who and when
    recipient.refresh_from_db()
    assert recipient.status == DistributionRecipient.Status.SIGNED
    assert recipient.status_by == cast.finance05.get_full_name() and recipient.copies == 3
    assert recipient.status_at is not None
    sender_page = login(cast.liuyang, otp=True).get(f"/flows/distribution/{doc.pk}/").content.decode()
    assert "已签收" in sender_page and cast.finance05.get_full_name() in sender_page
    assert AuditEntry.objects.filter(action="incoming.sign", object_id=str(incoming.pk)).exists()
    # once signed, the sender can no longer take it back
    with pytest.raises(Refusal) as err:
        check_withdraw_distribution(cast.liuyang, recipient)
    assert err.value.code == "withdraw_not_pending"
    assert do_withdraw_incoming(incoming) is False

    # 登记: the clerk corrects a field and gets 收〔year〕n号
    before = IncomingDocument.objects.filter(agency=finance, receipt_year=year).count()
    register = open_task(incoming, ReceiptFlow.register)
    assert register.owner == cast.finance05
    assert step(clerk, register, "register", **register_fields(incoming, attachment_note="无")).status_code == 302
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.REGISTERED and incoming.attachment_note == "无"
    assert incoming.receipt_number == f"收〔{year}〕{before + 1}号" and incoming.registered_by == cast.finance05

    # 初审 by the office (核稿人 finance03) passes
    office = login(cast.finance03, otp=True)
    review = open_task(incoming, ReceiptFlow.review)
    assert review.owner == cast.finance03
    assert step(office, review, "accept", "属于本机关职权范围，请拟办。").status_code == 302
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.IN_PROGRESS

    # 拟办: propose the 分管领导 and a host; the leader must be one of the agency's leaders
    propose = open_task(incoming, ReceiptFlow.propose)
    budget = Department.objects.get(agency=finance, name="预算科")
    general = Department.objects.get(agency=finance, name="办公室")
    refused = step(office, propose, "propose", "拟请分管领导阅示。", leader=cast.finance06.pk)
    assert refused.status_code == 400
    assert step(office, propose, "propose", "拟请丁副局长阅示，由预算科办理。", leader=cast.finance02.pk,
                host_department=budget.pk).status_code == 302

    # 批办 by the leader: 主办 预算科, 协办 办公室, 5 working days, readers for 传阅
    leader = login(cast.finance02, otp=True)
    instruct = open_task(incoming, ReceiptFlow.instruct)
    assert instruct.owner == cast.finance02
    page = leader.get(f"/flows/receipt/tasks/{instruct.pk}/").content.decode()
    assert "拟请丁副局长阅示" in page  # the 拟办 opinion is in front of the leader
    assert step(leader, instruct, "instruct", "请预算科牵头办理，办公室协助。", host_department=budget.pk,
                assist_departments=[general.pk], limit_days=5,
                readers=[cast.finance01.pk, cast.finance06.pk]).status_code == 302
    incoming.refresh_from_db()
    assert incoming.host_department == budget
    assert incoming.due_date == add_working_days(timezone.localdate(), 5)

    # 承办: 主办 (预算科 finance04) and 协办 (办公室 finance03) in parallel
    host_task = open_task(incoming, ReceiptFlow.handle, owner=cast.finance04)
    assist_task = open_task(incoming, ReceiptFlow.handle, owner=cast.finance03)
    assert host_task.data["role"] == "host" and assist_task.data["role"] == "assist"
    assert host_task.data["deadline"].startswith(incoming.due_date.isoformat())
    assert IncomingAccess.objects.filter(incoming=incoming, person=cast.finance04).exists()
    host = login(cast.finance04, otp=True)
    early = step(host, host_task, "done", "已按要求报送。")
    assert early.status_code == 409 and "协办部门尚未提交意见" in early.content.decode()
    assert step(office, assist_task, "assist", "办公室已核对报送口径，无意见。").status_code == 302
    host_page = host.get(f"/flows/receipt/tasks/{host_task.pk}/").content.decode()
    assert "办公室已核对报送口径，无意见。" in host_page  # 协办 opinions reach the 主办
    assert step(host, host_task, "done", "已按要求报送执行情况。").status_code == 302
    assert Task.objects.filter(process=process_of(incoming), flow_task=ReceiptFlow.handle_join,
                               status=STATUS.DONE).count() == 1

    # 传阅: the office sends it to the readers the leader chose
    circulate = open_task(incoming, ReceiptFlow.circulate)
    assert step(office, circulate, "circulate", readers=[cast.finance01.pk, cast.finance06.pk],
                note="请阅知").status_code == 302
    reads = CirculationRead.objects.filter(incoming=incoming)
    assert set(reads.values_list("reader_id", flat=True)) == {cast.finance01.pk, cast.finance06.pk}
    # a reader opening the 收文 is recorded (and cannot switch it off)
    reader = login(cast.finance06, otp=True)
    detail = reader.get(f"/flows/incoming/{incoming.pk}/")
    assert detail.status_code == 200 and incoming.title in detail.content.decode()
    assert reads.get(reader=cast.finance06).first_opened_at is not None

    # 办结 by the 主办 handler, with a 答复 that starts a linked 发文 draft
    close = open_task(incoming, ReceiptFlow.close)
    assert close.owner == cast.finance04
    no_result = step(host, close, "close")
    assert no_result.status_code == 400
    closed = step(host, close, "close", result="已报送预算执行情况，并函复区府办。", reply="on", reply_doc_type="han")
    incoming.refresh_from_db()
    reply = incoming.reply_document
    assert reply is not None and closed["Location"] == f"/documents/{reply.pk}/"
    assert reply.status == OfficialDocument.Status.DRAFT and reply.created_by == cast.finance04
    assert reply.agency == finance and reply.main_recipients == [doc.agency.name]
    assert reply.department == budget
    assert incoming.status == IncomingDocument.Status.CLOSED and incoming.result.startswith("已报送")
    assert host.get(f"/documents/{reply.pk}/").status_code == 200  # the drafter's 拟稿 page (送审 from there)

    # 归档
    archive = open_task(incoming, ReceiptFlow.archive)
    assert archive.owner == cast.finance05
    assert step(clerk, archive, "archive").status_code == 302
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.ARCHIVED
    assert process_of(incoming).status == PROCESS.DONE
    kinds = list(Opinion.objects.filter(process=process_of(incoming)).values_list("step", flat=True))
    assert kinds == ["初审", "拟办", "批办", "承办（协办）", "承办（主办）"]
    for action in ("incoming.register", "incoming.instruct", "incoming.close", "incoming.archive", "incoming.reply"):
        assert AuditEntry.objects.filter(action=action, object_id=str(incoming.pk)).exists(), action
    # the detail page shows the record and the opinions to the office
    page = clerk.get(f"/flows/incoming/{incoming.pk}/").content.decode()
    assert incoming.receipt_number in page and "请预算科牵头办理" in page and "已归档" in page
    # the flow trace draws the 收文 steps (not the timers behind them)
    trace = clerk.get(f"/flows/processes/{process_of(incoming).pk}/").content.decode()
    assert "签收" in trace and "批办" in trace and "承办" in trace and "overdue" not in trace


def test_review_returns_to_the_sender_with_a_reason(cast, edu):
    doc, _ = issue_to([edu], title="关于征求教育设施布局意见的函")
    recipient = DistributionRecipient.objects.get(document=doc, agency=edu)
    incoming = recipient.incoming
    clerk = login(cast.edu05, otp=True)
    assert step(clerk, open_task(incoming, ReceiptFlow.sign), "sign").status_code == 302
    assert step(clerk, open_task(incoming, ReceiptFlow.register), "register",
                **register_fields(incoming)).status_code == 302
    office = login(cast.edu03, otp=True)
    review = open_task(incoming, ReceiptFlow.review)
    # a 退回 without its reason is refused and nothing moves
    refused = step(office, review, "return_sender", "")
    assert refused.status_code == 400 and "退回理由" in refused.content.decode()
    review.refresh_from_db()
    incoming.refresh_from_db()
    assert review.status == STATUS.ASSIGNED and incoming.status == IncomingDocument.Status.REGISTERED
    # with the reason: 已退回, the flow ends cleanly, the sender sees the reason
    assert step(office, review, "return_sender", "不属于本机关职权范围，请改送区发改局。").status_code == 302
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.RETURNED
    assert incoming.returned_reason == "不属于本机关职权范围，请改送区发改局。"
    process = process_of(incoming)
    assert process.status == PROCESS.DONE
    assert not Task.objects.filter(process=process, status__in=[*OPEN, STATUS.NEW, STATUS.SCHEDULED]).exists()
    recipient.refresh_from_db()
    assert recipient.status == DistributionRecipient.Status.RETURNED
    assert recipient.reason == "不属于本机关职权范围，请改送区发改局。"
    sender = login(cast.liuyang, otp=True).get(f"/flows/distribution/{doc.pk}/").content.decode()
    assert "已退回" in sender and "不属于本机关职权范围" in sender
    assert AuditEntry.objects.filter(action="incoming.return", object_id=str(incoming.pk)).exists()
    assert not WorkItem.objects.filter(owner=cast.edu03, state=WorkItem.State.OPEN,
                                       title__contains=incoming.title).exists()


def test_withdraw_before_signing_cancels_the_flow(cast, finance):
    doc, _ = issue_to([finance], title="关于调整会议安排的函")
    recipient = DistributionRecipient.objects.get(document=doc, agency=finance)
    incoming = recipient.incoming
    sign = open_task(incoming, ReceiptFlow.sign)
    check_withdraw_distribution(cast.liuyang, recipient, reason="会议取消")
    incoming.refresh_from_db()
    sign.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.WITHDRAWN
    assert sign.status == STATUS.CANCELED and process_of(incoming).status == PROCESS.CANCELED
    assert WorkItem.objects.get(ref=f"viewflow.task:{sign.pk}").state == WorkItem.State.CANCELLED
    assert AuditEntry.objects.filter(action="incoming.withdraw", object_id=str(incoming.pk)).exists()
    # the clerk's step page no longer offers 签收; a late 签收 is refused with nothing changed
    clerk = login(cast.finance05, otp=True)
    late = clerk.post(f"/flows/receipt/tasks/{sign.pk}/", {"decision": "sign", "copies": 1})
    assert late.status_code == 302 and late["Location"] == f"/flows/incoming/{incoming.pk}/"
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.WITHDRAWN and incoming.signed_by is None
    assert "来文单位已在签收前取回" in clerk.get(f"/flows/incoming/{incoming.pk}/").content.decode()
    assert do_withdraw_incoming(incoming) is False  # twice: nothing more happens


def test_permissions_and_refusals(cast, finance):
    doc, _ = issue_to([finance], title="关于核对财政往来款项的函")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    sign = open_task(incoming, ReceiptFlow.sign)
    url = f"/flows/receipt/tasks/{sign.pk}/"
    # someone else's task: 404, whoever asks (a colleague of the same agency, the sender, an outsider)
    for username in ("finance06", "finance03", "liuyang", "zhangwei"):
        who = login(getattr(cast, username))
        assert who.get(url).status_code == 404, username
        assert who.post(url, {"decision": "sign"}).status_code == 404, username
    # a non-clerk cannot 签收 even when the task is pinned on them: the action checks the 文书 role
    Task.objects.filter(pk=sign.pk).update(owner=cast.finance06)
    refused = login(cast.finance06, otp=True).post(url, {"decision": "sign", "copies": 1})
    assert refused.status_code == 403 and "只有收文机关的文书可以签收" in refused.content.decode()
    sign.refresh_from_db()
    assert sign.status == STATUS.ASSIGNED
    incoming.refresh_from_db()
    assert incoming.status == IncomingDocument.Status.PENDING and incoming.signed_by is None
    recipient = DistributionRecipient.objects.get(incoming=incoming)
    assert recipient.status == DistributionRecipient.Status.PENDING
    Task.objects.filter(pk=sign.pk).update(owner=cast.finance05)
    # the 收文 itself is invisible outside the receiving office (no existence leak)
    assert login(cast.finance06, otp=True).get(f"/flows/incoming/{incoming.pk}/").status_code == 404
    assert login(cast.zhangwei, otp=True).get(f"/flows/incoming/{incoming.pk}/pdf").status_code == 404
    # the clerk downloads the PDF as an attachment
    pdf = login(cast.finance05, otp=True).get(f"/flows/incoming/{incoming.pk}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Disposition"].startswith("attachment")
    # an unknown decision: 400, nothing moves
    clerk = login(cast.finance05, otp=True)
    assert clerk.post(url, {"decision": "archive"}).status_code == 400
    sign.refresh_from_db()
    assert sign.status == STATUS.ASSIGNED
    # a double submit signs once
    assert clerk.post(url, {"decision": "sign", "copies": 1}).status_code == 302
    assert clerk.post(url, {"decision": "sign", "copies": 1}).status_code == 302
    assert Task.objects.filter(process=process_of(incoming), flow_task=ReceiptFlow.register).count() == 1
    assert AuditEntry.objects.filter(action="incoming.sign", object_id=str(incoming.pk)).count() == 1
    # the list shows it to the office with its columns
    listing = clerk.get("/flows/incoming/?status=open").content.decode()
    assert incoming.title in listing and incoming.sender_name in listing and incoming.doc_number in listing


def test_routing_return_inside_the_flow_and_reassign(cast, finance):
    doc, _ = issue_to([finance], title="关于做好财政资金监管的函")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    clerk = login(cast.finance05, otp=True)
    step(clerk, open_task(incoming, ReceiptFlow.sign), "sign")
    step(clerk, open_task(incoming, ReceiptFlow.register), "register", **register_fields(incoming))
    office = login(cast.finance03, otp=True)
    step(office, open_task(incoming, ReceiptFlow.review), "accept", "同意办理。")
    propose = open_task(incoming, ReceiptFlow.propose)
    register_done = Task.objects.get(process=process_of(incoming), flow_task=ReceiptFlow.register,
                                     status=STATUS.DONE)
    page = office.get(f"/flows/receipt/tasks/{propose.pk}/").content.decode()
    assert "流转操作" in page and f'value="{register_done.pk}"' in page
    # 退回 to 登记 (jump back): the clerk corrects the register and it comes straight back to 拟办
    back = office.post(f"/flows/tasks/{propose.pk}/return", {"target": register_done.pk,
                                                             "reason": "来文字号登记有误", "jump_back": "on"})
    assert back.status_code == 302
    again = open_task(incoming, ReceiptFlow.register)
    assert again.owner == cast.finance05
    number = IncomingDocument.objects.get(pk=incoming.pk).receipt_number
    assert step(clerk, again, "register", **register_fields(incoming, doc_number="揭东府办函〔2026〕1号")
                ).status_code == 302
    incoming.refresh_from_db()
    assert incoming.doc_number == "揭东府办函〔2026〕1号" and incoming.receipt_number == number  # number kept
    propose = open_task(incoming, ReceiptFlow.propose)
    assert propose.owner == cast.finance03
    assert TaskEvent.objects.filter(process=process_of(incoming), op=TaskEvent.Op.RETURN).exists()
    # 转办 of 批办 stays among the agency's leaders
    step(office, propose, "propose", "拟请局长阅示。", leader=cast.finance01.pk)
    instruct = open_task(incoming, ReceiptFlow.instruct)
    boss = login(cast.finance01, otp=True)
    wrong = boss.post(f"/flows/tasks/{instruct.pk}/reassign", {"person": cast.finance06.pk, "reason": "x"})
    assert wrong.status_code == 400  # 转办 of 批办 only to another leader of the agency
    instruct.refresh_from_db()
    assert instruct.owner == cast.finance01
    moved = boss.post(f"/flows/tasks/{instruct.pk}/reassign", {"person": cast.finance02.pk, "reason": "分管"})
    assert moved.status_code == 302
    instruct.refresh_from_db()
    assert instruct.owner == cast.finance02


def test_district_government_mail_is_handled_by_its_office(cast):
    """区政府 has no 文书 of its own: its 收文 is signed and registered by 区府办 (its 政府办公室), 批办 by the 区长."""
    government = Agency.objects.get(doc_code="揭东府")
    doc, _ = issue_to([government], title="关于报请审定年度重点工作的报告")
    incoming = DistributionRecipient.objects.get(document=doc, agency=government).incoming
    sign = open_task(incoming, ReceiptFlow.sign)
    assert sign.owner == cast.liuyang  # 区府办's 文书
    office_clerk = login(cast.liuyang, otp=True)
    assert step(office_clerk, sign, "sign").status_code == 302
    assert step(office_clerk, open_task(incoming, ReceiptFlow.register), "register",
                **register_fields(incoming)).status_code == 302
    lina = login(cast.lina, otp=True)
    assert step(lina, open_task(incoming, ReceiptFlow.review), "accept", "请区长阅示。").status_code == 302
    propose = open_task(incoming, ReceiptFlow.propose)
    assert step(lina, propose, "propose", "拟请陈区长阅示。", leader=cast.chenzhiqiang.pk).status_code == 302
    instruct = open_task(incoming, ReceiptFlow.instruct)
    assert instruct.owner == cast.chenzhiqiang
    # 区府办's 科室 handle what the 区长 assigns
    secretariat = Department.objects.get(agency__doc_code="揭东府办", name="综合科")
    assert step(login(cast.chenzhiqiang, otp=True), instruct, "instruct", "请综合科办理。", host_department=secretariat.pk,
                limit_days=3).status_code == 302
    assert open_task(incoming, ReceiptFlow.handle).owner == cast.xuli
    # the 区府办 clerk sees it in the 收文 list; the paper form offers 区政府 too
    assert incoming.title in office_clerk.get("/flows/incoming/").content.decode()
    assert "揭阳市揭东区人民政府</option>" in office_clerk.get("/flows/incoming/paper/").content.decode()


def test_reassigned_handler_sees_the_incoming(cast, finance):
    doc, _ = issue_to([finance], title="关于清理暂付款的函")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    clerk, office = login(cast.finance05, otp=True), login(cast.finance03, otp=True)
    step(clerk, open_task(incoming, ReceiptFlow.sign), "sign")
    step(clerk, open_task(incoming, ReceiptFlow.register), "register", **register_fields(incoming))
    step(office, open_task(incoming, ReceiptFlow.review), "accept", "同意办理。")
    step(office, open_task(incoming, ReceiptFlow.propose), "propose", "拟请丁副局长阅示。", leader=cast.finance02.pk)
    budget = Department.objects.get(agency=finance, name="预算科")
    step(login(cast.finance02, otp=True), open_task(incoming, ReceiptFlow.instruct), "instruct", "请预算科办理。",
         host_department=budget.pk, limit_days=3)
    handle = open_task(incoming, ReceiptFlow.handle)
    staff = login(cast.finance06, otp=True)
    assert staff.get(f"/flows/incoming/{incoming.pk}/").status_code == 404  # not yet theirs
    # 转办 within the 主办 department: the 科员 gets the task and may see the 收文
    moved = login(cast.finance04, otp=True).post(f"/flows/tasks/{handle.pk}/reassign", {"person": cast.finance06.pk,
                                                                               "reason": "请具体经办"})
    assert moved.status_code == 302
    assert staff.get(f"/flows/incoming/{incoming.pk}/").status_code == 200
    assert step(staff, Task.objects.get(pk=handle.pk), "done", "已清理完毕。").status_code == 302
    assert open_task(incoming, ReceiptFlow.circulate).owner == cast.finance03
    # 传阅 with nobody chosen is skipped; 办结 goes to whoever did the 主办 task
    assert step(office, open_task(incoming, ReceiptFlow.circulate), "circulate").status_code == 302
    assert not CirculationRead.objects.filter(incoming=incoming).exists()
    assert open_task(incoming, ReceiptFlow.close).owner == cast.finance06


def test_each_step_page_shows_its_own_controls_once(cast, finance):
    doc, _ = issue_to([finance], title="关于核定公用经费标准的函")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    clerk = login(cast.finance05, otp=True)
    sign = clerk.get(f"/flows/receipt/tasks/{open_task(incoming, ReceiptFlow.sign).pk}/").content.decode()
    assert sign.count('name="copies"') == 1 and 'name="title"' not in sign and "签收份数" in sign
    step(clerk, open_task(incoming, ReceiptFlow.sign), "sign")
    register = clerk.get(f"/flows/receipt/tasks/{open_task(incoming, ReceiptFlow.register).pk}/").content.decode()
    for name in ("title", "doc_number", "sender_name", "secrecy", "urgency", "signed_date", "main_recipients",
                 "copies", "attachment_note"):
        assert register.count(f'name="{name}"') == 1, name


def test_urge_and_addsign_on_a_receipt_step(cast, finance):
    doc, _ = issue_to([finance], title="关于统计政府采购数据的函")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    clerk = login(cast.finance05, otp=True)
    step(clerk, open_task(incoming, ReceiptFlow.sign), "sign")
    step(clerk, open_task(incoming, ReceiptFlow.register), "register", **register_fields(incoming))
    review = open_task(incoming, ReceiptFlow.review)
    # 催办 by an earlier handler
    assert clerk.post(f"/flows/tasks/{review.pk}/urge", {"message": "请尽快初审"}).status_code == 302
    review.refresh_from_db()
    assert review.data["routing"]["urged"]["count"] == 1
    # 前加签: the 局长 gives an opinion first, then 初审 comes back to the reviewer
    office = login(cast.finance03, otp=True)
    added = office.post(f"/flows/tasks/{review.pk}/addsign", {"person": cast.finance01.pk, "mode": "before",
                                                             "reason": "请局长先阅"})
    assert added.status_code == 302
    addsign = open_task(incoming, ReceiptFlow.addsign)
    assert addsign.owner == cast.finance01
    boss = login(cast.finance01, otp=True)
    assert step(boss, addsign, "agree", "").status_code == 400  # 加签意见 is required
    assert step(boss, addsign, "agree", "同意受理。").status_code == 302
    again = open_task(incoming, ReceiptFlow.review)
    assert again.owner == cast.finance03 and again.pk != review.pk
    assert Opinion.objects.filter(process=process_of(incoming), step="加签", author=cast.finance01).exists()
