"""Security middleware: forwarded headers only from our proxies, CSP header, idle-session timeout, and the
gate for forced password change / 2FA."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from oa.proxies import is_trusted
from oa.refusals import Refusal

SESSION_LAST_SEEN = "oa_last_seen"
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT")


class ForwardedHeadersMiddleware:
    """Drop X-Forwarded-* unless the connection comes from a proxy named in OA_BEHIND_PROXY: anyone can send
    them, and SECURE_PROXY_SSL_HEADER (is_secure) or DRF would otherwise believe a client's own claim.
    The client address itself is oa.http.client_ip, which checks the peer again on its own."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if not is_trusted(request.META.get("REMOTE_ADDR"), settings.OA_TRUSTED_PROXIES):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.OA_CSP)
        return response


class IdleTimeoutMiddleware:
    """Log out a session idle for longer than OA_IDLE_TIMEOUT_MINUTES (等保: 会话超时)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(SESSION_LAST_SEEN)
            if last is not None and now - last > settings.OA_IDLE_TIMEOUT_MINUTES * 60:
                from oa.actions.auth import do_record_idle_logout

                do_record_idle_logout(request)
                return redirect(f"{reverse('login')}?timeout=1")
            # Written at most once per OA_IDLE_TOUCH_SECONDS: otherwise every read request saves the session.
            if last is None or now - last >= settings.OA_IDLE_TOUCH_SECONDS:
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


class SecurityGateMiddleware:
    """Until a user has changed a forced password and (where the role needs it) passed 2FA, only the pages
    that get them there are reachable."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not self._exempt(request.path):
            from oa.selectors.auth import login_gate

            gate = login_gate(user, otp_verified=user.is_verified())
            if gate is not None:
                if request.path.startswith("/api/"):
                    from django.http import JsonResponse

                    return JsonResponse({"code": gate, "message": "请先完成登录安全要求"}, status=403)
                return redirect(reverse(gate))
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        # The PWA files are public and user-independent; the service worker must fetch them in any state.
        allowed = ("/accounts/", "/static/", "/healthz", "/sw.js", "/manifest.webmanifest", "/offline/")
        return path.startswith(allowed)


class RefusalMiddleware:
    """The page side of the one refusal handler (the API side is oa.api.exceptions): a Refusal a view lets
    through becomes a page with its Chinese message in role="alert" and its status, not a 500. Views that can
    do better (re-render the bound form) still catch it themselves."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, Refusal):
            return None
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            body = {"code": exception.code, "message": exception.message}
            return JsonResponse(body, status=exception.status, json_dumps_params={"ensure_ascii": False})
        referer = request.headers.get("Referer", "")
        back = referer if referer and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()) else ""
        return render(request, "refusal.html", {"refusal": exception, "back": back}, status=exception.status)
