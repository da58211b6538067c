"""bench/inbox.py only: the product's URLs plus /bench/bare, the baseline (never in oa/urls.py)."""

from django.http import JsonResponse
from django.urls import path

from oa.models import WorkItem
from oa.urls import urlpatterns as product_urls


def bare(request):
    # The floor of the stack: same middleware, same server, one indexed query on the same table, JSON out.
    row = WorkItem.objects.filter(pk=1).values("id", "title").first()
    return JsonResponse({"item": row})


urlpatterns = [path("bench/bare", bare), *product_urls]
