"""Callback endpoint (URL verification + encrypted messages) and OAuth2 web login. Thin: parse, call, answer."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from .actions import (
    CARD_EVENT,
    check_platform_login,
    do_claim_callback_nonce,
    do_handle_card_event,
    do_record_callback,
    do_release_callback_nonce,
)
from .client import WecomClient, WecomError, WecomSettings
from .crypto import NONCE_REPLAYED, WecomCryptoError, WXBizMsgCrypt, check_timestamp, parse_message

logger = logging.getLogger(__name__)

OAUTH_SESSION_KEY = "wecom_oauth"
OAUTH_STATE_SALT = "integrations.wecom.oauth"
OAUTH_STATE_MAX_AGE = 600


def _crypto() -> WXBizMsgCrypt:
    config = WecomSettings.from_settings()
    if not (config.enabled and config.token and config.aes_key):
        raise Http404("回调未配置")
    return WXBizMsgCrypt(config.token, config.aes_key, config.corp_id)


def _refuse(error: WecomCryptoError) -> JsonResponse:
    logger.warning("wecom callback refused: %s", error)
    return JsonResponse(error.as_dict(), status=400, json_dumps_params={"ensure_ascii": False})


@csrf_exempt  # the platform signs its requests (msg_signature); there is no browser session to protect
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest) -> HttpResponse:
    params = {k: request.GET.get(k, "") for k in ("msg_signature", "timestamp", "nonce")}
    timestamp, nonce = params["timestamp"], params["nonce"]
    try:
        crypto = _crypto()
        check_timestamp(timestamp, window=settings.OA_WECOM_TIMESTAMP_WINDOW)
        if request.method == "GET":
            echo = crypto.verify_url(params["msg_signature"], timestamp, nonce, request.GET.get("echostr", ""))
            if not do_claim_callback_nonce(timestamp, nonce):
                raise WecomCryptoError(NONCE_REPLAYED)
            # The plaintext only: no quotes, BOM or newline.
            return HttpResponse(echo.encode(), content_type="text/plain; charset=utf-8")
        plaintext = crypto.decrypt_msg(request.body, params["msg_signature"], timestamp, nonce)
        fields = parse_message(plaintext)
    except WecomCryptoError as exc:
        return _refuse(exc)
    # Nonces are remembered only once the signature holds, so junk cannot use them up. A signed request seen
    # before is the platform's retry (it resends when we were slow) or a replay: acknowledged, not processed.
    if not do_claim_callback_nonce(timestamp, nonce):
        logger.info("wecom callback: timestamp/nonce seen before, acknowledged without processing")
        return HttpResponse("success", content_type="text/plain; charset=utf-8")
    try:
        outcome = do_record_callback(fields)
    except Exception:
        do_release_callback_nonce(timestamp, nonce)  # not recorded: the platform's retry must be processed
        raise
    if outcome.message.event == CARD_EVENT and not outcome.duplicate:
        # A button on one of our cards: run it as the mapped Person; the card is updated through the outbox.
        do_handle_card_event(outcome.message, fields)
    if not outcome.reply_text:
        return HttpResponse("success", content_type="text/plain; charset=utf-8")
    now = fields.get("CreateTime", "")
    reply = (
        f"<xml><ToUserName><![CDATA[{fields.get('FromUserName', '')}]]></ToUserName>"
        f"<FromUserName><![CDATA[{fields.get('ToUserName', '')}]]></FromUserName>"
        f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{outcome.reply_text}]]></Content></xml>"
    )
    return HttpResponse(crypto.encrypt_msg(reply, params["nonce"]), content_type="application/xml; charset=utf-8")


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False) \
            and value.startswith("/"):
        return value
    return reverse("home")


def _error(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "wecom/login_error.html", {"message": message}, status=status)


@require_GET
def login(request: HttpRequest) -> HttpResponse:
    """Start the platform OAuth2 round trip: a random state in the session, signed in the URL."""
    next_url = _safe_next(request, request.GET.get("next"))
    if request.user.is_authenticated:
        return HttpResponseRedirect(next_url)
    config = WecomSettings.from_settings()
    if not config.enabled:
        return _error(request, "移动平台登录未启用，请使用账号密码登录。", 404)
    nonce = secrets.token_urlsafe(16)
    request.session[OAUTH_SESSION_KEY] = {"nonce": nonce, "next": next_url}
    state = signing.TimestampSigner(salt=OAUTH_STATE_SALT).sign(nonce)
    query = urlencode({
        "appid": config.corp_id,
        "redirect_uri": f"{config.public_base_url}{reverse('wecom_oauth_callback')}",
        "response_type": "code",
        "scope": "snsapi_base",
        "state": state,
        "agentid": config.agent_id,
    })
    return HttpResponseRedirect(f"{config.oauth_url}?{query}#wechat_redirect")


@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.pop(OAUTH_SESSION_KEY, None)
    code, state = request.GET.get("code", ""), request.GET.get("state", "")
    try:
        nonce = signing.TimestampSigner(salt=OAUTH_STATE_SALT).unsign(state, max_age=OAUTH_STATE_MAX_AGE)
    except signing.BadSignature:
        nonce = None
    if not pending or not nonce or not secrets.compare_digest(nonce, pending.get("nonce", "")) or not code:
        return _error(request, "登录请求已失效或不完整，请从移动平台重新进入。", 400)
    if not WecomSettings.from_settings().enabled:
        return _error(request, "移动平台登录未启用，请使用账号密码登录。", 404)
    try:
        userid = WecomClient().user_id_for_code(code)
    except WecomError as exc:
        logger.warning("wecom oauth: code exchange failed: %s", exc)
        return _error(request, "暂时无法向移动平台确认您的身份，请稍后重试或使用账号密码登录。", 502)
    result = check_platform_login(request, userid)
    if result.user is None:
        return _error(request, result.error, result.status)
    # SecurityGateMiddleware sends 2FA roles to OTP verification before `next` is reachable.
    return HttpResponseRedirect(pending.get("next") or reverse("home"))
