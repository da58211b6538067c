"""The admin site, with no login of its own (docs/security.md, 登录控制).

Django's stock AdminSite has its own login form that calls authenticate() directly: no lockout, no address
throttle, no audit. Here /admin/login/ *is* the platform's login view (oa.views.auth.login_view), so a
password posted there meets the same checks and the same 2FA gate; logout and password change likewise go
through the platform's own views (audit, password history). It lives outside oa/admin/ because that package
registers the ModelAdmins on this very site while it is being built.
"""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse


class OaAdminSite(AdminSite):
    site_header = "一网协同办公平台管理"
    site_title = "平台管理"

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        from oa.views.auth import login_view

        if request.user.is_authenticated and not self.has_permission(request):
            # Our login view sends a signed-in user on to `next`, i.e. back here: refuse instead of looping.
            raise PermissionDenied("您的账号没有进入平台管理的权限。")
        if request.method != "POST":
            # The form lives at /accounts/login/; login_view checks that `next` stays on this site.
            query = QueryDict(mutable=True)
            query["next"] = request.GET.get("next") or reverse("admin:index", current_app=self.name)
            return redirect(f"{reverse('login')}?{query.urlencode()}")
        # A password posted here gets exactly what the login page gives it: throttle, lockout, audit, 2FA gate.
        return login_view(request)

    def logout(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        from oa.views.auth import logout_view

        return logout_view(request)

    def password_change(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return redirect("password_change")

    def password_change_done(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return redirect("password_change")
