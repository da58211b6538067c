"""文号台账 page (/documents/numbering/) and its JSON API (/api/documents/numbering/…). Thin: parse, call one
selector or action, render. Only the agency's 文书 (and, read-only, its 主要负责人) see a ledger; others 404."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.actions.numbering import (
    check_allocate_doc_number,
    check_backfill_doc_number,
    check_mark_blank,
    check_void_doc_number,
)
from documents.models import DocNumberEntry
from documents.numbering import DocNumber, doc_number_from_text
from documents.selectors.documents import access_document_by_id
from documents.selectors.numbering import (
    Ledger,
    access_ledger,
    codes_of,
    documents_awaiting_number,
    entry_for_number,
    gap_report,
    ledger_entries,
    numbering_agencies_for,
    years_of,
)
from oa.api.serializers import ErrorSerializer
from oa.refusals import Refusal

# ---------------------------------------------------------------- forms

NUMBER_HELP = "完整文号，如“揭东府办〔2026〕5号”（六角括号〔〕，不加“第”，不编虚位）"


class _NumberForm(forms.Form):
    # Not "required": the actions own the rules and their Chinese messages name the exact problem.
    number = forms.CharField(label="发文字号", required=False, help_text=NUMBER_HELP,
                             widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}))
    reason = forms.CharField(label="原因", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class VoidForm(_NumberForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="void", **kwargs)
        self.fields["reason"].label = "作废原因"


class BlankForm(_NumberForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="blank", **kwargs)
        self.fields["reason"].label = "空号原因"
        self.fields["reason"].help_text = "如：该号已用于纸质发文、跳号等"


class BackfillForm(_NumberForm):
    document = forms.TypedChoiceField(label="补号的公文", coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, documents: list | None = None, **kwargs: Any) -> None:
        super().__init__(*args, prefix="backfill", **kwargs)
        self.fields["reason"].label = "补号原因"
        self.fields["document"].choices = [("", "请选择已签发、尚无文号的公文")] + [
            (d.pk, d.title) for d in (documents or [])
        ]


# Which form field a refusal belongs next to (the rest are shown above the form).
FIELD_OF_CODE = {
    "reason_required": "reason",
    "reason_too_long": "reason",
    "invalid_doc_number": "number",
    "invalid_code": "number",
    "invalid_year": "number",
    "invalid_seq": "number",
    "number_not_found": "number",
    "number_in_use": "number",
    "number_voided": "number",
    "number_blank": "number",
    "not_a_gap": "number",
    "not_in_use": "number",
    "code_of_other_agency": "number",
    "document_required": "document",
    "already_numbered": "document",
    "not_signed": "document",
    "not_outgoing": "document",
}


def _add_error(form: forms.Form, error: Refusal) -> None:
    name = FIELD_OF_CODE.get(error.code)
    form.add_error(name if name in form.fields else None, error.message)


# ---------------------------------------------------------------- page


def _current_ledger(request: HttpRequest, data: Any) -> Ledger:
    """The ledger the page shows: ?code=&year=, else the person's first agency, this year. 404 if not theirs."""
    agencies = numbering_agencies_for(request.user)
    if not agencies:
        raise Http404("文号台账不存在或无权查看")
    code = (data.get("code") or "").strip() or agencies[0].doc_code
    try:
        year = int(data.get("year") or 0)
    except (TypeError, ValueError):
        year = 0
    if not 1000 <= year <= 9999:
        year = timezone.localdate().year
    return access_ledger(request.user, code, year)


def _page(request: HttpRequest, ledger: Ledger, bound: dict[str, forms.Form] | None = None,
          status_code: int = 200) -> HttpResponse:
    bound = bound or {}
    this_year = timezone.localdate().year
    awaiting = list(documents_awaiting_number(request.user, ledger.agency)) if ledger.can_keep else []
    agencies = numbering_agencies_for(request.user)
    context = {
        "ledger": ledger,
        "entries": ledger_entries(ledger.sequence),
        "report": gap_report(ledger.code, ledger.year),
        "choices": [{"agency": a, "codes": codes_of(a)} for a in agencies],
        "years": sorted({this_year, ledger.year, *years_of(ledger.agency, ledger.code)}, reverse=True),
        "this_year": this_year,
        "awaiting": awaiting,
        "allocate_error": bound.get("allocate_error"),
        # Shown at the top when there is no form to show it beside (e.g. a 主要负责人 posting by hand).
        "refusal": bound.get("refusal"),
        "void_form": bound.get("void") or VoidForm(),
        "blank_form": bound.get("blank") or BlankForm(),
        "backfill_form": bound.get("backfill") or BackfillForm(documents=awaiting),
        "states": DocNumberEntry.State,
    }
    return render(request, "documents/numbering/ledger.html", context, status=status_code)


def _back_to(code: str, year: int) -> HttpResponse:
    return redirect(f"{reverse('documents:numbering')}?{urlencode({'code': code, 'year': year})}")


@login_required
def ledger_page(request: HttpRequest) -> HttpResponse:
    return _page(request, _current_ledger(request, request.GET))


def _target(request: HttpRequest, text: str) -> DocNumber:
    """The number a form names; refused inline when it is malformed or belongs to a ledger one may not keep."""
    number = doc_number_from_text(text)
    try:
        access_ledger(request.user, number.code, number.year)
    except Http404:
        raise Refusal("number_not_found", f"没有找到“{text}”所属的文号台账，或您无权管理", 404) from None
    return number


@login_required
@require_POST
def void_view(request: HttpRequest) -> HttpResponse:
    ledger = _current_ledger(request, request.POST)
    form = VoidForm(request.POST)
    form.is_valid()
    try:
        number = _target(request, form.cleaned_data["number"])
        entry = entry_for_number(number)
        entry = check_void_doc_number(request.user, entry, form.cleaned_data["reason"])
    except Refusal as error:
        _add_error(form, error)
        return _page(request, ledger, {"void": form, "refusal": error}, error.status)
    messages.success(request, f"已作废 {entry.number}，原公文不再有文号。")
    return _back_to(number.code, number.year)


@login_required
@require_POST
def blank_view(request: HttpRequest) -> HttpResponse:
    ledger = _current_ledger(request, request.POST)
    form = BlankForm(request.POST)
    form.is_valid()
    try:
        number = _target(request, form.cleaned_data["number"])
        entry = check_mark_blank(request.user, number.code, number.year, number.seq, form.cleaned_data["reason"])
    except Refusal as error:
        _add_error(form, error)
        return _page(request, ledger, {"blank": form, "refusal": error}, error.status)
    messages.success(request, f"已登记空号 {entry.number}。")
    return _back_to(number.code, number.year)


@login_required
@require_POST
def backfill_view(request: HttpRequest) -> HttpResponse:
    ledger = _current_ledger(request, request.POST)
    awaiting = list(documents_awaiting_number(request.user, ledger.agency)) if ledger.can_keep else []
    form = BackfillForm(request.POST, documents=awaiting)
    form.is_valid()
    try:
        document_id = form.cleaned_data.get("document")
        if not document_id:
            # A tampered or stale choice is not a valid choice either: same message.
            raise Refusal("document_required", "请选择要补号的公文（已签发、尚无文号）")
        number = _target(request, form.cleaned_data["number"])
        document = access_document_by_id(request.user, document_id)
        entry = check_backfill_doc_number(request.user, document, number.code, number.year, number.seq,
                                          form.cleaned_data["reason"])
    except Refusal as error:
        _add_error(form, error)
        return _page(request, ledger, {"backfill": form, "refusal": error}, error.status)
    messages.success(request, f"已为“{document.title}”补号 {entry.number}。")
    return _back_to(number.code, number.year)


@login_required
@require_POST
def allocate_view(request: HttpRequest) -> HttpResponse:
    ledger = _current_ledger(request, request.POST)
    try:
        document_id = int(request.POST.get("document") or 0)
    except ValueError:
        document_id = 0
    document = access_document_by_id(request.user, document_id)
    try:
        entry = check_allocate_doc_number(request.user, document, code=ledger.code)
    except Refusal as error:
        return _page(request, ledger, {"allocate_error": error, "refusal": error}, error.status)
    messages.success(request, f"已编号：“{document.title}” {entry.number}。")
    return _back_to(entry.sequence.code, entry.sequence.year)


urlpatterns = [
    path("numbering/", ledger_page, name="numbering"),
    path("numbering/allocate", allocate_view, name="numbering_allocate"),
    path("numbering/void", void_view, name="numbering_void"),
    path("numbering/blank", blank_view, name="numbering_blank"),
    path("numbering/backfill", backfill_view, name="numbering_backfill"),
]


# ---------------------------------------------------------------- API (/api/documents/numbering/…)


# Plain strings, not an enum: "state" is also the name of other APIs' enums and the schema must not merge them.
STATE_HELP = "assigned 已使用 / voided 作废 / blank 空号 / backfilled 补号"


class SkippedNumberSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    number = serializers.CharField()
    state = serializers.CharField(help_text=STATE_HELP)
    reason = serializers.CharField()
    actor = serializers.CharField(help_text="经办人姓名")
    at = serializers.DateTimeField(help_text="登记时间")
    document_id = serializers.IntegerField(allow_null=True, help_text="作废前使用该号的公文（空号为 null）")


class NumberCountsSerializer(serializers.Serializer):
    assigned = serializers.IntegerField(help_text="已使用")
    voided = serializers.IntegerField(help_text="作废")
    blank = serializers.IntegerField(help_text="空号")
    backfilled = serializers.IntegerField(help_text="补号")


class GapReportSerializer(serializers.Serializer):
    agency = serializers.CharField(help_text="机关全称")
    code = serializers.CharField(help_text="机关代字")
    year = serializers.IntegerField()
    last = serializers.IntegerField(help_text="已编至的顺序号")
    counts = NumberCountsSerializer()
    gaps = serializers.ListField(child=serializers.IntegerField(), help_text="1..last 中台账里没有记录的顺序号")
    voided = SkippedNumberSerializer(many=True)
    blank = SkippedNumberSerializer(many=True)


class EntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    code = serializers.CharField(source="sequence.code")
    year = serializers.IntegerField(source="sequence.year")
    seq = serializers.IntegerField()
    state = serializers.CharField(help_text=STATE_HELP)
    document_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    actor = serializers.CharField(source="actor.name")
    updated_at = serializers.DateTimeField()


class LedgerSerializer(serializers.Serializer):
    agency = serializers.CharField()
    code = serializers.CharField()
    year = serializers.IntegerField()
    last = serializers.IntegerField()
    entries = EntrySerializer(many=True)


class AllocateRequestSerializer(serializers.Serializer):
    document = serializers.IntegerField(help_text="公文编号（id）")
    code = serializers.CharField(required=False, help_text="机关代字，省略时用本机关代字")
    year = serializers.IntegerField(required=False, help_text="年份，省略时为本年（北京时间）")


class NumberActRequestSerializer(serializers.Serializer):
    number = serializers.CharField(help_text=NUMBER_HELP)
    reason = serializers.CharField(allow_blank=True, help_text="原因（必填，最多300字）")


class BackfillRequestSerializer(NumberActRequestSerializer):
    document = serializers.IntegerField(help_text="补号的公文编号（id）")


def _errors(*codes: int) -> dict:
    return {c: OpenApiResponse(ErrorSerializer) for c in codes}


class GapReportApi(APIView):
    @extend_schema(operation_id="numbering_gaps", summary="文号空缺报告（每个机关代字和年份）",
                   responses={200: GapReportSerializer, **_errors(401, 404)})
    def get(self, request, code: str, year: int):
        ledger = access_ledger(request.user, code, year)
        return Response({"agency": ledger.agency.name, **gap_report(code, year).as_dict()})


class LedgerApi(APIView):
    @extend_schema(operation_id="numbering_ledger", summary="文号台账", responses={200: LedgerSerializer, **_errors(401, 404)})
    def get(self, request, code: str, year: int):
        ledger = access_ledger(request.user, code, year)
        body = {
            "agency": ledger.agency.name, "code": code, "year": year,
            "last": ledger.sequence.last if ledger.sequence else 0,
            "entries": EntrySerializer(ledger_entries(ledger.sequence), many=True).data,
        }
        return Response(body)


def _parsed(serializer_class: type[serializers.Serializer], request) -> dict:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _api_target(request, text: str) -> DocNumber:
    number = doc_number_from_text(text)
    access_ledger(request.user, number.code, number.year)  # 404 unless the caller may see that ledger
    return number


class AllocateApi(APIView):
    @extend_schema(operation_id="numbering_allocate", summary="编发文字号（幂等：已有文号的公文返回原文号）",
                   request=AllocateRequestSerializer, responses={201: EntrySerializer, **_errors(400, 401, 403, 404, 409)})
    def post(self, request):
        p = _parsed(AllocateRequestSerializer, request)
        document = access_document_by_id(request.user, p["document"])
        entry = check_allocate_doc_number(request.user, document, code=p.get("code"), year=p.get("year"))
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class VoidApi(APIView):
    @extend_schema(operation_id="numbering_void", summary="作废文号", request=NumberActRequestSerializer,
                   responses={200: EntrySerializer, **_errors(400, 401, 403, 404, 409)})
    def post(self, request):
        p = _parsed(NumberActRequestSerializer, request)
        number = _api_target(request, p["number"])
        entry = check_void_doc_number(request.user, entry_for_number(number), p["reason"])
        return Response(EntrySerializer(entry).data)


class BlankApi(APIView):
    @extend_schema(operation_id="numbering_blank", summary="登记空号", request=NumberActRequestSerializer,
                   responses={201: EntrySerializer, **_errors(400, 401, 403, 404, 409)})
    def post(self, request):
        p = _parsed(NumberActRequestSerializer, request)
        number = _api_target(request, p["number"])
        entry = check_mark_blank(request.user, number.code, number.year, number.seq, p["reason"])
        return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class BackfillApi(APIView):
    @extend_schema(operation_id="numbering_backfill", summary="补号（空缺号或空号）", request=BackfillRequestSerializer,
                   responses={200: EntrySerializer, **_errors(400, 401, 403, 404, 409)})
    def post(self, request):
        p = _parsed(BackfillRequestSerializer, request)
        number = _api_target(request, p["number"])
        document = access_document_by_id(request.user, p["document"])
        entry = check_backfill_doc_number(request.user, document, number.code, number.year, number.seq,
                                          p["reason"])
        return Response(EntrySerializer(entry).data)


api_urlpatterns = [
    path("numbering/allocate", AllocateApi.as_view(), name="api_numbering_allocate"),
    path("numbering/void", VoidApi.as_view(), name="api_numbering_void"),
    path("numbering/blank", BlankApi.as_view(), name="api_numbering_blank"),
    path("numbering/backfill", BackfillApi.as_view(), name="api_numbering_backfill"),
    path("numbering/<str:code>/<int:year>", LedgerApi.as_view(), name="api_numbering_ledger"),
    path("numbering/<str:code>/<int:year>/gaps", GapReportApi.as_view(), name="api_numbering_gaps"),
]
