"""Login, logout, password change (forced and voluntary), TOTP enrolment and verification, profile.

Thin: parse the form, call one function of oa.actions.auth, render. The rules are in the actions.
"""

from __future__ import annotations

import io
from functools import wraps

import qrcode
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from oa.actions.auth import (
    check_change_password,
    check_enrol_device,
    check_login,
    check_verify_otp,
    do_get_or_create_pending_device,
    do_logout,
)
from oa.actions.delegation import check_create_delegation, do_revoke_delegation
from oa.forms import DelegationForm, LoginForm, OtpCodeForm, PasswordChangeForm, SetPasswordForm
from oa.refusals import Refusal
from oa.selectors.auth import confirmed_devices, login_gate, pending_device
from oa.selectors.delegation import access_own_delegation_by_id, current_delegations_of, delegate_candidates
from oa.selectors.directory import appointments_of, persons_by_ids, requires_two_factor, role_assignments_of
from oa.work import delegation_scopes


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _verified(request: HttpRequest) -> bool:
    # Right after a password login request.user is the bare Person, not OTPMiddleware's wrapper: not verified.
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def _after_login(request: HttpRequest, next_url: str | None = None):
    gate = login_gate(request.user, otp_verified=_verified(request))
    if gate is not None:
        return redirect(gate)
    return redirect(next_url or settings.LOGIN_REDIRECT_URL)


def admitted_required(view):
    """Signed in and through every gate (forced change, 2FA). /accounts/ pages are exempt from the middleware,
    so the ones that are not part of the gate check it themselves."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs):
        gate = login_gate(request.user, otp_verified=_verified(request))
        if gate is not None:
            return redirect(gate)
        return view(request, *args, **kwargs)

    return wrapper


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return _after_login(request, _safe_next(request))
    form = LoginForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        result = check_login(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if result.ok:
            return _after_login(request, _safe_next(request))
        error, status = result.error, result.status
    context = {
        "form": form,
        "error": error,
        "timeout": request.GET.get("timeout") == "1",
        "idle_minutes": settings.OA_IDLE_TIMEOUT_MINUTES,
        "lockout_threshold": settings.OA_LOCKOUT_THRESHOLD,
        "lockout_minutes": settings.OA_LOCKOUT_MINUTES,
        "next": _safe_next(request) or "",
    }
    return render(request, "auth/login.html", context, status=status)


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        external = do_logout(request)  # after an SSO login: the provider's logout (single logout, docs/sso.md)
        return redirect(external or settings.LOGOUT_REDIRECT_URL)
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    return render(request, "auth/logout.html")


@sensitive_post_parameters("new_password1", "new_password2")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def password_change_forced(request: HttpRequest) -> HttpResponse:
    person = request.user
    if not person.must_change_password:
        return _after_login(request)
    form = SetPasswordForm(person, request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _apply_password(request, form):
            return _after_login(request)
    return render(request, "auth/password_forced.html", {"form": form})


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@admitted_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _apply_password(request, form):
            return render(request, "auth/password_done.html")
    return render(request, "auth/password_change.html", {"form": form})


def _apply_password(request: HttpRequest, form: SetPasswordForm) -> bool:
    try:
        check_change_password(request, request.user, form.cleaned_data["new_password1"])
    except ValidationError as exc:
        form.add_error("new_password1", exc)
        return False
    return True


def _otp_precheck(request: HttpRequest):
    """Forced password change comes before 2FA; a session already verified has nothing to do here."""
    if request.user.must_change_password:
        return redirect("password_change_forced")
    if _verified(request):
        return redirect("home")
    return None


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    early = _otp_precheck(request)
    if early is not None:
        return early
    person = request.user
    if not requires_two_factor(person):
        return redirect("home")
    if confirmed_devices(person):
        # Re-enrolment needs the old device first (or a 系统管理员 resetting it in the admin).
        return redirect("otp_verify")
    device = do_get_or_create_pending_device(person)
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        error = check_enrol_device(request, person, form.cleaned_data["code"])
        if not error:
            return redirect("home")
        form.add_error("code", error)
    secret = device.config_url.split("secret=", 1)[1].split("&", 1)[0]
    context = {"form": form, "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)]}
    return render(request, "auth/otp_setup.html", context)


@never_cache
@login_required
def otp_setup_qr(request: HttpRequest) -> HttpResponse:
    device = pending_device(request.user)
    if device is None or _verified(request):
        raise Http404
    buffer = io.BytesIO()
    qrcode.make(device.config_url, box_size=8, border=2).save(buffer, format="PNG")
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    response["Cache-Control"] = "no-store, private"
    return response


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    early = _otp_precheck(request)
    if early is not None:
        return early
    person = request.user
    if not confirmed_devices(person):
        if requires_two_factor(person):
            return redirect("otp_setup")
        return redirect("home")
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        error = check_verify_otp(request, person, form.cleaned_data["code"])
        if not error:
            return _after_login(request, _safe_next(request))
        form.add_error("code", error)
    return render(request, "auth/otp_verify.html", {"form": form})


def _delegation_form(person, data=None) -> DelegationForm:
    scopes = [(s.key, s.label) for s in delegation_scopes()]
    return DelegationForm(data, candidates=list(delegate_candidates(person)), scopes=scopes)


@never_cache
@login_required
def profile(request: HttpRequest, delegation_form: DelegationForm | None = None, status: int = 200) -> HttpResponse:
    person = request.user
    delegations = list(current_delegations_of(person))
    context = {
        "person": person,
        "appointments": appointments_of(person),
        "roles": role_assignments_of(person),
        "delegations_given": [d for d in delegations if d.principal_id == person.pk],
        "delegations_taken": [d for d in delegations if d.delegate_id == person.pk],
        "delegation_form": delegation_form or _delegation_form(person),
        "otp_required": requires_two_factor(person),
        "otp_enabled": bool(confirmed_devices(person)),
    }
    return render(request, "auth/profile.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["POST"])
def delegation_create(request: HttpRequest) -> HttpResponse:
    """我的 → 委托 → 设置: the person delegates their own work. A refusal is shown beside its field, form kept."""
    person = request.user
    form = _delegation_form(person, request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        delegate = persons_by_ids([data["delegate"]]).get(data["delegate"])
        if delegate is None:
            form.add_error("delegate", "请选择代理人。")
        else:
            try:
                check_create_delegation(
                    actor=person, principal=person, delegate=delegate, start_date=data["start_date"],
                    end_date=data["end_date"], flow_types=data["flow_types"], reason=data["reason"], via="profile",
                )
            except Refusal as exc:
                form.add_refusal(exc.code, exc.message)
                status = exc.status
            else:
                messages.success(request, f"已委托 {delegate.get_full_name()} 代为办理。")
                return redirect(f"{reverse('profile')}#deleg-title")
    return profile(request, delegation_form=form, status=status)


@never_cache
@login_required
@require_http_methods(["POST"])
def delegation_revoke(request: HttpRequest, delegation_id: int) -> HttpResponse:
    """我的 → 委托 → 撤销: only one's own open 委托 (404 for anyone else's)."""
    delegation = access_own_delegation_by_id(request.user, delegation_id)
    do_revoke_delegation(actor=request.user, delegation=delegation, via="profile")
    messages.success(request, f"已撤销对 {delegation.delegate.get_full_name()} 的委托。")
    return redirect(f"{reverse('profile')}#deleg-title")
