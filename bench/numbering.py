"""文号 allocations per second, 8 processes on one series, against a bare ``UPDATE … RETURNING`` counter.

    python bench/numbering.py        # BENCH_WORKERS=8 processes, BENCH_N=60 allocations each (bare: BENCH_BARE_N=400)

In a fresh database of its own (bench_numbering_<pid>_<n>, dropped at the end):
1. bare: each worker process runs ``UPDATE bench_counter SET last = last + 1 WHERE id = 1 RETURNING last`` in
   autocommit, the least any gap-free counter can cost (every increment queues on the one row);
2. ours: each worker numbers its own 公文 with ``do_allocate_doc_number`` in a transaction of its own (the flow
   step's), all on the same (机关代字, 年): sequence row, ledger entry, the document's 文号 and search index,
   and the audit entry;
3. checks the ledger: numbers 1..N each exactly once (0 duplicates, 0 gaps), the documents carry them, and the
   audit chains still verify.
Workers start together (a barrier after each has connected); the rate is allocations over the wall time
from the start to the last worker's end. Ratio = ours / bare; goal ≥ 0.10.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_result, setup_django, temp_database

WORKERS = int(os.environ.get("BENCH_WORKERS", "8"))
N = int(os.environ.get("BENCH_N", "60"))
BARE_N = int(os.environ.get("BENCH_BARE_N", "400"))
CODE, YEAR = "基准编号", 2031


def _bare_worker(barrier, url: str, n: int, out) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        barrier.wait()
        got = [conn.execute("UPDATE bench_counter SET last = last + 1 WHERE id = 1 RETURNING last").fetchone()[0]
               for _ in range(n)]
    out.put(got)


def _ours_worker(barrier, actor_id: int, doc_ids: list[int], out) -> None:
    from django.db import connection, transaction

    from documents.actions.numbering import do_allocate_doc_number
    from documents.models import OfficialDocument
    from oa.models import Person

    actor = Person.objects.get(pk=actor_id)
    docs = list(OfficialDocument.objects.filter(pk__in=doc_ids).order_by("pk"))
    connection.ensure_connection()
    barrier.wait()
    got = []
    for doc in docs:
        with transaction.atomic():
            got.append(do_allocate_doc_number(actor, doc, code=CODE, year=YEAR).seq)
    connection.close()
    out.put(got)


def _run(target, args_per_worker: list[tuple]) -> tuple[float, list[int]]:
    from django.db import connections

    connections.close_all()  # children must not share the parent's socket
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(len(args_per_worker) + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(barrier, *args, out)) for args in args_per_worker]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)
    start = time.perf_counter()
    results = [out.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise SystemExit(f"worker failed with exit code {p.exitcode}")
    return elapsed, [v for r in results for v in r]


def _check(values: list[int], expected: int) -> tuple[int, int]:
    """(duplicates, gaps) among values that should be exactly 1..expected."""
    duplicates = len(values) - len(set(values))
    gaps = len(set(range(1, expected + 1)) - set(values))
    return duplicates, gaps


def main() -> None:
    with temp_database("numbering") as url:
        setup_django(url)
        from django.db import connection

        from documents.actions.documents import do_create_document
        from documents.models import DocNumberEntry, DocNumberSequence, OfficialDocument
        from oa.models import Agency, AuditEntry, Person
        from oa.selectors.audit import verify_audit_chain

        agency = Agency.objects.create(name="基准测试局", short_name="基准局", doc_code=CODE)
        actor = Person.objects.create(username="bench_clerk", name="基准文书")
        doc_ids = [
            [do_create_document(actor=actor, agency=agency, title=f"基准编号公文 {w}-{i}").pk for i in range(N)]
            for w in range(WORKERS)
        ]
        with connection.cursor() as cur:
            cur.execute("CREATE TABLE bench_counter (id int PRIMARY KEY, last bigint NOT NULL)")
            cur.execute("INSERT INTO bench_counter VALUES (1, 0)")

        def bare_round() -> float:
            with connection.cursor() as cur:
                cur.execute("UPDATE bench_counter SET last = 0")
            elapsed, values = _run(_bare_worker, [(url, BARE_N)] * WORKERS)
            assert _check(values, WORKERS * BARE_N) == (0, 0)
            return len(values) / elapsed

        # Bare before and after ours, so drift on a shared machine shows up.
        bare_rates = [bare_round()]
        audit_before = AuditEntry.objects.count()
        elapsed, values = _run(_ours_worker, [(actor.pk, ids) for ids in doc_ids])
        ours_rate = len(values) / elapsed
        bare_rates.append(bare_round())

        total = WORKERS * N
        seq = DocNumberSequence.objects.get(code=CODE, year=YEAR)
        entries = list(DocNumberEntry.objects.filter(sequence=seq).values_list("seq", "number", "document_id"))
        duplicates, gaps = _check([s for s, _, _ in entries], total)
        duplicates += len(entries) - len({n for _, n, _ in entries})
        numbers = dict(OfficialDocument.objects.filter(agency=agency).values_list("pk", "doc_number"))
        mismatched = sum(1 for _, number, doc in entries if numbers.get(doc) != number)
        mismatched += abs(len(entries) - total) + abs(seq.last - total)
        report = verify_audit_chain()
        audits = AuditEntry.objects.count() - audit_before
        bare = statistics.mean(bare_rates)

        print(f"{WORKERS} processes on one series ({CODE}〔{YEAR}〕)")
        print(f"bare UPDATE … RETURNING   {bare:9.0f} /s   (runs: {', '.join(f'{r:.0f}' for r in bare_rates)})")
        print(f"do_allocate_doc_number    {ours_rate:9.0f} /s   {ours_rate / bare:.3f} of bare")
        print(f"ledger: {len(entries)} entries, last {seq.last}, duplicates {duplicates}, gaps {gaps}, "
              f"documents disagreeing {mismatched}; audit entries written {audits}; "
              f"audit verifies: {report.ok} ({report.checked} entries in {report.chains} chains)")
        ok = duplicates == 0 and gaps == 0 and mismatched == 0 and report.ok
        print_result("文号 allocations/s, 8 processes on one series ÷ bare UPDATE … RETURNING", ours_rate, bare,
                     "alloc/s", "≥ 0.10", met=ok and ours_rate / bare >= 0.10, duplicates=duplicates, gaps=gaps)


if __name__ == "__main__":
    main()
