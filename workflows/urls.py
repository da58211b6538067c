"""流程 pages (/flows/). Each concern keeps its routes beside its views; add a line per concern."""

from workflows.views import issuance, opinions, routing, trace

app_name = "workflows"

urlpatterns = [
    *opinions.urlpatterns,
    *issuance.urlpatterns,
    *routing.urlpatterns,  # 流转操作 pages (docs/routing.md 页面与接口)
    *trace.urlpatterns,  # 流程跟踪 and 处理笺 (docs/routing.md 流程跟踪)
]
