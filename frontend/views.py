"""Workbench pages (inbox, item detail, work actions), PWA manifest, service worker and offline shell.

Thin views: reads come from oa.selectors.work, the one write path is oa.actions.work; every item is loaded
through access_work_item_by_id, which answers 404 for anything missing or not the user's.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from frontend.forms import BOX_LABELS, BOXES, InboxFilterForm, WorkActionForm
from oa.actions.work import check_perform_work_action, do_see_work_item
from oa.http import client_ip
from oa.pagination import CountedPaginator
from oa.refusals import Refusal
from oa.selectors.work import (
    access_work_item_by_id,
    inbox,
    inbox_counts,
    unfiltered_box_count,
    work_item_actions,
)

PAGE_SIZE = 20

EMPTY_TEXT = {
    "todo": "暂无待办事项，工作都处理完了。",
    "toread": "暂无待阅文件。",
    "done": "还没有已办事项。",
    "read": "还没有已阅文件。",
    "initiated": "您还没有发起过事项。",
}


@login_required
@require_GET
def inbox_view(request: HttpRequest) -> HttpResponse:
    form = InboxFilterForm(request.GET)
    box = form.selected_box()
    filters = form.filters()
    items = inbox(request.user, box, **filters)
    total = None if any(value not in (None, "") for value in filters.values()) else unfiltered_box_count(request.user, box)
    page = CountedPaginator(items, PAGE_SIZE, known_count=total).get_page(request.GET.get("page"))
    # Keep the filters (not the page number) on the pagination links.
    query = request.GET.copy()
    query.pop("page", None)
    counts = inbox_counts(request.user)
    context = {
        "form": form,
        "box": box,
        "box_label": BOX_LABELS[box],
        "boxes": [{"key": key, "label": label, "count": counts.get(key)} for key, label in BOXES],
        "filtered": any(value not in (None, "") for value in filters.values()),
        "page": page,
        "query": query.urlencode(),
        "empty_text": EMPTY_TEXT[box],
        "now": timezone.now(),
        "nav_counts": counts,  # the navigation's badges: the same numbers, not a second lookup
    }
    return render(request, "work/inbox.html", context)


def _item_context(request: HttpRequest, item, action_form: WorkActionForm | None = None) -> dict:
    actions = work_item_actions(item, request.user) if item.owner_id == request.user.pk else []
    return {
        "item": item,
        "actions": actions,
        "needs_opinion": any(a.needs_opinion for a in actions),
        "action_form": action_form or WorkActionForm(),
        "now": timezone.now(),
        "box_label": BOX_LABELS.get(item.box, ""),
        "own_url": reverse("work_item", args=[item.pk]),
    }


@login_required
@require_GET
def work_item_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = access_work_item_by_id(request.user, item_id)
    if item.owner_id == request.user.pk and item.step_page:
        # Open work with a step page of its own is done there: old links, the bell and mobile cards land on it
        # (which stamps the item opened and reads its notifications) with no 事项详情 in between.
        return redirect(item.step_page)
    do_see_work_item(request.user, item)
    return render(request, "work/item.html", _item_context(request, item))


@login_required
@require_POST
def work_item_action_view(request: HttpRequest, item_id: int, key: str) -> HttpResponse:
    item = access_work_item_by_id(request.user, item_id)
    actions = (
        {a.key: a for a in work_item_actions(item, request.user)} if item.owner_id == request.user.pk else {}
    )
    if key not in actions:
        # Not an action this user may take on this item (someone else's item, already done, unknown key).
        raise Http404("没有可执行的操作")
    form = WorkActionForm(request.POST)
    if not form.is_valid():
        return render(request, "work/item.html", _item_context(request, item, form), status=400)
    data = {"opinion": form.cleaned_data["opinion"], "ip": client_ip(request)}
    try:
        check_perform_work_action(request.user, item, key, data)
    except Refusal as exc:
        # e.g. done meanwhile in another tab (work_closed) or a missing opinion: say so on the item page.
        item.refresh_from_db()
        form.add_error(None, exc.message)
        return render(request, "work/item.html", _item_context(request, item, form), status=exc.status)
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or "您无权执行此操作。")
        return render(request, "work/item.html", _item_context(request, item, form), status=403)
    messages.success(request, f"已{actions[key].label}：{item.title}")
    return redirect(f"{reverse('inbox')}?box={item.box}")


# --- PWA: manifest, service worker, offline shell -------------------------------------------------------

ICONS = [
    ("oa/img/icons/icon-192.png", "192x192", "any"),
    ("oa/img/icons/icon-512.png", "512x512", "any"),
    ("oa/img/icons/icon-maskable-512.png", "512x512", "maskable"),
]


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    data = {
        "name": settings.OA_SITE_NAME,
        "short_name": "协同办公",
        "description": "公文、待办、会议与督办的一网协同办公平台",
        "lang": "zh-Hans",
        "dir": "ltr",
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#f3f5f8",
        "theme_color": "#0a4a8c",
        "icons": [
            {"src": static(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for path, sizes, purpose in ICONS
        ],
        "shortcuts": [
            {"name": "待办", "url": f"{reverse('inbox')}?box=todo"},
            {"name": "待阅", "url": f"{reverse('inbox')}?box=toread"},
        ],
    }
    response = HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")
    response["Cache-Control"] = "no-cache"
    return response


# The shell the service worker keeps for offline use: only public, user-independent resources.
SHELL_ASSETS = [
    "oa/css/oa.css",
    "oa/js/oa.js",
    "oa/js/events.js",
    "oa/img/emblem.svg",
    "oa/img/icons.svg",
    "oa/img/icons/icon-192.png",
]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    precache = [reverse("offline")] + [static(path) for path in SHELL_ASSETS]
    body = render_to_string(
        "work/sw.js",
        {"precache": json.dumps(precache), "version": "@VERSION@", "offline_url": reverse("offline")},
    )
    # The cache name changes whenever the worker or its asset list (hashed names in production) changes,
    # so a deploy replaces the old shell.
    body = body.replace("@VERSION@", hashlib.sha256(body.encode()).hexdigest()[:12])
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    # Registered at /sw.js, so it may control the whole site.
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    # No login and nothing user-specific: this page is cached by the service worker for every user.
    return render(request, "work/offline.html")
