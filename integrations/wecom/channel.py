"""The `platform` delivery channel: a new 待办 becomes a textcard on the phone, sent through the outbox.

What a card carries is deliberately narrow (docs/wecom.md): the notification title, then only the work item's
kind, step, urgency, deadline and 文号 — never the notification summary or payload, and never document text,
because the card leaves the government network's OA for a phone platform. The link opens our OAuth2 login,
which signs the user in from the platform and lands on the item.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from documents.secrecy import refuse_classified
from oa.actions.outbox import (
    OutboxSendError,
    SendResult,
    do_cancel_outbox,
    do_enqueue_outbox,
    do_mark_delivery_retired,
    do_queue_delivery,
)
from oa.models import Notification, NotificationDelivery, OutboxMessage, Person, WorkItem
from oa.refusals import Refusal

from .client import WecomClient, WecomError, WecomSettings, wecom_enabled

logger = logging.getLogger(__name__)

OUTBOX_CHANNEL = "wecom"
DELIVERY_CHANNEL = NotificationDelivery.Channel.PLATFORM
TITLE_MAX_BYTES = 128
DESCRIPTION_MAX_BYTES = 512
URL_MAX_BYTES = 2048
TEXT_MAX_BYTES = 2048
RETIRED_TEXT = "该事项已在其他终端办理"

# Kinds of outbox rows this channel writes. The first two put a card on the phone; the last two retire it.
KIND_TEXTCARD = "textcard"
KIND_TEMPLATE_CARD = "template_card"
KIND_RETIRE_TEXT = "retire_text"
KIND_CARD_UPDATE = "card_update"
RETIRING_KINDS = {KIND_RETIRE_TEXT, KIND_CARD_UPDATE}

FALLBACK_KIND_LABELS = {"flow_task": "流程待办"}


def card_key(notification_id: int) -> str:
    return f"wecom:card:{notification_id}"


TASK_ID_PREFIX = "oa-card-"


def task_id(notification_id: int) -> str:
    """A button card's task_id (unique per app; letters, digits, "_-@"): names the notification it carries."""
    return f"{TASK_ID_PREFIX}{notification_id}"


def notification_id_of_task(value: str) -> int | None:
    raw = value[len(TASK_ID_PREFIX):] if value.startswith(TASK_ID_PREFIX) else ""
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def retire_key(notification_id: int) -> str:
    return f"wecom:retire:{notification_id}"


# --- building the message --------------------------------------------------------------------------------


def truncate_bytes(text: str, limit: int) -> str:
    """Cut to at most `limit` UTF-8 bytes without splitting a character; "…" marks the cut."""
    if len(text.encode()) <= limit:
        return text
    budget = limit - len("…".encode())
    cut = text.encode()[:budget].decode(errors="ignore")
    return cut + "…"


def _kind_label(kind: str) -> str:
    from oa.work import work_kind  # the inbox registry: each app registers its kinds with a label

    found = work_kind(kind)
    return str(found.label) if found is not None and found.label else FALLBACK_KIND_LABELS.get(kind, "待办事项")


def card_lines(item: WorkItem | None) -> list[tuple[str, str]]:
    """(css class, text) lines of the description — only the allowed fields of the work item."""
    if item is None:
        return [("normal", "您有新的待办事项，请点击查看。")]
    lines: list[tuple[str, str]] = []
    if item.urgency:
        lines.append(("highlight", f"紧急程度：{item.get_urgency_display()}"))
    lines.append(("normal", f"类型：{_kind_label(item.kind)}"))
    if item.step:
        lines.append(("normal", f"环节：{item.step}"))
    if item.doc_number:
        lines.append(("normal", f"文号：{item.doc_number}"))
    if item.deadline:
        lines.append(("gray", f"办理期限：{timezone.localtime(item.deadline):%Y-%m-%d %H:%M}"))
    return lines


def card_description(item: WorkItem | None) -> str:
    parts = [f'<div class="{css}">{html.escape(text, quote=False)}</div>' for css, text in card_lines(item)]
    # Drop whole lines rather than cut inside a tag; the first lines matter most.
    while parts and len("".join(parts).encode()) > DESCRIPTION_MAX_BYTES:
        parts.pop()
    return "".join(parts)


def deep_link(link: str, config: WecomSettings | None = None) -> str:
    """Our platform login with next=<link>: it runs the OAuth2 authorize round trip (state bound to the
    browser session) and lands on the item logged in; a user who already has a session goes straight there."""
    config = config or WecomSettings.from_settings()
    target = link if link.startswith("/") and not link.startswith("//") else "/"
    url = f"{config.public_base_url}{reverse('wecom_login')}?next={quote(target, safe='/')}"
    return url if len(url.encode()) <= URL_MAX_BYTES else f"{config.public_base_url}{reverse('wecom_login')}"


def card_message(notification: Notification, userid: str, config: WecomSettings | None = None) -> tuple[str, dict]:
    """(outbox kind, message/send body without agentid) for one notification."""
    config = config or WecomSettings.from_settings()
    title = truncate_bytes(notification.title, TITLE_MAX_BYTES)
    url = deep_link(notification.link, config)
    item = notification.work_item
    if config.card_mode == "template_card":
        lines = card_lines(item)
        buttons = card_buttons(item)
        if buttons:
            return KIND_TEMPLATE_CARD, {
                "touser": userid,
                "msgtype": "template_card",
                "template_card": _button_card(title, lines, url, task_id(notification.pk), buttons, config),
            }
        return KIND_TEMPLATE_CARD, {
            "touser": userid,
            "msgtype": "template_card",
            "template_card": _template_card(title, lines, url),
        }
    return KIND_TEXTCARD, {
        "touser": userid,
        "msgtype": "textcard",
        "textcard": {"title": title, "description": card_description(item), "url": url, "btntxt": "办理"},
    }


def _template_card(title: str, lines: list[tuple[str, str]], url: str, *, retired: bool = False) -> dict:
    card: dict[str, Any] = {
        "card_type": "text_notice",
        "source": {"desc": truncate_bytes(settings.OA_SITE_NAME, 39)},
        "main_title": {"title": truncate_bytes(("【已办理】" if retired else "") + title, 108)},
        "horizontal_content_list": [
            {"keyname": text.split("：", 1)[0][:5], "value": truncate_bytes(text.split("：", 1)[-1], 90)}
            for _css, text in lines
            if "：" in text
        ][:6],
        "card_action": {"type": 1, "url": url},
    }
    if retired:
        card["sub_title_text"] = RETIRED_TEXT
    return card


def card_buttons(item: WorkItem | None) -> list:
    """The kind's buttons for an open item (oa.work.CardButton), or [] for the plain card."""
    from oa.work import work_kind

    if item is None or item.state != WorkItem.State.OPEN:
        return []
    kind = work_kind(item.kind)
    return list(kind.card_buttons(item)) if kind is not None and kind.card_buttons else []


def card_answer(item: WorkItem | None) -> str:
    """What a closed item's button card says: the kind's short answer (参加 / 请假 …), never an opinion."""
    from oa.work import work_kind

    kind = work_kind(item.kind) if item is not None else None
    if kind is not None and kind.card_answer:
        return kind.card_answer(item)
    return "已撤销" if item is not None and item.state == WorkItem.State.CANCELLED else "已办理"


def _button_card(title: str, lines: list[tuple[str, str]], url: str, task: str, buttons: list,
                 config: WecomSettings, *, done: str = "", why: str = "") -> dict:
    """`button_interaction` template card (doc 90236): callback buttons carry the action key (the callback's
    EventKey), link buttons open a page through our platform login. `done` (set when updating) greys the
    buttons out with that text and `why` says what happened, on the card's sub-title."""
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": truncate_bytes(settings.OA_SITE_NAME, 39)},
        "main_title": {"title": truncate_bytes(title, 108)},
        "horizontal_content_list": [
            {"keyname": text.split("：", 1)[0][:5], "value": truncate_bytes(text.split("：", 1)[-1], 90)}
            for _css, text in lines
            if "：" in text
        ][:6],
        "card_action": {"type": 1, "url": url},
        "task_id": task,
        "button_list": [
            {"type": 1, "text": b.label[:10], "style": 1 if b.primary else 2, "url": deep_link(b.link, config)}
            if b.link else
            {"type": 0, "text": b.label[:10], "style": 1 if b.primary else 2, "key": b.key}
            for b in buttons
        ][:6],
    }
    if done:
        card["replace_text"] = truncate_bytes(done, 30)
    if why:
        card["sub_title_text"] = truncate_bytes(why, 120)
    return card


def button_card_update(card: OutboxMessage, userid: str, response_code: str, *, done: str, why: str) -> dict:
    """update_template_card body (the client adds agentid) turning a sent button card into its answered or
    refused state: the same card, buttons greyed out with `done`, `why` on the sub-title."""
    updated = dict(card.payload["template_card"])
    updated["replace_text"] = truncate_bytes(done, 30)
    updated["sub_title_text"] = truncate_bytes(why, 120)
    return {"userids": [userid], "response_code": response_code, "template_card": updated}


def classified_subject(notification: Notification) -> Any:
    """The 公文 or 收文 a notification's work item is about, when it is a flow's (its process artifact)."""
    from viewflow.workflow.models import Process, Task

    item = notification.work_item
    if item is None:
        return None
    for ref in (item.thread, item.ref):
        kind, _, raw = (ref or "").partition(":")
        if not raw.isdigit():
            continue
        if kind == "viewflow.process":
            process = Process.objects.filter(pk=int(raw)).first()
        elif kind == "viewflow.task":
            task = Task.objects.select_related("process").filter(pk=int(raw)).first()
            process = task.process if task is not None else None
        else:
            continue
        if process is not None and process.artifact_object_id:
            return process.artifact
    return None


# --- the channel oa.events calls -------------------------------------------------------------------------


class PlatformChannel:
    name = DELIVERY_CHANNEL

    def enqueue(self, notifications: Iterable[Notification], event: Any) -> None:
        """Inside the caller's transaction: a queued delivery row and an outbox message per reachable recipient."""
        if not wecom_enabled():
            return
        if getattr(event, "type", "") not in settings.OA_WECOM_EVENT_TYPES:
            return
        config = WecomSettings.from_settings()
        notifications = list(notifications)
        userids = dict(
            Person.objects.filter(pk__in={n.recipient_id for n in notifications}).values_list("pk", "platform_userid")
        )
        for notification in notifications:
            userid = userids.get(notification.recipient_id)
            if not userid:
                continue  # no platform account: the web channel alone carries it
            try:
                refuse_classified(classified_subject(notification), "推送到移动平台")
            except Refusal as refusal:
                # 非涉密 only: a classified paper 收文's 待办 stays in the web inbox; not a word of it leaves.
                logger.info("platform push withheld for notification %s: %s", notification.pk, refusal.code)
                continue
            do_queue_delivery(notification, DELIVERY_CHANNEL)
            kind, body = card_message(notification, userid, config)
            do_enqueue_outbox(OUTBOX_CHANNEL, kind, card_key(notification.pk), body, notification=notification)

    def retire(self, notifications: Iterable[Notification]) -> None:
        """The work was finished elsewhere. A card that has not left yet is not sent; a template card is
        updated in place; a textcard gets one follow-up text per recipient (textcards cannot be edited)."""
        follow_ups: dict[int, Notification] = {}  # recipient id → latest notification whose textcard was sent
        with transaction.atomic():
            for notification in notifications:
                delivery = (
                    NotificationDelivery.objects.select_for_update()
                    .filter(notification=notification, channel=DELIVERY_CHANNEL)
                    .first()
                )
                if delivery is None or delivery.state == NotificationDelivery.State.RETIRED:
                    continue
                card = OutboxMessage.objects.select_for_update().filter(idempotency_key=card_key(notification.pk)).first()
                if card is None:
                    continue
                if card.state != OutboxMessage.State.SENT:
                    do_cancel_outbox(card, f"未发送即撤销：{RETIRED_TEXT}")
                    do_mark_delivery_retired(delivery)
                    continue
                response_code = card.result.get("response_code")
                if card.kind == KIND_TEMPLATE_CARD and response_code \
                        and card.payload["template_card"].get("card_type") == "button_interaction":
                    # A button card shows the answer in place (also when it came from the card itself).
                    answer = card_answer(notification.work_item)
                    body = button_card_update(card, card.payload.get("touser", ""), response_code,
                                              done=answer, why=answer)
                    do_enqueue_outbox(OUTBOX_CHANNEL, KIND_CARD_UPDATE, retire_key(notification.pk), body, notification)
                    continue
                if card.kind == KIND_TEMPLATE_CARD and response_code:
                    template = card.payload["template_card"]
                    body = {
                        "userids": [card.payload.get("touser", "")],
                        "response_code": response_code,
                        "template_card": _template_card(
                            template["main_title"]["title"], card_lines(notification.work_item),
                            template["card_action"]["url"], retired=True,
                        ),
                    }
                    do_enqueue_outbox(OUTBOX_CHANNEL, KIND_CARD_UPDATE, retire_key(notification.pk), body, notification)
                    continue
                earlier = follow_ups.get(notification.recipient_id)
                if earlier is not None:
                    # One "已办理" text covers every card this person got for the item.
                    do_mark_delivery_retired(
                        NotificationDelivery.objects.get(notification=earlier, channel=DELIVERY_CHANNEL)
                    )
                follow_ups[notification.recipient_id] = notification
            for notification in follow_ups.values():
                card = OutboxMessage.objects.get(idempotency_key=card_key(notification.pk))
                text = truncate_bytes(f"{RETIRED_TEXT}：{notification.title}", TEXT_MAX_BYTES)
                body = {"touser": card.payload.get("touser", ""), "msgtype": "text", "text": {"content": text}}
                do_enqueue_outbox(OUTBOX_CHANNEL, KIND_RETIRE_TEXT, retire_key(notification.pk), body, notification)


PLATFORM_CHANNEL = PlatformChannel()


def ensure_registered() -> None:
    """Register the channel with oa.events (idempotent: channels are registered by name)."""
    from oa.events import register_channel

    register_channel(PLATFORM_CHANNEL)


# --- the outbox sender ---------------------------------------------------------------------------------------


def send_outbox_message(message: OutboxMessage) -> SendResult:
    if not wecom_enabled():
        raise OutboxSendError("移动平台未配置（OA_WECOM_CORP_ID 为空）")
    client = WecomClient()
    try:
        if message.kind == KIND_CARD_UPDATE:
            answer = client.update_template_card(message.payload)
        elif message.kind in {KIND_TEXTCARD, KIND_TEMPLATE_CARD, KIND_RETIRE_TEXT}:
            answer = client.send_message(message.payload)
        else:
            raise OutboxSendError(f"未知的消息类型 {message.kind}", retryable=False)
    except WecomError as exc:
        raise OutboxSendError(str(exc), retryable=exc.retryable, rate_limited=exc.rate_limited) from exc
    invalid = answer.get("invaliduser") or ""
    if invalid:
        # The platform accepted the call but the recipient is not (or no longer) a member: retrying cannot help.
        raise OutboxSendError(f"平台无此成员或成员不在应用可见范围：{invalid}", retryable=False)
    result = {k: answer[k] for k in ("msgid", "response_code") if answer.get(k)}
    state = NotificationDelivery.State.RETIRED if message.kind in RETIRING_KINDS else NotificationDelivery.State.SENT
    return SendResult(external_id=str(answer.get("msgid", "")), result=result, delivery_state=state)
