"""The adapter against the WeCom-compatible test server over real HTTP: token cache, textcards through the
outbox, retries/backoff, rate limiting, platform outage, retiring cards, the admin retry and the job."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from integrations.wecom.channel import DESCRIPTION_MAX_BYTES, TITLE_MAX_BYTES, card_key, truncate_bytes
from integrations.wecom.client import TOKEN_REFRESH_MARGIN, WecomClient, WecomError
from oa.actions.outbox import do_deliver_due_outbox, do_enqueue_outbox, retry_delay
from oa.events import make_work_assigned, retire_notifications, send_event_on_commit
from oa.models import AuditEntry, Notification, NotificationDelivery, OutboxMessage, WorkItem

pytestmark = pytest.mark.django_db

SECRET_BODY = "正文：经研究决定，拨付专项资金三百万元"  # stands in for document text that must never travel


@pytest.fixture
def lina(cast, wecom):
    person = cast.lina
    person.platform_userid = "lina01"
    person.save(update_fields=["platform_userid"])
    wecom.add_member("lina01", "李娜", mobile=person.mobile)
    return person


def make_item(owner, *, title="关于开展安全生产大检查的通知", urgency=2, step="审核", doc_number="揭东府〔2026〕12号",
              deadline=True) -> WorkItem:
    item = WorkItem.objects.create(
        kind="flow_task", ref=f"test:{time.monotonic_ns()}", box="todo", owner=owner, title=title,
        doc_number=doc_number, step=step, urgency=urgency, link="/work/0/",
        deadline=timezone.now() + dt.timedelta(days=2) if deadline else None,
    )
    item.link = f"/work/{item.pk}/"
    item.save(update_fields=["link"])
    return item


def assign(item: WorkItem) -> Notification:
    event = make_work_assigned(item)
    (notification,) = send_event_on_commit(event, [item.owner_id], work_item=item)
    return notification


def platform_delivery(notification: Notification) -> NotificationDelivery:
    return NotificationDelivery.objects.get(notification=notification, channel="platform")


# --- access_token -------------------------------------------------------------------------------------------


def test_token_is_cached_and_refreshed_early(wecom):
    client = WecomClient()
    first = client.access_token()
    assert client.access_token() == first and len(wecom.calls("/cgi-bin/gettoken")) == 1
    # Inside the refresh margin the cached token is no longer used.
    key = client.config.token_cache_key
    cache.set(key, {"token": first, "expires_at": time.time() + TOKEN_REFRESH_MARGIN - 10})
    second = client.access_token()
    assert second != first and len(wecom.calls("/cgi-bin/gettoken")) == 2
    assert cache.get(key)["expires_at"] == pytest.approx(time.time() + 7200, abs=5)


@pytest.mark.parametrize("fault", ["expire_next", "invalid_next"])
def test_expired_or_invalid_token_is_refreshed_once_and_the_call_retried(wecom, fault):
    client = WecomClient()
    client.access_token()
    setattr(wecom.faults, fault, 1)
    assert client.departments()[0]["name"] == "揭东区"
    assert len(wecom.calls("/cgi-bin/gettoken")) == 2
    assert len(wecom.calls("/cgi-bin/department/list")) == 2
    # Twice in a row: refreshed once only, then the error surfaces.
    setattr(wecom.faults, fault, 2)
    with pytest.raises(WecomError) as info:
        client.departments()
    assert info.value.errcode in {40014, 42001}
    assert len(wecom.calls("/cgi-bin/gettoken")) == 3


def test_slow_platform_times_out_and_5xx_is_retryable(wecom, settings):
    settings.OA_WECOM_TIMEOUT = 1
    client = WecomClient()
    wecom.faults.delay = 1.5
    with pytest.raises(WecomError) as slow:
        client.departments()
    assert slow.value.errcode is None and slow.value.retryable
    wecom.faults.delay = 0
    wecom.faults.server_error = 1
    with pytest.raises(WecomError) as bad_gateway:
        client.departments()
    assert bad_gateway.value.status == 502 and bad_gateway.value.retryable


# --- textcards through the outbox -----------------------------------------------------------------------------


def test_new_todo_becomes_a_textcard_with_only_allowed_fields(wecom, lina):
    item = make_item(lina, title="请审核：关于开展安全生产大检查的通知")
    notification = assign(item)
    Notification.objects.filter(pk=notification.pk).update(summary=SECRET_BODY, payload={"body": SECRET_BODY})
    delivery = platform_delivery(notification)
    assert delivery.state == "queued"
    assert NotificationDelivery.objects.get(notification=notification, channel="web").state == "pending"

    assert do_deliver_due_outbox() == {"sent": 1}
    (sent,) = wecom.state.messages
    assert sent["touser"] == "lina01" and sent["msgtype"] == "textcard" and sent["agentid"] == 1000002
    card = sent["textcard"]
    assert card["title"] == notification.title
    assert card["url"] == f"https://oa.example.gov.cn/integrations/wecom/login/?next=/work/{item.pk}/"
    lines = re.findall(r'<div class="(\w+)">(.*?)</div>', card["description"])
    assert [text.split("：")[0] for _css, text in lines] == ["紧急程度", "类型", "环节", "文号", "办理期限"]
    assert ("highlight", "紧急程度：特急") in lines and ("normal", "文号：揭东府〔2026〕12号") in lines
    assert SECRET_BODY not in card["description"] and "正文" not in str(sent)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.external_id) == ("sent", 1, "msg000001")
    message = OutboxMessage.objects.get(idempotency_key=card_key(notification.pk))
    assert message.state == "sent" and message.result == {"msgid": "msg000001"} and message.sent_at


def test_limits_in_bytes_are_respected(wecom, lina):
    long_title = "关于" + "切实加强基层治理能力建设" * 20 + "的通知"
    item = make_item(lina, title=long_title, step="环" * 100, doc_number="号" * 60)
    assign(item)
    do_deliver_due_outbox()
    card = wecom.state.messages[0]["textcard"]
    assert len(card["title"].encode()) <= TITLE_MAX_BYTES and card["title"].endswith("…")
    assert len(card["description"].encode()) <= DESCRIPTION_MAX_BYTES
    assert truncate_bytes("办文办会", 7) == "办…"


def test_people_without_a_platform_account_and_other_event_types_are_not_pushed(wecom, cast, lina):
    item = make_item(cast.zhangwei)  # no platform_userid
    notification = assign(item)
    assert not NotificationDelivery.objects.filter(notification=notification, channel="platform").exists()
    from oa.events import make_work_retired

    done = make_item(lina)
    send_event_on_commit(make_work_retired(done), [lina.pk], work_item=done)
    assert OutboxMessage.objects.count() == 0


def test_enqueue_is_idempotent_on_the_key(wecom, lina):
    first = do_enqueue_outbox("wecom", "text", "test:same-key", {"touser": "lina01", "msgtype": "text"})
    again = do_enqueue_outbox("wecom", "text", "test:same-key", {"touser": "other"})
    assert first.pk == again.pk and OutboxMessage.objects.count() == 1


def test_5xx_is_retried_with_exponential_backoff_then_sent(wecom, lina, make_due):
    notification = assign(make_item(lina))
    wecom.faults.server_error = 2
    before = timezone.now()
    assert do_deliver_due_outbox() == {"retried": 1}
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == ("failed", 1)
    assert dt.timedelta(seconds=23) <= message.next_attempt_at - before <= dt.timedelta(seconds=37)  # 30 s ±20 %
    assert "502" in message.last_error
    assert platform_delivery(notification).state == "failed"
    assert do_deliver_due_outbox() == {}  # not due yet

    make_due()
    before = timezone.now()
    assert do_deliver_due_outbox() == {"retried": 1}
    message.refresh_from_db()
    assert message.attempts == 2
    assert dt.timedelta(seconds=47) <= message.next_attempt_at - before <= dt.timedelta(seconds=73)  # 60 s ±20 %

    make_due()
    assert do_deliver_due_outbox() == {"sent": 1}
    message.refresh_from_db()
    delivery = platform_delivery(notification)
    assert (message.state, message.attempts, delivery.state, delivery.attempts) == ("sent", 3, "sent", 3)


def test_backoff_is_capped_and_jittered(settings):
    assert retry_delay(1, rng=lambda: 0.5) == dt.timedelta(seconds=30)
    assert retry_delay(4, rng=lambda: 0.5) == dt.timedelta(seconds=240)
    assert retry_delay(20, rng=lambda: 1.0) == dt.timedelta(seconds=3600 * 1.2)
    assert retry_delay(20, rng=lambda: 0.0) == dt.timedelta(seconds=3600 * 0.8)


def test_rate_limit_backs_off_without_counting_an_attempt_and_defers_the_batch(wecom, lina, cast, make_due):
    gaojun = cast.gaojun
    gaojun.platform_userid = "gaojun01"
    gaojun.save(update_fields=["platform_userid"])
    wecom.add_member("gaojun01", "高军")
    assign(make_item(lina))
    assign(make_item(gaojun))
    wecom.faults.rate_limit = 1
    assert do_deliver_due_outbox() == {"rate_limited": 1, "deferred": 1}
    assert len(wecom.calls("/cgi-bin/message/send")) == 1  # the second was not even tried
    first, second = OutboxMessage.objects.order_by("id")
    assert first.attempts == 0 and first.state == "pending" and first.result["rate_limited_streak"] == 1
    assert first.next_attempt_at > timezone.now() + dt.timedelta(seconds=40)
    assert second.attempts == 0 and second.next_attempt_at > timezone.now()
    make_due()
    assert do_deliver_due_outbox() == {"sent": 2}
    assert OutboxMessage.objects.filter(state="sent", attempts=1).count() == 2
    assert OutboxMessage.objects.get(pk=first.pk).result == {"msgid": "msg000001"}


def test_platform_down_queues_and_retries_while_web_notifications_work(wecom, lina, make_due):
    wecom.stop()
    notification = assign(make_item(lina))
    # The web side is complete without the platform: the notification and its web delivery exist.
    assert Notification.objects.filter(recipient=lina).count() == 1
    web = NotificationDelivery.objects.get(notification=notification, channel="web")
    assert web.state == "pending"
    assert do_deliver_due_outbox() == {"retried": 1}
    assert do_deliver_due_outbox() == {}
    message = OutboxMessage.objects.get()
    assert message.state == "failed" and "平台不可达" in message.last_error
    assert platform_delivery(notification).state == "failed"
    # A second notification while still down is recorded just the same.
    assign(make_item(lina, title="第二件"))
    assert Notification.objects.filter(recipient=lina).count() == 2

    wecom.start()  # back up on the same port
    make_due()
    assert do_deliver_due_outbox() == {"sent": 2}
    assert platform_delivery(notification).state == "sent"
    web.refresh_from_db()
    assert web.state == "pending"  # the platform never touches the web channel's state


def test_dead_after_max_attempts_then_admin_retry(wecom, lina, cast, make_due, settings, client):
    settings.OA_OUTBOX_MAX_ATTEMPTS = 2
    notification = assign(make_item(lina))
    wecom.stop()
    do_deliver_due_outbox()
    make_due()
    assert do_deliver_due_outbox() == {"dead": 1}
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == ("dead", 2)
    make_due()
    assert do_deliver_due_outbox() == {}  # dead rows are left alone

    admin = cast.oaroot  # the Django admin's emergency account
    client.force_login(admin)
    device = TOTPDevice.objects.create(user=admin, name="手机", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    listing = client.get(reverse("admin:oa_outboxmessage_changelist"), {"state__exact": "dead"})
    assert listing.status_code == 200 and "立即重试" in listing.content.decode()
    response = client.post(
        reverse("admin:oa_outboxmessage_changelist"),
        {"action": "retry_now", "_selected_action": [message.pk]},
    )
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("pending", 0) and message.next_attempt_at <= timezone.now()
    assert platform_delivery(notification).state == "queued"
    entry = AuditEntry.objects.get(action="outbox.retry")
    assert entry.actor == admin and entry.changes["before"]["state"] == "dead"

    wecom.start()
    assert do_deliver_due_outbox() == {"sent": 1}
    assert platform_delivery(notification).state == "sent"
    # The delivery list lets an administrator filter by channel and state.
    page = client.get(reverse("admin:oa_notificationdelivery_changelist"),
                      {"channel__exact": "platform", "state__exact": "sent"})
    assert page.status_code == 200 and "msg000001" in page.content.decode()
    filtered = client.get(reverse("admin:oa_notification_changelist"), {"platform_state": "sent"})
    assert filtered.status_code == 200 and "移动政务平台：已发送" in filtered.content.decode()
    assert "移动政务平台：已发送" not in client.get(
        reverse("admin:oa_notification_changelist"), {"platform_state": "failed"}
    ).content.decode()


# --- retiring ----------------------------------------------------------------------------------------------------


def test_finished_elsewhere_sends_a_follow_up_text_and_marks_retired(wecom, lina):
    item = make_item(lina)
    notification = assign(item)
    do_deliver_due_outbox()
    item.state = "done"
    item.save(update_fields=["state"])
    retire_notifications(item)
    assert platform_delivery(notification).state == "sent"  # until the follow-up is out
    assert do_deliver_due_outbox() == {"sent": 1}
    follow_up = wecom.state.messages[-1]
    assert follow_up["msgtype"] == "text" and follow_up["touser"] == "lina01"
    assert follow_up["text"]["content"].startswith("该事项已在其他终端办理")
    delivery = platform_delivery(notification)
    assert delivery.state == "retired" and delivery.external_id == "msg000001"  # the card's msgid is kept


def test_template_card_mode_updates_the_card_in_place(wecom, lina, settings):
    settings.OA_WECOM_CARD_MODE = "template_card"
    item = make_item(lina)
    notification = assign(item)
    do_deliver_due_outbox()
    sent = wecom.state.messages[0]
    assert sent["msgtype"] == "template_card" and sent["template_card"]["card_type"] == "text_notice"
    card = OutboxMessage.objects.get(idempotency_key=card_key(notification.pk))
    assert card.result["response_code"]
    retire_notifications(item)
    assert do_deliver_due_outbox() == {"sent": 1}
    (update,) = wecom.state.card_updates
    assert update["response_code"] == card.result["response_code"] and update["userids"] == ["lina01"]
    assert update["template_card"]["main_title"]["title"].startswith("【已办理】")
    assert update["template_card"]["sub_title_text"] == "该事项已在其他终端办理"
    assert platform_delivery(notification).state == "retired"
    assert len(wecom.state.messages) == 1  # no follow-up text


def test_a_card_not_yet_sent_is_withdrawn_and_never_sent(wecom, lina, cast, client, make_due):
    wecom.stop()
    item = make_item(lina)
    notification = assign(item)
    do_deliver_due_outbox()
    retire_notifications(item)
    card = OutboxMessage.objects.get(idempotency_key=card_key(notification.pk))
    assert card.state == "dead" and card.result.get("cancelled") is True
    assert platform_delivery(notification).state == "retired"
    wecom.start()
    make_due()
    assert do_deliver_due_outbox() == {}
    from oa.actions.outbox import do_retry_outbox

    assert do_retry_outbox(cast.sunhao, [card.pk]) == 0  # an administrator cannot resend withdrawn work
    assert wecom.state.messages == []


# --- kicks and the periodic job ---------------------------------------------------------------------------------


def test_enqueue_kicks_delivery_right_after_commit(wecom, lina, settings, monkeypatch,
                                                   django_capture_on_commit_callbacks):
    from oa.tasks import deliver_outbox

    settings.OA_OUTBOX_KICK = True
    kicked: list[tuple] = []

    def run_inline(*args):
        # What a worker (or eager mode) does with the task; the Celery app's conf is left untouched here
        # because reading it freezes CELERY_* settings for the rest of the session.
        kicked.append(args)
        return deliver_outbox.run(*args)

    monkeypatch.setattr(deliver_outbox, "delay", run_inline)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notification = assign(make_item(lina))
    assert kicked == [] and platform_delivery(notification).state == "queued"  # nothing before commit
    for callback in callbacks:
        callback()
    assert kicked == [("wecom",)]
    assert platform_delivery(notification).state == "sent"
    assert len(wecom.state.messages) == 1


def test_periodic_job_is_registered_and_delivers(wecom, lina):
    from oa.scheduling import registered_jobs, run_job

    assert "wecom.deliver_outbox" in registered_jobs()
    assign(make_item(lina))
    assert run_job("wecom.deliver_outbox") == "sent=1"
    assert run_job("wecom.deliver_outbox") == "idle"


def test_platform_refusing_a_recipient_is_not_retried(wecom, lina):
    notification = assign(make_item(lina))
    del wecom.state.members["lina01"]
    assert do_deliver_due_outbox() == {"dead": 1}
    delivery = platform_delivery(notification)
    assert delivery.state == "failed" and "lina01" in delivery.last_error


def test_a_real_flow_task_pushes_a_card_and_completing_it_retires_the_card(wecom, lina, cast):
    """End to end through the inbox receivers: MemoFlow's review task for 李娜 → card; she completes it on the
    desktop → her card is retired and the handler gets his own card."""
    from viewflow.workflow.models import Task

    from tests.flowapp.flows import MemoFlow

    gaojun = cast.gaojun
    gaojun.platform_userid = "gaojun01"
    gaojun.save(update_fields=["platform_userid"])
    wecom.add_member("gaojun01", "高军")
    MemoFlow.start.run(title="关于调整值班安排的联系单", urgency=1, reviewer_id=lina.pk, handler_id=gaojun.pk,
                       doc_number="揭东办〔2026〕3号", initiator_id=cast.zhangwei.pk)
    assert do_deliver_due_outbox() == {"sent": 1}
    (card,) = wecom.state.messages
    assert card["touser"] == "lina01" and "文号：揭东办〔2026〕3号" in card["textcard"]["description"]
    review_note = Notification.objects.get(recipient=lina, event_type="work.assigned")

    task = Task.objects.get(process__data__title="关于调整值班安排的联系单", owner=lina, status="ASSIGNED")
    with task.activation() as activation:
        activation.start(None)
        activation.execute()
    assert do_deliver_due_outbox() == {"sent": 2}
    kinds = sorted((m["touser"], m["msgtype"]) for m in wecom.state.messages[1:])
    assert kinds == [("gaojun01", "textcard"), ("lina01", "text")]
    assert platform_delivery(review_note).state == "retired"


def test_retry_from_the_delivery_list(wecom, lina, cast, client, settings):
    settings.OA_OUTBOX_MAX_ATTEMPTS = 1
    wecom.stop()
    notification = assign(make_item(lina))
    assert do_deliver_due_outbox() == {"dead": 1}
    delivery = platform_delivery(notification)
    assert delivery.state == "failed"
    admin = cast.oaroot  # the Django admin's emergency account
    client.force_login(admin)
    device = TOTPDevice.objects.create(user=admin, name="手机", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    response = client.post(reverse("admin:oa_notificationdelivery_changelist"),
                           {"action": "retry_now", "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    assert platform_delivery(notification).state == "queued"
    wecom.start()
    assert do_deliver_due_outbox() == {"sent": 1}
    assert AuditEntry.objects.filter(action="outbox.retry", actor=admin).count() == 1
