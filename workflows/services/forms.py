"""Forms of the 零跑动 pages. The application form has no field for anything the system fills in (三不提交)."""

from __future__ import annotations

from django import forms

from oa.models import Agency
from workflows.services.catalogue import (
    ROUTE_ROLES,
    CatalogueError,
    format_materials,
    format_route,
    parse_materials,
    parse_route,
)
from workflows.services.handlers import handler_choices, handler_for
from workflows.services.models import LeaveRecord, ServiceApplication, ServiceItem, SupplyItem

ROLE_CHOICES = [(v, k) for k, v in ROUTE_ROLES.items()]


class RefusalForm(forms.Form):
    REFUSAL_FIELDS: dict[str, str] = {}

    def add_refusal(self, code: str, message: str) -> None:
        name = self.REFUSAL_FIELDS.get(code)
        self.add_error(name if name in self.fields else None, message)


class ItemForm(RefusalForm):
    REFUSAL_FIELDS = {"service_route_unheld": "route_text", "service_intake_unheld": "intake_role",
                      "service_code_taken": "code", "service_classified": "non_classified",
                      "service_instant_with_route": "route_text", "service_time_limit_invalid": "time_limit_days",
                      "service_result_mismatch": "result_type"}

    code = forms.SlugField(label="事项编码", max_length=50, help_text="英文字母、数字、下划线，如 employment_cert")
    name = forms.CharField(label="事项名称", max_length=100)
    handler = forms.ChoiceField(label="办理类型", choices=handler_choices,
                                help_text="决定申请表要填写的内容和办结时产生的结果")
    department = forms.ModelChoiceField(label="主管部门", queryset=None)
    intake_role = forms.ChoiceField(label="受理岗位（一门受理）", choices=ROLE_CHOICES,
                                    help_text="由主管部门中担任该岗位的人员受理")
    legal_basis = forms.CharField(label="设定依据", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    guide = forms.CharField(label="办事指南说明", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    eligible_roles = forms.MultipleChoiceField(label="可申请角色（不选则全体工作人员）", choices=ROLE_CHOICES,
                                               required=False, widget=forms.CheckboxSelectMultiple)
    eligible_agencies = forms.ModelMultipleChoiceField(label="可申请机关（不选则主管部门所在机关）", queryset=None,
                                                       required=False, widget=forms.CheckboxSelectMultiple)
    materials_text = forms.CharField(label="申请材料", required=False, widget=forms.Textarea(attrs={"rows": 5}),
                                     help_text="每行一项：材料名称：来源（通讯录、人事数据、前序结果@事项编码、上传）")
    time_limit_days = forms.IntegerField(label="承诺时限（工作日）", min_value=1, max_value=60)
    route_text = forms.CharField(label="审批路线", required=False, widget=forms.Textarea(attrs={"rows": 4}),
                                 help_text="每行一个环节：环节名称：岗位@范围（申请人部门、主管部门、主管机关）；"
                                           "同一行用 | 分隔的环节并行办理（协作联办）")
    result_type = forms.ChoiceField(label="办理结果", choices=ServiceItem.Result.choices)
    instant = forms.BooleanField(label="即办件（受理即办结）", required=False)
    zero_visit = forms.BooleanField(label="零跑动", required=False, initial=True)
    non_classified = forms.BooleanField(label="非涉密事项", required=False, initial=True)
    is_active = forms.BooleanField(label="上线", required=False, initial=True)

    def __init__(self, *args, departments=None, agencies=None, known_codes=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        self.fields["department"].label_from_instance = lambda d: f"{d.agency.short_name or d.agency.name} · {d.name}"
        self.fields["eligible_agencies"].queryset = agencies if agencies is not None else Agency.objects.all()
        self.known_codes = known_codes

    @staticmethod
    def initial_for(item: ServiceItem) -> dict:
        return {"code": item.code, "name": item.name, "handler": item.handler, "department": item.department_id,
                "intake_role": item.intake_role, "legal_basis": item.legal_basis, "guide": item.guide,
                "eligible_roles": item.eligible_roles, "eligible_agencies": list(item.eligible_agencies.all()),
                "materials_text": format_materials(item.materials), "time_limit_days": item.time_limit_days,
                "route_text": format_route(item.route), "result_type": item.result_type, "instant": item.instant,
                "zero_visit": item.zero_visit, "non_classified": item.non_classified, "is_active": item.is_active}

    def clean_route_text(self):
        try:
            self.cleaned_data["route"] = parse_route(self.cleaned_data["route_text"])
        except CatalogueError as exc:
            raise forms.ValidationError([str(e) for e in exc.errors]) from None
        return self.cleaned_data["route_text"]

    def clean_materials_text(self):
        try:
            self.cleaned_data["materials"] = parse_materials(self.cleaned_data["materials_text"], self.known_codes)
        except CatalogueError as exc:
            raise forms.ValidationError([str(e) for e in exc.errors]) from None
        return self.cleaned_data["materials_text"]


class ApplicationForm(RefusalForm):
    """Only what the applicant alone knows. Fields depend on the item's 办理类型; prefilled values are shown as text."""

    REFUSAL_FIELDS = {"leave_overlap": "start", "leave_beyond_balance": "end", "leave_dates_order": "end",
                      "leave_no_working_day": "end", "leave_too_long": "end", "leave_year_unknown": "start",
                      "supply_out_of_stock": "quantity", "supply_quantity_invalid": "quantity",
                      "supply_invalid": "supply", "field_required": "purpose", "field_too_long": "purpose"}

    def add_refusal(self, code: str, message: str) -> None:
        own = self.plugged.refusal_fields.get(code) if self.plugged is not None else None
        if own in self.fields:  # before the material codes: a kind's own upload field (用印 PDF) takes its errors
            self.add_error(own, message)
            return
        if code.startswith("material_") or code in ("file_empty", "file_too_large", "type_not_allowed",
                                                    "type_mismatch", "type_unknown"):
            self.add_error(None, message)  # which material is named in the message
            return
        super().add_refusal(code, message)

    def __init__(self, *args, item: ServiceItem, applicant=None, amending: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.upload_names, self.previous_names = {}, {}
        handler = item.handler
        self.plugged = handler_for(handler)
        self.extra_names: list[str] = []
        if self.plugged is not None:
            extra = self.plugged.fields(item, applicant, amending)
            self.extra_names = list(extra)
            self.fields.update(extra)
        elif handler == ServiceItem.Handler.LEAVE:
            self.fields["leave_kind"] = forms.ChoiceField(label="假别", choices=LeaveRecord.Kind.choices)
            self.fields["start"] = forms.DateField(label="开始日期", widget=forms.DateInput(attrs={"type": "date"}))
            self.fields["end"] = forms.DateField(label="结束日期", widget=forms.DateInput(attrs={"type": "date"}))
            self.fields["purpose"] = forms.CharField(label="请假事由", required=False, max_length=500)
        elif handler == ServiceItem.Handler.SUPPLIES:
            supplies = SupplyItem.objects.filter(agency=item.department.agency).order_by("name")
            self.fields["supply"] = forms.TypedChoiceField(
                label="物品", coerce=int, choices=[("", "请选择")] + [
                    (s.pk, f"{s.name}（库存 {s.stock}{s.unit}）") for s in supplies])
            self.fields["quantity"] = forms.IntegerField(label="数量", min_value=1, max_value=1000)
            self.fields["purpose"] = forms.CharField(label="用途", required=False, max_length=500)
        else:
            label = "用途（证明交何处、作何用）" if handler.endswith("_cert") else "申请事由"
            self.fields["purpose"] = forms.CharField(label=label, max_length=500,
                                                     widget=forms.Textarea(attrs={"rows": 3}))
        for i, material in enumerate(item.materials):
            if material["source"] == "upload":
                key = f"material_{i}"
                self.upload_names[key] = material["name"]
                self.fields[key] = forms.FileField(
                    label=material["name"] + ("（不重新上传则保留原文件）" if amending else ""), required=not amending,
                    help_text="PDF、OFD、PNG、JPEG 或 DOCX，不超过 20 MB")
            elif material["source"] == "previous" and applicant is not None:
                key = f"previous_{i}"
                self.previous_names[key] = material["name"]
                done = ServiceApplication.objects.filter(applicant=applicant, item__code=material["field"],
                                                         status=ServiceApplication.Status.DONE).select_related("item")
                self.fields[key] = forms.TypedChoiceField(
                    label=material["name"], coerce=int, choices=[("", "请选择已办结的办件")] + [
                        (a.pk, f"{a.item.name} {a.number}") for a in done])

    def extra(self) -> dict:
        """The plugged-in 办理类型's own fields (handlers.py), by name."""
        return {name: self.cleaned_data.get(name) for name in self.extra_names}

    def uploads(self) -> dict:
        return {name: self.cleaned_data[key] for key, name in self.upload_names.items() if self.cleaned_data.get(key)}

    def previous(self) -> dict:
        return {name: self.cleaned_data.get(key) for key, name in self.previous_names.items()}


class DecisionForm(RefusalForm):
    REFUSAL_FIELDS = {"field_required": "opinion", "field_too_long": "opinion"}

    decision = forms.ChoiceField(label="办理结果", widget=forms.RadioSelect)
    opinion = forms.CharField(label="办理意见", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="不同意或不予受理时必须说明理由")

    def __init__(self, *args, choices, final_fields: dict | None = None, final_refusals: dict | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = list(choices.items())
        self.final_names = list(final_fields or {})
        self.fields.update(final_fields or {})  # a 办理类型's final step (派车: vehicle, driver)
        self.REFUSAL_FIELDS = {**self.REFUSAL_FIELDS, **{code: name for code, name in (final_refusals or {}).items()
                                                         if name in self.final_names}}

    def final(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.final_names}


class AmendReturnForm(RefusalForm):
    REFUSAL_FIELDS = {"reason_required": "reason", "reason_too_long": "reason"}

    reason = forms.CharField(label="需补正的内容", max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="写清楚申请人要改什么；补正后直接回到本环节")


class RatingForm(RefusalForm):
    REFUSAL_FIELDS = {"field_required": "comment", "rating_invalid": "rating"}

    rating = forms.TypedChoiceField(label="评价", coerce=int, widget=forms.RadioSelect,
                                    choices=[(5, "5 分 非常满意"), (4, "4 分 满意"), (3, "3 分 基本满意"),
                                             (2, "2 分 不满意"), (1, "1 分 非常不满意")])
    comment = forms.CharField(label="评价意见", required=False, max_length=500,
                              help_text="2 分及以下请写明原因，主管部门会看到")


class LeaveCloseForm(RefusalForm):
    REFUSAL_FIELDS = {"leave_return_date": "returned_on", "leave_return_future": "returned_on"}

    returned_on = forms.DateField(label="返岗日期", widget=forms.DateInput(attrs={"type": "date"}))


class HrImportForm(forms.Form):
    file = forms.FileField(label="人事财务数据文件（.csv 或 .xlsx）")


class RestockForm(forms.Form):
    quantity = forms.IntegerField(label="入库数量", min_value=1, max_value=100000)
