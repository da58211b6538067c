"""工作台: the landing page after login — greeting, my newest 待办 (overdue marked) and 待阅, the latest 通知公告,
and the registered tiles (shortcuts by role, live counts; oa.tiles). A fixed number of queries whatever the data
(tests/test_workbench.py checks the bound). 今日日程 comes with meetings (not built yet)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from oa.models import WorkItem
from oa.selectors.announcements import latest_announcements
from oa.selectors.directory import primary_appointment
from oa.selectors.work import inbox_counts, recent_open_items
from oa.tiles import tiles_for

TODO_SHOWN = 8
TOREAD_SHOWN = 3
ANNOUNCEMENTS_SHOWN = 5


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
    counts = inbox_counts(request.user)
    context = {
        "appointment": primary_appointment(request.user),
        "greeting": _greeting(now.hour),
        "today": now.date(),
        "weekday": "一二三四五六日"[now.weekday()],
        "tiles": tiles_for(request.user, counts),
        "nav_counts": counts,  # the navigation's badges: the same numbers, not a second query
        "todo_items": recent_open_items(request.user, WorkItem.Box.TODO, TODO_SHOWN),
        "toread_items": recent_open_items(request.user, WorkItem.Box.TOREAD, TOREAD_SHOWN),
        "announcements": latest_announcements(request.user, ANNOUNCEMENTS_SHOWN),
        "now": timezone.now(),
    }
    return render(request, "home.html", context)
