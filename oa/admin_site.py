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


class AuditedLogMixin:
    """Mixed into every ModelAdmin registered on the site: what the admin writes to its own history (LogEntry) is
    also appended to the hash-chained audit log as `admin.add` / `admin.change` / `admin.delete`, with the admin's
    change message. The actions the admins call audit the write itself; this entry says it came from the emergency
    admin, and covers any model whose admin does not call an action."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        _mirror(request, [obj], "add", message)
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        _mirror(request, [obj], "change", message)
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        _mirror(request, list(queryset), "delete", "")
        return entries


def _mirror(request: HttpRequest, objects: list, kind: str, message) -> None:
    from oa.actions.audit import do_record_audit
    from oa.http import client_ip

    for obj in objects:
        do_record_audit(actor=request.user, action=f"admin.{kind}", obj=obj, ip=client_ip(request),
                        changes={"via": "admin", "message": message or ""})


class OaAdminSite(AdminSite):
    """Only for the superuser's emergencies (docs/security.md, 三员分立): the three administrators work on their own
    pages (/manage/), so the stock staff flag alone no longer opens the admin. Writes here go through the actions
    (audited, "via": "admin"); every change the admin logs (LogEntry) is mirrored into the audit log too (AuditedLogMixin)."""

    site_header = "一网协同办公平台应急管理"
    site_title = "平台应急管理"
    index_title = "应急管理（仅限超级管理员，所有修改记入审计日志）"

    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        from django.contrib.admin import ModelAdmin

        base = admin_class or ModelAdmin
        if not issubclass(base, AuditedLogMixin):
            base = type(base.__name__, (AuditedLogMixin, base), {"__module__": base.__module__})
        super().register(model_or_iterable, base, **options)

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)

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
