"""文号 under real concurrency: several OS processes allocate from the same (机关代字, 年) at once on PostgreSQL.

Each worker is a separate Python process with its own database connection (a small Django script run with
the test settings against the test database), so the row locks are exercised exactly as N ASGI processes
or Celery workers would exercise them. A start file makes the workers begin together.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from tests.clock import child_pythonpath

ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import json, os, sys, time
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[1]  # the test database, not the configured one
import django
django.setup()
from django.db import connection, transaction
from documents.actions.numbering import do_allocate_doc_number
from documents.models import OfficialDocument
from oa.models import Person

job = json.loads(sys.argv[2])
actor = Person.objects.get(pk=job["actor"])
docs = {d.pk: d for d in OfficialDocument.objects.filter(pk__in=[pk for pk, _ in job["work"]])}
connection.ensure_connection()
open(job["ready"], "w").close()
deadline = time.monotonic() + 60
while not os.path.exists(job["go"]):
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.002)
out = []
for pk, year in job["work"]:
    with transaction.atomic():  # the caller's transaction, as a flow step's would be
        entry = do_allocate_doc_number(actor, docs[pk], year=year)
    out.append([pk, year, entry.pk, entry.seq, entry.number])
print(json.dumps(out))
"""

WORKERS = 4
PER_WORKER = 25
SHARED = 10
YEAR_DISTINCT, YEAR_SHARED = 2031, 2032


def _run_workers(jobs: list[dict], tmp_path: Path) -> list[list]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": child_pythonpath(str(ROOT))}
    go = tmp_path / "go"
    procs = []
    for i, job in enumerate(jobs):
        job = {**job, "ready": str(tmp_path / f"ready-{i}"), "go": str(go)}
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, connection.settings_dict["NAME"], json.dumps(job)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    try:
        # Start them together: every worker has its connection open before any allocates.
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{i}").exists() for i in range(len(jobs))):
            dead = [p for p in procs if p.poll() is not None]
            assert not dead, dead[0].stderr.read()
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.01)
        go.touch()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite serialises writers; the test is about row locks")
def test_processes_allocating_at_once_get_no_duplicates_and_no_gaps(demo_tx, tmp_path):
    from documents.actions.documents import do_create_document
    from documents.models import DocNumberEntry, DocNumberSequence, OfficialDocument
    from oa.models import Agency, AuditEntry, Person

    office = Agency.objects.get(doc_code="揭东府办")
    zhangwei, liuyang = Person.objects.get(username="zhangwei"), Person.objects.get(username="liuyang")
    distinct = [
        [do_create_document(actor=zhangwei, agency=office, title=f"并发编号 {w}-{i}").pk for i in range(PER_WORKER)]
        for w in range(WORKERS)
    ]
    shared = [do_create_document(actor=zhangwei, agency=office, title=f"同一公文 {i}").pk for i in range(SHARED)]
    audits_before = AuditEntry.objects.filter(action="docnumber.allocate").count()

    jobs = []
    for w in range(WORKERS):
        # Every worker also numbers the same ten documents, each starting at a different one, interleaved with
        # its own 25: re-entry of the same step in several processes at once.
        rotated = shared[w * 3 % SHARED:] + shared[: w * 3 % SHARED]
        work = []
        for i, pk in enumerate(distinct[w]):
            work.append([pk, YEAR_DISTINCT])
            if i < SHARED:
                work.append([rotated[i], YEAR_SHARED])
        jobs.append({"actor": liuyang.pk, "work": work})
    results = _run_workers(jobs, tmp_path)

    # 100 different documents: numbers 1..100, each once, no gaps, the ledger and the documents agree.
    seq = DocNumberSequence.objects.get(code="揭东府办", year=YEAR_DISTINCT)
    entries = list(DocNumberEntry.objects.filter(sequence=seq))
    assert seq.last == WORKERS * PER_WORKER == len(entries)
    assert sorted(e.seq for e in entries) == list(range(1, WORKERS * PER_WORKER + 1))
    assert len({e.number for e in entries}) == len(entries)
    assert {e.document_id for e in entries} == {pk for ids in distinct for pk in ids}
    numbers = dict(OfficialDocument.objects.filter(pk__in=[e.document_id for e in entries]).values_list("pk", "doc_number"))
    assert all(numbers[e.document_id] == e.number == f"揭东府办〔{YEAR_DISTINCT}〕{e.seq}号" for e in entries)
    reported = [(pk, number) for r in results for pk, year, _, _, number in r if year == YEAR_DISTINCT]
    assert sorted(reported) == sorted((e.document_id, e.number) for e in entries)

    # The same ten documents numbered by four processes at once: one entry each, and every process was
    # handed that same entry.
    shared_seq = DocNumberSequence.objects.get(code="揭东府办", year=YEAR_SHARED)
    shared_entries = {e.document_id: e for e in DocNumberEntry.objects.filter(sequence=shared_seq)}
    assert shared_seq.last == SHARED == len(shared_entries)
    assert set(shared_entries) == set(shared)
    assert sorted(e.seq for e in shared_entries.values()) == list(range(1, SHARED + 1))
    for r in results:
        for pk, year, entry_id, _, number in r:
            if year == YEAR_SHARED:
                assert (entry_id, number) == (shared_entries[pk].pk, shared_entries[pk].number)

    # One audit entry per number actually given (the idempotent returns write none), and the hash chain
    # that all these processes appended to concurrently still verifies.
    assert AuditEntry.objects.filter(action="docnumber.allocate").count() - audits_before == WORKERS * PER_WORKER + SHARED
    call_command("verify_audit")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs row locks and pg_stat_activity")
def test_a_flow_that_audited_before_numbering_does_not_deadlock_with_another_allocator(demo_tx):
    """Flow A records an audit entry (holding its audit chain until commit) and then allocates, while allocator B
    numbers in between. With one global chain head B had to queue behind A's open transaction (and a wrong lock
    order deadlocked); with several chains B takes a free one and finishes while A is still open: nothing queues
    on the audit log (docs/security.md § 审计链). Then A numbers, and both entries verify."""
    import threading

    from django.db import transaction

    from documents.actions.documents import do_create_document
    from documents.actions.numbering import do_allocate_doc_number
    from documents.models import DocNumberSequence
    from oa.actions.audit import do_record_audit
    from oa.models import Agency, Person

    office = Agency.objects.get(doc_code="揭东府办")
    zhangwei, liuyang = Person.objects.get(username="zhangwei"), Person.objects.get(username="liuyang")
    first, doc_a, doc_b = (do_create_document(actor=zhangwei, agency=office, title=t) for t in ("首件", "甲", "乙"))
    do_allocate_doc_number(liuyang, first, year=YEAR_DISTINCT)  # the sequence row exists: the classic case

    a_holds_audit_lock, b_is_waiting = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def flow_a() -> None:
        try:
            with transaction.atomic():
                do_record_audit(actor=liuyang, action="document.register", obj=doc_a, changes={"step": "登记"})
                a_holds_audit_lock.set()
                assert b_is_waiting.wait(30)
                outcome["a"] = do_allocate_doc_number(liuyang, doc_a, year=YEAR_DISTINCT).seq
        except Exception as exc:  # recorded and asserted below
            outcome["a"] = repr(exc)
        finally:
            a_holds_audit_lock.set()
            connection.close()

    def allocator_b() -> None:
        try:
            with transaction.atomic():
                outcome["b"] = do_allocate_doc_number(liuyang, doc_b, year=YEAR_DISTINCT).seq
        except Exception as exc:
            outcome["b"] = repr(exc)
        finally:
            connection.close()

    a = threading.Thread(target=flow_a)
    a.start()
    assert a_holds_audit_lock.wait(30)
    b = threading.Thread(target=allocator_b)
    b.start()
    b.join(60)
    assert not b.is_alive(), "allocator B queued behind flow A's open transaction"
    b_is_waiting.set()  # only now may A go on
    a.join(60)
    # B numbered while A held its audit chain; A, numbering after it, gets the next number.
    assert outcome == {"b": 2, "a": 3}
    assert DocNumberSequence.objects.get(code="揭东府办", year=YEAR_DISTINCT).last == 3
    call_command("verify_audit")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite serialises writers; the test is about row locks")
def test_processes_allocating_in_several_series_at_once_keep_each_series_whole(demo_tx, tmp_path):
    """通知 (文件 series), 函 and 纪要 of 区府办 numbered by four processes at once, interleaved: every series
    (docs/numbering.md §8) gets 1..N with no duplicate and no gap, printed in its own format."""
    from documents.actions.documents import do_create_document
    from documents.models import DocNumberEntry, DocNumberSequence, DocType, OfficialDocument
    from oa.models import Agency, Person

    office = Agency.objects.get(doc_code="揭东府办")
    zhangwei, liuyang = Person.objects.get(username="zhangwei"), Person.objects.get(username="liuyang")
    kinds = [(DocType.NOTICE, "揭东府办"), (DocType.LETTER, "揭东府办函"), (DocType.MINUTES, "揭东府办纪")]
    per_kind = 8
    docs = {code: [do_create_document(actor=zhangwei, agency=office, doc_type=doc_type,
                                      title=f"并发 {code} {i}").pk for i in range(per_kind * WORKERS)]
            for doc_type, code in kinds}
    jobs = []
    for w in range(WORKERS):
        work = []
        for i in range(per_kind):  # each worker interleaves the three series
            for _, code in kinds:
                work.append([docs[code][w * per_kind + i], YEAR_DISTINCT])
        jobs.append({"actor": liuyang.pk, "work": work})
    _run_workers(jobs, tmp_path)

    shapes = {"揭东府办": "揭东府办〔{y}〕{n}号", "揭东府办函": "揭东府办函〔{y}〕{n}号", "揭东府办纪": "{y}年第{n}期"}
    for _, code in kinds:
        seq = DocNumberSequence.objects.get(code=code, year=YEAR_DISTINCT)
        entries = list(DocNumberEntry.objects.filter(sequence=seq))
        assert seq.last == per_kind * WORKERS == len(entries), code
        assert sorted(e.seq for e in entries) == list(range(1, per_kind * WORKERS + 1)), code
        assert {e.document_id for e in entries} == set(docs[code])
        numbers = dict(OfficialDocument.objects.filter(pk__in=docs[code]).values_list("pk", "doc_number"))
        assert all(numbers[e.document_id] == e.number == shapes[code].format(y=YEAR_DISTINCT, n=e.seq)
                   for e in entries), code
    call_command("verify_audit")
