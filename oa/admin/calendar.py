"""工作日历 admin. Every write goes through oa.actions.calendar, so each change is validated and audited.

- 日历年度: the year with its days inline; a page to import a year file (the format of docs/calendar.md);
  actions to export a year as text and to reload the shipped official schedule.
- 节假日与调休: single days, for a quick correction.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from oa.actions.calendar import (
    CalendarImportError,
    do_delete_calendar_day,
    do_delete_calendar_year,
    do_import_calendar_text,
    do_load_official_calendars,
    do_save_calendar_day,
    do_save_calendar_year,
)
from oa.http import client_ip
from oa.models import CalendarDay, CalendarYear
from oa.selectors.calendar import (
    MAX_YEAR,
    MIN_YEAR,
    CalendarFormatError,
    YearSchedule,
    check_calendar_day,
    format_calendar_text,
    official_calendar_files,
    parse_calendar_text,
    stored_schedule,
)


def _actor(request: HttpRequest):
    return request.user if request.user.is_authenticated else None


class CalendarDayInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        year = self.instance.year
        if not year:
            return
        for form in self.forms:
            if not getattr(form, "cleaned_data", None) or form.cleaned_data.get("DELETE"):
                continue
            date, kind = form.cleaned_data.get("date"), form.cleaned_data.get("kind")
            if date and kind:
                try:
                    check_calendar_day(year, date, kind)
                except ValidationError as exc:
                    form.add_error("date", exc)


class CalendarYearForm(forms.ModelForm):
    """The year range do_save_calendar_year refuses, as a form error before anything is saved."""

    class Meta:
        model = CalendarYear
        fields = ["year", "source"]

    def clean_year(self):
        year = self.cleaned_data.get("year")
        if year is not None and not MIN_YEAR <= year <= MAX_YEAR:
            raise ValidationError(f"年份应在{MIN_YEAR}到{MAX_YEAR}之间", code="bad_year")
        return year


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    formset = CalendarDayInlineFormSet
    fields = ["date", "kind", "name"]
    extra = 1


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    form = CalendarYearForm
    list_display = ["year", "source", "holiday_count", "workday_count", "updated_at"]
    search_fields = ["source"]
    inlines = [CalendarDayInline]
    actions = ["export_text", "reload_official"]
    change_list_template = "admin/oa/calendaryear/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _holidays=Count("days", filter=Q(days__kind=CalendarDay.Kind.HOLIDAY)),
                _workdays=Count("days", filter=Q(days__kind=CalendarDay.Kind.WORKDAY)),
            )
        )

    @admin.display(description="放假天数", ordering="_holidays")
    def holiday_count(self, obj: CalendarYear) -> int:
        return obj._holidays

    @admin.display(description="调休上班天数", ordering="_workdays")
    def workday_count(self, obj: CalendarYear) -> int:
        return obj._workdays

    def get_readonly_fields(self, request, obj=None):
        # The year is the natural key the days hang on; to move a schedule, import it under the right year.
        return ["year"] if obj is not None else []

    def save_model(self, request, obj: CalendarYear, form, change: bool) -> None:
        saved = do_save_calendar_year(
            actor=_actor(request), year=obj.year, source=obj.source, ip=client_ip(request)
        )
        obj.pk, obj.updated_at = saved.pk, saved.updated_at

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is not CalendarDay:
            return super().save_formset(request, form, formset, change)
        actor, ip = _actor(request), client_ip(request)
        formset.save(commit=False)  # fills deleted_objects, changed_objects and new_objects; writes nothing
        for day in formset.deleted_objects:
            do_delete_calendar_day(actor=actor, day=day, ip=ip)
        for day in [*(obj for obj, _ in formset.changed_objects), *formset.new_objects]:
            if day.pk:
                original = CalendarDay.objects.filter(pk=day.pk).first()
                if original is not None and original.date != day.date:
                    do_delete_calendar_day(actor=actor, day=original, ip=ip)
            do_save_calendar_day(
                actor=actor, calendar_year=form.instance, date=day.date, kind=day.kind, name=day.name, ip=ip
            )

    def delete_model(self, request, obj: CalendarYear) -> None:
        do_delete_calendar_year(actor=_actor(request), calendar_year=obj, ip=client_ip(request))

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    # --- actions --------------------------------------------------------------------------------------

    @admin.action(description="导出所选年度为文本（可编辑后重新导入）")
    def export_text(self, request, queryset) -> HttpResponse:
        text = "\n".join(format_calendar_text(stored_schedule(cy)) for cy in queryset.order_by("year"))
        years = "-".join(str(y) for y in queryset.order_by("year").values_list("year", flat=True))
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="calendar-{years}.txt"'
        return response

    @admin.action(description="用系统内置的官方安排替换所选年度", permissions=["change"])
    def reload_official(self, request, queryset) -> None:
        wanted = set(queryset.values_list("year", flat=True))
        shipped: dict[int, YearSchedule] = {}
        for data_file in official_calendar_files():
            for schedule in parse_calendar_text(data_file.read_text(encoding="utf-8")):
                shipped[schedule.year] = schedule
        missing = sorted(wanted - shipped.keys())
        if missing:
            self.message_user(
                request, f"系统没有内置以下年度的安排：{'、'.join(map(str, missing))}", messages.WARNING
            )
        if wanted & shipped.keys():
            results = do_load_official_calendars(actor=_actor(request), replace=True, years=wanted)
            for result in results:
                self.message_user(request, str(result), messages.SUCCESS)

    # --- import page ----------------------------------------------------------------------------------

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_import"
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name=name),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = CalendarImportForm(request.POST or None, request.FILES or None)
        errors: list[str] = []
        if request.method == "POST" and form.is_valid():
            try:
                results = do_import_calendar_text(
                    actor=_actor(request),
                    text=form.text(),
                    year=form.cleaned_data["year"],
                    replace=form.cleaned_data["replace"],
                    origin=form.origin(),
                    ip=client_ip(request),
                )
            except CalendarFormatError as exc:
                errors = [str(e) for e in exc.errors]
            except CalendarImportError as exc:
                errors = [str(exc)]
            else:
                for result in results:
                    self.message_user(request, f"导入成功：{result}", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:oa_calendaryear_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "导入节假日安排",
            "form": form,
            "errors": errors,
        }
        return TemplateResponse(request, "admin/oa/calendaryear/import.html", context)


class CalendarImportForm(forms.Form):
    file = forms.FileField(label="日历文件", required=False, help_text="UTF-8 文本文件，格式见 docs/calendar.md")
    content = forms.CharField(
        label="或直接粘贴内容",
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "cols": 90, "style": "font-family: monospace"}),
        help_text="例如：年份 2027 依据 国务院办公厅关于2027年部分节假日安排的通知 / 2027-01-01 放假 元旦",
    )
    year = forms.IntegerField(label="年份", required=False, help_text="只导入该年份；内容没有“年份”行时必填")
    replace = forms.BooleanField(label="替换该年度已有的日历", required=False)

    def clean(self):
        data = super().clean()
        upload = data.get("file")
        if upload:
            try:
                data["_text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ValidationError("文件不是 UTF-8 编码的文本。") from exc
        elif data.get("content", "").strip():
            data["_text"] = data["content"]
        else:
            raise ValidationError("请上传文件或粘贴内容。")
        return data

    def text(self) -> str:
        return self.cleaned_data["_text"]

    def origin(self) -> str:
        upload = self.cleaned_data.get("file")
        return f"管理后台上传：{upload.name}" if upload else "管理后台粘贴"


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ["calendar_year", "date", "kind", "name"]

    def clean(self):
        data = super().clean()
        cy, date, kind = data.get("calendar_year"), data.get("date"), data.get("kind")
        if cy and date and kind:
            try:
                check_calendar_day(cy.year, date, kind)
            except ValidationError as exc:
                self.add_error("date", exc)
        return data


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    form = CalendarDayForm
    list_display = ["date", "weekday", "kind", "name", "calendar_year"]
    list_filter = ["kind", "calendar_year"]
    search_fields = ["name"]
    date_hierarchy = "date"

    @admin.display(description="星期")
    def weekday(self, obj: CalendarDay) -> str:
        return "星期" + "一二三四五六日"[obj.date.weekday()]

    def save_model(self, request, obj: CalendarDay, form, change: bool) -> None:
        actor, ip = _actor(request), client_ip(request)
        if change:
            original = CalendarDay.objects.filter(pk=obj.pk).first()
            if original is not None and original.date != obj.date:
                do_delete_calendar_day(actor=actor, day=original, ip=ip)
        saved = do_save_calendar_day(
            actor=actor, calendar_year=obj.calendar_year, date=obj.date, kind=obj.kind, name=obj.name, ip=ip
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj: CalendarDay) -> None:
        do_delete_calendar_day(actor=_actor(request), day=obj, ip=client_ip(request))

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
