"""bench/inbox.py only: the product's URLs, /bench/bare (the baseline) and viewflow's own inbox wired as its
cookbook does (a Site holding a WorkflowAppViewset over our flows) under /vf/ — never in oa/urls.py."""

from django.http import JsonResponse
from django.urls import path
from viewflow.urls import Site
from viewflow.workflow.flow import FlowViewset, WorkflowAppViewset

from oa.models import WorkItem
from oa.urls import urlpatterns as product_urls
from workflows.issuance.flows import IssuanceFlow
from workflows.receipt.flows import ReceiptFlow


def bare(request):
    # The floor of the stack: same middleware, same server, one indexed query on the same table, JSON out.
    row = WorkItem.objects.filter(pk=1).values("id", "title").first()
    return JsonResponse({"item": row})


site = Site(
    title="viewflow",
    viewsets=[
        WorkflowAppViewset(flow_viewsets=[FlowViewset(IssuanceFlow), FlowViewset(ReceiptFlow)]),
    ],
)

urlpatterns = [
    path("bench/bare", bare),
    path("vf/", site.urls),
    *product_urls,
]
