"""Cost of the hash-chained audit log against a bare insert, measured in one run.

    python bench/audit_chain.py        # BENCH_N=2000 appends per round, 3 rounds, median

In a fresh database of its own (bench_audit_chain_<pid>_<n>, dropped at the end), one process, each append in its
own transaction:
(a) a plain INSERT of an equivalent row (the ORM, as the action uses it);
(b) do_record_audit with SHA-256 and (c) with SM3 (the fast implementation oa.hashing picked; the pure-Python
    fallback is timed once for the record): take a free chain head (SKIP LOCKED), canonical JSON, digest, insert
    the entry and move the head in one statement.
Prints the ratios b/a and c/a (goal ≥ 0.60 each) and the verify_audit throughput over what was written.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_result, setup_django, temp_database

N = int(os.environ.get("BENCH_N", "2000"))
ROUNDS = 3


def main() -> None:
    with temp_database("audit_chain") as url:
        setup_django(url)
        from django.db import connection, transaction
        from django.test import override_settings
        from django.utils import timezone

        from oa import hashing
        from oa.actions.audit import do_record_audit
        from oa.models import AuditEntry, Person
        from oa.selectors.audit import verify_audit_chain

        actor = Person.objects.create(username="bench", name="基准")
        offset = 0

        def bare() -> float:
            nonlocal offset
            start = time.perf_counter()
            for i in range(N):
                with transaction.atomic():
                    AuditEntry.objects.create(
                        at=timezone.now(), actor=actor, actor_name="基准", action="bench.bare", object_repr=f"#{i}",
                        changes={"i": i}, prev_hash="0" * 64, hash=f"{offset + i:064x}", chain=0, seq=offset + i,
                    )
            offset += N
            return N / (time.perf_counter() - start)

        def chained(algorithm: str, n: int = N) -> float:
            with override_settings(OA_AUDIT_HASH=algorithm):
                start = time.perf_counter()
                for i in range(n):
                    with transaction.atomic():
                        do_record_audit(actor=actor, action="bench.chain", object_repr=f"#{i}", changes={"i": i})
                return n / (time.perf_counter() - start)

        rates: dict[str, list[float]] = {"bare": [], "sha256": [], "sm3": []}
        for _ in range(ROUNDS):
            rates["bare"].append(bare())
            rates["sha256"].append(chained("sha256"))
            rates["sm3"].append(chained("sm3"))
        fast_sm3 = hashing.sm3_hex
        hashing.sm3_hex = hashing.sm3_hex_pure  # the fallback, for the record (a few appends suffice)
        try:
            pure_rate = chained("sm3", max(20, N // 50))
        finally:
            hashing.sm3_hex = fast_sm3

        # The bare rows are not part of any chain; remove them before verifying.
        with connection.cursor() as cur:
            cur.execute("ALTER TABLE oa_auditentry DISABLE TRIGGER oa_audit_guard")
            cur.execute("DELETE FROM oa_auditentry WHERE action = 'bench.bare'")
            cur.execute("ALTER TABLE oa_auditentry ENABLE TRIGGER oa_audit_guard")
        start = time.perf_counter()
        report = verify_audit_chain()
        verify_rate = report.checked / (time.perf_counter() - start)

        med = {k: statistics.median(v) for k, v in rates.items()}
        print(f"N={N} per round, {ROUNDS} rounds (median); SM3 via {hashing.SM3_IMPLEMENTATION}")
        print(f"bare insert              {med['bare']:9.0f} rows/s   1.00")
        print(f"audit append (sha256)    {med['sha256']:9.0f} rows/s   {med['sha256'] / med['bare']:.2f} of bare")
        print(f"audit append (sm3)       {med['sm3']:9.0f} rows/s   {med['sm3'] / med['bare']:.2f} of bare")
        print(f"audit append (sm3, gmssl pure Python fallback) {pure_rate:9.0f} rows/s   "
              f"{pure_rate / med['bare']:.2f} of bare")
        print(f"verify_audit             {verify_rate:9.0f} rows/s   ok={report.ok} ({report.checked} rows, "
              f"{report.chains} chains, {report.checkpoints} checkpoints)")
        if not report.ok:
            raise SystemExit(f"chain does not verify: {report.where} {report.reason}")
        print_result("audit append ÷ bare INSERT (SHA-256)", med["sha256"], med["bare"], "rows/s", "≥ 0.60")
        print_result(f"audit append ÷ bare INSERT (SM3, {hashing.SM3_IMPLEMENTATION})", med["sm3"], med["bare"],
                     "rows/s", "≥ 0.60")


if __name__ == "__main__":
    main()
