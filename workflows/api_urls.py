"""流程 REST routes, mounted under /api/flows/ (docs/routing.md 页面与接口)."""

from workflows.views import circulation as circulation_views
from workflows.views import distribution as distribution_views
from workflows.views import routing as routing_views

urlpatterns: list = []
urlpatterns += routing_views.api_urlpatterns  # 退回、转办、加签、取回、催办
urlpatterns += distribution_views.api_urlpatterns  # 分发情况、取回
urlpatterns += circulation_views.api_urlpatterns  # 传阅：阅读情况、阅知、催阅
