"""Security middleware: CSP header, idle-session timeout, and the gate for forced password change / 2FA."""

from __future__ import annotations

import time

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

SESSION_LAST_SEEN = "oa_last_seen"


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
