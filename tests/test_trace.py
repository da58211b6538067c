"""流程跟踪 (workflows/views/trace.py, workflows/selectors/trace.py): the diagram derived from viewflow's graph with
done / current / returned steps, the 流转记录 with "代 … 办理", the opinions, the process-level access rule, and the
处理笺 PDF (read back with pdftotext) — on the 发文-shaped RoutingFlow."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from viewflow.workflow.models import Task

from documents.actions.documents import do_create_document
from oa.models import Agency
from tests.clients import login
from tests.flowapp.flows import RoutingFlow
from tests.test_routing import done, one, start
from workflows.actions.opinions import do_record_opinion
from workflows.actions.routing import check_return_task
from workflows.selectors.trace import flow_graph, process_diagram, slip_kind

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
OFFICE = "揭阳市揭东区人民政府办公室"


def svg_of(html: str) -> ET.Element:
    match = re.search(r"<svg\b[^>]*oa-flow-diagram.*?</svg>", html, re.S)
    assert match, "no inline SVG on the page"
    return ET.fromstring(match.group(0))  # well-formed XML or this raises


def statuses(svg: ET.Element) -> dict[str, str]:
    return {g.get("data-key"): g.get("data-status") for g in svg.iter(f"{SVG}g") if g.get("data-key")}


def text(response) -> str:
    return response.content.decode()


def test_graph_comes_from_viewflow_nodes_and_edges():
    nodes, edges = flow_graph(RoutingFlow)
    names = [n.name for n in nodes]
    assert names[0] == "start" and names[-1] == "addsign"  # walking order; the unconnected 加签 node last
    # The engine's nodes (DataSplit, PolicyJoin, the untitled Function and End) are contracted away: their edges
    # join the steps people know on either side (会签 → 修改稿件 is the veto path through the Join).
    assert {("start", "review"), ("review", "office"), ("office", "countersign"), ("office", "signoff"),
            ("countersign", "signoff"), ("countersign", "redraft"), ("redraft", "review")} == set(edges)
    assert not {"split", "join", "register", "end"} & set(names)


def test_trace_page_diagram_marks_done_current_and_returned(cast):
    process = start(cast)
    done(cast.lina, one(process, RoutingFlow.review))
    office = one(process, RoutingFlow.office)
    review_task = Task.objects.get(process=process, flow_task=RoutingFlow.review)
    check_return_task(cast.liuyang, office, review_task.pk, "请补充依据。")

    response = login(cast.zhangwei, otp=True).get(f"/flows/processes/{process.pk}/")
    assert response.status_code == 200
    svg = svg_of(text(response))
    assert svg.get("role") == "img" and "流程图" in svg.findtext(f"{SVG}title")
    st = statuses(svg)
    assert "addsign" not in st  # never used in this process
    assert st["start"] == "done"
    assert set(st["review"].split()) == {"current", "done"}  # returned to: open again, done before
    assert st["office"] == "returned"  # 核稿 sent it back: not 已完成
    assert st["signoff"] == "pending" and not {"end", "join", "split"} & set(st)  # engine nodes are not drawn
    labels = {g.get("data-key"): "".join(g.itertext()) for g in svg.iter(f"{SVG}g") if g.get("data-key")}
    assert "部门负责人审核" in labels["review"] and "当前" in labels["review"]
    assert "已退回" in labels["office"] and "已完成" not in labels["office"]
    assert "发起" in labels["start"]  # Chinese for viewflow's default title
    assert not re.search(r"[A-Za-z]{2,}", "".join(labels.values()))  # no "Start", "Join", "Signoff Timeout"
    html = text(response)
    assert "当前环节：部门负责人审核" in html
    # history: the 退回 row with its reason, from → to
    assert "退回" in html and "请补充依据。" in html and "办公室核稿 <span aria-hidden=\"true\">→</span>" in html


def test_history_shows_delegated_steps_and_opinions(cast):
    # Demo: 王芳 is away and 李娜 handles her 发文 work (委托); the 审核 step is done "李娜 代 王芳".
    process = start(cast, reviewer="wangfang")
    review = one(process, RoutingFlow.review)
    page = text(login(cast.zhangwei, otp=True).get(f"/flows/processes/{process.pk}/"))
    assert "李娜（代 王芳 办理）" in page  # the open step names the principal
    do_record_opinion(actor=cast.lina, process=process, step="部门负责人审核", kind="agree", text="同意，请办公室核稿。",
                      node="review", task=review, on_behalf_of=cast.wangfang)
    done(cast.lina, review, "同意，请办公室核稿。")
    page = text(login(cast.wangfang, otp=True).get(f"/flows/processes/{process.pk}/"))  # the principal may see it too
    assert "李娜 代 王芳 办理" in page
    assert "意见：</span>同意，请办公室核稿。" in page
    assert "李娜 代 王芳 · " in page  # the opinion's signer label
    assert "委托" in page  # the delegation event row


def test_process_access_rule(cast):
    process = start(cast)
    assert login(cast.finance01, otp=True).get(f"/flows/processes/{process.pk}/").status_code == 404
    assert login(cast.zhoumin, otp=True).get(f"/flows/processes/{process.pk}/").status_code == 404  # no 公文 to see yet
    assert Client().get(f"/flows/processes/{process.pk}/").status_code == 302  # to the login page
    assert login(cast.lina, otp=True).get("/flows/processes/999999999/").status_code == 404

    # With a 公文: whoever may see the document may follow its flow (周敏 is 区府办's seal keeper).
    doc = do_create_document(actor=cast.zhangwei, agency=Agency.objects.get(name=OFFICE), title="关于防汛的通知")
    with_doc = start_with_document(cast, doc)
    assert login(cast.zhoumin, otp=True).get(f"/flows/processes/{with_doc.pk}/").status_code == 200
    assert login(cast.finance01, otp=True).get(f"/flows/processes/{with_doc.pk}/").status_code == 404
    assert login(cast.finance01, otp=True).get(f"/flows/processes/{with_doc.pk}/slip.pdf").status_code == 404


def start_with_document(cast, doc):
    return RoutingFlow.start.run(
        title=doc.title, document_id=doc.pk, initiator_id=cast.zhangwei.pk, reviewer_id=cast.wangfang.pk,
        office_id=cast.liuyang.pk, signer_id=cast.huangjianhua.pk,
        countersign=[{"dept_id": 1, "signer_id": cast.finance01.pk}], policy={"policy": "all"}, roles={},
    )


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed")
def test_slip_pdf_carries_the_document_and_every_opinion(cast, tmp_path):
    doc = do_create_document(actor=cast.zhangwei, agency=Agency.objects.get(name=OFFICE),
                             title="关于做好2026年防汛工作的通知")
    process = start_with_document(cast, doc)
    review = one(process, RoutingFlow.review)  # 李娜 代 王芳
    do_record_opinion(actor=cast.lina, process=process, step="部门负责人审核", kind="agree", text="同意，请办公室核稿。",
                      node="review", task=review, document=doc, on_behalf_of=cast.wangfang)
    done(cast.lina, review)
    office = one(process, RoutingFlow.office)
    do_record_opinion(actor=cast.liuyang, process=process, step="办公室核稿", kind="agree", text="格式已核，文种正确。",
                      node="office", task=office, document=doc)
    done(cast.liuyang, office)
    countersign = one(process, RoutingFlow.countersign)
    do_record_opinion(actor=cast.finance01, process=process, step="会签（区财政局）", kind="countersign",
                      text="经费安排无意见。", node="countersign", task=countersign, document=doc)
    done(cast.finance01, countersign)
    signoff = one(process, RoutingFlow.signoff)
    do_record_opinion(actor=cast.huangjianhua, process=process, step="签发", kind="circle", node="signoff",
                      task=signoff, document=doc)

    response = login(cast.zhangwei, otp=True).get(f"/flows/processes/{process.pk}/slip.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(f'inline; filename="slip-{process.pk}.pdf"')
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")
    pdf = tmp_path / "slip.pdf"
    pdf.write_bytes(response.content)
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", out)
    for expected in ("发文稿纸", "关于做好2026年防汛工作的通知", "同意，请办公室核稿。", "李娜代王芳", "格式已核，文种正确。",
                     "经费安排无意见。", "圈阅", "黄建华", "张伟"):
        assert expected in flat, (expected, out)
    # the trace page links the slip
    assert f"/flows/processes/{process.pk}/slip.pdf" in text(login(cast.zhangwei, otp=True).get(
        f"/flows/processes/{process.pk}/"))


def test_slip_for_a_process_without_a_document_is_404_with_a_reason(cast):
    process = start(cast)
    response = login(cast.zhangwei, otp=True).get(f"/flows/processes/{process.pk}/slip.pdf")
    assert response.status_code == 404
    assert "没有关联公文，因此没有处理笺" in text(response)
    assert "slip.pdf" not in text(login(cast.zhangwei, otp=True).get(f"/flows/processes/{process.pk}/"))


def test_slip_kind_mapping(cast):
    from workflows.models import Opinion

    def kind(step, k="agree"):
        return slip_kind(Opinion(step=step, kind=k))

    assert kind("会签（区财政局）", "countersign") == "countersign"
    assert kind("签发") == "sign" and kind("核稿") == "check" and kind("复核") == "check"
    assert kind("办公室核稿") == "check" and kind("部门负责人审核") == "dept_review" and kind("加签") == "other"


def test_diagram_for_a_finished_process(cast):
    process = start(cast, countersign=())
    done(cast.lina, one(process, RoutingFlow.review))
    done(cast.liuyang, one(process, RoutingFlow.office))
    done(cast.huangjianhua, one(process, RoutingFlow.signoff))
    diagram = process_diagram(process)
    assert diagram["current"] == set()
    assert {"start", "review", "office", "signoff"} == diagram["done"]  # the engine's split, Function and End: not drawn
    assert "countersign" not in diagram["done"] and "redraft" not in diagram["done"]
    page = text(login(cast.zhangwei, otp=True).get(f"/flows/processes/{process.pk}/"))
    assert "已办结" in page and "流程已办结。" in page


def test_issuance_trace_and_audit_name_steps_in_chinese(cast):
    """Issue 12: the 发文 flow chart, its 流转记录 and the audit log show the steps people know, in Chinese — no
    "Cs Mode", "Seal Join", "Signoff Timeout", no "<issuance/flows/…> - DONE"."""
    from oa.models import AuditEntry
    from tests.issued import issue_to
    from workflows.issuance.flows import IssuanceFlow

    finance = Agency.objects.get(doc_code="揭东财")
    _doc, process = issue_to([finance])
    nodes, edges = flow_graph(IssuanceFlow)
    names = {n.name for n in nodes}
    assert not {"cs_mode", "split", "join", "seq_more", "seal_needed", "seal_split", "seal_join", "end",
                "overdue"} & names
    # 核稿 leads to 会签 (parallel or in turn) or straight to 签发; 套红排版 to 用印 or straight to 分发
    assert {("office_check", "countersign"), ("office_check", "seq_countersign"), ("office_check", "signoff"),
            ("countersign", "signoff"), ("countersign", "redraft"), ("typeset", "seal"), ("typeset", "distribute"),
            ("seal", "distribute")} <= set(edges)
    page = text(login(cast.liuyang, otp=True).get(f"/flows/processes/{process.pk}/"))
    svg = svg_of(page)
    shown = "".join(svg.itertext())
    assert "用印" in shown and "汇合" not in shown and "判断" not in shown
    assert not re.search(r"[A-Za-z]{2,}", shown)
    history = page[page.index('id="history-title"'):page.index('id="opinions-title"')]
    assert "登记 <span aria-hidden=\"true\">→</span>" in history and "套红排版" in history
    assert not re.search(r"Timeout|Join|Mode|Needed|Split|Overdue", history)
    entry = AuditEntry.objects.filter(action="flow.task_complete", object_type="viewflow.task").latest("pk")
    assert entry.object_repr.startswith("发文·") and "DONE" not in entry.object_repr


def test_return_target_labels_show_beijing_time(cast):
    """退回 targets name when each step was done in Asia/Shanghai, not in the database's UTC."""
    import datetime as dt

    from workflows.views.routing import _task_choice_label

    process = start(cast)
    done(cast.lina, one(process, RoutingFlow.review))
    task = Task.objects.get(process=process, flow_task=RoutingFlow.review)
    task.finished = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)  # 2026-03-02 00:30 in Beijing
    assert _task_choice_label(task) == "部门负责人审核（李娜，03月02日 00:30）"
