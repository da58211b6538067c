"""工作台: the landing page after login — greeting and the registered tiles with live counts (oa.tiles)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from oa.selectors.directory import primary_appointment
from oa.selectors.work import inbox_counts
from oa.tiles import tiles_for


def _greeting(hour: int) -> str:
    if hour < 6:
        return "凌晨好"
    if hour < 12:
        return "上午好"
    if hour < 14:
        return "中午好"
    if hour < 18:
        return "下午好"
    return "晚上好"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    now = timezone.localtime()
    context = {
        "appointment": primary_appointment(request.user),
        "greeting": _greeting(now.hour),
        "today": now.date(),
        "weekday": "一二三四五六日"[now.weekday()],
        "tiles": tiles_for(request.user, inbox_counts(request.user)),
    }
    return render(request, "home.html", context)
