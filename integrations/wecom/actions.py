"""Writes of the platform adapter: callback messages and platform (OAuth2) logins. Views stay thin."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from oa.actions.audit import do_record_audit
from oa.actions.auth import client_ip
from oa.actions.outbox import do_enqueue_outbox
from oa.middleware import SESSION_LAST_SEEN
from oa.models import Person

from .models import CallbackMessage

logger = logging.getLogger(__name__)
TEXT_REPLY = "已收到。待办事项请在工作台中办理。"
NONCE_KEY = "oa:wecom:nonce:{digest}"


@dataclass(frozen=True)
class CallbackOutcome:
    message: CallbackMessage
    duplicate: bool
    reply_text: str  # "" = acknowledge without a passive reply


def _nonce_key(timestamp: str, nonce: str) -> str:
    return NONCE_KEY.format(digest=hashlib.sha256(f"{timestamp}:{nonce}".encode()).hexdigest())


def do_claim_callback_nonce(timestamp: str, nonce: str) -> bool:
    """Remember a signed callback's (timestamp, nonce); False when it was seen already (a replay, or the
    platform's retry). Kept for twice the timestamp window: a timestamp is accepted that long at most."""
    window = settings.OA_WECOM_TIMESTAMP_WINDOW
    return cache.add(_nonce_key(timestamp, nonce), 1, timeout=2 * window + 60)


def do_release_callback_nonce(timestamp: str, nonce: str) -> None:
    """Forget a nonce whose callback failed before it was recorded, so the platform's retry is processed."""
    cache.delete(_nonce_key(timestamp, nonce))


def do_record_callback(fields: dict[str, str]) -> CallbackOutcome:
    """Record one decrypted callback message (idempotent on MsgId, since the platform retries) and decide the
    passive reply: a text message gets a short acknowledgement, events (click, enter_agent, …) none."""
    msg_type = fields.get("MsgType", "")[:32]
    from_user = fields.get("FromUserName", "")[:64]
    event = fields.get("Event", "")[:64]
    key = fields.get("MsgId") or f"{from_user}:{fields.get('CreateTime', '')}:{event}:{fields.get('EventKey', '')}"
    if not fields.get("MsgId") and fields.get("TaskId"):
        key += f":{fields['TaskId']}"  # a card button: the same key pressed on two cards in one second
    key = key[:128]
    existing = CallbackMessage.objects.filter(dedupe_key=key).first()
    if existing is not None:
        return CallbackOutcome(existing, True, TEXT_REPLY if existing.msg_type == "text" else "")
    try:
        with transaction.atomic():
            message = CallbackMessage.objects.create(
                dedupe_key=key,
                agent_id=fields.get("AgentID", "")[:32],
                from_user=from_user,
                person=Person.objects.filter(platform_userid=from_user).first() if from_user else None,
                msg_type=msg_type,
                event=event,
                event_key=fields.get("EventKey", "")[:128],
                content=fields.get("Content", "")[:2048] if msg_type == "text" else "",
            )
    except IntegrityError:  # the platform's retry raced the first delivery
        return CallbackOutcome(CallbackMessage.objects.get(dedupe_key=key), True, "")
    return CallbackOutcome(message, False, TEXT_REPLY if msg_type == "text" else "")


@dataclass(frozen=True)
class PlatformLoginResult:
    user: Person | None = None
    error: str = ""
    status: int = 200


def check_platform_login(request: HttpRequest, userid: str) -> PlatformLoginResult:
    """The platform vouched for `userid` (OAuth2 code exchanged server-side): map it to a Person and log in.
    Unknown, disabled or locked accounts are refused and audited; 2FA roles still meet the OTP gate."""
    ip = client_ip(request)
    person = Person.objects.filter(platform_userid=userid).first() if userid else None
    if person is None or not person.is_active:
        do_record_audit(
            actor=person, actor_name="" if person else "匿名", action="auth.platform_login_failed",
            object_type="oa.person", object_id=person.pk if person else "",
            object_repr=str(person) if person else f"平台账号 {userid[:64]}",
            changes={"platform_userid": userid[:64], "reason": "disabled" if person else "unknown_userid"}, ip=ip,
        )
        if person is None:
            return PlatformLoginResult(
                error=f"您的移动平台账号（{userid[:64] or '未知'}）尚未关联本系统人员，请联系系统管理员。", status=403
            )
        return PlatformLoginResult(error="您的账号已停用，请联系系统管理员。", status=403)
    if person.locked_until is not None and person.locked_until > timezone.now():
        do_record_audit(
            actor=person, action="auth.platform_login_failed", obj=person, ip=ip,
            changes={"platform_userid": userid, "reason": "locked"},
        )
        return PlatformLoginResult(error="账号已锁定，请稍后再试。", status=403)
    do_platform_login(request, person)
    return PlatformLoginResult(user=person)


def do_platform_login(request: HttpRequest, person: Person) -> None:
    # The session must name a backend that is in AUTHENTICATION_BACKENDS (LDAP replaces ModelBackend there),
    # otherwise the next request would not find the user.
    auth_login(request, person, backend=settings.AUTHENTICATION_BACKENDS[0])
    request.session[SESSION_LAST_SEEN] = timezone.now().timestamp()
    do_record_audit(
        actor=person, action="auth.platform_login", obj=person, ip=client_ip(request),
        changes={"platform_userid": person.platform_userid},
    )


# --- button cards: the template_card_event callback --------------------------------------------------------------

CARD_EVENT = "template_card_event"
NOT_YOURS = "该卡片不是发给您的，未办理。"


@dataclass(frozen=True)
class CardEventOutcome:
    done: bool  # the action ran
    text: str  # what the card now says (or why nothing was done)


def card_event_key(message: CallbackMessage) -> str:
    return f"wecom:cardevent:{message.pk}"


def do_handle_card_event(message: CallbackMessage, fields: dict[str, str]) -> CardEventOutcome:
    """A button on a card we sent was pressed (the callback is already verified and recorded once).

    The card is ours when its TaskId names a notification whose card went to this platform account and whose
    recipient is the account's Person. A callback button runs the work kind's perform() as that Person, only
    while the item is open and still theirs; the kind refuses what it must (a meeting that has started, …).
    The card is then updated through the outbox with the callback's ResponseCode (valid once): on success by
    the channel's retire (the item closed), otherwise here with the reason. Nothing from the callback is trusted
    beyond the platform's word on who pressed which button of which card."""
    from oa.models import Notification, OutboxMessage
    from oa.refusals import Refusal
    from oa.work import CARD_VIA, work_kind

    from .channel import (
        KIND_CARD_UPDATE,
        KIND_TEMPLATE_CARD,
        OUTBOX_CHANNEL,
        button_card_update,
        card_answer,
        card_key,
        notification_id_of_task,
    )

    key, code = fields.get("EventKey", "")[:64], fields.get("ResponseCode", "")[:256]
    notification_id = notification_id_of_task(fields.get("TaskId", ""))
    notification = (Notification.objects.select_related("work_item").filter(pk=notification_id).first()
                    if notification_id else None)
    card = (OutboxMessage.objects.filter(idempotency_key=card_key(notification.pk), kind=KIND_TEMPLATE_CARD).first()
            if notification else None)
    person = message.person
    if (card is None or person is None or not person.is_active or notification.recipient_id != person.pk
            or card.payload.get("touser") != message.from_user or notification.work_item is None):
        logger.warning("wecom card event refused: TaskId %r not a card of %r", fields.get("TaskId"), message.from_user)
        return CardEventOutcome(False, NOT_YOURS)

    def refuse(text: str) -> CardEventOutcome:
        if code:
            body = button_card_update(card, message.from_user, code, done="未办理", why=text)
            with transaction.atomic():
                do_enqueue_outbox(OUTBOX_CHANNEL, KIND_CARD_UPDATE, card_event_key(message), body, notification)
        return CardEventOutcome(False, text)

    item = notification.work_item
    kind = work_kind(item.kind)
    buttons = {b.key: b for b in (kind.card_buttons(item) if kind and kind.card_buttons else []) if not b.link}
    if item.state != item.State.OPEN:
        # Answered already (on the web, or by an earlier press) or withdrawn: say so; a repeat changes nothing.
        answer = card_answer(item)
        if code:
            body = button_card_update(card, message.from_user, code, done=answer, why=answer)
            with transaction.atomic():
                do_enqueue_outbox(OUTBOX_CHANNEL, KIND_CARD_UPDATE, card_event_key(message), body, notification)
        return CardEventOutcome(False, answer)
    if item.owner_id != person.pk:
        return refuse("该事项已转给他人办理。")
    if key not in buttons:
        return refuse("该按钮已失效，请打开事项办理。")
    try:
        with transaction.atomic():
            locked = type(item).objects.select_for_update().get(pk=item.pk)
            if locked.state != item.State.OPEN:  # a concurrent press (or the web) answered first
                raise Refusal("work_closed", card_answer(locked))
            if code:
                # The retire update the closing enqueues must spend this fresh code: the send's may be used up.
                card = OutboxMessage.objects.select_for_update().get(pk=card.pk)
                card.result = {**card.result, "response_code": code}
                card.save(update_fields=["result"])
            kind.perform(person, item, key, {"via": CARD_VIA})
    except Refusal as refusal:
        return refuse(refusal.message)
    item.refresh_from_db()
    return CardEventOutcome(True, card_answer(item))
