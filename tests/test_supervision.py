"""督查督办 (issue 16, docs/supervision.md): the lifecycle through HTTP as the demo cast, feedback due dates on the
working-day calendar, automatic 催办 rounds, 延期, 退办, roll-up, lights, and bad input."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from oa.models import Agency, AuditEntry, Notification, WorkItem
from oa.refusals import Refusal
from supervision import actions as act
from supervision.models import Extension, ItemEvent, LightPolicy, SupervisionItem, UnitTask
from supervision.selectors import feedback_due_dates
from tests.clients import login

BJ = ZoneInfo("Asia/Shanghai")
D = dt.date
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde\x00\x00"
       b"\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


@contextmanager
def on(day: dt.date, hour: int = 10):
    with time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=BJ), tick=False):
        yield


def ok(response) -> bool:
    """A redirect back into the app (not to the login or 2FA page): the action went through."""
    return response.status_code == 302 and response["Location"].startswith("/supervision/")


def agency(key_name: str) -> Agency:
    return Agency.objects.get(short_name=key_name)


def open_step(person) -> WorkItem:
    return WorkItem.objects.get(owner=person, kind="flow_task", state="open", box="todo",
                                link__startswith="/supervision/steps/")


def create_via_http(cast, **overrides) -> SupervisionItem:
    data = {
        "title": "推进政务服务“一网通办”事项梳理", "source_type": "instruction", "source_basis": "林晓东副区长批示",
        "leader": cast.linxiaodong.pk, "lead_agency": agency("区财政局").pk,
        "assist_agencies": [agency("区教育局").pk], "responsible": cast.finance04.pk,
        "requirements": "梳理本单位事项清单，按周报送进展。", "completion_standard": "清单报区政数局备案",
        "deadline": "2026-10-16", "cycle": "weekly", "cycle_weekday": "7",
    }
    data.update(overrides)
    response = login(cast.zhaolei).post("/supervision/new/", data)
    assert ok(response), response.content.decode()[:3000]
    return SupervisionItem.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


def approve_and_dispatch(cast, item: SupervisionItem) -> None:
    leader = login(cast.linxiaodong, otp=True)
    step = open_step(cast.linxiaodong)
    assert leader.get(step.link).status_code == 200
    assert ok(leader.post(step.link, {"op": "approve", "opinion": "同意"}))
    step = open_step(cast.zhaolei)
    assert ok(login(cast.zhaolei).post(step.link))
    item.refresh_from_db()
    assert item.status == SupervisionItem.Status.HANDLING


def test_feedback_due_dates_cross_national_day_and_a_working_sunday(db):
    # Sunday 2026-09-20 is a 调休 working day and stays; 09-27 and 10-04 fall in holidays and move to the next
    # working day (09-28 Monday, 10-08 Thursday after 国庆); 10-11 is an ordinary Sunday → 10-12.
    dates = feedback_due_dates(cycle="weekly", start=D(2026, 9, 14), deadline=D(2026, 10, 16), weekday=7)
    assert dates == [D(2026, 9, 20), D(2026, 9, 28), D(2026, 10, 8), D(2026, 10, 12)]
    # Monthly on the 1st: 10-01 (国庆) → 10-08; custom dates likewise, a 调休 Saturday (10-10) kept.
    assert feedback_due_dates(cycle="monthly", start=D(2026, 9, 14), deadline=D(2026, 10, 16), monthday=1) == [
        D(2026, 10, 8)]
    assert feedback_due_dates(cycle="custom", start=D(2026, 9, 14), deadline=D(2026, 10, 16),
                              dates=[D(2026, 10, 10), D(2026, 10, 3)]) == [D(2026, 10, 8), D(2026, 10, 10)]


def test_cycle_with_no_due_date_is_refused(db):
    with pytest.raises(Refusal) as exc:
        # The 31st of a month: September has none before a deadline of 09-30 → moved to 09-30, but the cycle
        # after a deadline of 09-16 yields nothing.
        feedback_due_dates(cycle="monthly", start=D(2026, 9, 14), deadline=D(2026, 9, 16), monthday=31)
    assert exc.value.code == "cycle_no_due" and "没有任何一个反馈日" in exc.value.message


def test_lifecycle_through_http(cast):
    with on(D(2026, 9, 14)):
        item = create_via_http(cast)
        assert item.number == "督〔2026〕1号"
        assert item.status == SupervisionItem.Status.REVIEW
        assert [(u.agency.short_name, u.role, u.handler.username) for u in item.units.order_by("-role")] == [
            ("区财政局", "lead", "finance04"), ("区教育局", "assist", "edu05")]
        approve_and_dispatch(cast, item)
        lead = item.units.get(role="lead")
        assist = item.units.get(role="assist")
        assert list(lead.dues.values_list("due_date", flat=True)) == [
            D(2026, 9, 20), D(2026, 9, 28), D(2026, 10, 8), D(2026, 10, 12)]
        # 待办 for the units' handlers (kind supervision), pushed as notifications (the wecom channel's source).
        todo = WorkItem.objects.get(owner=cast.finance04, kind="supervision", state="open")
        assert todo.step == "签收" and todo.link == f"/supervision/units/{lead.pk}/"
        assert Notification.objects.filter(recipient=cast.finance04, work_item=todo).exists()
        # The 督查通知单 PDF.
        pdf = login(cast.finance04).get(f"/supervision/{item.pk}/notice.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")

        finance = login(cast.finance04)
        assert ok(finance.post(todo.link, {"op": "sign"}))
        edu = login(cast.edu05, otp=True)
        assert ok(edu.post(f"/supervision/units/{assist.pk}/", {"op": "sign"}))
    with on(D(2026, 9, 18)):
        finance = login(cast.finance04)  # a fresh session each day: the idle timeout ends yesterday's
        response = finance.post(f"/supervision/units/{lead.pk}/", {
            "op": "feedback", "text": "已完成 40 项事项梳理", "progress": "40",
            "files": [SimpleUploadedFile("现场.png", PNG, content_type="image/png")]})
        assert ok(response)
        fb = lead.feedbacks.get()
        assert fb.files[0]["content_type"] == "image/png" and fb.files[0]["key"].startswith("supervision/")
        lead.refresh_from_db()
        item.refresh_from_db()
        assert lead.progress == 40 and item.progress == 20  # roll-up: mean of 40 and 0
        assert lead.dues.get(due_date=D(2026, 9, 20)).feedback == fb
    with on(D(2026, 10, 13)):
        finance, edu = login(cast.finance04), login(cast.edu05, otp=True)
        assert ok(finance.post(f"/supervision/units/{lead.pk}/", {"op": "report", "report": "已全部完成"}))
        assert ok(edu.post(f"/supervision/units/{assist.pk}/", {"op": "report", "report": "已配合完成"}))
        supervisor = login(cast.zhaolei)
        # 退办 needs a reason; with one, the unit is back at work and told why.
        bad = supervisor.post(f"/supervision/units/{assist.pk}/", {"op": "return", "reason": ""})
        assert bad.status_code == 400 and "请填写退办理由" in bad.content.decode()
        returned = supervisor.post(f"/supervision/units/{assist.pk}/", {"op": "return", "reason": "缺少清单附件"})
        assert ok(returned)
        assist.refresh_from_db()
        assert assist.status == UnitTask.Status.HANDLING
        back = WorkItem.objects.get(owner=cast.edu05, ref=f"supervision.unit:{assist.pk}")
        assert back.state == "open" and "缺少清单附件" in back.note
        assert ok(edu.post(f"/supervision/units/{assist.pk}/", {"op": "report", "report": "已补附件"}))
        assert ok(supervisor.post(f"/supervision/units/{lead.pk}/", {"op": "approve"}))
        item.refresh_from_db()
        assert item.status == SupervisionItem.Status.HANDLING  # one unit still open
        assert ok(supervisor.post(f"/supervision/units/{assist.pk}/", {"op": "approve"}))
        item.refresh_from_db()
        assert item.status == SupervisionItem.Status.CLOSING and item.progress == 100
        assert ok(supervisor.post(open_step(cast.zhaolei).link))  # 销号
        assert ok(supervisor.post(open_step(cast.zhaolei).link))  # 归档
        item.refresh_from_db()
        assert item.status == SupervisionItem.Status.ARCHIVED
        assert not WorkItem.objects.filter(thread=f"supervision.item:{item.pk}", state="open").exists()
        # feedback after 销号: refused in Chinese, nothing written.
        before = lead.feedbacks.count()
        response = finance.post(f"/supervision/units/{lead.pk}/", {"op": "feedback", "text": "补充", "progress": "100"})
        assert response.status_code == 400 and "已销号" in response.content.decode()
        assert lead.feedbacks.count() == before
    actions = set(AuditEntry.objects.filter(object_type__startswith="supervision.").values_list("action", flat=True))
    assert {"supervision.create", "supervision.leader_review", "supervision.dispatch", "supervision.sign",
            "supervision.feedback", "supervision.report", "supervision.review_report", "supervision.close",
            "supervision.archive"} <= actions


def test_units_see_only_their_items(cast):
    with on(D(2026, 9, 14)):
        item = create_via_http(cast)
    assert login(cast.finance04).get(f"/supervision/{item.pk}/").status_code == 200
    assert login(cast.wujing).get(f"/supervision/{item.pk}/").status_code == 200  # 督查室
    assert login(cast.market01, otp=True).get(f"/supervision/{item.pk}/").status_code == 404  # not a unit
    assert login(cast.zhangwei).get(f"/supervision/units/{item.units.first().pk}/").status_code == 404


def _handling_item(cast, **overrides) -> SupervisionItem:
    with on(D(2026, 9, 14)):
        item = create_via_http(cast, **overrides)
        approve_and_dispatch(cast, item)
        for unit in item.units.all():
            act.check_sign(unit.handler, unit)
    return item


def test_automatic_urge_rounds_fire_once_each_and_escalate(cast):
    item = _handling_item(cast, deadline="2026-09-25", assist_agencies=[])
    unit = item.units.get()
    with on(D(2026, 9, 25)):
        assert act.do_auto_urge() == 0  # the deadline day itself is not overdue
    with on(D(2026, 9, 29)):  # 09-28 and 09-29 are working days after the holiday weekend: 2 overdue
        assert act.do_auto_urge() == 1
        assert act.do_auto_urge() == 0  # the scheduler running again sends nothing twice
    unit.refresh_from_db()
    assert unit.urge_rounds == 1 and unit.sheet == "blue"
    urged = Notification.objects.filter(recipient=cast.finance04, event_type="work.urged")
    assert urged.count() == 1
    with on(D(2026, 10, 9)):  # after 国庆: 09-28, 09-29, 09-30, 10-08, 10-09 → 5 working days overdue
        assert act.do_auto_urge() == 2  # rounds 2 and 3, each once
        assert act.do_auto_urge() == 0
    unit.refresh_from_db()
    assert unit.urge_rounds == 3 and unit.sheet == "red"
    assert WorkItem.objects.filter(owner=cast.finance01, box="toread", ref=f"supervision.urge:{unit.pk}:2").exists()
    assert WorkItem.objects.filter(owner=cast.linxiaodong, box="toread", ref=f"supervision.urge:{unit.pk}:3").exists()
    assert AuditEntry.objects.filter(action="supervision.auto_urge").count() == 3
    assert urged.count() == 1


def test_the_job_registry_runs_the_urge_job(cast):
    from oa.scheduling import autodiscover, registered_jobs, run_job

    autodiscover()
    assert {"supervision.lights", "supervision.auto_urge"} <= set(registered_jobs())
    item = _handling_item(cast, deadline="2026-09-25", assist_agencies=[])
    with on(D(2026, 9, 29)):
        assert run_job("supervision.auto_urge") == "fired=1"
        assert run_job("supervision.auto_urge") == "fired=0"
    assert item.units.get().urge_rounds == 1


def test_extension_through_three_levels_keeps_the_old_date(cast):
    item = _handling_item(cast, assist_agencies=[])
    unit = item.units.get()
    with on(D(2026, 10, 9)):
        response = login(cast.finance04).post(f"/supervision/units/{unit.pk}/", {
            "op": "extension", "reason": "涉及上级系统改造", "proposed": "2026-10-30"})
        assert ok(response)
        ext = unit.extensions.get()
        assert ext.status == Extension.Status.HEAD and ext.decider == cast.finance01
        assert ok(login(cast.finance01, otp=True).post(f"/supervision/extensions/{ext.pk}/", {"op": "approve"}))
        ext.refresh_from_db()
        assert ext.decider == cast.zhaolei
        assert ok(login(cast.zhaolei).post(f"/supervision/extensions/{ext.pk}/", {"op": "approve"}))
        ext.refresh_from_db()
        assert ext.decider == cast.linxiaodong
        assert ok(login(cast.linxiaodong, otp=True).post(f"/supervision/extensions/{ext.pk}/", {
            "op": "approve", "new_date": "2026-10-28"}))
    ext.refresh_from_db()
    unit.refresh_from_db()
    item.refresh_from_db()
    assert ext.status == Extension.Status.GRANTED and ext.old_deadline == D(2026, 10, 16)
    assert unit.deadline == item.deadline == D(2026, 10, 28)
    assert D(2026, 10, 19) in set(unit.dues.values_list("due_date", flat=True))  # the cycle continues
    assert ItemEvent.objects.filter(item=item, kind="extension_step", data__old="2026-10-16").exists()


def test_extension_refused_after_the_deadline(cast):
    item = _handling_item(cast, deadline="2026-09-25", assist_agencies=[])
    unit = item.units.get()
    with on(D(2026, 9, 28)):
        response = login(cast.finance04).post(f"/supervision/units/{unit.pk}/", {
            "op": "extension", "reason": "来不及", "proposed": "2026-10-30"})
    assert response.status_code == 400 and "已超过办理期限" in response.content.decode()
    assert not Extension.objects.filter(unit=unit).exists()


def test_lights_green_yellow_red_and_red_back_to_yellow_when_the_gap_is_made_up(cast):
    item = _handling_item(cast, assist_agencies=[])  # dues 09-20, 09-28, 10-08, 10-12; deadline 10-16
    unit = item.units.get()

    def light(day):
        with on(day):
            act.do_recompute_lights()
        unit.refresh_from_db()
        item.refresh_from_db()
        assert unit.light == item.light
        return unit.light

    assert light(D(2026, 9, 15)) == "green"
    assert light(D(2026, 9, 21)) == "red"  # the 09-20 report is missing
    with on(D(2026, 9, 22)):
        act.check_submit_feedback(cast.finance04, unit, text="补报", progress=30)
    unit.refresh_from_db()
    assert unit.light == "yellow"  # made up late: 滞后
    with on(D(2026, 9, 25)):
        act.check_submit_feedback(cast.finance04, unit, text="按时", progress=50)
    # The next report came on time, and 50 % is within 10 points of 序时 (11 of 20 working days = 55 %).
    assert light(D(2026, 9, 29)) == "green"
    with on(D(2026, 10, 8)):
        act.check_submit_feedback(cast.finance04, unit, text="按时", progress=90)
    assert light(D(2026, 10, 12)) == "green"  # due today, not missed yet; 4 working days to the deadline
    assert light(D(2026, 10, 13)) == "red"  # the 10-12 report is missing
    with on(D(2026, 10, 13), 11):
        act.check_submit_feedback(cast.finance04, unit, text="补报", progress=95)
    unit.refresh_from_db()
    assert unit.light == "yellow"  # made up again
    assert light(D(2026, 10, 19)) == "red"  # overdue, not 办结
    changes = list(ItemEvent.objects.filter(item=item, kind="light").values_list("data__light", flat=True))
    assert changes == ["green", "red", "yellow", "green", "red", "yellow", "red"]
    assert AuditEntry.objects.filter(action="supervision.light", object_id=str(unit.pk)).count() == len(changes)
    assert Notification.objects.filter(recipient=cast.finance04, event_type="supervision.light").exists()


def test_pace_behind_schedule_lights_by_policy(cast):
    office = agency("区府办")
    LightPolicy.objects.create(agency=office, name="重点工作", source_types=["key_work"], yellow_days=0,
                               pace_yellow_pct=10, pace_red_pct=30, urge_after_days=[1, 3, 5], is_default=False)
    item = _handling_item(cast, assist_agencies=[], source_type="key_work", cycle="custom",
                          cycle_dates="2026-10-15", cycle_weekday="")
    assert item.policy.name == "重点工作"
    unit = item.units.get()
    # 序时进度 counts working days (the calendar): 交办 09-14, deadline 10-16 is 20 working days (调休 Sunday 09-20
    # and Saturday 10-10 count, 中秋 09-25 and 国庆 10-01…10-07 do not). Calendar days would give 32 and different colours.
    with on(D(2026, 9, 24)):  # 9 of 20 working days elapsed: 序时 45%, progress 0 → 45 points behind > 30 → red
        act.do_recompute_lights()
    unit.refresh_from_db()
    assert unit.light == "red"
    with on(D(2026, 9, 24), 11):
        act.check_submit_feedback(cast.finance04, unit, text="进展", progress=15)
    unit.refresh_from_db()
    assert unit.light == "yellow"  # 30 points behind: not more than 30
    with on(D(2026, 9, 24), 12):
        act.check_submit_feedback(cast.finance04, unit, text="进展", progress=30)
    unit.refresh_from_db()
    assert unit.light == "yellow"  # 15 points behind in working days (calendar days: 10/32 = 31 %, only 1 behind)
    with on(D(2026, 9, 24), 13):
        act.check_submit_feedback(cast.finance04, unit, text="进展", progress=40)
    unit.refresh_from_db()
    assert unit.light == "green"  # 5 points behind
    with on(D(2026, 10, 8), 9):
        act.check_submit_feedback(cast.finance04, unit, text="进展", progress=60)
    unit.refresh_from_db()
    # After 国庆: 13 of 20 working days = 65 %, 5 points behind → green. By calendar days (24 of 32 = 75 %) it would
    # be 15 points behind → yellow: the holiday week is not time the unit had.
    assert unit.light == "green"


def test_workday_ordinals_match_the_working_day_calendar(db):
    from oa.selectors.calendar import working_days_between
    from supervision.pace import WorkdayOrdinals

    ordinals = WorkdayOrdinals()
    start = D(2026, 9, 1)
    days = [start + dt.timedelta(days=k) for k in range(0, 75)]
    for a in days[::7]:
        for b in days:
            if b >= a:
                assert ordinals.ordinal(b) - ordinals.ordinal(a) == working_days_between(a, b), (a, b)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"deadline": "2026-09-01"}, "办理期限须晚于今天"),
    ({"cycle": "monthly", "cycle_monthday": "31", "deadline": "2026-09-16"}, "没有任何一个反馈日"),
    ({"lead_agency": "", "assist_agencies": []}, "请选择承办单位"),
])
def test_bad_input_at_creation_is_refused_and_nothing_written(cast, overrides, message):
    with on(D(2026, 9, 14)):
        response = login(cast.zhaolei).post("/supervision/new/", {
            "title": "事项", "source_type": "other", "leader": cast.linxiaodong.pk,
            "lead_agency": agency("区财政局").pk, "responsible": cast.finance04.pk, "requirements": "要求",
            "deadline": "2026-10-16", "cycle": "weekly", "cycle_weekday": "5", **overrides})
    assert response.status_code == 400 and message in response.content.decode()
    assert not SupervisionItem.objects.exists() and not UnitTask.objects.exists()


def test_lead_unit_required_with_several_units_and_units_outside_the_scope(cast):
    base = act.ItemInput(title="事项", source_type="other", leader=cast.linxiaodong, lead_agency=None,
                         responsible=cast.finance04, requirements="要求", deadline=D(2026, 10, 16), cycle="weekly",
                         cycle_weekday=5, assist_agencies=[agency("区财政局"), agency("区教育局")])
    other = Agency.objects.create(name="外区某局", short_name="外区局", doc_code="外局", uscc="11440000MB0000001X")
    with on(D(2026, 9, 14)):
        with pytest.raises(Refusal) as exc:
            act.check_create_item(cast.zhaolei, base)
        assert exc.value.code == "lead_required"
        base.lead_agency, base.assist_agencies = agency("区财政局"), [other]
        with pytest.raises(Refusal) as exc:
            act.check_create_item(cast.zhaolei, base)
        assert exc.value.code == "unit_out_of_scope" and "外区某局" in exc.value.message
    assert not SupervisionItem.objects.exists()


def test_item_from_incoming_document_in_one_action_from_the_leader(cast):
    from documents.models import IncomingDocument

    incoming = IncomingDocument.objects.create(agency=agency("区府办"), source="paper", title="关于做好防汛工作的通知",
                                               sender_name="揭阳市人民政府办公室", doc_number="揭府办〔2026〕9号",
                                               due_date=D(2026, 10, 16))
    with on(D(2026, 9, 14)):
        assert login(cast.zhaolei).get(f"/supervision/new/?incoming={incoming.pk}").status_code == 404  # not yet
        # 批办: the leader hands the 收文 to the 督查室 in one action.
        response = login(cast.huangjianhua, otp=True).post(f"/supervision/from-incoming/{incoming.pk}/")
        assert response.status_code == 200 and "已转督查室立项" in response.content.decode()
        todo = WorkItem.objects.get(owner=cast.zhaolei, ref=f"supervision.propose:{incoming.pk}", state="open")
        assert WorkItem.objects.filter(owner=cast.wujing, ref=todo.ref, state="open").exists()
        page = login(cast.zhaolei).get(todo.link)
        body = page.content.decode()
        assert page.status_code == 200 and "关于做好防汛工作的通知" in body and "揭府办〔2026〕9号" in body
        item = create_via_http(cast, incoming=incoming.pk, title=incoming.title, source_type="superior")
        # A 督查员 on the 收文 page goes straight to the form.
        again = login(cast.zhaolei).post(f"/supervision/from-incoming/{incoming.pk}/")
        assert again.status_code == 302 and again["Location"] == f"/supervision/new/?incoming={incoming.pk}"
    assert item.source_incoming == incoming and item.source_type == "superior"
    assert not WorkItem.objects.filter(ref=todo.ref, state="open").exists()
    assert AuditEntry.objects.filter(action="supervision.propose", object_id=str(incoming.pk)).exists()


def test_pages_render_for_the_cast(cast):
    item = _handling_item(cast)
    assert login(cast.finance04).get("/supervision/").status_code == 200
    listing = login(cast.zhaolei).get("/supervision/items/?light=&status=handling")
    assert listing.status_code == 200 and item.title in listing.content.decode()
    assert login(cast.zhaolei).get("/supervision/policies/").status_code == 200
    response = login(cast.zhaolei).post("/supervision/policies/", {
        "name": "领导批示件", "source_types": ["instruction"], "yellow_days": "2", "pace_yellow_pct": "10",
        "pace_red_pct": "30", "urge_after_days": "1,2,3", "notify_colours": ["red"], "is_default": ""})
    assert ok(response)
    bad = login(cast.zhaolei).post("/supervision/policies/", {
        "name": "x", "yellow_days": "2", "pace_yellow_pct": "40", "pace_red_pct": "30", "urge_after_days": "3,1"})
    assert bad.status_code == 400
    assert LightPolicy.objects.filter(name="领导批示件").count() == 1
    assert login(cast.finance04).get("/supervision/policies/").status_code == 403


def test_demo_items_show_three_lights_and_load_idempotently(cast):
    from supervision.demo import do_load_supervision_demo

    with on(D(2026, 9, 14)):
        assert do_load_supervision_demo() == 3
        assert do_load_supervision_demo() == 0
    lights = dict(SupervisionItem.objects.values_list("title", "light"))
    assert sorted(lights.values()) == ["green", "red", "yellow"]
    assert lights["回复人大代表关于校园周边交通安全的建议"] == "red"
    assert SupervisionItem.objects.get(source_type="npc").policy.name == "人大建议政协提案"


def test_leader_may_refuse_to_register_with_a_reason(cast):
    with on(D(2026, 9, 14)):
        item = create_via_http(cast)
        leader = login(cast.linxiaodong, otp=True)
        step = open_step(cast.linxiaodong)
        bad = leader.post(step.link, {"op": "reject", "opinion": ""})
        assert bad.status_code == 400 and "请填写审核意见" in bad.content.decode()
        assert ok(leader.post(step.link, {"op": "reject", "opinion": "仅阅知，不立项"}))
    item.refresh_from_db()
    assert item.status == SupervisionItem.Status.REJECTED
    assert not WorkItem.objects.filter(kind="supervision").exists()
    assert not WorkItem.objects.filter(owner=cast.zhaolei, kind="flow_task", state="open").exists()
    assert login(cast.finance04).get("/supervision/").content.decode().count(item.title) == 0


def test_manual_urge_by_the_supervisor_only(cast):
    item = _handling_item(cast, assist_agencies=[])
    unit = item.units.get()
    with on(D(2026, 9, 15)):
        assert ok(login(cast.zhaolei).post(f"/supervision/units/{unit.pk}/", {"op": "urge", "message": "请加快"}))
        assert login(cast.finance04).post(f"/supervision/units/{unit.pk}/", {"op": "urge"}).status_code == 403
    urged = Notification.objects.get(recipient=cast.finance04, event_type="work.urged")
    assert urged.work_item.ref == f"supervision.unit:{unit.pk}"
    assert AuditEntry.objects.filter(action="supervision.urge", actor=cast.zhaolei).count() == 1
