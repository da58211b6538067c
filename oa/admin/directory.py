import copy
import functools

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.template.response import TemplateResponse

from oa.actions.delegation import check_handover
from oa.actions.directory import (
    check_assign_role,
    check_change_role,
    check_reset_password,
    do_appoint,
    do_create_agency,
    do_create_department,
    do_create_person,
    do_create_post,
    do_delete_post,
    do_disable_person,
    do_enable_person,
    do_end_appointment,
    do_revoke_role,
    do_update_agency,
    do_update_department,
    do_update_person,
    do_update_post,
)
from oa.admin.auth import reset_two_factor
from oa.http import client_ip
from oa.models import Agency, Appointment, Department, PasswordHistory, Person, Post, RoleAssignment
from oa.refusals import Refusal
from oa.selectors.directory import validate_role_assignment

# The admin writes through the directory actions (docs/architecture.md, 写入路径): every save is audited with
# "via": "admin" and runs the same checks as any other caller. Agencies, departments and people are never
# deleted (documents and the audit log keep pointing at them): they are deactivated.
VIA = "admin"


def _adopt(obj, saved) -> None:
    """The admin goes on with its own instance (redirect, change message): give it the saved row's identity."""
    obj.pk = saved.pk
    obj._state.adding = False
    obj._state.db = saved._state.db


class ActionAdmin(admin.ModelAdmin):
    """Deletes, single or bulk ("删除所选"), go through delete_model, hence through an action."""

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class NoDeleteAdmin(ActionAdmin):
    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Agency)
class AgencyAdmin(NoDeleteAdmin):
    list_display = ["name", "short_name", "doc_code", "uscc", "kind", "parent", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "short_name", "doc_code", "uscc"]

    def save_model(self, request, obj: Agency, form, change: bool) -> None:
        if change:
            do_update_agency(actor=request.user, via=VIA, agency=obj, changed=form.changed_data)
        else:
            do_create_agency(actor=request.user, via=VIA, agency=obj)


@admin.register(Department)
class DepartmentAdmin(NoDeleteAdmin):
    list_display = ["name", "agency", "parent", "sort_order", "is_active"]
    list_filter = ["agency", "is_active"]
    search_fields = ["name", "agency__name"]
    autocomplete_fields = ["agency", "parent"]

    def save_model(self, request, obj: Department, form, change: bool) -> None:
        if change:
            do_update_department(actor=request.user, via=VIA, department=obj, changed=form.changed_data)
        else:
            do_create_department(actor=request.user, via=VIA, department=obj)


@admin.register(Post)
class PostAdmin(ActionAdmin):
    list_display = ["name", "level"]
    search_fields = ["name"]

    def save_model(self, request, obj: Post, form, change: bool) -> None:
        if change:
            do_update_post(actor=request.user, via=VIA, post=obj, changed=form.changed_data)
        else:
            do_create_post(actor=request.user, via=VIA, post=obj)

    def delete_model(self, request, obj: Post) -> None:
        do_delete_post(actor=request.user, via=VIA, post=obj)


class RoleAssignmentForm(forms.ModelForm):
    """Refuses what check_assign_role would refuse, as a form error (the admin cannot show one after saving)."""

    class Meta:
        model = RoleAssignment
        fields = ["person", "role", "agency", "department"]

    def clean(self):
        data = super().clean()
        if data.get("role") and data.get("agency"):
            try:
                person = data.get("person") or (self.instance.person if self.instance.person_id else None)
                validate_role_assignment(role=data["role"], agency=data["agency"], department=data.get("department"),
                                         person=person, replacing_id=self.instance.pk)
            except Refusal as exc:  # shown on the form (or the person page's inline row), not as a refusal page
                raise forms.ValidationError(exc.message, code=exc.code) from exc
        return data


def save_role_assignment(request, obj: RoleAssignment, changed: list[str], change: bool) -> None:
    scope = {"role": obj.role, "agency": obj.agency, "department": obj.department}
    if not change:
        _adopt(obj, check_assign_role(actor=request.user, via=VIA, person=obj.person, **scope))
    elif changed:
        old = RoleAssignment.objects.get(pk=obj.pk)
        _adopt(obj, check_change_role(actor=request.user, via=VIA, assignment=old, **scope))


def save_appointment(request, obj: Appointment, changed: list[str], change: bool) -> None:
    if change and {"person", "department", "post"} & set(changed):
        do_end_appointment(actor=request.user, via=VIA, appointment=Appointment.objects.get(pk=obj.pk))
        change = False
    if not change or "is_primary" in changed:
        _adopt(obj, do_appoint(actor=request.user, via=VIA, person=obj.person, department=obj.department,
                               post=obj.post, primary=obj.is_primary))


class AppointmentInline(admin.TabularInline):
    model = Appointment
    extra = 0
    autocomplete_fields = ["department", "post"]
    fields = ["department", "post", "is_primary", "source"]
    readonly_fields = ["source"]


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    form = RoleAssignmentForm
    extra = 0
    autocomplete_fields = ["agency", "department"]
    fields = ["role", "agency", "department", "source"]
    readonly_fields = ["source"]


class PersonPasswordForm(AdminPasswordChangeForm):
    """The stock "change password" form of the person admin; saving is the reset action (audited, old hash kept
    in the history, a change forced at the next login). clean() already ran the same validators."""

    def __init__(self, user: Person, *args, actor: Person, **kwargs) -> None:
        super().__init__(user, *args, **kwargs)
        self.actor = actor

    def save(self, commit: bool = True) -> Person:
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        check_reset_password(actor=self.actor, via=VIA, person=self.user, new_password=password)
        return self.user


@admin.register(Person)
class PersonAdmin(UserAdmin):
    list_display = ["username", "name", "mobile", "source", "is_active", "locked_until"]
    list_filter = ["source", "is_active", "is_staff"]
    search_fields = ["username", "name", "mobile"]
    ordering = ["id"]
    inlines = [AppointmentInline, RoleAssignmentInline]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("基本信息", {"fields": ("name", "email", "mobile")}),
        (
            "账号状态",
            {
                "fields": (
                    "is_active",
                    "disabled_reason",
                    "must_change_password",
                    "failed_login_count",
                    "locked_until",
                    "source",
                    "external_id",
                    "external_dn",
                )
            },
        ),
        # Not Django's groups/user_permissions: access comes from RoleAssignment (the inline below).
        ("权限", {"fields": ("is_staff", "is_superuser")}),
        ("时间", {"fields": ("last_login", "date_joined", "password_changed_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "name", "password1", "password2")}),)
    filter_horizontal = ()
    actions = ["handover", "reset_two_factor"]
    # Bookkeeping the system keeps; editable, they would be rewritten (seconds only) and audited on every save.
    readonly_fields = ["last_login", "date_joined", "password_changed_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # people are disabled (is_active), never deleted

    def user_change_password(self, request, id, form_url=""):
        """The stock page, its form bound to the administrator who saves it. The admin instance is shared by
        every request, so the binding goes on a copy made for this one."""
        bound = copy.copy(self)
        bound.change_password_form = functools.partial(PersonPasswordForm, actor=request.user)
        return super(PersonAdmin, bound).user_change_password(request, id, form_url)

    def save_model(self, request, obj: Person, form, change: bool) -> None:
        if not change:
            # The add form set the password the administrator typed: a temporary one, like a reset.
            obj.must_change_password = obj.has_usable_password()
            do_create_person(actor=request.user, via=VIA, person=obj,
                             detail={"must_change_password": obj.must_change_password})
            return
        changed = list(form.changed_data)
        if "is_active" in changed:
            changed = [n for n in changed if n not in {"is_active", "disabled_reason"}]
            if obj.is_active:
                do_enable_person(actor=request.user, via=VIA, person=obj, reason="管理员启用")
            else:
                do_disable_person(actor=request.user, via=VIA, person=obj, reason=obj.disabled_reason or "管理员停用")
        do_update_person(actor=request.user, via=VIA, person=obj, changed=changed)

    def save_formset(self, request, form, formset, change: bool) -> None:
        """Inline appointments and role grants: each one through its action (checked and audited)."""
        save = {Appointment: save_appointment, RoleAssignment: save_role_assignment}.get(formset.model)
        if save is None:
            raise NotImplementedError(f"no action for inline {formset.model.__name__}")
        formset.save(commit=False)  # builds the instances; writes nothing
        for obj in formset.deleted_objects:
            if isinstance(obj, Appointment):
                do_end_appointment(actor=request.user, via=VIA, appointment=obj)
            else:
                do_revoke_role(actor=request.user, via=VIA, assignment=obj)
        for obj in formset.new_objects:
            save(request, obj, [], False)
        for obj, changed in formset.changed_objects:
            save(request, obj, changed, True)

    @admin.action(description="重置二次验证：删除所选人员的验证设备，下次登录重新绑定")
    def reset_two_factor(self, request, queryset) -> None:
        reset_two_factor(self, request, queryset)

    @admin.action(description="工作交接：移交所选人员的全部未办结工作")
    def handover(self, request, queryset):
        form = HandoverForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            target = form.cleaned_data["target"]
            for source in queryset:
                try:
                    moved = check_handover(
                        actor=request.user,
                        source=source,
                        target=target,
                        reason=form.cleaned_data["reason"],
                        ip=client_ip(request),
                        via=VIA,
                    )
                except Refusal as exc:  # the others in the selection are still handed over
                    self.message_user(request, f"{source}：{exc.message}", messages.ERROR)
                    continue
                summary = "，".join(f"{m.label} {m.moved} 项" for m in moved) or "无未办结工作"
                self.message_user(request, f"{source} → {target}：{summary}")
            return None
        return TemplateResponse(
            request,
            "admin/oa/handover.html",
            {
                **self.admin_site.each_context(request),
                "title": "工作交接",
                "people": queryset,
                "form": form,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


class HandoverForm(forms.Form):
    target = forms.ModelChoiceField(label="接收人", queryset=Person.objects.filter(is_active=True).order_by("name"))
    reason = forms.CharField(label="交接原因", max_length=200, initial="工作调动")


@admin.register(Appointment)
class AppointmentAdmin(ActionAdmin):
    list_display = ["person", "department", "post", "is_primary", "source"]
    list_filter = ["is_primary", "source"]
    search_fields = ["person__name", "department__name"]
    autocomplete_fields = ["person", "department", "post"]
    readonly_fields = ["source"]

    def save_model(self, request, obj: Appointment, form, change: bool) -> None:
        save_appointment(request, obj, form.changed_data, change)

    def delete_model(self, request, obj: Appointment) -> None:
        do_end_appointment(actor=request.user, via=VIA, appointment=obj)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ActionAdmin):
    form = RoleAssignmentForm
    list_display = ["person", "role", "agency", "department", "source"]
    list_filter = ["role", "agency"]
    search_fields = ["person__name"]
    autocomplete_fields = ["person", "agency", "department"]
    readonly_fields = ["source"]

    def save_model(self, request, obj: RoleAssignment, form, change: bool) -> None:
        save_role_assignment(request, obj, form.changed_data, change)

    def delete_model(self, request, obj: RoleAssignment) -> None:
        do_revoke_role(actor=request.user, via=VIA, assignment=obj)


@admin.register(PasswordHistory)
class PasswordHistoryAdmin(admin.ModelAdmin):
    list_display = ["person", "created_at"]
    readonly_fields = ["person", "password", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # written only by the password actions

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
