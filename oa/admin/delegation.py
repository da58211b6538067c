from django import forms
from django.contrib import admin, messages

from oa.actions.delegation import check_create_delegation, do_revoke_delegation
from oa.models import Delegation
from oa.refusals import Refusal
from oa.selectors.delegation import validate_delegation

VIA = "admin"


class DelegationForm(forms.ModelForm):
    """Refuses what check_create_delegation would refuse (overlap, dates, self, disabled delegate) as a form
    error in Chinese; the action checks again under a row lock when saving."""

    class Meta:
        model = Delegation
        fields = ["principal", "delegate", "start_date", "end_date", "flow_types", "reason"]

    def clean(self):
        data = super().clean()
        needed = ("principal", "delegate", "start_date", "end_date")
        if self.instance.pk is None and all(data.get(k) for k in needed):
            try:
                validate_delegation(
                    principal=data["principal"], delegate=data["delegate"], start_date=data["start_date"],
                    end_date=data["end_date"], flow_types=data.get("flow_types") or [],
                    reason=data.get("reason") or "",
                )
            except Refusal as exc:  # shown on the form, with what was typed, instead of a refusal page
                raise forms.ValidationError(exc.message, code=exc.code) from exc
        return data


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    """委托 are granted through check_create_delegation and ended through do_revoke_delegation (both audited,
    "via": "admin"). A granted delegation is history: it is revoked, never edited or deleted."""

    form = DelegationForm
    list_display = ["principal", "delegate", "start_date", "end_date", "scope_label", "revoked_at"]
    list_filter = ["start_date"]
    search_fields = ["principal__name", "delegate__name"]
    autocomplete_fields = ["principal", "delegate"]
    readonly_fields = ["created_by", "created_at", "revoked_at", "revoked_by"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [*DelegationForm.Meta.fields, *self.readonly_fields]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: Delegation, form, change: bool) -> None:
        if change:
            return  # every field is read-only on a granted delegation
        data = form.cleaned_data
        saved = check_create_delegation(
            actor=request.user, principal=data["principal"], delegate=data["delegate"],
            start_date=data["start_date"], end_date=data["end_date"], flow_types=data.get("flow_types") or [],
            reason=data.get("reason") or "", via=VIA,
        )
        obj.pk, obj._state.adding = saved.pk, False

    @admin.action(description="撤销所选委托")
    def revoke(self, request, queryset) -> None:
        count = 0
        for delegation in queryset.filter(revoked_at__isnull=True):
            do_revoke_delegation(actor=request.user, delegation=delegation, via=VIA)
            count += 1
        self.message_user(request, f"已撤销 {count} 项委托。", messages.SUCCESS)
