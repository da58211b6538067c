"""GET /api/work without DRF's per-request machinery, for the request a client makes all day: its own box, a
page, a bearer token, no filter (docs/performance.md "待办 API").

`lean_work_list` answers that request with the bytes WorkListView would send (same keys in the same order, the
same pagination fields and links, the same headers), or returns None and WorkListView answers — for anything
else: another method, a session instead of a token, a filter (kind/urgency/overdue/agency/q), an unknown or
repeated parameter, a value the query serializer would refuse or read differently, an Accept header that asks
for something but plain JSON, a token that is unknown/expired/revoked or whose person is disabled or must
change the password, a page past the end, a throttled client. So every error (401, 400, 404, 406, 429) keeps
its DRF code and message; the lean path only ever answers 200. tests/test_api_lean.py compares the two.

Same rules as WorkListView: the token conditions of oa.api.auth.BearerTokenAuthentication (one query, token and
person), last_used_at written at most once a minute (oa.actions.tokens.do_touch_token), the view's throttles
run once per request and before any list is read, the person sees only rows they own (oa.selectors.work.
inbox_rows), the paginator's total from the cached box counts. The middleware chain (CSP, CSRF, sessions) is
the same: this is called from inside the view.
"""

from __future__ import annotations

import json
import re

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from rest_framework.utils.urls import remove_query_param, replace_query_param

from oa.actions.tokens import do_touch_token
from oa.api.serializers import _LABELS
from oa.models import Person
from oa.selectors.tokens import bearer_identity
from oa.selectors.work import BOXES, InboxRow, inbox_rows, inbox_total
from oa.work import work_kind

PARAMETERS = frozenset({"box", "page", "page_size"})
PAGE_SIZE, MAX_PAGE_SIZE = 20, 100  # InboxPagination's
_NUMBER = re.compile(r"[1-9][0-9]{0,8}")  # what InboxQuerySerializer and the paginator both read the same way
# Accept values for which DRF's negotiation picks JSONRenderer with its plain media type (no parameters such as
# indent=4, no q-values): the body and Content-Type are then the ones below.
_PLAIN_ACCEPT = frozenset({"*/*", "application/*", "application/json"})
_OTHER_ACCEPT = re.compile(r"[a-z0-9!#$&^_.+*-]+/[a-z0-9!#$&^_.+*-]+")
# DRF's JSONRenderer with UNICODE_JSON, COMPACT_JSON and STRICT_JSON at their defaults (settings.REST_FRAMEWORK).
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
ALLOW = "GET, HEAD, OPTIONS"  # APIView's Allow header for a view with get()


class _Principal:
    """What the throttles read of request.user (DRF's UserRateThrottle keys on pk), without loading a Person."""

    is_authenticated = True

    def __init__(self, pk: int) -> None:
        self.pk = self.id = pk

    def __bool__(self) -> bool:
        return True


class _ThrottleRequest:
    """The parts of a DRF Request our throttles read: user and the Django request (oa.api.throttling)."""

    def __init__(self, user: _Principal, request: HttpRequest) -> None:
        self.user, self._request = user, request
        self.META = request.META


def _accepts_plain_json(header: str | None) -> bool:
    if not header:
        return True  # DRF treats a missing header as */*
    parts = [p.strip() for p in header.split(",")]
    if not all(_OTHER_ACCEPT.fullmatch(p) for p in parts):
        return False  # parameters, odd spelling: let DRF's negotiation read it
    return any(p in _PLAIN_ACCEPT for p in parts)


def _bearer(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1].isascii():
        return None
    return parts[1]


def _parameters(request: HttpRequest) -> tuple[str, int, int] | None:
    """(box, page, page size) when the query string holds nothing but those, once each, in canonical form."""
    query = request.GET
    if not query.keys() <= PARAMETERS:
        return None
    values = {}
    for key, got in query.lists():
        if len(got) != 1:
            return None
        values[key] = got[0]
    box = values.get("box", "todo")
    if box not in BOXES:
        return None
    page = values.get("page", "1")
    size = values.get("page_size", str(PAGE_SIZE))
    if not _NUMBER.fullmatch(page) or not _NUMBER.fullmatch(size) or int(size) > MAX_PAGE_SIZE:
        return None
    return box, int(page), int(size)


def _name(name: str | None, username: str) -> str:
    return name or username  # Person.get_full_name


def _results(rows: list[InboxRow], person_id: int, username: str, name: str) -> list[dict]:
    """WorkItemSerializer.to_representation, from tuples (same keys, same order, same values)."""
    tz, now = timezone.get_current_timezone(), timezone.now()
    box_labels, state_labels, urgency_labels, outcome_labels = (
        _LABELS["box"], _LABELS["state"], _LABELS["urgency"], _LABELS["outcome"])
    owner_name = _name(name, username)
    kind_labels: dict[str, str] = {}
    results = []
    for r in rows:
        kind_label = kind_labels.get(r.kind)
        if kind_label is None:
            kind = work_kind(r.kind)
            kind_label = kind_labels[r.kind] = kind.label if kind else r.kind
        deadline = r.deadline
        if r.on_behalf_of_id is not None:
            behalf_name = _name(r.on_behalf_of_name, r.on_behalf_of_username)
            on_behalf_of = {"id": r.on_behalf_of_id, "username": r.on_behalf_of_username, "name": behalf_name}
            handled_by = owner_name if r.on_behalf_of_id == person_id else f"{owner_name} 代 {behalf_name} 办理"
        else:
            on_behalf_of, handled_by = None, owner_name
        results.append({
            "id": r.id,
            "kind": r.kind,
            "kind_label": kind_label,
            "box": r.box,
            "box_label": box_labels.get(r.box, r.box),
            "state": r.state,
            "state_label": state_labels.get(r.state, r.state),
            "title": r.title,
            "doc_number": r.doc_number,
            "step": r.step,
            "urgency": r.urgency,
            "urgency_label": urgency_labels.get(r.urgency, r.urgency),
            "deadline": deadline.astimezone(tz).isoformat() if deadline else None,
            "overdue": bool(r.state == "open" and deadline and deadline < now),
            "owner": {"id": person_id, "username": username, "name": owner_name},
            "on_behalf_of": on_behalf_of,
            "handled_by": handled_by,
            "initiator": {"id": r.initiator_id, "username": r.initiator_username,
                          "name": _name(r.initiator_name, r.initiator_username)} if r.initiator_id else None,
            "agency": {"id": r.agency_id, "name": r.agency_name} if r.agency_id else None,
            "link": r.link,
            "created_at": r.created_at.astimezone(tz).isoformat(),
            "opened_at": r.opened_at.astimezone(tz).isoformat() if r.opened_at else None,
            "completed_at": r.completed_at.astimezone(tz).isoformat() if r.completed_at else None,
            "note": r.note,
            "outcome": r.outcome,
            "outcome_label": outcome_labels.get(r.outcome, r.outcome) if r.outcome else "",
        })
    return results


def lean_work_list(request: HttpRequest, view_class) -> HttpResponse | None:
    """The 200 answer to a plain GET /api/work with a bearer token, or None: WorkListView answers instead
    (module docstring). `view_class` is WorkListView: its throttles run here."""
    if request.method != "GET" or not _accepts_plain_json(request.META.get("HTTP_ACCEPT")):
        return None
    raw = _bearer(request)
    wanted = _parameters(request) if raw is not None else None
    if wanted is None:
        return None
    box, page, size = wanted
    identity = bearer_identity(raw)
    if identity is None or identity.must_change_password:
        return None  # 401 token_invalid / password_change_required, from BearerTokenAuthentication
    do_touch_token(identity.token_id, identity.last_used_at)
    person_id = identity.person_id

    count = inbox_total(person_id, box)
    pages = max(1, -(-count // size))  # django.core.paginator.Paginator.num_pages (empty first page allowed)
    if page > pages:
        return None  # 404 “页码无效。”

    # Every throttle asked, as APIView.check_throttles does (one of ours: UserRateThrottle).
    throttle_request = _ThrottleRequest(_Principal(person_id), request)
    if not all([throttle().allow_request(throttle_request, None) for throttle in view_class.throttle_classes]):
        return None  # 429: DRF asks again (a refused request is not recorded) and words the wait

    # As DRF's authentication would: request.user is the token's person (loaded only if something reads it).
    request.user = SimpleLazyObject(lambda: Person.objects.get(pk=person_id))
    bottom = (page - 1) * size
    top = min(bottom + size, count)  # Paginator.page: the last page ends at the (cached) count
    rows = inbox_rows(person_id, box, limit=max(top - bottom, 0), offset=bottom)

    url = None
    if page < pages or page > 1:
        url = request.build_absolute_uri()
    body = {
        "count": count,
        "next": replace_query_param(url, "page", page + 1) if page < pages else None,
        "previous": (None if page == 1 else remove_query_param(url, "page") if page == 2
                     else replace_query_param(url, "page", page - 1)),
        "results": _results(rows, person_id, identity.username, identity.name),
    }
    text = _ENCODER.encode(body).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    response = HttpResponse(text.encode(), content_type="application/json")
    response["Allow"] = ALLOW
    return response
