"""Inbox API throughput against a bare Django JSON view, with 100,000 WorkItems in PostgreSQL.

    OA_SECRET_KEY=... .venv/bin/python bench/inbox.py        # PostgreSQL on 127.0.0.1:5432 (trust, user postgres)

What it does, in one run:
1. creates a throwaway database `bench_inbox_<pid>` on the PostgreSQL server (BENCH_PG, default
   postgresql://postgres@127.0.0.1:5432), migrates it and loads the demo district;
2. bulk-creates BENCH_ITEMS (100,000) WorkItems spread over ~500 people, five kinds, every box and state,
   and gives one person (bench_heavy) 200 open 待办;
3. starts uvicorn (oa.asgi, settings bench.inbox_settings = the product settings plus /bench/bare) on loopback;
4. for BENCH_SECONDS per round and BENCH_ROUNDS rounds, BENCH_THREADS client threads with keep-alive
   connections request GET /api/work?box=todo (Bearer token of bench_heavy) and GET /bench/bare (same
   middleware, one indexed query on the same table);
5. prints req/s of both, the ratio, the SQL queries per request (CaptureQueriesContext in this process against
   the same database) and the query plan of the inbox page; then stops the server and drops the database.
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB_NAME = f"bench_inbox_{os.getpid()}"
ITEMS = int(os.environ.get("BENCH_ITEMS", "100000"))
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "500"))
HEAVY_OPEN = 200
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
MAX_REQUESTS = int(os.environ.get("BENCH_MAX_REQUESTS", "200000"))  # hard bound per measurement

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "bench.inbox_settings",
        "OA_DATABASE_URL": f"{PG}/{DB_NAME}",
        "OA_HTTPS": "0",
        "OA_DEBUG": "0",
        "OA_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The per-user API throttle still runs on every request; only its limit is out of the way.
        "OA_API_RATE_USER": "100000000/min",
        "OA_LOG_LEVEL": "WARNING",
        # Under ASGI, persistent connections pile up per worker thread (no pool installed): one per request,
        # the same for both paths.
        "OA_DB_CONN_MAX_AGE": "0",
    }
)
os.environ.setdefault("OA_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("OA_SEAL_KEK", "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=")
os.environ.setdefault("OA_DATA_DIR", str(ROOT / "var" / "bench"))
Path(os.environ["OA_DATA_DIR"], "static").mkdir(parents=True, exist_ok=True)


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def populate() -> tuple[str, int]:
    """Returns (raw token of bench_heavy, bench_heavy's id)."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from oa.actions.tokens import do_issue_token
    from oa.models import Agency, Person, WorkItem

    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)
    password = make_password(None)
    Person.objects.bulk_create(
        [Person(username=f"bench_{i:03d}", name=f"测试{i:03d}", password=password) for i in range(PEOPLE - 1)]
        + [Person(username="bench_heavy", name="压测用户", password=password)]
    )
    people = list(Person.objects.filter(username__startswith="bench_").exclude(username="bench_heavy")
                  .values_list("id", flat=True))
    heavy = Person.objects.get(username="bench_heavy")
    agencies = list(Agency.objects.values_list("id", flat=True))
    kinds = ["flow_task", "circulation", "meeting", "supervision", "service"]
    boxes = [WorkItem.Box.TODO] * 6 + [WorkItem.Box.TOREAD] * 3 + [WorkItem.Box.INITIATED]
    states = [WorkItem.State.DONE] * 7 + [WorkItem.State.OPEN] * 2 + [WorkItem.State.CANCELLED]
    rng = random.Random(20261127)
    now = timezone.now()

    def item(i: int, owner_id: int, box: str, state: str) -> WorkItem:
        deadline = now + dt.timedelta(hours=rng.randint(-72, 24 * 20)) if rng.random() < 0.6 else None
        return WorkItem(
            kind=rng.choice(kinds), ref=f"bench:{i}", box=box, owner_id=owner_id, agency_id=rng.choice(agencies),
            title=f"关于做好第{i}项重点工作的通知", doc_number=f"揭东府办〔2026〕{i}号" if rng.random() < 0.5 else "",
            step="办理", urgency=rng.choice([0, 0, 0, 0, 1, 1, 2]), deadline=deadline, state=state,
            link="/", completed_at=None if state == WorkItem.State.OPEN else now,
        )

    batch: list[WorkItem] = []
    for i in range(HEAVY_OPEN):
        batch.append(item(i, heavy.pk, WorkItem.Box.TODO, WorkItem.State.OPEN))
    for i in range(HEAVY_OPEN, ITEMS):
        batch.append(item(i, rng.choice(people), rng.choice(boxes), rng.choice(states)))
        if len(batch) >= 5000:
            WorkItem.objects.bulk_create(batch)
            batch = []
    WorkItem.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE oa_workitem")
    raw, _ = do_issue_token(heavy, name="bench")
    return raw, heavy.pk


def queries_per_request(raw: str) -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    api = Client(headers={"Authorization": f"Bearer {raw}"}, HTTP_HOST="127.0.0.1")
    bare = Client(HTTP_HOST="127.0.0.1")
    counts = {}
    for name, client, url in (("api", api, "/api/work?box=todo"), ("bare", bare, "/bench/bare")):
        assert client.get(url).status_code == 200  # warm: token last_used_at touch, caches
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        counts[name] = len(ctx.captured_queries)
        if name == "api":
            body = response.json()
            assert body["count"] == HEAVY_OPEN and len(body["results"]) == 20, body["count"]
            counts["api_sql"] = [q["sql"][:160] for q in ctx.captured_queries]
    return counts


def inbox_plan(heavy_id: int) -> str:
    from django.db import connection

    from oa.models import Person
    from oa.selectors.work import inbox

    qs = inbox(Person.objects.get(pk=heavy_id), "todo")[:20]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "oa.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=os.environ.copy(),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("uvicorn did not come up")


def measure(port: int, path: str, headers: dict[str, str], seconds: float = SECONDS) -> float:
    """req/s over `seconds` with THREADS keep-alive clients; every response must be 200."""
    done = 0
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        nonlocal done
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = 0
        while time.monotonic() < stop_at and mine < MAX_REQUESTS // THREADS:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"{path}: HTTP {response.status}")
                break
            mine += 1
        conn.close()
        with lock:
            done += mine

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if errors:
        raise SystemExit(errors[0])
    return done / elapsed


def main() -> None:
    parsed = urlparse(PG)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("BENCH_PG must be a postgresql:// URL")
    admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    server = None
    try:
        import django

        django.setup()
        t0 = time.monotonic()
        raw, heavy_id = populate()
        from oa.models import WorkItem

        print(f"database {DB_NAME}: {WorkItem.objects.count():,} work items, "
              f"{WorkItem.objects.filter(owner_id=heavy_id, state='open').count()} open for bench_heavy "
              f"(populated in {time.monotonic() - t0:.1f} s)")
        counts = queries_per_request(raw)
        print(f"SQL queries per request: inbox API {counts['api']}, bare view {counts['bare']}")
        for sql in counts["api_sql"]:
            print(f"  {sql}")
        print("inbox page plan:")
        print("  " + inbox_plan(heavy_id).replace("\n", "\n  "))
        from django.db import connections

        connections.close_all()

        port = free_port()
        server = start_server(port)
        api_headers = {"Authorization": f"Bearer {raw}", "Accept": "application/json"}
        # Warm both paths (imports, connection, caches) before measuring.
        measure(port, "/bench/bare", {}, 1.0)
        measure(port, "/api/work?box=todo", api_headers, 1.0)
        api_rates, bare_rates = [], []
        for _ in range(ROUNDS):
            bare_rates.append(measure(port, "/bench/bare", {}))
            api_rates.append(measure(port, "/api/work?box=todo", api_headers))
        api_rate, bare_rate = max(api_rates), max(bare_rates)
        print(f"uvicorn, 1 worker, {THREADS} client threads, {ROUNDS} × {SECONDS:.0f} s per path (best round):")
        print(f"  GET /api/work?box=todo (20 of 200, token auth): {api_rate:8.1f} req/s  rounds {[round(r, 1) for r in api_rates]}")
        print(f"  GET /bench/bare (bare Django JSON view):        {bare_rate:8.1f} req/s  rounds {[round(r, 1) for r in bare_rates]}")
        print(f"  ratio inbox API / bare = {api_rate / bare_rate:.2f}")
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up if the database creation failed
            pass
        admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        print(f"dropped {DB_NAME}")


if __name__ == "__main__":
    main()
