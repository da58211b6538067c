"""Cost of the hash-chained audit log against a bare insert, measured in one run.

    OA_SECRET_KEY=... OA_SEAL_KEK=... OA_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/audit_chain.py

Prints appends per second for (a) a plain INSERT of an equivalent row and (b) do_record_audit (head lock,
canonical JSON, SHA-256/SM3, insert, head update), the ratio b/a, and the verify_audit throughput. Runs in a
throwaway test database created and dropped by Django's test runner machinery.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oa.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

N = int(os.environ.get("BENCH_N", "2000"))
ROUNDS = 3


def main() -> None:
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from django.test import override_settings

        from oa.actions.audit import do_record_audit
        from oa.models import AuditEntry, Person
        from oa.selectors.audit import verify_audit_chain

        actor = Person.objects.create(username="bench", name="基准")

        def bare() -> float:
            start = time.perf_counter()
            for i in range(N):
                with transaction.atomic():
                    AuditEntry.objects.create(
                        pk=10_000_000 + bare.offset + i, at=timezone.now(), actor=actor, actor_name="基准",
                        action="bench.bare", object_repr=f"#{i}", prev_hash="0" * 64, hash=f"{bare.offset + i:064x}",
                    )
            bare.offset += N
            return N / (time.perf_counter() - start)

        bare.offset = 0

        def chained(algorithm: str) -> float:
            with override_settings(OA_AUDIT_HASH=algorithm):
                start = time.perf_counter()
                for i in range(N):
                    with transaction.atomic():
                        do_record_audit(actor=actor, action="bench.chain", object_repr=f"#{i}", changes={"i": i})
                return N / (time.perf_counter() - start)

        rates = {"bare": [], "sha256": [], "sm3": []}
        for _ in range(ROUNDS):
            rates["bare"].append(bare())
            rates["sha256"].append(chained("sha256"))
            rates["sm3"].append(chained("sm3"))
        # The bare rows would break the chain; remove them before verifying.
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("ALTER TABLE oa_auditentry DISABLE TRIGGER oa_audit_guard")
                cur.execute("DELETE FROM oa_auditentry WHERE action = 'bench.bare'")
                cur.execute("ALTER TABLE oa_auditentry ENABLE TRIGGER oa_audit_guard")
        else:
            AuditEntry.objects.filter(action="bench.bare").delete()
        start = time.perf_counter()
        report = verify_audit_chain()
        verify_rate = report.checked / (time.perf_counter() - start)

        med = {k: statistics.median(v) for k, v in rates.items()}
        print(f"database: {connection.vendor}, N={N} per round, {ROUNDS} rounds (median)")
        print(f"bare insert              {med['bare']:9.0f} rows/s   1.00")
        print(f"audit append (sha256)    {med['sha256']:9.0f} rows/s   {med['sha256'] / med['bare']:.2f} of bare")
        print(f"audit append (sm3)       {med['sm3']:9.0f} rows/s   {med['sm3'] / med['bare']:.2f} of bare")
        print(f"verify_audit             {verify_rate:9.0f} rows/s   chain ok={report.ok} ({report.checked} rows)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
