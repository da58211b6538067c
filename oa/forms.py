"""Input forms of the platform core. Labels, help and error messages are Chinese; rules live in the actions."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts

from oa.models import Person


class LoginForm(forms.Form):
    username = forms.CharField(
        label="用户名",
        max_length=150,
        error_messages={"required": "请输入用户名。"},
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}),
    )
    password = forms.CharField(
        label="密码",
        strip=False,
        max_length=256,
        error_messages={"required": "请输入密码。"},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SetPasswordForm(forms.Form):
    """New password twice. The password rules themselves are applied by oa.actions.auth.check_change_password."""

    new_password1 = forms.CharField(
        label="新密码",
        strip=False,
        max_length=256,
        error_messages={"required": "请输入新密码。"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label="确认新密码",
        strip=False,
        max_length=256,
        error_messages={"required": "请再次输入新密码。"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, person: Person, *args, **kwargs) -> None:
        self.person = person
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = " ".join(password_validators_help_texts())

    def clean(self):
        cleaned = super().clean()
        one, two = cleaned.get("new_password1"), cleaned.get("new_password2")
        if one and two and one != two:
            self.add_error("new_password2", "两次输入的新密码不一致。")
        return cleaned


class PasswordChangeForm(SetPasswordForm):
    """Voluntary change: the current password is asked for first."""

    old_password = forms.CharField(
        label="当前密码",
        strip=False,
        max_length=256,
        error_messages={"required": "请输入当前密码。"},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["old_password", "new_password1", "new_password2"]

    def clean_old_password(self) -> str:
        old = self.cleaned_data["old_password"]
        if not self.person.check_password(old):
            raise forms.ValidationError("当前密码不正确。", code="password_incorrect")
        return old


class OtpCodeForm(forms.Form):
    code = forms.CharField(
        label="6 位验证码",
        error_messages={"required": "请输入验证码。"},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "maxlength": "6",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "")
        if not re.fullmatch(r"\d{6}", code):
            raise forms.ValidationError("验证码应为 6 位数字。", code="invalid")
        return code


class DirectorySearchForm(forms.Form):
    q = forms.CharField(
        label="按姓名或用户名查找",
        max_length=50,
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": "输入姓名，如：张伟"}),
    )


class _PersonIdField(forms.TypedChoiceField):
    """A <select> of people that accepts any id as typed: whether that person may be chosen is the action's rule
    (so a forged id meets the same Chinese refusal, by name, as in the API)."""

    def valid_value(self, value) -> bool:
        return str(value).isdigit()


class DelegationForm(forms.Form):
    """我的 → 委托: what a person types to hand their work to a colleague while away.

    Only the shape is checked here; every rule (overlap, agency, dates, scope) is validate_delegation's, and its
    refusal is shown beside the field it is about (REFUSAL_FIELDS)."""

    delegate = _PersonIdField(
        label="代理人", coerce=int, empty_value=None, error_messages={"required": "请选择代理人。"}
    )
    start_date = forms.DateField(
        label="开始日期", error_messages={"required": "请选择开始日期。", "invalid": "请输入有效的日期。"},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end_date = forms.DateField(
        label="结束日期", error_messages={"required": "请选择结束日期。", "invalid": "请输入有效的日期。"},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    flow_types = forms.MultipleChoiceField(
        label="委托范围", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="不勾选即委托全部工作。",
        error_messages={"invalid_choice": "委托范围无效：%(value)s。"},
    )
    reason = forms.CharField(
        label="委托事由", max_length=200, error_messages={"required": "请填写委托事由。"},
        widget=forms.TextInput(attrs={"placeholder": "如：外出学习、休假"}),
    )

    REFUSAL_FIELDS = {
        "delegation_self": "delegate", "delegation_inactive": "delegate", "delegation_agency": "delegate",
        "delegation_dates": "end_date", "delegation_past": "start_date", "delegation_overlap": "start_date",
        "delegation_reason": "reason", "delegation_scope": "flow_types",
    }

    def __init__(self, *args, candidates: list[Person], scopes: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["delegate"].choices = [("", "请选择")] + [(p.pk, p.get_full_name()) for p in candidates]
        self.fields["flow_types"].choices = scopes

    def add_refusal(self, code: str, message: str) -> None:
        self.add_error(self.REFUSAL_FIELDS.get(code), message)


class AnnouncementForm(forms.Form):
    """通知公告 → 发布. Lengths and required fields here; who may publish what in check_publish_announcement,
    whose refusals are shown beside their field (REFUSAL_FIELDS)."""

    agency = forms.TypedChoiceField(label="发布机关", coerce=int, error_messages={"required": "请选择发布机关。"})
    title = forms.CharField(
        label="标题", max_length=100, error_messages={"required": "请填写标题。", "max_length": "标题不能超过 100 字。"}
    )
    body = forms.CharField(
        label="正文",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="纯文本，最多 5000 字；换行会保留。",
        error_messages={"required": "请填写正文。", "max_length": "正文不能超过 5000 字。"},
    )
    district_wide = forms.BooleanField(label="全区可见（各机关人员都能看到）", required=False)
    pinned = forms.BooleanField(label="置顶", required=False)
    expires_on = forms.DateField(
        label="有效期至（可不填）",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="过了这一天，工作台不再显示。",
        error_messages={"invalid": "请输入正确的日期。"},
    )

    REFUSAL_FIELDS = {
        "announcement_forbidden": "agency",
        "announcement_title": "title",
        "announcement_body": "body",
        "announcement_scope": "district_wide",
        "announcement_expiry": "expires_on",
    }

    def __init__(self, *args, agencies, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.agencies = {a.pk: a for a in agencies}
        self.fields["agency"].choices = [(a.pk, a.name) for a in agencies]
        if len(self.agencies) == 1:
            self.fields["agency"].initial = next(iter(self.agencies))
        self.offers_district = any(a.kind == "office" for a in agencies)
        if not self.offers_district:
            del self.fields["district_wide"]
        else:
            self.fields["district_wide"].initial = True

    def add_refusal(self, code: str, message: str) -> None:
        self.add_error(self.REFUSAL_FIELDS.get(code) if self.REFUSAL_FIELDS.get(code) in self.fields else None,
                       message)
