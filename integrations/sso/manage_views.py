"""系统管理员 → 统一身份关联 (/manage/sso/, docs/sso.md “关联统一身份”).

The page form of `manage.py sso_link`: the list of links in the administrator's scope with search, 关联 one
(person, provider, subject), 解除 with a reason, and a CSV import with the command's all-or-nothing line-numbered
errors (the same integrations.sso.actions code). Only the 系统管理员 (三员分立: the 安全管理员 and 审计管理员
get 403), people in scope only (404 for a link outside it); every write audited with "via": "manage".
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from integrations.sso.actions import (
    LinkRowsRefusal,
    check_link_identities_csv,
    check_manage_link_identity,
    check_manage_unlink_identity,
)
from integrations.sso.forms import IdentitySearchForm, ImportForm, LinkForm, UnlinkForm
from integrations.sso.models import Provider
from integrations.sso.selectors import access_managed_identity_by_id, configured_providers, managed_identities
from oa.models import Person, Role
from oa.refusals import Refusal
from oa.selectors.manage import managed_people
from oa.views.manage import admin_page


def _link_form(request: HttpRequest, data=None) -> LinkForm:
    return LinkForm(data, people=managed_people(request.user, Role.SYSADMIN, include_inactive=False, limit=5000))


def _unlink_form(identity_id: int, data=None) -> UnlinkForm:
    return UnlinkForm(data, auto_id=f"unlink-{identity_id}-%s")


def _page(request: HttpRequest, *, link_form: LinkForm | None = None, import_form: ImportForm | None = None,
          import_errors: list[str] | None = None, unlink: tuple[int, UnlinkForm] | None = None,
          status: int = 200) -> HttpResponse:
    search = IdentitySearchForm(request.GET or None)
    query, provider = "", ""
    if search.is_valid():
        query, provider = search.cleaned_data["q"].strip(), search.cleaned_data["provider"]
    identities = managed_identities(request.user, query, provider)
    rows = [(i, unlink[1] if unlink and unlink[0] == i.pk else _unlink_form(i.pk)) for i in identities]
    context = {
        "search": search, "query": query, "provider": provider, "rows": rows, "limited": len(identities) >= 200,
        "link_form": link_form or _link_form(request), "import_form": import_form or ImportForm(),
        "import_errors": import_errors or [], "configured": configured_providers(),
        "unlink_open": unlink[0] if unlink else None,
    }
    return render(request, "sso/manage_identities.html", context, status=status)


@admin_page(Role.SYSADMIN)
@require_http_methods(["GET", "POST"])
def identities(request: HttpRequest) -> HttpResponse:
    """The list (GET) and 关联 one (POST). A refusal is shown beside its field with what was typed kept."""
    if request.method != "POST":
        return _page(request)
    form = _link_form(request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        person = Person.objects.filter(pk=data["person"]).first()
        if person is None:
            form.add_error("person", "所选人员不存在。")
        else:
            try:
                identity = check_manage_link_identity(actor=request.user, provider=data["provider"],
                                                      subject=data["subject"], person=person)
            except Refusal as exc:
                form.add_refusal(exc.code, exc.message)
                return _page(request, link_form=form, status=exc.status)
            messages.success(request, f"已关联：{person.get_full_name()} ← {identity.get_provider_display()} "
                                      f"{identity.subject}")
            return redirect("manage_sso")
    return _page(request, link_form=form, status=400)


@admin_page(Role.SYSADMIN)
@require_POST
def identity_import(request: HttpRequest) -> HttpResponse:
    """批量关联 from a CSV (subject,username): all or nothing, each bad row listed with its line number."""
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, import_form=form, status=400)
    raw = form.cleaned_data["file"].read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        form.add_refusal("sso_csv_encoding", "CSV 文件须为 UTF-8 编码（Excel 另存为时选择“CSV UTF-8”）。")
        return _page(request, import_form=form, status=400)
    try:
        linked = check_link_identities_csv(actor=request.user, provider=form.cleaned_data["provider"], text=text,
                                           via="manage_csv")
    except LinkRowsRefusal as exc:
        return _page(request, import_form=form, import_errors=exc.errors, status=exc.status)
    except Refusal as exc:
        form.add_refusal(exc.code, exc.message)
        return _page(request, import_form=form, status=exc.status)
    messages.success(request, f"已关联 {linked} 个{Provider(form.cleaned_data['provider']).label}统一身份。")
    return redirect("manage_sso")


@admin_page(Role.SYSADMIN)
@require_POST
def identity_unlink(request: HttpRequest, identity_id: int) -> HttpResponse:
    identity = access_managed_identity_by_id(request.user, identity_id)
    form = _unlink_form(identity.pk, request.POST)
    if not form.is_valid():
        return _page(request, unlink=(identity.pk, form), status=400)
    person, subject = identity.person, identity.subject
    try:
        check_manage_unlink_identity(actor=request.user, identity=identity, reason=form.cleaned_data["reason"])
    except Refusal as exc:
        form.add_refusal(exc.code, exc.message)
        return _page(request, unlink=(identity.pk, form), status=exc.status)
    messages.success(request, f"已解除 {person.get_full_name()} 与统一身份标识 {subject} 的关联。")
    return redirect("manage_sso")
