"""Shared helpers for the bench/ scripts (docs/performance.md; the convention is in issue 14 / `make bench`).

Every script:
- creates its own uniquely named PostgreSQL database(s) (``temp_database("numbering")`` → bench_numbering_<pid>_<n>)
  on the server of ``BENCH_PG`` (default postgresql://postgres@127.0.0.1:5432, maintenance database ``postgres``)
  and drops them at the end, whatever happens;
- runs child Python processes with ``sys.executable`` (never a hard-coded venv path);
- besides its human-readable output prints one ``BENCH_RESULT {json}`` line per measure (``print_result``), which
  ``bench/run.py`` (``make bench``) collects into one table.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432").rstrip("/")
MAINTENANCE_DB = os.environ.get("BENCH_PG_MAINTENANCE_DB", "postgres")
PREFIX = "BENCH_RESULT "
_counter = itertools.count(1)

# Settings every bench needs and no bench should have to invent (the same throwaway values the tests use).
BENCH_ENV = {
    "OA_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
    "OA_SEAL_KEK": "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=",
    "OA_HTTPS": "0",
    "OA_DEBUG": "0",
    "OA_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "OA_LOG_LEVEL": "WARNING",
    "OA_DATA_DIR": str(ROOT / "var" / "bench"),
    "OA_ACCEPT_STANDIN_FONTS": "1",
}


def bench_env(**overrides: str) -> dict[str, str]:
    """os.environ with the bench defaults filled in (explicit environment wins, then ``overrides``)."""
    env = {**BENCH_ENV, **os.environ, **overrides}
    env.setdefault("PYTHONPATH", str(ROOT))
    Path(env["OA_DATA_DIR"], "static").mkdir(parents=True, exist_ok=True)
    return env


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/{MAINTENANCE_DB}", autocommit=True) as conn:
        conn.execute(sql)


def unique_db_name(script: str) -> str:
    name = f"bench_{re.sub(r'[^a-z0-9_]', '_', script.lower())}_{os.getpid()}_{next(_counter)}"
    return name[:63]


def create_database(script: str) -> str:
    """A new empty database; returns its name."""
    name = unique_db_name(script)
    admin_sql(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(name: str) -> str:
    return f"{PG}/{name}"


@contextlib.contextmanager
def temp_database(script: str) -> Iterator[str]:
    """``with temp_database("audit_chain") as url:`` — a fresh database, dropped on the way out (also when the
    script is stopped with SIGTERM, e.g. by a timeout: it becomes SystemExit, so the ``finally`` runs)."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    name = create_database(script)
    try:
        yield database_url(name)
    finally:
        drop_database(name)


def setup_django(url: str, *, migrate: bool = True, settings: str = "oa.settings") -> None:
    """Configure this process for the project against ``url`` and (by default) migrate it."""
    os.environ.update(bench_env(OA_DATABASE_URL=url, DJANGO_SETTINGS_MODULE=settings))
    os.environ.pop("OA_DB_NAME", None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0–100) with linear interpolation between closest ranks; nan for no values."""
    if not values:
        return math.nan
    data = sorted(values)
    k = (len(data) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


_GOAL = re.compile(r"^\s*(≥|>=|≤|<=)\s*([0-9.]+)\s*×?\s*$")


def goal_met(goal: str, ratio: float) -> bool:
    """``≥ 0.60`` / ``≤ 1.5×``: whether ``ratio`` meets it."""
    match = _GOAL.match(goal)
    if not match or math.isnan(ratio):
        return False
    bound = float(match.group(2))
    return ratio >= bound if match.group(1) in ("≥", ">=") else ratio <= bound


def print_result(measure: str, ours: float, baseline: float, unit: str, goal: str, *,
                 ratio: float | None = None, met: bool | None = None, **extra: object) -> dict:
    """Print one ``BENCH_RESULT {json}`` line. ratio defaults to ours / baseline; met to the goal test on it.
    ``extra`` (e.g. duplicates=0) goes into the JSON as is."""
    if ratio is None:
        ratio = ours / baseline if baseline else math.nan
    if met is None:
        met = goal_met(goal, ratio)
    record = {"measure": measure, "ours": round(ours, 4), "baseline": round(baseline, 4), "unit": unit,
              "ratio": round(ratio, 4), "goal": goal, "met": bool(met), **extra}
    print(PREFIX + json.dumps(record, ensure_ascii=False), flush=True)
    return record


def parse_results(text: str) -> list[dict]:
    """The BENCH_RESULT records in a script's stdout (lines that do not parse are skipped)."""
    out = []
    for line in text.splitlines():
        if line.startswith(PREFIX):
            with contextlib.suppress(ValueError):
                out.append(json.loads(line[len(PREFIX):]))
    return out
