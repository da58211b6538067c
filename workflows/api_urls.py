"""流程 REST routes, mounted under /api/flows/ (docs/routing.md 页面与接口)."""

from workflows.views import routing as routing_views

urlpatterns: list = []
urlpatterns += routing_views.api_urlpatterns  # 退回、转办、加签、取回、催办
