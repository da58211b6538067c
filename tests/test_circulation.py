"""传阅 actions and selectors (docs/circulation.md): database state, events and audit entries for 送阅, 打开, 阅知 and
催阅; the 文书's 未阅 list; 待阅 → 已阅 in the inbox."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from documents.actions.incoming import IncomingFields, do_create_incoming
from documents.models import IncomingAccess, IncomingDocument
from documents.selectors.incoming import incoming_visible_to
from oa.models import Agency, AuditEntry, Department, Notification, Role, RoleAssignment, WorkItem
from oa.refusals import Refusal
from oa.selectors.work import box_counts, inbox
from workflows.actions.circulation import (
    check_acknowledge_circulation,
    check_urge_circulation,
    do_circulate,
    do_mark_circulation_opened,
)
from workflows.models import CirculationRead
from workflows.selectors.circulation import circulation_panel, unread_for_agency, unread_page

pytestmark = pytest.mark.django_db


def office() -> Agency:
    """区府办, the agency whose 文书 is 刘洋 (liuyang)."""
    return RoleAssignment.objects.get(person__username="liuyang", role=Role.CLERK).agency


def make_incoming(title: str = "关于做好汛期安全防范工作的通知", *, urgency: str = "") -> IncomingDocument:
    incoming, created = do_create_incoming(
        agency=office(), source="paper", package_id=None,
        fields=IncomingFields(title=title, sender_name="市应急管理局", doc_number="揭应急〔2026〕7号", urgency=urgency),
    )
    assert created
    return incoming


def row_of(incoming, person) -> CirculationRead:
    return CirculationRead.objects.get(incoming=incoming, reader=person)


def audits(action: str, incoming) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, object_type="documents.incomingdocument",
                                          object_id=str(incoming.pk)).order_by("id"))


def item_of(row: CirculationRead) -> WorkItem:
    return WorkItem.objects.get(ref=f"circulation:{row.pk}", owner_id=row.reader_id, box=WorkItem.Box.TOREAD)


# --- 送阅 ---------------------------------------------------------------------------------------------------


def test_circulate_delivers_one_row_per_reader_with_access_toread_item_event_and_audit(cast):
    incoming = make_incoming(urgency="teji")
    zhangwei, xuli, liuyang = cast.zhangwei, cast.xuli, cast.liuyang
    assert not incoming_visible_to(zhangwei).filter(pk=incoming.pk).exists()

    rows = do_circulate(incoming, [zhangwei, xuli, zhangwei], by=liuyang, note="请各位阅知")

    assert [r.reader_id for r in rows] == [zhangwei.pk, xuli.pk]  # the duplicate in the list is ignored
    for person in (zhangwei, xuli):
        row = row_of(incoming, person)
        assert row.sent_by_id == liuyang.pk and row.note == "请各位阅知" and row.delivered_at is not None
        assert (row.first_opened_at, row.last_opened_at, row.open_count, row.acknowledged_at) == (None, None, 0, None)
        assert IncomingAccess.objects.get(incoming=incoming, person=person).reason == "传阅"
        assert incoming_visible_to(person).filter(pk=incoming.pk).exists()
        item = item_of(row)
        assert item.kind == "circulation" and item.state == WorkItem.State.OPEN and item.step == "传阅"
        assert item.title == incoming.title and item.doc_number == "揭应急〔2026〕7号"
        assert item.urgency == WorkItem.Urgency.VERY_URGENT and item.initiator_id == liuyang.pk
        assert item.link == f"/flows/incoming/{incoming.pk}/"
        note = Notification.objects.get(recipient=person, event_type="work.assigned", work_item=item)
        assert note.payload["box"] == "toread" and note.payload["kind"] == "circulation"
    [entry] = audits("circulation.send", incoming)
    assert entry.actor_id == liuyang.pk
    assert entry.changes["readers"] == [zhangwei.pk, xuli.pk] and entry.changes["note"] == "请各位阅知"


def test_circulating_again_adds_only_new_readers_and_keeps_the_first_delivery(cast):
    incoming = make_incoming()
    zhangwei, wujing = cast.zhangwei, cast.wujing
    [first] = do_circulate(incoming, [zhangwei], by=cast.liuyang)

    again = do_circulate(incoming, [zhangwei, wujing], by=cast.wangfang)

    assert [r.reader_id for r in again] == [wujing.pk]
    assert CirculationRead.objects.filter(incoming=incoming).count() == 2
    kept = row_of(incoming, zhangwei)
    assert kept.delivered_at == first.delivered_at and kept.sent_by_id == cast.liuyang.pk
    assert WorkItem.objects.filter(ref=f"circulation:{first.pk}").count() == 1
    assert Notification.objects.filter(recipient=zhangwei, event_type="work.assigned").count() == 1
    assert audits("circulation.send", incoming)[-1].changes["skipped"] == [zhangwei.pk]
    # Nobody new: nothing written, nothing audited.
    assert do_circulate(incoming, [zhangwei, wujing], by=cast.liuyang) == []
    assert len(audits("circulation.send", incoming)) == 2


# --- the reading timeline -----------------------------------------------------------------------------------


def test_full_reading_timeline_delivered_opened_twice_acknowledged_with_comment(cast):
    incoming = make_incoming()
    zhangwei = cast.zhangwei
    do_circulate(incoming, [zhangwei, cast.xuli], by=cast.liuyang)
    delivered = row_of(incoming, zhangwei)

    do_mark_circulation_opened(incoming, zhangwei)
    opened = row_of(incoming, zhangwei)
    assert opened.first_opened_at is not None and opened.first_opened_at >= delivered.delivered_at
    assert opened.last_opened_at == opened.first_opened_at and opened.open_count == 1
    assert item_of(opened).opened_at == opened.first_opened_at

    do_mark_circulation_opened(incoming, zhangwei)
    twice = row_of(incoming, zhangwei)
    assert twice.first_opened_at == opened.first_opened_at  # stamped once
    assert twice.last_opened_at > opened.last_opened_at and twice.open_count == 2
    [open_entry] = audits("circulation.open", incoming)  # only the first opening goes to the audit chain
    assert open_entry.actor_id == zhangwei.pk and open_entry.changes["row"] == twice.pk
    assert twice.acknowledged_at is None and item_of(twice).state == WorkItem.State.OPEN

    row = check_acknowledge_circulation(zhangwei, incoming, comment="  已阅，按要求落实。 ")

    row.refresh_from_db()
    assert row.acknowledged_at >= twice.last_opened_at and row.comment == "已阅，按要求落实。"
    assert (row.first_opened_at, row.open_count) == (twice.first_opened_at, 2)  # an earlier open is not re-stamped
    item = item_of(row)
    assert item.state == WorkItem.State.DONE and item.completed_at is not None
    [ack] = audits("circulation.acknowledge", incoming)
    assert ack.actor_id == zhangwei.pk
    assert ack.changes == {"row": row.pk, "comment": "已阅，按要求落实。", "opened_on_acknowledge": False}
    # The other reader's row is untouched.
    assert row_of(incoming, cast.xuli).acknowledged_at is None

    # Opening after 阅知 still counts: the record is every opening.
    do_mark_circulation_opened(incoming, zhangwei)
    later = row_of(incoming, zhangwei)
    assert later.open_count == 3 and later.first_opened_at == twice.first_opened_at
    assert later.acknowledged_at == row.acknowledged_at


def test_a_slow_opening_request_cannot_move_last_opened_backwards(cast, monkeypatch):
    import datetime as dt

    from django.utils import timezone

    incoming = make_incoming()
    do_circulate(incoming, [cast.zhangwei], by=cast.liuyang)
    do_mark_circulation_opened(incoming, cast.zhangwei)
    opened = row_of(incoming, cast.zhangwei)
    # A request that took its timestamp earlier but writes later (two tabs, a slow worker).
    earlier = opened.last_opened_at - dt.timedelta(seconds=5)
    monkeypatch.setattr(timezone, "now", lambda: earlier)

    do_mark_circulation_opened(incoming, cast.zhangwei)

    row = row_of(incoming, cast.zhangwei)
    assert row.open_count == 2 and row.last_opened_at == opened.last_opened_at


def test_acknowledge_without_opening_stamps_the_opening_too(cast):
    incoming = make_incoming()
    do_circulate(incoming, [cast.xuli], by=cast.liuyang)

    row = check_acknowledge_circulation(cast.xuli, incoming)

    row.refresh_from_db()
    assert row.first_opened_at == row.last_opened_at == row.acknowledged_at and row.open_count == 1
    assert row.comment == ""
    assert audits("circulation.acknowledge", incoming)[0].changes["opened_on_acknowledge"] is True


def test_acknowledge_twice_is_refused_with_a_code_and_changes_nothing(cast):
    incoming = make_incoming()
    do_circulate(incoming, [cast.zhangwei], by=cast.liuyang)
    first = check_acknowledge_circulation(cast.zhangwei, incoming, comment="已阅")

    with pytest.raises(Refusal) as refused:
        check_acknowledge_circulation(cast.zhangwei, incoming, comment="再阅")

    assert refused.value.code == "already_acknowledged" and refused.value.status == 409
    assert "不能重复阅知" in refused.value.message
    row = row_of(incoming, cast.zhangwei)
    assert row.acknowledged_at == first.acknowledged_at and row.comment == "已阅"
    assert len(audits("circulation.acknowledge", incoming)) == 1


def test_too_long_comment_is_refused_in_chinese_and_nothing_is_written(cast):
    incoming = make_incoming()
    do_circulate(incoming, [cast.zhangwei], by=cast.liuyang)

    with pytest.raises(Refusal) as refused:
        check_acknowledge_circulation(cast.zhangwei, incoming, comment="阅" * 1001)

    assert refused.value.code == "comment_too_long" and refused.value.status == 400
    assert "1000" in refused.value.message
    row = row_of(incoming, cast.zhangwei)
    assert row.acknowledged_at is None and row.first_opened_at is None
    assert item_of(row).state == WorkItem.State.OPEN
    assert audits("circulation.acknowledge", incoming) == []


def test_non_reader_cannot_acknowledge_and_opening_by_a_non_reader_records_nothing(cast):
    incoming = make_incoming()
    do_circulate(incoming, [cast.zhangwei], by=cast.liuyang)
    lina = cast.lina  # 核稿人: sees every 收文 of the agency, but is not on the list
    assert incoming_visible_to(lina).filter(pk=incoming.pk).exists()

    with pytest.raises(PermissionDenied):
        check_acknowledge_circulation(lina, incoming, comment="已阅")
    do_mark_circulation_opened(incoming, lina)
    do_mark_circulation_opened(incoming, cast.liuyang)

    assert not CirculationRead.objects.filter(incoming=incoming, reader__in=[lina, cast.liuyang]).exists()
    row = row_of(incoming, cast.zhangwei)
    assert (row.first_opened_at, row.open_count, row.acknowledged_at) == (None, 0, None)
    assert audits("circulation.open", incoming) == [] and audits("circulation.acknowledge", incoming) == []


# --- 催阅 ---------------------------------------------------------------------------------------------------


def test_urge_by_the_sender_reaches_the_unacknowledged_readers_with_event_and_audit(cast):
    incoming = make_incoming()
    wangfang, zhangwei, xuli, wujing = cast.wangfang, cast.zhangwei, cast.xuli, cast.wujing
    do_circulate(incoming, [zhangwei, xuli, wujing], by=wangfang)
    check_acknowledge_circulation(xuli, incoming)

    assert check_urge_circulation(wangfang, incoming) == 2  # 徐丽 already 阅知

    for person in (zhangwei, wujing):
        row = row_of(incoming, person)
        assert row.urge_count == 1 and row.last_urged_at is not None
        note = Notification.objects.get(recipient=person, event_type="work.urged")
        assert note.work_item_id == item_of(row).pk
        assert note.title.startswith("催阅：") and "王芳 第 1 次催阅" in note.summary
        assert note.payload == {"work_item_id": item_of(row).pk, "count": 1, "by": "王芳"}
    assert row_of(incoming, xuli).urge_count == 0
    assert not Notification.objects.filter(recipient=xuli, event_type="work.urged").exists()
    [entry] = audits("circulation.urge", incoming)
    assert entry.actor_id == wangfang.pk and sorted(entry.changes["readers"]) == sorted([zhangwei.pk, wujing.pk])

    # Only the listed readers; the agency's 文书 may urge what someone else sent.
    assert check_urge_circulation(cast.liuyang, incoming, [wujing.pk]) == 1
    assert (row_of(incoming, wujing).urge_count, row_of(incoming, zhangwei).urge_count) == (2, 1)
    assert Notification.objects.filter(recipient=wujing, event_type="work.urged").latest("id").payload["count"] == 2


def test_urge_when_nobody_is_left_is_refused_with_a_code(cast):
    incoming = make_incoming()
    do_circulate(incoming, [cast.zhangwei, cast.xuli], by=cast.liuyang)
    check_acknowledge_circulation(cast.xuli, incoming)

    with pytest.raises(Refusal) as refused:
        check_urge_circulation(cast.liuyang, incoming, [cast.xuli.pk])

    assert refused.value.code == "nothing_to_urge"
    assert row_of(incoming, cast.xuli).urge_count == 0 and audits("circulation.urge", incoming) == []


def test_urge_by_a_reader_or_a_bystander_is_refused(cast):
    incoming = make_incoming()
    do_circulate(incoming, [cast.zhangwei, cast.xuli], by=cast.wangfang)

    for person in (cast.zhangwei, cast.lina):
        with pytest.raises(PermissionDenied):
            check_urge_circulation(person, incoming)

    assert not CirculationRead.objects.filter(incoming=incoming, urge_count__gt=0).exists()
    assert not Notification.objects.filter(event_type="work.urged").exists()
    assert audits("circulation.urge", incoming) == []


def test_a_sender_urges_only_the_readers_they_sent_it_to(cast):
    incoming = make_incoming()
    do_circulate(incoming, [cast.zhangwei], by=cast.liuyang)
    do_circulate(incoming, [cast.xuli], by=cast.wangfang)

    assert check_urge_circulation(cast.wangfang, incoming) == 1

    assert (row_of(incoming, cast.xuli).urge_count, row_of(incoming, cast.zhangwei).urge_count) == (1, 0)


# --- panel and the 未阅 list --------------------------------------------------------------------------------


def test_panel_shows_the_reader_their_form_and_the_sender_everyone(cast):
    incoming = make_incoming()
    do_circulate(incoming, [cast.zhangwei, cast.xuli, cast.wujing], by=cast.liuyang)
    do_mark_circulation_opened(incoming, cast.xuli)
    check_acknowledge_circulation(cast.wujing, incoming, comment="同意")

    reader = circulation_panel(cast.zhangwei, incoming)
    assert reader["circ_own"].reader_id == cast.zhangwei.pk and reader["circ_can_acknowledge"]
    assert not reader["circ_tracking"] and reader["circ_rows"] == []

    clerk = circulation_panel(cast.liuyang, incoming)
    assert clerk["circ_own"] is None and clerk["circ_tracking"] and clerk["circ_can_urge"]
    assert clerk["circ_counts"] == {"acknowledged": 1, "opened": 1, "unopened": 1}
    assert [(s.key, s.count) for s in clerk["circ_segments"]] == [("acknowledged", 1), ("opened", 1), ("unopened", 1)]
    assert sum(s.width for s in clerk["circ_segments"]) == pytest.approx(100, abs=0.05)
    states = {x["row"].reader.username: (x["state"], x["department"], x["urgeable"]) for x in clerk["circ_rows"]}
    assert states == {"zhangwei": ("unopened", "秘书科", True), "xuli": ("opened", "综合科", True),
                      "wujing": ("acknowledged", "督查室", False)}

    bystander = circulation_panel(cast.lina, incoming)
    assert bystander["circ_own"] is None and not bystander["circ_tracking"] and bystander["circ_rows"] == []


def test_unread_list_of_the_clerk_with_reader_and_department_filters(cast):
    first = make_incoming("关于开展安全生产大检查的通知")
    second = make_incoming("关于报送年度工作总结的通知")
    do_circulate(first, [cast.zhangwei, cast.xuli], by=cast.liuyang)
    do_circulate(second, [cast.zhangwei, cast.wujing], by=cast.liuyang)
    check_acknowledge_circulation(cast.wujing, second)

    rows = list(unread_for_agency(office()))
    assert [(r.incoming_id, r.reader.username) for r in rows] == [
        (first.pk, "zhangwei"), (first.pk, "xuli"), (second.pk, "zhangwei")]

    page = unread_page(cast.liuyang)
    assert page["agency"] == office() and page["total"] == 3
    assert {p.username for p in page["reader_choices"]} == {"zhangwei", "xuli"}
    assert [r.reader.username for r in unread_page(cast.liuyang, reader_id=cast.zhangwei.pk)["rows"]] == [
        "zhangwei", "zhangwei"]
    zonghe = Department.objects.get(agency=office(), name="综合科")
    assert zonghe in page["department_choices"]
    assert [r.reader.username for r in unread_page(cast.liuyang, department_id=zonghe.pk)["rows"]] == ["xuli"]

    with pytest.raises(PermissionDenied):
        unread_page(cast.zhangwei)


# --- the inbox: 待阅 → 已阅 ----------------------------------------------------------------------------------


def test_toread_moves_to_read_in_the_inbox_counts(cast):
    zhangwei = cast.zhangwei
    before = box_counts(zhangwei)
    incoming = make_incoming()
    do_circulate(incoming, [zhangwei], by=cast.liuyang)

    counts = box_counts(zhangwei)
    assert counts["toread"] == before["toread"] + 1 and counts["read"] == before["read"]
    assert incoming.title in [i.title for i in inbox(zhangwei, "toread")]

    check_acknowledge_circulation(zhangwei, incoming)

    after = box_counts(zhangwei)
    assert after["toread"] == before["toread"] and after["read"] == before["read"] + 1
    assert incoming.title not in [i.title for i in inbox(zhangwei, "toread")]
    assert incoming.title in [i.title for i in inbox(zhangwei, "read")]
