"""Reads of 传阅 (docs/circulation.md): the panel on the 收文 detail page and the 文书's 未阅 list.

Who sees what: a reader sees their own row (and the 阅知 form until they acknowledge); the 送阅人 and the receiving
agency's 文书 see every reader's times, comments and urge counts. The 收文 itself is always loaded by the caller
through documents.selectors.incoming.access_incoming_by_id.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse

from documents.models import IncomingDocument
from documents.selectors.incoming import is_incoming_office
from frontend.charts import Segment, stacked_segments
from oa.models import Agency, Appointment, Department, Person, Role, RoleAssignment
from workflows.models import CirculationRead

# Reading states, in the order the bar and the legend show them.
ACKNOWLEDGED, OPENED, UNOPENED = "acknowledged", "opened", "unopened"
STATE_LABELS = {ACKNOWLEDGED: "已阅知", OPENED: "已打开未阅知", UNOPENED: "未打开"}


def read_state(row: CirculationRead) -> str:
    if row.acknowledged_at is not None:
        return ACKNOWLEDGED
    return OPENED if row.first_opened_at is not None else UNOPENED


def summary_segments(counts: dict[str, int]) -> list[Segment]:
    return stacked_segments([(key, label, counts.get(key, 0)) for key, label in STATE_LABELS.items()])


def circulation_rows(incoming: IncomingDocument) -> QuerySet[CirculationRead]:
    return (
        CirculationRead.objects.filter(incoming=incoming)
        .select_related("reader", "sent_by")
        .order_by("delivered_at", "id")
    )


def may_track_circulation(user: Person, incoming: IncomingDocument) -> bool:
    """送阅人 or the receiving agency's 文书: they see the whole reading list and may 催阅."""
    if not user.is_authenticated:
        return False
    return is_incoming_office(user, incoming) or CirculationRead.objects.filter(
        incoming=incoming, sent_by=user).exists()


def _departments(people_ids: set[int], agency_id: int) -> dict[int, str]:
    """Reader → department name, preferring a post in the receiving agency, then the primary post."""
    names: dict[int, str] = {}
    rank: dict[int, tuple[int, int]] = {}
    for a in Appointment.objects.filter(person_id__in=people_ids).select_related("department"):
        key = (0 if a.department.agency_id == agency_id else 1, 0 if a.is_primary else 1)
        if a.person_id not in rank or key < rank[a.person_id]:
            rank[a.person_id], names[a.person_id] = key, a.department.name
    return names


def circulation_panel(user: Person, incoming: IncomingDocument) -> dict[str, Any]:
    """Context for workflows/circulation/_panel.html (include it on any page showing the 收文)."""
    rows = list(circulation_rows(incoming))
    own = next((r for r in rows if r.reader_id == user.pk), None)
    tracking = may_track_circulation(user, incoming)
    ctx: dict[str, Any] = {
        "circ_incoming": incoming,
        "circ_own": own,
        "circ_own_state": STATE_LABELS[read_state(own)] if own else "",
        "circ_can_acknowledge": own is not None and own.acknowledged_at is None,
        "circ_comment_max": COMMENT_MAX,
        "circ_tracking": tracking,
        "circ_rows": [],
        "circ_segments": [],
        "circ_total": len(rows),
        "circ_can_urge": False,
    }
    if not tracking:
        return ctx
    office = is_incoming_office(user, incoming)
    departments = _departments({r.reader_id for r in rows}, incoming.agency_id)
    counts = dict.fromkeys(STATE_LABELS, 0)
    listed = []
    for r in rows:
        state = read_state(r)
        counts[state] += 1
        urgeable = state != ACKNOWLEDGED and r.reader_id != user.pk and (office or r.sent_by_id == user.pk)
        listed.append({"row": r, "state": state, "state_label": STATE_LABELS[state],
                       "department": departments.get(r.reader_id, ""), "urgeable": urgeable})
    ctx.update({
        "circ_rows": listed,
        "circ_counts": counts,
        "circ_segments": summary_segments(counts),
        "circ_can_urge": any(x["urgeable"] for x in listed),
    })
    return ctx


# --- 未阅 list of the 文书 --------------------------------------------------------------------------------------


def unread_for_agency(agency: Agency) -> QuerySet[CirculationRead]:
    """Every 传阅 row of the agency's 收文 not yet 阅知, oldest delivery first."""
    return (
        CirculationRead.objects.filter(incoming__agency=agency, acknowledged_at__isnull=True)
        .select_related("incoming", "reader", "sent_by")
        .order_by("delivered_at", "id")
    )


def is_clerk(user: Person) -> bool:
    """Holds the 办公室/文书 role somewhere: sees the 未阅清单 tile."""
    from oa.selectors.directory import held_roles

    return Role.CLERK in held_roles(user)


def clerk_agencies(user: Person) -> list[Agency]:
    ids = RoleAssignment.objects.filter(person=user, role=Role.CLERK).values("agency_id")
    return list(Agency.objects.filter(pk__in=ids).order_by("sort_order", "id"))


def unread_page(user: Person, *, agency_id: int | None = None, reader_id: int | None = None,
                department_id: int | None = None) -> dict[str, Any]:
    """The 未阅 page of a 文书: rows (filtered by reader and department), the choices for the filters."""
    agencies = clerk_agencies(user)
    if not agencies:
        raise PermissionDenied("只有办公室/文书可以查看未阅清单。")
    agency = next((a for a in agencies if a.pk == agency_id), agencies[0])
    base = unread_for_agency(agency)
    reader_choices = list(
        Person.objects.filter(pk__in=base.values("reader_id")).order_by("name", "id")
    )
    department_choices = list(
        Department.objects.filter(appointments__person__in=reader_choices).distinct().order_by("agency_id", "sort_order", "id")
    ) if reader_choices else []
    rows = base
    if reader_id:
        rows = rows.filter(reader_id=reader_id)
    if department_id:
        rows = rows.filter(reader__appointments__department_id=department_id).distinct()
    return {
        "agency": agency,
        "agencies": agencies,
        "rows": rows,
        "reader_choices": reader_choices,
        "department_choices": department_choices,
        "total": base.count(),
    }


def unread_departments(rows: list[CirculationRead], agency: Agency) -> dict[int, str]:
    """Department names for a page of 未阅 rows (one query for the page)."""
    return _departments({r.reader_id for r in rows}, agency.pk)


COMMENT_MAX = 1000  # CirculationRead.comment max_length


def incoming_detail_url(incoming: IncomingDocument) -> str:
    """The 收文 detail page (helper of the ReceiptFlow builds it); the literal path while it is not routed yet."""
    try:
        return reverse("workflows:incoming_detail", args=[incoming.pk])
    except NoReverseMatch:
        return f"/flows/incoming/{incoming.pk}/"


def may_urge_circulation(user: Person, incoming: IncomingDocument) -> bool:
    """The receiving agency's 文书 may urge every reader; a sender (送阅人) the readers they sent it to."""
    return is_incoming_office(user, incoming) or CirculationRead.objects.filter(
        incoming=incoming, sent_by=user).exists()
