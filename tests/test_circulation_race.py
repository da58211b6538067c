"""传阅 races on PostgreSQL: openings at the same instant all count (F() update) with one first opening audited;
two 阅知 at once give one; two senders circulating to the same reader at once give one row."""

from __future__ import annotations

import pytest
from django.db import connection  # noqa: F401 - read by the skipif string

from oa.models import AuditEntry, Person, WorkItem
from tests.races import run_at_once
from tests.test_circulation import make_incoming, row_of
from workflows.actions.circulation import (
    check_acknowledge_circulation,
    do_circulate,
    do_mark_circulation_opened,
)
from workflows.models import CirculationRead

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite ignores select_for_update"),
]


def person(username: str) -> Person:
    return Person.objects.get(username=username)


def test_simultaneous_openings_all_count_and_the_first_is_audited_once(demo_tx):
    incoming = make_incoming()
    zhangwei = person("zhangwei")
    do_circulate(incoming, [zhangwei], by=person("liuyang"))

    outcomes = run_at_once([lambda: do_mark_circulation_opened(incoming, zhangwei) for _ in range(8)])

    assert outcomes == ["ok"] * 8
    row = row_of(incoming, zhangwei)
    assert row.open_count == 8 and row.first_opened_at is not None and row.last_opened_at >= row.first_opened_at
    assert AuditEntry.objects.filter(action="circulation.open", object_id=str(incoming.pk)).count() == 1


def test_two_acknowledgements_at_once_give_one(demo_tx):
    incoming = make_incoming()
    xuli = person("xuli")
    do_circulate(incoming, [xuli], by=person("liuyang"))

    outcomes = run_at_once([lambda c=c: check_acknowledge_circulation(xuli, incoming, comment=c) for c in ("甲", "乙")])

    assert sorted(outcomes) == ["already_acknowledged", "ok"]
    row = row_of(incoming, xuli)
    assert row.comment in ("甲", "乙")
    assert AuditEntry.objects.filter(action="circulation.acknowledge", object_id=str(incoming.pk)).count() == 1
    assert WorkItem.objects.get(ref=f"circulation:{row.pk}").state == WorkItem.State.DONE


def test_two_senders_at_once_deliver_one_row(demo_tx):
    incoming = make_incoming()
    wujing = person("wujing")

    outcomes = run_at_once([lambda s=s: do_circulate(incoming, [wujing], by=person(s)) for s in ("liuyang", "wangfang")])

    assert outcomes == ["ok", "ok"]
    assert CirculationRead.objects.filter(incoming=incoming, reader=wujing).count() == 1
    assert WorkItem.objects.filter(owner=wujing, kind="circulation").count() == 1
