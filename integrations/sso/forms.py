"""Forms of 系统管理员 → 统一身份关联 (/manage/sso/). The rules are the actions'; these only shape the input."""

from __future__ import annotations

from django import forms

from integrations.sso.models import Provider
from oa.forms import _IdField, _RefusalForm
from oa.models import Person

CSV_MAX_BYTES = 1024 * 1024


class IdentitySearchForm(forms.Form):
    q = forms.CharField(label="按统一身份标识、姓名或用户名查找", max_length=100, required=False,
                        widget=forms.SearchInput(attrs={"placeholder": "如：张伟 或 标识的一部分"}))
    provider = forms.ChoiceField(label="认证方式", required=False,
                                 choices=[("", "全部"), *Provider.choices])


class LinkForm(_RefusalForm):
    person = _IdField(label="人员", error_messages={"required": "请选择人员。"},
                      help_text="只列出管理范围内在职的人员。")
    provider = forms.ChoiceField(label="认证方式", choices=[("", "请选择"), *Provider.choices],
                                 error_messages={"required": "请选择认证方式。",
                                                 "invalid_choice": "认证方式只能是 OpenID Connect 或 CAS。"})
    subject = forms.CharField(label="统一身份标识", max_length=255, error_messages={"required": "请填写统一身份标识。"},
                              help_text="省平台给该账号的唯一编号（OIDC 令牌中的用户标识，或 CAS 登录名、所配置的属性值），由省平台提供；不是邮箱。",
                              widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none",
                                                            "spellcheck": "false"}))

    REFUSAL_FIELDS = {
        "sso_subject_required": "subject", "sso_subject_too_long": "subject", "sso_subject_taken": "subject",
        "sso_person_linked": "person", "sso_person_inactive": "person", "manage_out_of_scope": "person",
        "sso_provider_off": "provider", "sso_provider_invalid": "provider",
    }

    def __init__(self, *args, people: list[Person], **kwargs) -> None:
        super().__init__(*args, prefix="link", **kwargs)
        self.fields["person"].choices = [("", "请选择")] + [(p.pk, f"{p.get_full_name()}（{p.username}）")
                                                          for p in people]


class ImportForm(_RefusalForm):
    provider = forms.ChoiceField(label="认证方式", choices=[("", "请选择"), *Provider.choices],
                                 error_messages={"required": "请选择认证方式。",
                                                 "invalid_choice": "认证方式只能是 OpenID Connect 或 CAS。"})
    file = forms.FileField(label="CSV 文件", error_messages={"required": "请选择 CSV 文件。",
                                                            "empty": "所选文件是空的。"},
                           help_text="UTF-8 编码，两列：统一身份标识、本系统登录名（表头见下方示例），每行一个。有一行出错则一个都不关联，逐行列出错误。",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))

    REFUSAL_FIELDS = {"sso_provider_off": "provider", "sso_provider_invalid": "provider",
                      "sso_csv_header": "file", "sso_csv_encoding": "file"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, prefix="import", **kwargs)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > CSV_MAX_BYTES:
            raise forms.ValidationError("CSV 文件过大（至多 1 MB），请分批导入。")
        return upload


class UnlinkForm(_RefusalForm):
    reason = forms.CharField(label="解除原因", max_length=200, error_messages={"required": "请填写解除关联的原因。"},
                             widget=forms.TextInput(attrs={"placeholder": "如：调离本区、省平台账号注销"}))

    REFUSAL_FIELDS = {"sso_unlink_reason": "reason"}
