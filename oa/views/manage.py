"""管理: the administrators' own pages (docs/security.md, 三员分立).

系统管理员: 人员管理 (with 工作交接), 部门管理. 安全管理员: 角色管理, 委托管理, 账号安全 (重置密码, 双因素重置,
解锁). 审计管理员: the audit
log (oa/views/audit.py). Thin: each page checks the role (403 otherwise), loads objects through
oa.selectors.manage.access_* (404 outside the scope), and writes through one oa.actions.manage.check_* (audited,
"via": "manage"). A refusal is shown beside its field with what was typed kept.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from oa.actions.manage import (
    check_manage_create_delegation,
    check_manage_create_department,
    check_manage_create_person,
    check_manage_grant_role,
    check_manage_handover,
    check_manage_reset_password,
    check_manage_reset_two_factor,
    check_manage_revoke_delegation,
    check_manage_revoke_role,
    check_manage_set_person_active,
    check_manage_unlock,
    check_manage_update_department,
    check_manage_update_person,
)
from oa.forms import (
    DepartmentForm,
    HandoverForm,
    ManageDelegationForm,
    ManageSearchForm,
    PasswordResetForm,
    PersonForm,
    ReasonForm,
    RoleGrantForm,
)
from oa.http import client_ip
from oa.models import Agency, Department, Person, Post, Role
from oa.refusals import Refusal
from oa.selectors.directory import appointments_of, persons_by_ids, primary_appointment, role_assignments_of
from oa.selectors.manage import (
    access_managed_delegation_by_id,
    access_managed_department_by_id,
    access_managed_person_by_id,
    access_managed_role_assignment_by_id,
    account_security,
    grantable_roles,
    handover_preview,
    handover_receivers,
    manage_sections,
    managed_people,
    open_delegations_managed_by,
    require_admin,
    scope_agencies,
    scope_departments,
)
from oa.work import delegation_scopes


def admin_page(role: str | None) -> Callable:
    """Signed in (the security gate has already asked for 2FA) and holding `role` (None: any of the three)."""

    def decorate(view):
        @wraps(view)
        @never_cache
        @login_required
        def wrapper(request: HttpRequest, *args, **kwargs):
            if role is None:
                if not manage_sections(request.user):
                    raise PermissionDenied("只有系统管理员、安全管理员或审计管理员可以进入管理。")
            else:
                require_admin(request.user, role)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def _search(request: HttpRequest, role: str) -> tuple[ManageSearchForm, str, list[Person]]:
    form = ManageSearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    return form, query, managed_people(request.user, role, query)


def _refused(form, exc: Refusal) -> int:
    form.add_refusal(exc.code, exc.message)
    return exc.status


def _pick(model, pk: int | None, queryset=None):
    """The chosen row, or None (a forged or stale id): the action then refuses it by name or the field says so."""
    if pk is None:
        return None
    return (queryset if queryset is not None else model.objects).filter(pk=pk).first()


def _pick_agency_and_department(form, data: dict, field: str, missing: str):
    """The chosen agency and the optional department under it (field ``field``), or None after saying on the form
    which one no longer exists."""
    agency, department = _pick(Agency, data["agency"]), _pick(Department, data[field])
    if agency is None:
        form.add_error("agency", "请选择机关。")
        return None
    if data[field] is not None and department is None:
        form.add_error(field, missing)
        return None
    return agency, department


@admin_page(None)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "manage/index.html", {"sections": manage_sections(request.user)})


# --- 系统管理员 ------------------------------------------------------------------------------------------------


def _person_form(request: HttpRequest, data=None, *, new: bool, initial=None) -> PersonForm:
    departments = scope_departments(request.user, Role.SYSADMIN).filter(is_active=True)
    return PersonForm(data, initial=initial, departments=departments, posts=Post.objects.all(), new=new)


def _department_and_post(form: PersonForm) -> tuple[Department | None, Post | None]:
    data = form.cleaned_data
    department = _pick(Department, data["department"], Department.objects.select_related("agency"))
    post = _pick(Post, data["post"])
    if department is None:
        form.add_error("department", "请选择部门。")
    if post is None:
        form.add_error("post", "请选择职务。")
    return department, post


@admin_page(Role.SYSADMIN)
def people(request: HttpRequest) -> HttpResponse:
    form, query, results = _search(request, Role.SYSADMIN)
    return render(request, "manage/people.html", {"form": form, "query": query, "results": results})


@sensitive_post_parameters("password")
@admin_page(Role.SYSADMIN)
@require_http_methods(["GET", "POST"])
def person_new(request: HttpRequest) -> HttpResponse:
    form, status = _person_form(request, request.POST or None, new=True), 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            department, post = _department_and_post(form)
            if department and post:
                data = form.cleaned_data
                try:
                    person = check_manage_create_person(
                        actor=request.user, username=data["username"], name=data["name"], mobile=data["mobile"],
                        department=department, post=post, password=data["password"])
                except Refusal as exc:
                    status = _refused(form, exc)
                else:
                    messages.success(request, f"已新增人员 {person.get_full_name()}，首次登录须修改初始密码。")
                    return redirect("manage_person", person.pk)
    return render(request, "manage/person_form.html", {"form": form, "new": True}, status=status)


@admin_page(Role.SYSADMIN)
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, person_id: int, active_form: ReasonForm | None = None,
                handover_form: HandoverForm | None = None, status: int = 200) -> HttpResponse:
    person = access_managed_person_by_id(request.user, Role.SYSADMIN, person_id)
    primary = primary_appointment(person)
    initial = {"name": person.name, "mobile": person.mobile,
               "department": primary and primary.department_id, "post": primary and primary.post_id}
    data = request.POST if request.method == "POST" and active_form is None and handover_form is None else None
    form = _person_form(request, data, new=False, initial=initial)
    if data is not None:
        status = 400
        if form.is_valid():
            department, post = _department_and_post(form)
            if department and post:
                try:
                    changed = check_manage_update_person(
                        actor=request.user, person=person, name=form.cleaned_data["name"],
                        mobile=form.cleaned_data["mobile"], department=department, post=post)
                except Refusal as exc:
                    status = _refused(form, exc)
                else:
                    messages.success(request, "已保存。" if changed else "没有需要保存的修改。")
                    return redirect("manage_person", person.pk)
    context = {"person": person, "form": form, "appointments": appointments_of(person),
               "active_form": active_form or ReasonForm(), "new": False, "handover": handover_preview(person),
               "handover_form": handover_form or HandoverForm(receivers=handover_receivers(request.user, person))}
    return render(request, "manage/person_form.html", context, status=status)


@admin_page(Role.SYSADMIN)
@require_POST
def person_active(request: HttpRequest, person_id: int) -> HttpResponse:
    """停用 / 启用 with a reason."""
    person = access_managed_person_by_id(request.user, Role.SYSADMIN, person_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return person_edit(request, person_id, active_form=form, status=400)
    active = request.POST.get("active") == "1"
    try:
        check_manage_set_person_active(actor=request.user, person=person, active=active,
                                       reason=form.cleaned_data["reason"])
    except Refusal as exc:
        return person_edit(request, person_id, active_form=form, status=_refused(form, exc))
    messages.success(request, f"已{'启用' if active else '停用'} {person.get_full_name()} 的账号。")
    return redirect("manage_person", person.pk)


@admin_page(Role.SYSADMIN)
@require_POST
def person_handover(request: HttpRequest, person_id: int) -> HttpResponse:
    """工作交接: every open item of the person to a colleague of the same agency (the list is on the person page)."""
    person = access_managed_person_by_id(request.user, Role.SYSADMIN, person_id)
    form = HandoverForm(request.POST, receivers=handover_receivers(request.user, person))
    if not form.is_valid():
        return person_edit(request, person_id, handover_form=form, status=400)
    target = _pick(Person, form.cleaned_data["target"])
    if target is None:
        form.add_error("target", "所选接收人不存在。")
        return person_edit(request, person_id, handover_form=form, status=400)
    try:
        moved = check_manage_handover(actor=request.user, source=person, target=target,
                                      reason=form.cleaned_data["reason"], ip=client_ip(request))
    except Refusal as exc:
        return person_edit(request, person_id, handover_form=form, status=_refused(form, exc))
    summary = "，".join(f"{m.label} {m.moved} 项" for m in moved if m.moved)
    messages.success(request, f"已将 {person.get_full_name()} 的未办结工作移交给 {target.get_full_name()}：{summary}。")
    return redirect("manage_person", person.pk)


def _department_form(request: HttpRequest, data=None, *, new: bool, initial=None,
                     department: Department | None = None) -> DepartmentForm:
    departments = scope_departments(request.user, Role.SYSADMIN)
    if department is not None:
        departments = departments.filter(agency_id=department.agency_id).exclude(pk=department.pk)
    return DepartmentForm(data, initial=initial, agencies=scope_agencies(request.user, Role.SYSADMIN),
                          departments=departments, new=new)


@admin_page(Role.SYSADMIN)
@require_http_methods(["GET", "POST"])
def departments(request: HttpRequest) -> HttpResponse:
    """The departments of every agency in scope, and 新增部门."""
    form, status = _department_form(request, request.POST or None, new=True), 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            picked = _pick_agency_and_department(form, data, "parent", "所选上级部门不存在。")
            if picked is not None:
                agency, parent = picked
                try:
                    dept = check_manage_create_department(actor=request.user, agency=agency, parent=parent,
                                                          name=data["name"], sort_order=data["sort_order"])
                except Refusal as exc:
                    status = _refused(form, exc)
                else:
                    messages.success(request, f"已新增部门 {dept.agency.short_name} · {dept.name}。")
                    return redirect("manage_departments")
    agencies = list(scope_agencies(request.user, Role.SYSADMIN))
    by_agency: dict[int, list[Department]] = {}
    for dept in scope_departments(request.user, Role.SYSADMIN):
        by_agency.setdefault(dept.agency_id, []).append(dept)
    groups = [(a, by_agency.get(a.pk, [])) for a in agencies]
    return render(request, "manage/departments.html", {"form": form, "groups": groups}, status=status)


@admin_page(Role.SYSADMIN)
@require_http_methods(["GET", "POST"])
def department_edit(request: HttpRequest, department_id: int) -> HttpResponse:
    department = access_managed_department_by_id(request.user, Role.SYSADMIN, department_id)
    initial = {"name": department.name, "parent": department.parent_id, "sort_order": department.sort_order,
               "is_active": department.is_active}
    form = _department_form(request, request.POST or None, new=False, initial=initial, department=department)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            parent = _pick(Department, data["parent"])
            if data["parent"] is not None and parent is None:
                form.add_error("parent", "所选上级部门不存在。")
            else:
                try:
                    changed = check_manage_update_department(
                        actor=request.user, department=department, parent=parent, name=data["name"],
                        sort_order=data["sort_order"], is_active=data["is_active"])
                except Refusal as exc:
                    status = _refused(form, exc)
                else:
                    messages.success(request, "已保存。" if changed else "没有需要保存的修改。")
                    return redirect("manage_departments")
    return render(request, "manage/department_form.html", {"department": department, "form": form}, status=status)


# --- 安全管理员 ------------------------------------------------------------------------------------------------


@admin_page(Role.SECADMIN)
def roles(request: HttpRequest) -> HttpResponse:
    form, query, results = _search(request, Role.SECADMIN)
    return render(request, "manage/roles.html", {"form": form, "query": query, "results": results})


@admin_page(Role.SECADMIN)
@require_http_methods(["GET", "POST"])
def person_roles(request: HttpRequest, person_id: int) -> HttpResponse:
    person = access_managed_person_by_id(request.user, Role.SECADMIN, person_id)
    form = RoleGrantForm(request.POST or None, roles=grantable_roles(),
                         agencies=scope_agencies(request.user, Role.SECADMIN),
                         departments=scope_departments(request.user, Role.SECADMIN).filter(is_active=True))
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            picked = _pick_agency_and_department(form, data, "department", "所选部门不存在。")
            if picked is not None:
                agency, department = picked
                try:
                    grant = check_manage_grant_role(actor=request.user, person=person, role=data["role"],
                                                    agency=agency, department=department)
                except Refusal as exc:
                    status = _refused(form, exc)
                else:
                    messages.success(request, f"已授予 {person.get_full_name()}：{grant.get_role_display()}。")
                    return redirect("manage_person_roles", person.pk)
    context = {"person": person, "form": form, "roles": role_assignments_of(person),
               "appointments": appointments_of(person)}
    return render(request, "manage/person_roles.html", context, status=status)


@admin_page(Role.SECADMIN)
@require_POST
def role_revoke(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = access_managed_role_assignment_by_id(request.user, assignment_id)
    person, label = assignment.person, assignment.get_role_display()
    check_manage_revoke_role(actor=request.user, assignment=assignment)  # a refusal: the refusal page
    messages.success(request, f"已撤销 {person.get_full_name()} 的{label}角色。")
    return redirect("manage_person_roles", person.pk)


def _delegation_form(request: HttpRequest, data=None) -> ManageDelegationForm:
    people_in_scope = managed_people(request.user, Role.SECADMIN, include_inactive=False, limit=5000)
    return ManageDelegationForm(data, principals=people_in_scope, candidates=people_in_scope,
                                scopes=[(s.key, s.label) for s in delegation_scopes()])


@admin_page(Role.SECADMIN)
@require_http_methods(["GET", "POST"])
def delegations(request: HttpRequest) -> HttpResponse:
    """Open 委托 of everyone in scope; 代为设置 one (same rules as 我的 → 委托)."""
    form, status = _delegation_form(request, request.POST or None), 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            found = persons_by_ids([data["principal"], data["delegate"]])
            principal, delegate = found.get(data["principal"]), found.get(data["delegate"])
            if principal is None:
                form.add_error("principal", "请选择委托人。")
            if delegate is None:
                form.add_error("delegate", "请选择代理人。")
            if principal and delegate:
                try:
                    check_manage_create_delegation(
                        actor=request.user, principal=principal, delegate=delegate, start_date=data["start_date"],
                        end_date=data["end_date"], flow_types=data["flow_types"], reason=data["reason"])
                except Refusal as exc:
                    status = _refused(form, exc)
                else:
                    messages.success(request, f"已设置 {principal.get_full_name()} 委托 {delegate.get_full_name()}。")
                    return redirect("manage_delegations")
    context = {"form": form, "delegations": open_delegations_managed_by(request.user)}
    return render(request, "manage/delegations.html", context, status=status)


@admin_page(Role.SECADMIN)
@require_POST
def delegation_revoke(request: HttpRequest, delegation_id: int) -> HttpResponse:
    delegation = access_managed_delegation_by_id(request.user, delegation_id)
    check_manage_revoke_delegation(actor=request.user, delegation=delegation)
    messages.success(request, f"已撤销 {delegation.principal.get_full_name()} 对 "
                              f"{delegation.delegate.get_full_name()} 的委托。")
    return redirect("manage_delegations")


@admin_page(Role.SECADMIN)
def security(request: HttpRequest) -> HttpResponse:
    form, query, results = _search(request, Role.SECADMIN)
    return render(request, "manage/security.html", {"form": form, "query": query, "results": results})


@admin_page(Role.SECADMIN)
def security_person(request: HttpRequest, person_id: int, otp_form: ReasonForm | None = None,
                    unlock_form: ReasonForm | None = None, password_form: PasswordResetForm | None = None,
                    status: int = 200) -> HttpResponse:
    person = access_managed_person_by_id(request.user, Role.SECADMIN, person_id)
    context = {"person": person, "account": account_security(person), "appointments": appointments_of(person),
               "otp_form": otp_form or ReasonForm(prefix="otp"), "unlock_form": unlock_form or ReasonForm(prefix="unlock"),
               "password_form": password_form or PasswordResetForm()}
    return render(request, "manage/security_person.html", context, status=status)


@admin_page(Role.SECADMIN)
@require_POST
def otp_reset(request: HttpRequest, person_id: int) -> HttpResponse:
    person = access_managed_person_by_id(request.user, Role.SECADMIN, person_id)
    form = ReasonForm(request.POST, prefix="otp")
    if not form.is_valid():
        return security_person(request, person_id, otp_form=form, status=400)
    try:
        removed = check_manage_reset_two_factor(actor=request.user, person=person, reason=form.cleaned_data["reason"])
    except Refusal as exc:
        return security_person(request, person_id, otp_form=form, status=_refused(form, exc))
    messages.success(request, f"已重置 {person.get_full_name()} 的双因素认证（删除 {removed} 个设备），"
                              "本人下次登录时重新绑定。")
    return redirect(reverse("manage_security_person", args=[person.pk]))


@sensitive_post_parameters("password-password1", "password-password2")
@admin_page(Role.SECADMIN)
@require_POST
def password_reset(request: HttpRequest, person_id: int) -> HttpResponse:
    """重置密码: a temporary password, changed by the person at the next login. Never shown again, never logged."""
    person = access_managed_person_by_id(request.user, Role.SECADMIN, person_id)
    form = PasswordResetForm(request.POST)
    if form.is_valid():
        try:
            check_manage_reset_password(actor=request.user, person=person, password=form.cleaned_data["password1"],
                                        reason=form.cleaned_data["reason"])
        except Refusal as exc:
            status = _refused(form, exc)
        else:
            messages.success(request, f"已重置 {person.get_full_name()} 的密码，本人下次登录时须修改。")
            return redirect(reverse("manage_security_person", args=[person.pk]))
    else:
        status = 400
    # The typed passwords are not sent back into the page (PasswordInput does not render its value).
    return security_person(request, person_id, password_form=form, status=status)


@admin_page(Role.SECADMIN)
@require_POST
def unlock(request: HttpRequest, person_id: int) -> HttpResponse:
    person = access_managed_person_by_id(request.user, Role.SECADMIN, person_id)
    form = ReasonForm(request.POST, prefix="unlock")
    if not form.is_valid():
        return security_person(request, person_id, unlock_form=form, status=400)
    try:
        was_locked = check_manage_unlock(actor=request.user, person=person, reason=form.cleaned_data["reason"])
    except Refusal as exc:
        return security_person(request, person_id, unlock_form=form, status=_refused(form, exc))
    messages.success(request, f"已解除 {person.get_full_name()} 的账号锁定。" if was_locked
                     else f"已清零 {person.get_full_name()} 的登录失败次数（账号原未锁定）。")
    return redirect(reverse("manage_security_person", args=[person.pk]))
