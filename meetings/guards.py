"""The guard every meeting write page shares (views, live_views, minutes_views): signed in, POST only, and the
meeting loaded on behalf of the user through access_meeting_by_id (404 whether missing or not visible)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from meetings.models import Meeting
from meetings.selectors import access_meeting_by_id


def meeting_post(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """`view(request, meeting, **rest)` served as `POST …/<meeting_id>/…`."""

    @login_required
    @require_POST
    @functools.wraps(view)
    def guarded(request: HttpRequest, meeting_id: int, *args, **kwargs) -> HttpResponse:
        meeting: Meeting = access_meeting_by_id(request.user, meeting_id)
        return view(request, meeting, *args, **kwargs)

    return guarded
