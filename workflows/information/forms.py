"""Forms of the 信息报送 pages; the actions do the checks that matter (the forms only parse)."""

from __future__ import annotations

from django import forms

from workflows.information.models import Grade, Submission


class RefusalForm(forms.Form):
    REFUSAL_FIELDS: dict[str, str] = {}

    def add_refusal(self, code: str, message: str) -> None:
        self.add_error(self.REFUSAL_FIELDS.get(code), message)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one control (the Django documentation's recipe); the action checks each by content."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


class DraftForm(RefusalForm):
    REFUSAL_FIELDS = {"field_required": None, "category_invalid": "category", "type_mismatch": "attachments",
                      "type_not_allowed": "attachments", "unsupported_type": "attachments",
                      "file_empty": "attachments", "file_too_large": "attachments", "macro_refused": "attachments",
                      "attachments_too_many": "attachments", "image_invalid": "attachments"}

    title = forms.CharField(label="标题", max_length=200, required=False)
    # A CharField: an unknown category reaches the action, which names the valid ones in its refusal.
    category = forms.CharField(label="类别", required=False,
                               widget=forms.Select(choices=[("", "请选择"), *Submission.Category.choices]))
    body = forms.CharField(label="正文", required=False, widget=forms.Textarea(attrs={"rows": 12}))
    attachments = MultipleFileField(label="附件（PDF、OFD、DOCX、PNG、JPEG，可多选）", required=False)
    remove = forms.MultipleChoiceField(label="删除附件", required=False, widget=forms.CheckboxSelectMultiple)
    agency = forms.ChoiceField(label="报送单位", required=False)

    def __init__(self, *args, agencies=(), attachments=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["remove"].choices = [(str(a.pk), a.filename) for a in attachments]
        if len(agencies) > 1:
            self.fields["agency"].choices = [(str(a.pk), a.short_name) for a in agencies]
        else:
            del self.fields["agency"]
        if not attachments:
            del self.fields["remove"]

    def add_refusal(self, code: str, message: str) -> None:
        if message.startswith("附件"):
            self.add_error("attachments", message)
        elif code in ("field_required", "field_too_long", "control_chars"):
            self.add_error("title" if "标题" in message else "body", message)
        else:
            super().add_refusal(code, message)

    def uploads(self) -> list:
        return [f for f in self.cleaned_data.get("attachments") or [] if f]

    def removed(self) -> list[int]:
        return [int(v) for v in self.cleaned_data.get("remove") or []]


class SubmitForm(forms.Form):
    reviewer = forms.ChoiceField(label="审核人")

    def __init__(self, *args, reviewers=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].choices = [(str(p.pk), p.name) for p in reviewers]


class UnitReviewForm(RefusalForm):
    REFUSAL_FIELDS = {"field_required": "note", "field_too_long": "note", "control_chars": "note"}

    decision = forms.ChoiceField(label="审核结果", choices=[("approve", "同意报送"), ("return", "退回修改")],
                                 widget=forms.RadioSelect)
    note = forms.CharField(label="审核意见（退回时必填理由）", required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))


class DeskReviewForm(RefusalForm):
    REFUSAL_FIELDS = {"grade_invalid": "grade"}

    decision = forms.ChoiceField(label="处理结果", choices=[("adopt", "采用"), ("return", "退回修改")],
                                 widget=forms.RadioSelect)
    edited_title = forms.CharField(label="采用标题（可修改）", max_length=200, required=False)
    edited_body = forms.CharField(label="采用正文（可修改，原文另行保留）", required=False,
                                  widget=forms.Textarea(attrs={"rows": 12}))
    grade = forms.CharField(label="采用级别", required=False, widget=forms.RadioSelect(choices=Grade.choices))
    instructed = forms.BooleanField(label="领导批示", required=False)
    instruction_note = forms.CharField(label="批示情况（有批示时必填）", required=False)
    reason = forms.CharField(label="意见（退回时必填理由）", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def add_refusal(self, code: str, message: str) -> None:
        if code in ("field_required", "field_too_long", "control_chars"):
            for label, name in (("采用标题", "edited_title"), ("采用正文", "edited_body"),
                                ("批示情况", "instruction_note")):
                if label in message:
                    self.add_error(name, message)
                    return
            self.add_error("reason", message)
            return
        super().add_refusal(code, message)


class RegradeForm(forms.Form):
    grade = forms.CharField(label="采用级别", widget=forms.RadioSelect(choices=Grade.choices))
    instructed = forms.BooleanField(label="领导批示", required=False)
    instruction_note = forms.CharField(label="批示情况", required=False)


class RuleForm(forms.Form):
    effective_from = forms.DateField(label="生效日期", widget=forms.DateInput(attrs={"type": "date"}))
    district_points = forms.CharField(label="区采用分值", max_length=10)
    city_points = forms.CharField(label="市采用分值", max_length=10)
    province_points = forms.CharField(label="省采用分值", max_length=10)
    instruction_points = forms.CharField(label="领导批示加分", max_length=10)
    note = forms.CharField(label="说明", required=False, max_length=400)


class PeriodForm(forms.Form):
    start = forms.DateField(label="开始日期", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="结束日期", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            if data["end"] < data["start"]:
                raise forms.ValidationError("结束日期不能早于开始日期。")
            if (data["end"] - data["start"]).days > 3 * 366:
                raise forms.ValidationError("统计期间不能超过三年。")
        return data


class DutyAddForm(RefusalForm):
    """Add one person to one duty slot of /information/duties/ (prefix = the slot's key, so ids stay unique)."""

    REFUSAL_FIELDS = {"person_required": "person", "duty_outside_unit": "person", "duty_exists": "person",
                      "person_inactive": "person"}

    # A CharField under a Select: an id outside the picker reaches the action, which refuses it by name.
    person = forms.CharField(label="增加人员", required=False, widget=forms.Select())

    def __init__(self, *args, candidates=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].widget.choices = [("", "请选择本单位人员"),
                                                *[(str(p.pk), p.name) for p in candidates]]
