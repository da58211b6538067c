"""文号序列设置 page (/documents/numbering/series/, docs/numbering.md §8): the agency's 文书 lists, creates and edits its
series; refusals sit beside their field with the form kept and nothing written; anyone else gets 403/404."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from documents.models import DocNumberSeries, DocType
from documents.selectors.numbering import series_agencies_for
from oa.models import Agency, AuditEntry
from tests.clients import login as as_user

pytestmark = pytest.mark.django_db

URL = "documents:numbering_series"


@pytest.fixture
def office() -> Agency:
    return Agency.objects.get(doc_code="揭东府办")


def counts() -> tuple[int, int]:
    return DocNumberSeries.objects.count(), AuditEntry.objects.filter(action="docnumber.series").count()


def post(person, agency, **fields):
    data = {"agency": agency.pk, "name": "区府办通报", "code": "揭东府办通", "number_format": "{代字}〔{年}〕{号}号",
            "doc_types": [DocType.BULLETIN], "issuer_mark": "", "is_active": "on", **fields}
    return as_user(person).post(reverse(URL), data)


def test_the_clerk_sees_the_series_with_an_example_number_and_the_ledger_links_there(cast, office):
    year = timezone.localdate().year
    page = as_user(cast.liuyang).get(reverse(URL)).content.decode()
    assert "文号序列设置" in page and office.name in page
    assert "区政府办函" in page and f"揭东府办函〔{year}〕1号" in page  # the demo's 函 series, rendered
    assert "揭东区人民政府办公室主任办公会议纪要" in page and f"{year}年第1期" in page  # a 纪要 series, its 标志
    assert "函" in page and "启用" in page
    ledger = as_user(cast.liuyang).get(reverse("documents:numbering")).content.decode()
    assert reverse(URL) in ledger


def test_the_clerk_creates_then_edits_a_series(cast, office):
    before = counts()
    response = post(cast.liuyang, office)
    assert response.status_code == 302
    series = DocNumberSeries.objects.get(code="揭东府办通")
    assert series.agency == office and series.doc_types == [DocType.BULLETIN] and series.is_active
    assert counts() == (before[0] + 1, before[1] + 1)
    year = timezone.localdate().year
    assert f"揭东府办通〔{year}〕1号" in as_user(cast.liuyang).get(response["Location"]).content.decode()

    edit = reverse("documents:numbering_series_edit", args=[series.pk])
    form = as_user(cast.liuyang).get(edit).content.decode()
    assert 'value="区府办通报"' in form and "修改序列" in form
    response = as_user(cast.liuyang).post(edit, {"name": "区府办情况通报", "code": "揭东府办通",
                                                 "number_format": "{代字}〔{年}〕{号}号",
                                                 "doc_types": [DocType.BULLETIN]})
    assert response.status_code == 302
    series.refresh_from_db()
    assert series.name == "区府办情况通报" and not series.is_active  # the box was left unticked: 停用


def test_a_format_without_the_year_is_refused_beside_the_field_with_the_form_kept_and_nothing_written(cast, office):
    before = counts()
    response = post(cast.liuyang, office, name="区府办便函", code="揭东府办便", number_format="{代字}{号}号")
    assert response.status_code == 400
    page = response.content.decode()
    assert counts() == before and not DocNumberSeries.objects.filter(code="揭东府办便").exists()
    # The message sits in the 文号格式 field's error list, and what was typed is kept.
    start = page.index('id="id_number_format"')
    error = page.index('id="id_number_format_error"')
    assert start < error < page.index('id="id_issuer_mark"')
    assert "年份" in page[error:error + 400]
    assert 'value="区府办便函"' in page and 'value="揭东府办便"' in page and 'value="{代字}{号}号"' in page


def test_a_doc_type_already_numbered_by_a_series_is_refused_beside_the_doc_types(cast, office):
    before = counts()
    response = post(cast.liuyang, office, name="区府办第二函", code="揭东府办二函", doc_types=[DocType.LETTER])
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_doc_types_error"' in page and "一个文种只能用一个序列" in page
    assert counts() == before


def test_anyone_but_the_clerk_gets_403_and_nothing_is_written(cast, office):
    before = counts()
    assert as_user(cast.zhangwei).get(reverse(URL)).status_code == 403
    assert post(cast.zhangwei, office).status_code == 403
    series = DocNumberSeries.objects.get(code="揭东府办函")
    edit = reverse("documents:numbering_series_edit", args=[series.pk])
    assert as_user(cast.zhangwei).get(edit).status_code == 403
    assert as_user(cast.zhangwei).post(edit, {"name": "改名"}).status_code == 403
    assert counts() == before
    series.refresh_from_db()
    assert series.name == "区政府办函"


def test_a_clerk_of_another_agency_cannot_configure_this_one(cast, office):
    kept = {a.pk for a in series_agencies_for(cast.liuyang)}
    other = Agency.objects.exclude(pk__in=kept).first()
    assert other is not None
    before = counts()
    assert as_user(cast.liuyang).get(reverse(URL), {"agency": other.pk}).status_code == 403
    assert post(cast.liuyang, other, code="某某通").status_code == 403
    assert counts() == before


def test_user_strings_are_escaped(cast, office):
    response = post(cast.liuyang, office, name="<script>alert(1)</script>通报", code="揭东府办通")
    assert response.status_code == 302
    page = as_user(cast.liuyang).get(response["Location"]).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;通报" in page
    refused = post(cast.liuyang, office, name="另一通报", code="揭东府办报",
                   number_format="<b>{代字}</b>{号}", doc_types=[DocType.REPORT]).content.decode()
    assert "<b>{代字}</b>" not in refused and "&lt;b&gt;{代字}&lt;/b&gt;{号}" in refused
