"""The inbox's 来文机关 filter reads a cached agency list (oa.selectors.directory.active_agency_choices): a new,
renamed or disabled agency shows at once, because Agency saves drop the entry (docs/performance.md "待办 path")."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from oa.models import Agency
from oa.uscc import make_uscc
from tests.clients import login


def _agency_options(client: Client) -> list[str]:
    html = client.get(reverse("inbox")).content.decode()
    select = re.search(r'<select name="agency"[^>]*>(.*?)</select>', html, re.S)
    assert select, "the inbox page has no agency filter"
    return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))


@pytest.mark.django_db
def test_agency_filter_follows_agency_writes(cast):
    client = login(cast.lina, client=Client())
    before = _agency_options(client)
    assert before[0] == "全部机关"
    assert [str(a) for a in Agency.objects.filter(is_active=True)] == before[1:]

    agency = Agency.objects.create(name="揭东区测试局", short_name="测试局", doc_code="揭东测", uscc=make_uscc("12445203MB2C00099"),
                                   sort_order=999)
    assert _agency_options(client)[-1] == "测试局"
    agency.short_name = "测试二局"
    agency.save()
    assert _agency_options(client)[-1] == "测试二局"
    agency.is_active = False
    agency.save()
    assert _agency_options(client) == before


@pytest.mark.django_db
def test_agency_filter_still_filters_by_the_table(cast):
    client = login(cast.lina, client=Client())
    agency = Agency.objects.filter(is_active=True).first()
    assert client.get(reverse("inbox"), {"agency": agency.pk}).status_code == 200
    # An id that is no agency is ignored (the form is invalid, the page lists everything), not a 500.
    assert client.get(reverse("inbox"), {"agency": 999999}).status_code == 200
