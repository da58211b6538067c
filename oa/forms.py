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


# --- the administrators' pages (/manage/, oa/views/manage.py) ---------------------------------------------------


class _RefusalForm(forms.Form):
    """A refusal of the action is shown beside the field it is about (REFUSAL_FIELDS; else above the form)."""

    REFUSAL_FIELDS: dict[str, str] = {}

    def add_refusal(self, code: str, message: str) -> None:
        self.add_error(self.REFUSAL_FIELDS.get(code), message)


class _IdField(forms.TypedChoiceField):
    """A <select> of objects in the administrator's scope that accepts any id as typed: whether it may be chosen
    is the action's rule, so a forged id meets the same Chinese refusal as a listed one."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("coerce", int)
        kwargs.setdefault("empty_value", None)
        super().__init__(*args, **kwargs)

    def valid_value(self, value) -> bool:
        return str(value).isdigit()


class ManageSearchForm(forms.Form):
    q = forms.CharField(label="按姓名、用户名或手机号查找", max_length=50, required=False,
                        widget=forms.SearchInput(attrs={"placeholder": "如：张伟"}))


class PersonForm(_RefusalForm):
    """系统管理员 → 人员: name, primary department and post, mobile (and, for a new person, login name and a
    temporary password)."""

    username = forms.RegexField(
        label="用户名", max_length=150, regex=r"^[A-Za-z0-9_.@+-]+$",
        error_messages={"required": "请填写用户名。", "invalid": "用户名只能包含字母、数字和 _ . @ + -。"},
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    name = forms.CharField(label="姓名", max_length=50, error_messages={"required": "请填写姓名。"})
    department = _IdField(label="部门", error_messages={"required": "请选择部门。"})
    post = _IdField(label="职务", error_messages={"required": "请选择职务。"})
    mobile = forms.RegexField(
        label="手机号码", max_length=20, required=False, regex=r"^\+?[0-9-]{5,20}$",
        error_messages={"invalid": "请输入有效的电话号码（数字，可带 + 和 -）。"},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    password = forms.CharField(
        label="初始密码", strip=False, max_length=256, error_messages={"required": "请设置初始密码。"},
        help_text="本人首次登录时须修改。", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    REFUSAL_FIELDS = {
        "person_username_taken": "username", "person_name_required": "name", "person_password": "password",
        "manage_department_inactive": "department", "manage_out_of_scope": "department",
    }

    def __init__(self, *args, departments, posts, new: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", "请选择")] + [
            (d.pk, f"{d.agency.short_name} · {d.name}") for d in departments]
        self.fields["post"].choices = [("", "请选择")] + [(p.pk, p.name) for p in posts]
        if not new:
            del self.fields["username"], self.fields["password"]


class ReasonForm(_RefusalForm):
    reason = forms.CharField(label="原因", max_length=200, error_messages={"required": "请填写原因。"})

    REFUSAL_FIELDS = {
        "person_reason_required": "reason", "otp_reset_reason": "reason", "unlock_reason": "reason",
    }


class HandoverForm(_RefusalForm):
    """系统管理员 → 人员 → 工作交接: the receiver (a colleague of the same agency) and why."""

    target = _IdField(label="接收人", error_messages={"required": "请选择接收人。"},
                      help_text="只能选择同一机关在职的人员。")
    reason = forms.CharField(label="交接原因", max_length=200, error_messages={"required": "请填写交接原因。"},
                             widget=forms.TextInput(attrs={"placeholder": "如：工作调动、岗位调整"}))

    REFUSAL_FIELDS = {
        "handover_target_required": "target", "handover_self": "target", "handover_inactive": "target",
        "handover_agency": "target", "handover_reason": "reason",
        # handover_nothing: above the form (it is about the person, not a field)
    }

    def __init__(self, *args, receivers: list[Person], **kwargs) -> None:
        super().__init__(*args, prefix="handover", **kwargs)
        self.fields["target"].choices = [("", "请选择")] + [(p.pk, f"{p.get_full_name()}（{p.username}）")
                                                          for p in receivers]


class PasswordResetForm(_RefusalForm):
    """安全管理员 → 账号安全 → 重置密码: a temporary password typed twice, and why. The rules are the validators'."""

    password1 = forms.CharField(
        label="临时密码", strip=False, max_length=256, error_messages={"required": "请设置临时密码。"},
        help_text="本人下次登录时须修改。请当面或电话告知本人，不要通过即时消息发送。",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="再次输入临时密码", strip=False, max_length=256, error_messages={"required": "请再次输入临时密码。"},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    reason = forms.CharField(label="原因", max_length=200, error_messages={"required": "请填写重置原因。"},
                             widget=forms.TextInput(attrs={"placeholder": "如：本人忘记密码，电话核实身份"}))

    REFUSAL_FIELDS = {
        "password_reset_password": "password1", "password_reset_reason": "reason",
        # self, administrator, directory account, disabled account: above the form
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix="password", **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", "两次输入的密码不一致。")
        return data


class DepartmentForm(_RefusalForm):
    agency = _IdField(label="所属机关", error_messages={"required": "请选择机关。"})
    parent = _IdField(label="上级部门", required=False)
    name = forms.CharField(label="部门名称", max_length=100, error_messages={"required": "请填写部门名称。"})
    sort_order = forms.IntegerField(label="排序", min_value=0, max_value=100000, initial=100,
                                    error_messages={"required": "请填写排序号。", "invalid": "排序号应为整数。",
                                                    "min_value": "排序号不能小于 0。", "max_value": "排序号过大。"})
    is_active = forms.BooleanField(label="启用", required=False, initial=True)

    REFUSAL_FIELDS = {
        "department_name_required": "name", "department_name_taken": "name",
        "department_parent_agency": "parent", "department_parent_cycle": "parent",
        "department_has_members": "is_active", "manage_out_of_scope": "agency",
    }

    def __init__(self, *args, agencies, departments, new: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].choices = [("", "请选择")] + [(a.pk, a.name) for a in agencies]
        self.fields["parent"].choices = [("", "（无，机关下的一级部门）")] + [
            (d.pk, f"{d.agency.short_name} · {d.name}") for d in departments]
        if new:
            del self.fields["is_active"]
        else:
            del self.fields["agency"]  # a department does not move to another agency


class RoleGrantForm(_RefusalForm):
    role = forms.ChoiceField(label="角色", error_messages={"required": "请选择角色。",
                                                        "invalid_choice": "未知角色“%(value)s”。"})
    agency = _IdField(label="机关", error_messages={"required": "请选择机关。"})
    department = _IdField(label="部门（不选即全机关）", required=False)

    REFUSAL_FIELDS = {
        "role_unknown": "role", "role_separation": "role", "role_exists": "role", "role_self": "role",
        "role_inactive": "role", "role_admin_department": "department", "role_scope_mismatch": "department",
        "manage_out_of_scope": "agency",
    }

    def __init__(self, *args, roles, agencies, departments, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", "请选择"), *roles]
        self.fields["agency"].choices = [("", "请选择")] + [(a.pk, a.name) for a in agencies]
        self.fields["department"].choices = [("", "全机关")] + [
            (d.pk, f"{d.agency.short_name} · {d.name}") for d in departments]


class ManageDelegationForm(DelegationForm):
    """安全管理员 → 委托管理: the 我的 → 委托 form with the 委托人 chosen too; the same rules and refusals."""

    principal = _PersonIdField(label="委托人", coerce=int, empty_value=None,
                               error_messages={"required": "请选择委托人。"})
    field_order = ["principal", "delegate", "start_date", "end_date", "flow_types", "reason"]
    REFUSAL_FIELDS = {**DelegationForm.REFUSAL_FIELDS, "manage_out_of_scope": "principal"}

    def __init__(self, *args, principals: list[Person], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["principal"].choices = [("", "请选择")] + [(p.pk, p.get_full_name()) for p in principals]
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
