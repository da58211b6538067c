"""REST API routes (/api/). See docs/api.md."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny, IsAuthenticated

from oa.api import views


class LoginOutsideDebug:
    """The schema maps every endpoint and parameter: outside OA_DEBUG only signed-in users (session or bearer)
    see it. Decided per request, so a test can switch DEBUG."""

    def get_permissions(self):
        return [AllowAny()] if settings.DEBUG else [IsAuthenticated()]


class SchemaView(LoginOutsideDebug, SpectacularAPIView):
    pass


class DocsView(LoginOutsideDebug, SpectacularSwaggerSplitView):
    """Swagger UI from local assets (drf-spectacular-sidecar); the init script is a separate request and the
    template carries no inline <script> or <style>, so our CSP (script-src 'self') holds."""

    template_name = "api/swagger_ui.html"
    title = "一网协同办公平台 REST API"

    def handle_exception(self, exc):
        # A person opening the page in a browser goes to the login page and back; scripts still get the 401.
        if isinstance(exc, NotAuthenticated) and "text/html" in self.request.headers.get("Accept", ""):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)


urlpatterns = [
    path("auth/token", views.TokenView.as_view(), name="api_token"),
    path("ws-ticket", views.WsTicketView.as_view(), name="api_ws_ticket"),
    path("me", views.MeView.as_view(), name="api_me"),
    path("work", views.WorkListView.as_view(), name="api_work"),
    path("work/counts", views.WorkCountsView.as_view(), name="api_work_counts"),
    path("work/<int:item_id>", views.WorkDetailView.as_view(), name="api_work_item"),
    path("work/<int:item_id>/actions/<slug:action_key>", views.WorkActionView.as_view(), name="api_work_action"),
    path("notifications", views.NotificationListView.as_view(), name="api_notifications"),
    path("notifications/read", views.NotificationReadView.as_view(), name="api_notifications_read"),
    path("tiles", views.TilesView.as_view(), name="api_tiles"),
    path("schema/", SchemaView.as_view(), name="api_schema"),
    path("docs/", DocsView.as_view(url_name="api_schema"), name="api_docs"),
    re_path(r"^.*$", views.NotFoundView.as_view()),
]
