"""Forms that look designed (docs/workbench.md “表单”): the checkbox group (frontend.widgets.CheckboxGroup) with its
区直单位/镇街 toggles, errors beside the field with the form kept, only choosable options offered (and the others
refused by the actions too), and messages that name only the buttons on the page (圈阅 at 签发, not at 复核)."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.template.loader import render_to_string
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.actions.body import check_save_body
from documents.actions.documents import do_create_document
from frontend.widgets import CheckboxGroup
from oa.models import Agency, Department, Person, Role, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.directory import agency_category, with_department_head
from oa.uscc import make_uscc
from tests.clients import login
from tests.issued import BODY, _step, ensure_office_seal, issue_to
from tests.test_receipt import open_task as receipt_task
from tests.test_receipt import register_fields
from tests.test_receipt import step as receipt_step
from workflows.actions.issuance import StartOptions, check_start_issuance
from workflows.actions.receipt import StepInput as ReceiptInput
from workflows.actions.receipt import check_perform_receipt_step
from workflows.issuance.flows import IssuanceFlow
from workflows.models import DistributionRecipient
from workflows.receipt.flows import ReceiptFlow

pytestmark = pytest.mark.django_db

OPEN = [STATUS.ASSIGNED, STATUS.STARTED]
TOWNS = ("曲溪街道", "磐东街道", "玉湖镇")


class AgencyForm(forms.Form):
    agencies = forms.ModelMultipleChoiceField(queryset=Agency.objects.order_by("sort_order", "pk"), required=False,
                                              label="主送机关", help_text="可多选",
                                              widget=CheckboxGroup(group_of=agency_category))


def _inputs(page: str, name: str) -> dict[str, str]:
    """{label text: the <input> tag} of a checkbox group."""
    found = {}
    for tag, label in re.findall(rf'(<input type="checkbox" name="{name}"[^>]*>)<span class="checkgroup-label">'
                                 r'([^<]*)</span>', page):
        found[label] = tag
    return found


def _fieldset(page: str, name: str) -> str:
    start = page.index(f'id="id_{name}_group"')
    return page[start:page.index("</fieldset>", start)]


# --- the widget --------------------------------------------------------------------------------------------------


def test_group_renders_a_grid_with_category_toggles_and_a_plain_checkbox_fallback(cast):
    html = render_to_string("includes/field.html", {"field": AgencyForm(initial={"agencies": []})["agencies"]})
    boxes = _inputs(html, "agencies")
    assert len(boxes) == Agency.objects.count()
    for town in TOWNS:
        assert 'data-group="town"' in boxes[town]
    assert 'data-group="district"' in boxes["区财政局"] and 'data-group="district"' in boxes["区府办"]
    assert 'data-group="government"' in boxes["区政府"]
    # every option is a label wrapping its box (the whole cell is the tap target), in one grid
    assert html.count('<label class="checkgroup-option"') == len(boxes)
    district = Agency.objects.exclude(kind__in=[Agency.Kind.TOWN, Agency.Kind.GOVERNMENT]).count()
    # the tools are hidden until the script shows them: without script these are plain checkboxes
    tools = re.search(r'<div class="checkgroup-tools" data-checkgroup-tools hidden>(.*?)</div>', html, re.S).group(1)
    assert "全选" in tools and "已选 0 个" in tools
    assert f'data-checkgroup-select="district" aria-pressed="false">区直单位<span class="checkgroup-n">（{district}）' \
        in tools
    assert 'data-checkgroup-select="town" aria-pressed="false">镇街<span class="checkgroup-n">（3）' in tools
    assert '<legend class="field-label">主送机关</legend>' in html
    assert 'aria-describedby="id_agencies_helptext"' in html and 'id="id_agencies_helptext"' in html
    assert "oa/js/checkgroup.js" in html and "oa/css/checkgroup.css" in html


def test_group_counts_what_is_ticked_and_omits_toggles_for_a_single_category(cast):
    towns = list(Agency.objects.filter(kind=Agency.Kind.TOWN))

    class TownForm(forms.Form):
        agencies = forms.ModelMultipleChoiceField(queryset=Agency.objects.filter(kind=Agency.Kind.TOWN),
                                                  widget=CheckboxGroup(group_of=agency_category))

    html = render_to_string("includes/field.html", {"field": TownForm(initial={"agencies": towns[:2]})["agencies"]})
    assert "已选 2 个" in html and "data-checkgroup-select" not in html  # one category: 全选 is enough
    assert sum(" checked" in tag for tag in _inputs(html, "agencies").values()) == 2

    class Empty(forms.Form):
        agencies = forms.ModelMultipleChoiceField(queryset=Agency.objects.none(),
                                                  widget=CheckboxGroup(empty_text="没有可分发的机关。"))

    html = render_to_string("includes/field.html", {"field": Empty()["agencies"]})
    assert "没有可分发的机关。" in html and "data-checkgroup-tools" not in html


def test_group_error_is_red_beside_the_field_with_the_ticks_kept(cast):
    finance, edu = Agency.objects.get(doc_code="揭东财"), Agency.objects.get(doc_code="揭东教")
    form = AgencyForm({"agencies": [finance.pk, edu.pk, 999999]})
    assert not form.is_valid()
    html = render_to_string("includes/field.html", {"field": form["agencies"]})
    fieldset = _fieldset(html, "agencies")
    assert "field-invalid" in html.split('id="id_agencies_group"')[0][-80:]
    assert re.search(r'<ul class="field-errors" id="id_agencies_error" role="alert">', fieldset)
    assert 'aria-describedby="id_agencies_helptext id_agencies_error"' in html
    boxes = _inputs(html, "agencies")
    assert " checked" in boxes["区财政局"] and " checked" in boxes["区教育局"]
    assert " checked" not in boxes["区审计局"]


# --- 送审: 会签部门 -----------------------------------------------------------------------------------------------


def _draft(cast, title="关于做好年度档案移交工作的通知"):
    office = Agency.objects.get(doc_code="揭东府办")
    doc = do_create_document(actor=cast.zhangwei, agency=office, title=title, doc_type="tongzhi",
                             department=Department.objects.get(agency=office, name="秘书科"),
                             main_recipients=["各镇人民政府"])
    check_save_body(cast.zhangwei, doc, BODY, if_match=None)
    return doc


def test_countersign_offers_only_departments_with_a_head_and_refuses_the_others(cast):
    office = Agency.objects.get(doc_code="揭东府办")
    archive = Department.objects.create(agency=office, name="档案室", sort_order=90)  # no 部门负责人
    doc = _draft(cast)
    zhang = login(cast.zhangwei)
    page = zhang.get(f"/flows/issuance/start/{doc.pk}/").content.decode()
    offered = _inputs(page, "countersign_departments")
    assert set(offered) == {"综合科", "督查室", "机要室"}  # not 秘书科 (the drafter's own), not 档案室
    assert "没有部门负责人的部门不能会签，未列出：档案室。" in page
    # a forged post of 档案室: 400, the Chinese message beside the group, the other choices kept
    general = Department.objects.get(agency=office, name="综合科")
    refused = zhang.post(f"/flows/issuance/start/{doc.pk}/", {
        "countersign_departments": [general.pk, archive.pk], "countersign_mode": "sequential",
        "countersign_policy": "all"})
    assert refused.status_code == 400
    page = refused.content.decode()
    fieldset = _fieldset(page, "countersign_departments")
    assert 'id="id_countersign_departments_error" role="alert"' in fieldset
    assert "所选会签部门不可选：须为本机关在用、且有部门负责人的部门。" in fieldset
    assert " checked" in _inputs(page, "countersign_departments")["综合科"]
    assert re.search(r'<option value="sequential" selected>', page)
    assert not Task.objects.filter(flow_task=IssuanceFlow.dept_review).exists()
    # the action refuses it too (an API caller, or a head removed meanwhile), in Chinese, nothing started
    with pytest.raises(Refusal) as caught:
        check_start_issuance(cast.zhangwei, doc, StartOptions(countersign_department_ids=[archive.pk]))
    assert caught.value.code == "countersign_department_no_head" and "“档案室”没有部门负责人" in caught.value.message
    other = Department.objects.get(agency__doc_code="揭东财", name="预算科")  # has a head, but another agency's
    with pytest.raises(Refusal) as caught:
        check_start_issuance(cast.zhangwei, doc, StartOptions(countersign_department_ids=[other.pk]))
    assert caught.value.code == "countersign_department_invalid"
    doc.refresh_from_db()
    assert doc.status == doc.Status.DRAFT
    # a department whose head is taken away is no longer offered
    RoleAssignment.objects.filter(role=Role.DEPT_HEAD, department=general).delete()
    assert "综合科" not in _inputs(zhang.get(f"/flows/issuance/start/{doc.pk}/").content.decode(),
                                   "countersign_departments")


def test_start_refusal_from_the_action_sits_beside_its_field(cast):
    doc = _draft(cast, title="关于开展年度安全生产检查的通知")
    zhang = login(cast.zhangwei)
    refused = zhang.post(f"/flows/issuance/start/{doc.pk}/", {
        "countersign_mode": "parallel", "countersign_policy": "n_of_m", "countersign_required": "3"})
    assert refused.status_code == 400
    page = refused.content.decode()
    error = re.search(r'<ul class="field-errors" id="id_countersign_required_error" role="alert">(.*?)</ul>', page,
                      re.S)
    assert error and "“N 个同意”的 N 须在" in error.group(1)
    assert 'aria-describedby="id_countersign_required_error"' in page and 'value="3"' in page
    assert '<div class="notice notice-danger" role="alert">' not in page  # said once, beside the field


# --- 分发: 主送/抄送 by 区直单位 and 镇街 ------------------------------------------------------------------------


def _at(node, cast, title: str):
    """A 区府办 通知 driven by its actions up to ``node``; returns (document, process, task)."""
    ensure_office_seal()
    doc = _draft(cast, title=title)
    process = check_start_issuance(cast.zhangwei, doc, StartOptions())
    order = [(IssuanceFlow.dept_review, "agree", "同意。"), (IssuanceFlow.office_check, "agree", "同意。"),
             (IssuanceFlow.signoff, "agree", "同意印发。"), (IssuanceFlow.recheck, "agree", "复核无误。"),
             (IssuanceFlow.register, "done", ""), (IssuanceFlow.typeset, "done", ""), (IssuanceFlow.seal, "done", "")]
    for flow_node, decision, opinion in order:
        if flow_node is node:
            break
        holder = Task.objects.get(process=process, flow_task=flow_node, status__in=OPEN).owner
        _step(holder, process, flow_node, decision=decision, opinion=opinion)
    task = Task.objects.get(process=process, flow_task=node, status__in=OPEN)
    return doc, process, task


def test_distribution_groups_agencies_and_offers_only_those_that_can_sign(cast):
    doc, _process, task = _at(IssuanceFlow.distribute, cast, "关于做好年度防汛工作的通知")
    # an agency with nobody to sign its 收文 (no 文书) is not offered
    mute = Agency.objects.create(name="揭阳市揭东区档案馆", short_name="区档案馆", doc_code="揭东档",
                                 uscc=make_uscc("12445203MB2C00099"), kind=Agency.Kind.OTHER, sort_order=200)
    clerk = login(cast.liuyang, otp=True)
    url = f"/flows/issuance/tasks/{task.pk}/"
    page = clerk.get(url).content.decode()
    main = _inputs(page, "main_agencies")
    assert "区档案馆" not in main and "区府办" not in main  # the sender itself is not offered either
    for town in TOWNS:
        assert 'data-group="town"' in main[town]
    assert 'data-group="district"' in main["区财政局"] and 'data-group="government"' in main["区政府"]
    assert 'data-checkgroup-select="town"' in _fieldset(page, "cc_agencies")
    # forged: the agency that cannot sign → 400 beside 主送机关, ticks kept, nothing distributed
    finance = Agency.objects.get(doc_code="揭东财")
    refused = clerk.post(url, {"decision": "done", "main_agencies": [finance.pk, mute.pk]})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "所选机关不可选：须为在用且能签收公文（有办公室文书）的机关。" in _fieldset(page, "main_agencies")
    assert " checked" in _inputs(page, "main_agencies")["区财政局"]
    # nothing ticked: the action's refusal sits beside 主送机关 too
    refused = clerk.post(url, {"decision": "done"})
    assert refused.status_code == 400
    fieldset = _fieldset(refused.content.decode(), "main_agencies")
    assert 'role="alert"' in fieldset and "请选择分发的收文机关。" in fieldset
    assert not DistributionRecipient.objects.filter(document=doc).exists()
    # the three 镇街 as 主送 go out
    towns = list(Agency.objects.filter(kind=Agency.Kind.TOWN).values_list("pk", flat=True))
    assert clerk.post(url, {"decision": "done", "main_agencies": towns}).status_code == 302
    assert set(DistributionRecipient.objects.filter(document=doc).values_list("agency_id", flat=True)) == set(towns)


# --- 复核 and 签发: messages that match the buttons -----------------------------------------------------------------


def test_recheck_says_nothing_of_circle_read_but_signoff_does(cast):
    _doc, _process, task = _at(IssuanceFlow.recheck, cast, "关于加强节日期间值班值守的通知")
    lina = login(cast.lina, otp=True)
    url = f"/flows/issuance/tasks/{task.pk}/"
    page = lina.get(url).content.decode()
    assert 'value="circle"' not in page and "圈阅" not in page.split('id="do-title"')[1].split("</form>")[0]
    refused = lina.post(url, {"decision": "agree", "opinion": ""})
    assert refused.status_code == 400
    page = refused.content.decode()
    error = re.search(r'<ul class="field-errors" id="id_opinion_error" role="alert">(.*?)</ul>', page, re.S)
    assert error and "请填写复核意见。" in error.group(1) and "圈阅" not in error.group(1)

    _doc, _process, task = _at(IssuanceFlow.signoff, cast, "关于做好冬季森林防火工作的通知")
    url = f"/flows/issuance/tasks/{task.pk}/"
    signer = Person.objects.get(pk=task.owner_id)
    client = login(signer, otp=True)
    page = client.get(url).content.decode()
    assert 'value="circle"' in page  # 圈阅 is a button here …
    refused = client.post(url, {"decision": "agree", "opinion": ""})
    assert refused.status_code == 400
    error = re.search(r'<ul class="field-errors" id="id_opinion_error" role="alert">(.*?)</ul>',
                      refused.content.decode(), re.S)
    assert error and "圈阅" in error.group(1)  # … so the message may name it


# --- 批办: 主办/协办 only departments with a 负责人 ----------------------------------------------------------------


def _at_instruct(cast):
    finance = Agency.objects.get(doc_code="揭东财")
    doc, _ = issue_to([finance], title="关于报送年度国库集中支付情况的函")
    incoming = DistributionRecipient.objects.get(document=doc, agency=finance).incoming
    clerk = login(cast.finance05, otp=True)
    assert receipt_step(clerk, receipt_task(incoming, ReceiptFlow.sign), "sign").status_code == 302
    assert receipt_step(clerk, receipt_task(incoming, ReceiptFlow.register), "register",
                        **register_fields(incoming)).status_code == 302
    office = login(cast.finance03, otp=True)
    assert receipt_step(office, receipt_task(incoming, ReceiptFlow.review), "accept", "请拟办。").status_code == 302
    propose = receipt_task(incoming, ReceiptFlow.propose)
    page = office.get(f"/flows/receipt/tasks/{propose.pk}/").content.decode()
    treasury = Department.objects.get(agency=finance, name="国库科")  # the demo gives it no 部门负责人
    assert f'<option value="{treasury.pk}"' not in page and "未列出：国库科" in page
    assert receipt_step(office, propose, "propose", "拟请分管领导阅示。", leader=cast.finance02.pk).status_code == 302
    return finance, incoming, receipt_task(incoming, ReceiptFlow.instruct), treasury


def test_instruct_offers_only_departments_with_a_head_and_refuses_the_others(cast):
    finance, incoming, task, treasury = _at_instruct(cast)
    budget = Department.objects.get(agency=finance, name="预算科")
    general = Department.objects.get(agency=finance, name="办公室")
    assert with_department_head(Department.objects.filter(agency=finance)).count() == 2
    leader = login(cast.finance02, otp=True)
    url = f"/flows/receipt/tasks/{task.pk}/"
    page = leader.get(url).content.decode()
    assert f'<option value="{treasury.pk}"' not in page and f'<option value="{budget.pk}"' in page
    assists = _inputs(page, "assist_departments")
    assert set(assists) == {"办公室", "预算科"}
    readers = _inputs(page, "readers")
    assert len(readers) == 6 and "data-checkgroup-select=\"dept-" in _fieldset(page, "readers")  # by 科室
    # a forged 主办 国库科: 400, said beside 主办部门, the opinion and the 时限 kept
    refused = leader.post(url, {"decision": "instruct", "opinion": "请国库科办理。", "host_department": treasury.pk,
                                "limit_days": 4, "assist_departments": [general.pk]})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert re.search(r'id="id_host_department_error" role="alert">.*?所选部门不可选', page, re.S)
    assert "请国库科办理。</textarea>" in page and 'value="4"' in page
    assert " checked" in _inputs(page, "assist_departments")["办公室"]
    # … and as 协办
    refused = leader.post(url, {"decision": "instruct", "opinion": "请预算科办理。", "host_department": budget.pk,
                                "limit_days": 4, "assist_departments": [treasury.pk]})
    assert refused.status_code == 400
    assert re.search(r'id="id_assist_departments_error" role="alert">.*?所选部门不可选', refused.content.decode(), re.S)
    # the action refuses them itself (API callers), in Chinese, nothing assigned
    for host, assist, code in ((treasury.pk, [], "host_no_head"), (budget.pk, [treasury.pk], "assist_no_head")):
        with pytest.raises(Refusal) as caught:
            check_perform_receipt_step(cast.finance02, task, ReceiptInput(
                decision="instruct", opinion="请办理。", host_department_id=host, assist_department_ids=assist,
                limit_days=3))
        assert caught.value.code == code and "“国库科”没有部门负责人" in caught.value.message
    incoming.refresh_from_db()
    assert incoming.host_department_id is None
    task.refresh_from_db()
    assert task.status in OPEN
    # a 传阅 reader who is not of the agency: beside 传阅人员
    refused = leader.post(url, {"decision": "instruct", "opinion": "请预算科办理。", "host_department": budget.pk,
                                "limit_days": 4, "readers": [999999]})
    assert refused.status_code == 400
    assert re.search(r'id="id_readers_error" role="alert">.*?传阅人员须为本机关在职人员', refused.content.decode(), re.S)
    assert leader.post(url, {"decision": "instruct", "opinion": "请预算科办理。", "host_department": budget.pk,
                             "limit_days": 4, "assist_departments": [general.pk]}).status_code == 302
