"""通知公告 pages: list, detail, publish (办公室/文书) and withdraw. Thin: one selector or action each."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from oa.actions.announcements import check_publish_announcement, check_withdraw_announcement
from oa.forms import AnnouncementForm
from oa.http import client_ip
from oa.refusals import Refusal
from oa.selectors.announcements import (
    access_announcement_by_id,
    announcement_status,
    announcements_visible_to,
    can_withdraw,
    managed_announcements,
    publishing_agencies,
)


@login_required
@require_GET
def announcement_list(request: HttpRequest) -> HttpResponse:
    agencies = list(publishing_agencies(request.user))
    page = Paginator(announcements_visible_to(request.user), 20).get_page(request.GET.get("page"))
    managed = list(managed_announcements(request.user)[:20]) if agencies else []
    for item in managed:
        item.status = announcement_status(item)
    return render(request, "announcements/list.html", {
        "page": page, "may_publish": bool(agencies), "managed": managed, "now": timezone.now(),
    })


@login_required
@require_GET
def announcement_detail(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = access_announcement_by_id(request.user, announcement_id)
    return render(request, "announcements/detail.html", {
        "announcement": announcement,
        "status": announcement_status(announcement),
        "can_withdraw": can_withdraw(request.user, announcement),
    })


def _end_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


@login_required
@require_http_methods(["GET", "POST"])
def announcement_new(request: HttpRequest) -> HttpResponse:
    agencies = list(publishing_agencies(request.user))
    if not agencies:
        raise PermissionDenied("只有办公室/文书可以发布通知公告。")
    form = AnnouncementForm(request.POST or None, agencies=agencies)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            expires = data.get("expires_on")
            try:
                announcement = check_publish_announcement(
                    request.user, agency=form.agencies[data["agency"]], title=data["title"], body=data["body"],
                    district_wide=bool(data.get("district_wide")), pinned=data["pinned"],
                    expires_at=_end_of_day(expires) if expires else None, ip=client_ip(request),
                )
            except Refusal as exc:
                form.add_refusal(exc.code, exc.message)
                status = exc.status
            else:
                messages.success(request, f"已发布：{announcement.title}")
                return redirect(reverse("announcement", args=[announcement.pk]))
    return render(request, "announcements/form.html", {"form": form}, status=status)


@login_required
@require_POST
def announcement_withdraw(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = access_announcement_by_id(request.user, announcement_id)
    try:
        check_withdraw_announcement(request.user, announcement, ip=client_ip(request))
    except Refusal as exc:
        messages.error(request, exc.message)
        return redirect(reverse("announcement", args=[announcement.pk]))
    messages.success(request, f"已撤回：{announcement.title}")
    return redirect(reverse("announcements"))
