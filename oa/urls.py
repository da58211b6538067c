from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path

from oa.views import announcements as announcement_views
from oa.views import audit as audit_views
from oa.views import auth as auth_views
from oa.views import directory as directory_views
from oa.views import home as home_views


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


accounts = [
    path("login/", auth_views.login_view, name="login"),
    path("logout/", auth_views.logout_view, name="logout"),
    path("password/forced/", auth_views.password_change_forced, name="password_change_forced"),
    path("password/change/", auth_views.password_change, name="password_change"),
    path("otp/setup/", auth_views.otp_setup, name="otp_setup"),
    path("otp/setup/qr.png", auth_views.otp_setup_qr, name="otp_setup_qr"),
    path("otp/verify/", auth_views.otp_verify, name="otp_verify"),
    path("sso/", include("integrations.sso.urls")),  # 省统一身份认证 (docs/sso.md); answers 404 until configured
]

urlpatterns = [
    path("", home_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include(accounts)),
    path("profile/", auth_views.profile, name="profile"),
    path("profile/delegations/", auth_views.delegation_create, name="delegation_create"),
    path("profile/delegations/<int:delegation_id>/revoke/", auth_views.delegation_revoke, name="delegation_revoke"),
    path("directory/", directory_views.directory, name="directory"),
    path("directory/departments/<int:department_id>/", directory_views.department_detail, name="department"),
    path("directory/people/<int:person_id>/", directory_views.person_detail, name="person"),
    path("announcements/", announcement_views.announcement_list, name="announcements"),
    path("announcements/new/", announcement_views.announcement_new, name="announcement_new"),
    path("announcements/<int:announcement_id>/", announcement_views.announcement_detail, name="announcement"),
    path(
        "announcements/<int:announcement_id>/withdraw/",
        announcement_views.announcement_withdraw,
        name="announcement_withdraw",
    ),
    path("audit/", audit_views.audit_list, name="audit"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("audit/verify/", audit_views.audit_verify, name="audit_verify"),
    path("manage/", include("oa.manage_urls")),
    path("api/documents/", include("documents.api_urls")),
    path("api/flows/", include("workflows.api_urls")),
    path("api/", include("oa.api.urls")),
    path("integrations/wecom/", include("integrations.wecom.urls")),
    path("exchange/", include("integrations.exchange.urls")),
    path("documents/", include("documents.urls")),
    path("flows/", include("workflows.urls")),
    path("meetings/", include("meetings.urls")),
    path("supervision/", include("supervision.urls")),
    path("datarequests/", include("supervision.datarequests.urls")),  # 报表一张表 (docs/datarequests.md)
    path("services/", include("workflows.services.urls")),  # 零跑动办事 (docs/services.md)
    path("information/", include("workflows.information.urls")),  # 信息报送 (docs/information.md)
    path("", include("frontend.urls")),
    path("admin/", admin.site.urls),
]
