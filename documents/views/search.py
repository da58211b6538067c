"""公文检索: the page /documents/search/ and GET /api/documents/search. Thin: parse, call the selector, render."""

from __future__ import annotations

import datetime

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.models import DocType, OfficialDocument
from documents.selectors.search import MAX_QUERY_LENGTH, present_results, search_documents
from oa.api.views import errors
from oa.models import Agency
from oa.refusals import Refusal

PAGE_SIZE = 20


def _years() -> list[tuple[str, str]]:
    this = datetime.date.today().year
    return [("", "全部年度"), *((str(y), f"{y}年") for y in range(this + 1, this - 15, -1))]


class SearchForm(forms.Form):
    q = forms.CharField(
        label="关键词", max_length=MAX_QUERY_LENGTH, required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "标题、文号、正文或附件中的词",
                                      "enterkeyhint": "search", "autocomplete": "off"}),
    )
    doc_type = forms.ChoiceField(label="文种", choices=[("", "全部文种"), *DocType.choices], required=False)
    year = forms.TypedChoiceField(label="年度（成文日期）", choices=(), coerce=int, empty_value=None, required=False)
    agency = forms.ModelChoiceField(label="机关", queryset=Agency.objects.filter(is_active=True), required=False,
                                    empty_label="全部机关")
    status = forms.ChoiceField(label="状态", choices=[("", "全部状态"), *OfficialDocument.Status.choices],
                               required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = _years()

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "doc_type": data.get("doc_type") or None,
            "year": data.get("year"),
            "agency_id": data["agency"].pk if data.get("agency") else None,
            "status": data.get("status") or None,
        }


@login_required
@require_GET
def search_view(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    context: dict = {"form": form, "searched": False}
    status = 200
    if form.is_bound and form.is_valid():
        filters = form.filters()
        q = form.cleaned_data["q"]
        try:
            found = search_documents(request.user, q, **filters)
        except Refusal as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            page = Paginator(found.results, PAGE_SIZE).get_page(request.GET.get("page"))
            rows = present_results(list(page.object_list), found.terms)
            query = request.GET.copy()
            query.pop("page", None)
            context.update(searched=True, page=page, rows=rows, query=query.urlencode(), q=q,
                           filtered=any(v not in (None, "") for v in filters.values()))
    elif form.is_bound:
        status = 400
    return render(request, "documents/search/search.html", context, status=status)


urlpatterns = [
    path("search/", search_view, name="search"),
]


# ---- API ---------------------------------------------------------------------------------------------------


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=MAX_QUERY_LENGTH,
                              help_text="关键词：标题、文号（如“〔2026〕5号”“揭东府办”）、正文、附件中的词")
    doc_type = serializers.ChoiceField(choices=DocType.choices, required=False, help_text="文种代码，如 tongzhi")
    year = serializers.IntegerField(required=False, min_value=1949, max_value=9999,
                                    help_text="年度：成文日期所在年；未署成文日期的按创建年")
    agency = serializers.IntegerField(required=False, min_value=1, help_text="机关 id（主办或联合行文）")
    status = serializers.ChoiceField(choices=OfficialDocument.Status.choices, required=False, help_text="公文状态")
    page = serializers.IntegerField(required=False, min_value=1, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=PAGE_SIZE)


class AgencyBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SearchHitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    identifier = serializers.UUIDField(help_text="公文标识")
    title = serializers.CharField()
    doc_number = serializers.CharField(help_text="发文字号")
    doc_type = serializers.CharField()
    doc_type_label = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    agency = AgencyBriefSerializer(help_text="主办机关")
    written_date = serializers.DateField(allow_null=True, help_text="成文日期")
    created_at = serializers.DateTimeField()
    rank = serializers.FloatField(help_text="相关度，越大越靠前")
    title_html = serializers.CharField(help_text="已转义的标题，命中词包在 <mark> 中")
    doc_number_html = serializers.CharField()
    snippet_html = serializers.CharField(help_text="已转义的摘录，命中词包在 <mark> 中")
    snippet_source = serializers.CharField(help_text="摘录出处：正文或某个附件")


class SearchResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="可见且命中的公文总数")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = SearchHitSerializer(many=True)


def _hit(row: dict) -> dict:
    doc = row["document"]
    return {
        "id": doc.pk, "identifier": doc.identifier, "title": doc.title, "doc_number": doc.doc_number,
        "doc_type": doc.doc_type, "doc_type_label": doc.get_doc_type_display(), "status": doc.status,
        "status_label": doc.get_status_display(), "agency": {"id": doc.agency_id, "name": doc.agency.name},
        "written_date": doc.written_date, "created_at": doc.created_at, "rank": float(doc.search_rank or 0),
        "title_html": str(row["title_html"]), "doc_number_html": str(row["doc_number_html"]),
        "snippet_html": str(row["snippet_html"]), "snippet_source": row["snippet_source"],
    }


class SearchApiView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="documents_search", summary="公文检索（只返回本人可见的公文）",
        parameters=[SearchQuerySerializer], responses={200: SearchResultSerializer, **errors(400, 401)},
    )
    def get(self, request):
        query = SearchQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        p = query.validated_data
        found = search_documents(request.user, p.get("q", ""), doc_type=p.get("doc_type"), year=p.get("year"),
                                 agency_id=p.get("agency"), status=p.get("status"))
        paginator = Paginator(found.results, p["page_size"])
        page = paginator.get_page(p["page"])
        rows = present_results(list(page.object_list), found.terms)
        body = {"count": paginator.count, "page": page.number, "pages": paginator.num_pages,
                "results": [_hit(r) for r in rows]}
        return Response(SearchResultSerializer(body).data)


api_urlpatterns = [
    path("search", SearchApiView.as_view(), name="api_documents_search"),
]
