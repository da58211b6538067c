"""文号序列设置 page (/documents/numbering/series/): the agency's 文书 lists, creates and edits its series (函, 纪要 …,
docs/numbering.md §8). Thin: parse, call ``check_configure_series``, render. Others get 403 (not the 文书 of any
agency) or 404 (a series of an agency they do not keep)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode

from documents.actions.numbering import SERIES_MARK_MAX, SERIES_NAME_MAX, check_configure_series
from documents.models import DocNumberSeries, DocType
from documents.numbering import STANDARD_FORMAT, render_series_number
from documents.selectors.numbering import (
    access_series,
    access_series_agency,
    series_agencies_for,
    series_of_agency,
)
from frontend.widgets import CheckboxGroup
from oa.models import Agency
from oa.refusals import Refusal

FORMAT_HELP = ("用 {代字}、{年}、{号} 组成，必须含年份。函等文种只能用“{代字}〔{年}〕{号}号”；"
               "只用于纪要的序列还可用“〔{年}〕{号}号”或“{年}年第{号}期”。")


class SeriesForm(forms.Form):
    # Not "required": check_configure_series owns the rules and their Chinese messages.
    name = forms.CharField(label="序列名称", required=False, max_length=SERIES_NAME_MAX,
                           help_text="如“区政府办函”“区府办主任办公会议纪要”")
    code = forms.CharField(label="机关代字", required=False, help_text="如“揭东府办函”；已编过号的序列不能再改代字",
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    number_format = forms.CharField(label="文号格式", required=False, initial=STANDARD_FORMAT, help_text=FORMAT_HELP,
                                    widget=forms.TextInput(attrs={"autocomplete": "off"}))
    doc_types = forms.MultipleChoiceField(label="适用文种", required=False, choices=DocType.choices,
                                          widget=CheckboxGroup())
    issuer_mark = forms.CharField(label="纪要标志", required=False, max_length=SERIES_MARK_MAX,
                                  help_text="纪要序列的发文机关标志，以“纪要”结尾，如“揭阳市揭东区人民政府常务会议纪要”；其他文种留空")
    is_active = forms.BooleanField(label="启用", required=False, initial=True)

    def __init__(self, *args, series: DocNumberSeries | None = None, **kwargs) -> None:
        if series is not None and not args and "initial" not in kwargs:
            kwargs["initial"] = {"name": series.name, "code": series.code, "number_format": series.number_format,
                                 "doc_types": list(series.doc_types or []), "issuer_mark": series.issuer_mark,
                                 "is_active": series.is_active}
        super().__init__(*args, **kwargs)

    def clean(self):
        # A too-long value is the action's refusal too; keep what was typed so it is shown back.
        data = super().clean()
        for name in ("name", "issuer_mark"):
            if name in self.errors:
                self.errors.pop(name)
                data[name] = self.data.get(name, "")
        return data


# Which field a refusal belongs beside (the rest are shown above the form).
FIELD_OF_CODE = {
    "series_name_required": "name",
    "series_name_too_long": "name",
    "invalid_code": "code",
    "invalid_doc_number": "code",
    "invalid_year": "number_format",
    "invalid_seq": "number_format",
    "code_of_other_agency": "code",
    "series_code_taken": "code",
    "series_code_in_use": "code",
    "series_doc_types_required": "doc_types",
    "series_doc_types_invalid": "doc_types",
    "series_doc_type_taken": "doc_types",
    "series_format_no_year": "number_format",
    "series_format_invalid": "number_format",
    "series_mark_too_long": "issuer_mark",
    "series_mark_invalid": "issuer_mark",
}


def example_number(series: DocNumberSeries, year: int) -> str:
    """The first number of ``year`` as the series prints it ("" when a legacy row could not print one)."""
    try:
        return render_series_number(series.number_format, series.code, year, 1)
    except (Refusal, ValueError):
        return ""


def _agency_id(value: str | None) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def _page(request: HttpRequest, agency: Agency, form: SeriesForm, *, editing: DocNumberSeries | None = None,
          refusal: Refusal | None = None, status_code: int = 200) -> HttpResponse:
    year = timezone.localdate().year
    labels = dict(DocType.choices)
    rows = [{"series": s, "example": example_number(s, year),
             "doc_types": [labels.get(t, t) for t in (s.doc_types or [])]}
            for s in series_of_agency(agency, active_only=False)]
    context = {
        "agency": agency, "agencies": series_agencies_for(request.user), "rows": rows, "form": form,
        "editing": editing, "refusal": refusal, "year": year,
        "ledger_url": f"{reverse('documents:numbering')}?{urlencode({'code': agency.doc_code, 'year': year})}",
    }
    return render(request, "documents/numbering/series.html", context, status=status_code)


def _save(request: HttpRequest, agency: Agency, series: DocNumberSeries | None) -> HttpResponse:
    form = SeriesForm(request.POST, series=series)
    form.is_valid()
    data = form.cleaned_data
    try:
        saved = check_configure_series(
            request.user, agency, name=data.get("name", ""), code=data.get("code", ""),
            number_format=data.get("number_format", ""), doc_types=list(data.get("doc_types") or []),
            issuer_mark=data.get("issuer_mark", ""), is_active=bool(data.get("is_active")), series=series)
    except Refusal as error:
        name = FIELD_OF_CODE.get(error.code)
        form.add_error(name if name in form.fields else None, error.message)
        return _page(request, agency, form, editing=series, refusal=error, status_code=error.status)
    messages.success(request, f"已{'保存' if series else '新建'}文号序列“{saved.name}”。")
    return redirect(f"{reverse('documents:numbering_series')}?{urlencode({'agency': agency.pk})}")


@login_required
def series_page(request: HttpRequest) -> HttpResponse:
    """GET: the agency's series and an empty form; POST: create a series."""
    source = request.POST if request.method == "POST" else request.GET
    agency = access_series_agency(request.user, _agency_id(source.get("agency")))
    if request.method == "POST":
        return _save(request, agency, None)
    return _page(request, agency, SeriesForm())


@login_required
def series_edit(request: HttpRequest, series_id: int) -> HttpResponse:
    access_series_agency(request.user, None)  # 403 for anyone who is no agency's 文书
    series = access_series(request.user, series_id)
    if request.method == "POST":
        return _save(request, series.agency, series)
    return _page(request, series.agency, SeriesForm(series=series), editing=series)


urlpatterns = [
    path("numbering/series/", series_page, name="numbering_series"),
    path("numbering/series/<int:series_id>/", series_edit, name="numbering_series_edit"),
]
