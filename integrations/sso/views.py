"""省统一身份认证 login pages: OpenID Connect (start, callback) and CAS 3 (login/ticket, single logout).

Thin: the protocol checks are in integrations.sso.oidc (and python-cas / django-cas-ng for CAS), the writes in
integrations.sso.actions. Every refusal is a page with its Chinese message and status; nothing is half-saved.
Under /accounts/ so the security gate lets an unfinished login reach them.
"""

from __future__ import annotations

import logging
from importlib import import_module

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from integrations.sso.actions import check_sso_login, do_record_sso_logout, record_refusal
from integrations.sso.errors import SsoRefusal
from integrations.sso.models import Provider
from integrations.sso.oidc import AuthorisationRequest, OidcClient, end_session_url, oidc_config, oidc_enabled
from oa.http import client_ip

logger = logging.getLogger(__name__)

SESSION_CAS_NEXT = "oa_cas_next"
SLO_MAX_BYTES = 16 * 1024


def _refused(request: HttpRequest, refusal: SsoRefusal) -> HttpResponse:
    return render(request, "sso/refused.html", {"refusal": refusal}, status=refusal.status)


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and value.startswith("/") and url_has_allowed_host_and_scheme(
            value, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return value
    return ""


def _after_login(next_url: str) -> HttpResponseRedirect:
    # SecurityGateMiddleware sends forced password change and 2FA roles to their pages before `next` is reachable.
    return HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))


# --- OpenID Connect ----------------------------------------------------------------------------------------


@never_cache
@require_GET
def oidc_start(request: HttpRequest) -> HttpResponse:
    """Redirect to the provider's authorisation endpoint: code flow, state + nonce + PKCE (S256) in the session."""
    if not oidc_enabled():
        return _refused(request, SsoRefusal("sso_off"))
    if request.user.is_authenticated:
        return _after_login(_safe_next(request, request.GET.get("next")))
    try:
        config = oidc_config()
    except SsoRefusal as refusal:
        return _refused(request, refusal)
    return AuthorisationRequest(config=config).get(request)


@never_cache
@require_GET
def oidc_callback(request: HttpRequest) -> HttpResponse:
    if not oidc_enabled():
        return _refused(request, SsoRefusal("sso_off"))
    states = request.session.get("oidc_states")
    state = request.GET.get("state", "")
    pending = states.pop(state, None) if isinstance(states, dict) and state else None
    if pending is not None:
        request.session.modified = True  # each state is good for one callback only (replay)
    try:
        if pending is None:
            raise SsoRefusal("sso_state")
        if request.GET.get("error"):
            error = request.GET.get("error_description") or request.GET["error"]
            raise SsoRefusal("sso_idp_error", error[:200])
        code = request.GET.get("code", "")
        if not code:
            raise SsoRefusal("sso_token_rejected")
        config = oidc_config()
        assertion = OidcClient(config).exchange(request, code=code, nonce=pending.get("nonce") or "",
                                                code_verifier=pending.get("code_verifier"))
        next_url = _safe_next(request, request.session.get("oidc_login_next"))
        logout_url = end_session_url(config, id_token=assertion.id_token,
                                     post_logout_redirect_uri=request.build_absolute_uri(reverse("login")))
        check_sso_login(request, provider=Provider.OIDC, subject=assertion.subject, acr=assertion.acr,
                        logout_url=logout_url)
    except SsoRefusal as refusal:
        if refusal.code not in ("sso_unknown_subject", "sso_account_disabled", "sso_account_locked"):
            record_refusal(request, provider=Provider.OIDC, refusal=refusal)  # the others are audited by the action
        logger.info("oidc login refused: %s", refusal.code)
        return _refused(request, refusal)
    return _after_login(next_url)


# --- CAS 3 -------------------------------------------------------------------------------------------------


def _cas_client(request: HttpRequest):
    from django_cas_ng.utils import get_cas_client, get_service_url

    service_url = get_service_url(request)  # CAS_STORE_NEXT: the bare callback URL, as registered at the server
    return get_cas_client(service_url=service_url, request=request), service_url


@never_cache
@csrf_exempt  # the CAS server POSTs single-logout requests here (server to server); GET never writes without a ticket
@require_http_methods(["GET", "POST"])
def cas_login(request: HttpRequest) -> HttpResponse:
    """GET without a ticket → the CAS login page; GET with a ticket → p3/serviceValidate, then a session;
    POST with logoutRequest → single logout of the session that ticket opened."""
    if not settings.OA_CAS_SERVER_URL:
        return _refused(request, SsoRefusal("sso_off"))
    if request.method == "POST":
        return _cas_single_logout(request)
    client, _service_url = _cas_client(request)
    ticket = request.GET.get("ticket", "")
    if not ticket:
        if request.user.is_authenticated:
            return _after_login(_safe_next(request, request.GET.get("next")))
        request.session[SESSION_CAS_NEXT] = _safe_next(request, request.GET.get("next"))
        return HttpResponseRedirect(client.get_login_url())
    next_url = request.session.pop(SESSION_CAS_NEXT, "") or ""
    try:
        try:
            user, attributes, _pgtiou = client.verify_ticket(ticket)
        except Exception as exc:  # requests errors, and an unparsable answer (python-cas parses with ElementTree)
            logger.warning("cas ticket validation failed: %s", exc)
            raise SsoRefusal("sso_unavailable") from exc
        if not user:
            raise SsoRefusal("sso_ticket_invalid")
        subject = user
        if settings.OA_CAS_SUBJECT_ATTRIBUTE:
            value = (attributes or {}).get(settings.OA_CAS_SUBJECT_ATTRIBUTE)
            if isinstance(value, list):
                value = value[0] if len(value) == 1 else None
            if not value:
                raise SsoRefusal("sso_unknown_subject", f"{user}（缺少属性 {settings.OA_CAS_SUBJECT_ATTRIBUTE}）")
            subject = value
        logout_url = client.get_logout_url(request.build_absolute_uri(reverse("login")))
        check_sso_login(request, provider=Provider.CAS, subject=subject[:255], logout_url=logout_url,
                        session_data={"ticket": ticket[:255]})
    except SsoRefusal as refusal:
        if refusal.code not in ("sso_unknown_subject", "sso_account_disabled", "sso_account_locked"):
            record_refusal(request, provider=Provider.CAS, refusal=refusal)
        logger.info("cas login refused: %s", refusal.code)
        return _refused(request, refusal)
    _remember_cas_ticket(request, ticket)
    return _after_login(next_url)


def _remember_cas_ticket(request: HttpRequest, ticket: str) -> None:
    """django-cas-ng's SessionTicket: which session a service ticket opened, for the server's single logout."""
    from django_cas_ng.models import SESSION_KEY_MAXLENGTH, SessionTicket

    if not request.session.session_key:
        request.session.save()
    session_key = request.session.session_key[:SESSION_KEY_MAXLENGTH]
    SessionTicket.objects.update_or_create(session_key=session_key, defaults={"ticket": ticket})


def _cas_single_logout(request: HttpRequest) -> HttpResponse:
    """The CAS server's logoutRequest (SAML 2 LogoutRequest naming the service ticket in SessionIndex): end the
    session that ticket opened. The ticket is a secret only the server and this session know."""
    from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
    from django_cas_ng.models import SessionTicket

    from oa.models import Person

    body = request.POST.get("logoutRequest", "")
    if not body:
        return HttpResponse("缺少 logoutRequest", status=400, content_type="text/plain; charset=utf-8")
    if len(body) > SLO_MAX_BYTES or "<!DOCTYPE" in body.upper() or "<!ENTITY" in body.upper():
        return HttpResponse("logoutRequest 无效", status=400, content_type="text/plain; charset=utf-8")
    client, _service = _cas_client(request)
    indexes = client.get_saml_slos(body) or []
    store = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    for element in indexes:
        ticket = (element.text or "").strip()
        row = SessionTicket.objects.filter(ticket=ticket).first() if ticket else None
        if row is None:
            continue
        session = store(session_key=row.session_key)
        user_id = session.get(SESSION_KEY)
        person = Person.objects.filter(pk=user_id).first() if user_id and session.get(BACKEND_SESSION_KEY) else None
        session.delete(row.session_key)
        SessionTicket.objects.filter(session_key=row.session_key).delete()
        if person is not None:
            do_record_sso_logout(person=person, provider=Provider.CAS, ip=client_ip(request), reason="cas_slo")
        ended += 1
    return HttpResponse("ok\n", content_type="text/plain; charset=utf-8")
