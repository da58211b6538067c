"""Inbox reads over the denormalised WorkItem table (one indexed query per box)."""

from __future__ import annotations

from django.db.models import Count

from oa.models import Person, WorkItem


def inbox_counts(person: Person) -> dict[str, int]:
    """Open items per box: {"todo": n, "toread": n, "initiated": n}."""
    rows = (
        WorkItem.objects.filter(owner=person, state=WorkItem.State.OPEN)
        .values("box")
        .annotate(n=Count("id"))
    )
    counts = {box: 0 for box in WorkItem.Box.values}
    counts.update({row["box"]: row["n"] for row in rows})
    return counts


