from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from oa.actions.delegation import check_handover
from oa.http import client_ip
from oa.models import Agency, Appointment, Department, PasswordHistory, Person, Post, RoleAssignment


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "doc_code", "uscc", "kind", "parent", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "short_name", "doc_code", "uscc"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "agency", "parent", "sort_order", "is_active"]
    list_filter = ["agency", "is_active"]
    search_fields = ["name", "agency__name"]
    autocomplete_fields = ["agency", "parent"]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["name", "level"]
    search_fields = ["name"]


class AppointmentInline(admin.TabularInline):
    model = Appointment
    extra = 0
    autocomplete_fields = ["department", "post"]


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    autocomplete_fields = ["agency", "department"]


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
        ("权限", {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")}),
        ("时间", {"fields": ("last_login", "date_joined", "password_changed_at")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "name", "password1", "password2")}),)
    actions = ["handover"]

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
                    )
                except ValidationError as exc:
                    self.message_user(request, f"{source}：{'；'.join(exc.messages)}", messages.ERROR)
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
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["person", "department", "post", "is_primary", "source"]
    list_filter = ["is_primary", "source"]
    search_fields = ["person__name", "department__name"]
    autocomplete_fields = ["person", "department", "post"]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["person", "role", "agency", "department", "source"]
    list_filter = ["role", "agency"]
    search_fields = ["person__name"]
    autocomplete_fields = ["person", "agency", "department"]


@admin.register(PasswordHistory)
class PasswordHistoryAdmin(admin.ModelAdmin):
    list_display = ["person", "created_at"]
    readonly_fields = ["person", "password", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False
