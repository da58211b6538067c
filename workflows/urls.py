"""流程 pages (/flows/). Each concern keeps its routes beside its views; add a line per concern."""

from workflows.views import (
    circulation,
    distribution,
    issuance,
    opinions,
    receipt,
    receipt_files,
    routing,
    trace,
)

app_name = "workflows"

urlpatterns = [
    *opinions.urlpatterns,
    *issuance.urlpatterns,
    *routing.urlpatterns,  # 流转操作 pages (docs/routing.md 页面与接口)
    *trace.urlpatterns,  # 流程跟踪 and 处理笺 (docs/routing.md 流程跟踪)
    *distribution.urlpatterns,  # 分发情况 and 取回 (docs/exchange.md)
    *receipt.urlpatterns,  # 收文办理: list, detail, 纸质来文, step pages (docs/receipt.md)
    *receipt_files.urlpatterns,  # 收文 watermarked preview and 收文处理单 PDF (docs/receipt.md)
    *circulation.urlpatterns,  # 传阅情况、阅知、催阅、未阅清单 (docs/circulation.md)
]
