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
