"""待办 throughput and latency: our inbox API against a bare Django JSON view, and our 待办 page against viewflow's
own WorkflowInboxListView, on 1,000,000 WorkItems and a district-sized directory (issue 14, docs/performance.md).

    python bench/inbox.py        # PostgreSQL on 127.0.0.1:5432 (trust, user postgres); BENCH_* below

What it does, in one run:
1. creates a throwaway database `bench_inbox_<pid>` (BENCH_PG, default postgresql://postgres@127.0.0.1:5432),
   migrates it and loads the demo district;
2. adds BENCH_PEOPLE (8,800) people with appointments across the demo departments, BENCH_ITEMS (1,000,000)
   WorkItems over them (COPY), and gives one person (bench_heavy) 200 open viewflow tasks (发文 部门负责人审核)
   mirrored as 200 open 待办 — the same tasks both inboxes list; then ANALYZE;
3. starts uvicorn (oa.asgi, settings bench.inbox_settings = the product settings plus /bench/bare and viewflow's
   Site under /vf/) on loopback, with the product's default connection handling (the psycopg pool);
4. for BENCH_SECONDS per round and BENCH_ROUNDS rounds, BENCH_THREADS keep-alive client threads request
   each path: GET /api/work?box=todo (Bearer token) vs GET /bench/bare; GET /work/?box=todo vs viewflow's
   /vf/workflow/inbox/ (the same session); in the same rounds the API and bare paths on a second server with
   Django's stock ASGI handler (bench/inbox_stock_asgi.py): what oa.asgi's one-hop handler changes;
5. prints req/s (best round), latency p50/p95 (of that round), SQL per request (CaptureQueriesContext in
   this process against the same database) and BENCH_RESULT lines; stops the server and drops the database.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
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
ITEMS = int(os.environ.get("BENCH_ITEMS", "1000000"))
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "8800"))
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
        "OA_DB_POOL": "1",  # the psycopg pool (opt-in, docs/performance.md "待办 path")
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


def _directory(password: str) -> list[int]:
    """PEOPLE people, each with a primary appointment in one of the demo departments."""
    from oa.models import Appointment, Department, Person, Post

    Person.objects.bulk_create(
        [Person(username=f"bench_{i:05d}", name=f"测试{i:05d}", password=password) for i in range(PEOPLE - 1)]
        + [Person(username="bench_heavy", name="压测用户", password=password)], batch_size=2000,
    )
    people = list(Person.objects.filter(username__startswith="bench_").order_by("id").values_list("id", flat=True))
    departments = list(Department.objects.values_list("id", flat=True))
    post = Post.objects.order_by("id").first()
    if departments and post is not None:
        Appointment.objects.bulk_create(
            [Appointment(person_id=pid, department_id=departments[n % len(departments)], post=post, is_primary=True)
             for n, pid in enumerate(people)], batch_size=2000,
        )
    return people


def _heavy_tasks(heavy) -> list[tuple[int, int]]:
    """200 发文 processes, each waiting at 部门负责人审核 for bench_heavy: (task id, process id)."""
    from django.contrib.auth.models import Permission
    from viewflow.workflow.models import Process, Task
    from viewflow.workflow.status import PROCESS, STATUS

    from workflows.issuance.flows import IssuanceFlow

    processes = Process.objects.bulk_create(
        [Process(flow_class=IssuanceFlow, status=PROCESS.NEW,
                 data={"initiator_id": heavy.pk, "title": f"关于做好第{i}项重点工作的通知"}) for i in range(HEAVY_OPEN)]
    )
    tasks = Task.objects.bulk_create(
        [Task(process=p, flow_task=IssuanceFlow.dept_review, status=STATUS.ASSIGNED, owner=heavy,
              flow_task_type="HUMAN") for p in processes]
    )
    # viewflow lists a flow's tasks only to users who may view its processes.
    heavy.user_permissions.add(Permission.objects.get(content_type__app_label="viewflow", codename="view_process"))
    return [(t.pk, p.pk) for t, p in zip(tasks, processes, strict=True)]


def populate() -> tuple[str, int, str]:
    """Returns (raw token of bench_heavy, bench_heavy's id, a session cookie of bench_heavy)."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from oa.actions.tokens import do_issue_token
    from oa.models import Agency, Person, WorkItem
    from workflows.inbox import process_ref, task_ref

    call_command("migrate", verbosity=0)
    call_command("load_demo", verbosity=0)
    people = _directory(make_password(None))
    heavy = Person.objects.get(username="bench_heavy")
    people.remove(heavy.pk)
    agencies = list(Agency.objects.values_list("id", flat=True))
    kinds = ["flow_task", "circulation", "meeting", "supervision", "service"]
    boxes = [WorkItem.Box.TODO] * 6 + [WorkItem.Box.TOREAD] * 3 + [WorkItem.Box.INITIATED]
    states = [WorkItem.State.DONE] * 7 + [WorkItem.State.OPEN] * 2 + [WorkItem.State.CANCELLED]
    rng = random.Random(20261127)
    now = timezone.now()
    columns = ("kind", "ref", "thread", "box", "owner_id", "agency_id", "title", "doc_number", "step", "urgency",
               "deadline", "state", "link", "note", "outcome", "created_at", "completed_at")

    def row(ref: str, owner_id: int, box: str, state: str, kind: str, link: str, thread: str, i: int) -> tuple:
        deadline = now + dt.timedelta(hours=rng.randint(-72, 24 * 20)) if rng.random() < 0.6 else None
        return (kind, ref, thread, box, owner_id, rng.choice(agencies), f"关于做好第{i}项重点工作的通知",
                f"揭东府办〔2026〕{i}号" if rng.random() < 0.5 else "", "部门负责人审核", rng.choice([0, 0, 0, 0, 1, 1, 2]),
                deadline, state, link, "", "", now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 365)),
                None if state == WorkItem.State.OPEN else now)

    heavy_tasks = _heavy_tasks(heavy)  # before COPY: the connection runs nothing else while it copies

    def rows():
        for i, (task_id, process_id) in enumerate(heavy_tasks):
            yield row(task_ref(task_id), heavy.pk, WorkItem.Box.TODO, WorkItem.State.OPEN, "flow_task",
                      f"/workflows/issuance/{process_id}/step/{task_id}/", process_ref(process_id), i)
        for i in range(HEAVY_OPEN, ITEMS):
            yield row(f"bench:{i}", rng.choice(people), rng.choice(boxes), rng.choice(states), rng.choice(kinds), "/",
                      f"bench:{i}", i)

    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY oa_workitem ({', '.join(columns)}) FROM STDIN") as copy:
            for values in rows():
                copy.write_row(values)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    raw, _ = do_issue_token(heavy, name="bench")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(heavy)
    return raw, heavy.pk, f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


PATHS = {
    "api": "/api/work?box=todo",
    "bare": "/bench/bare",
    "page": "/work/?box=todo",
    "viewflow": "/vf/workflow/inbox/",
}


def queries_per_request(raw: str, cookie: str) -> dict[str, list[str]]:
    """The SQL of one warm request per path, run through Django's test client in this process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    name, value = cookie.split("=", 1)
    api = Client(headers={"Authorization": f"Bearer {raw}"}, HTTP_HOST="127.0.0.1")
    anonymous = Client(HTTP_HOST="127.0.0.1")
    session = Client(HTTP_HOST="127.0.0.1")
    session.cookies[name] = value
    clients = {"api": api, "bare": anonymous, "page": session, "viewflow": session}
    sql = {}
    for key, url in PATHS.items():
        client = clients[key]
        assert client.get(url).status_code == 200, url  # warm: token touch, caches, the idle clock
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        sql[key] = [q["sql"] for q in ctx.captured_queries]
        if key == "api":
            body = response.json()
            assert body["count"] == HEAVY_OPEN and len(body["results"]) == 20, body["count"]
        if key == "page":
            assert f"共 {HEAVY_OPEN} 项" in response.content.decode(), "our 待办 page does not list the 200 tasks"
        if key == "viewflow":
            html = response.content.decode()
            assert "部门负责人审核" in html, "viewflow's inbox does not list the tasks"
    return sql


def start_server(port: int, app: str = "oa.asgi:application") -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
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


def measure(port: int, path: str, headers: dict[str, str], seconds: float = SECONDS) -> tuple[float, list[float]]:
    """(req/s, latencies in ms) over `seconds` with THREADS keep-alive clients; every response must be 200."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while time.monotonic() < stop_at and len(mine) < MAX_REQUESTS // THREADS:
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if response.status != 200:
                errors.append(f"{path}: HTTP {response.status}")
                break
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if errors:
        raise SystemExit(errors[0])
    return len(latencies) / elapsed, latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def result(measure_name: str, ours: float, baseline: float, unit: str, ratio: float, goal: str, met: bool) -> None:
    print("BENCH_RESULT " + json.dumps({"measure": measure_name, "ours": round(ours, 2), "baseline": round(baseline, 2),
                                        "unit": unit, "ratio": round(ratio, 3), "goal": goal, "met": met},
                                       ensure_ascii=False))


def main() -> None:
    parsed = urlparse(PG)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise SystemExit("BENCH_PG must be a postgresql:// URL")
    admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    server = stock_server = None
    try:
        import django

        django.setup()
        t0 = time.monotonic()
        raw, heavy_id, cookie = populate()
        from oa.models import Person, WorkItem

        print(f"database {DB_NAME}: {WorkItem.objects.count():,} work items, {Person.objects.count():,} people, "
              f"{WorkItem.objects.filter(owner_id=heavy_id, state='open').count()} open for bench_heavy "
              f"(populated in {time.monotonic() - t0:.1f} s)")
        sql = queries_per_request(raw, cookie)
        print("SQL queries per request: " + ", ".join(f"{k} {len(v)}" for k, v in sql.items()))
        for key in ("api", "page"):
            for q in sql[key]:
                print(f"  {key}: {q[:150]}")
        from django.db import connections

        connections.close_all()

        port = free_port()
        server = start_server(port)
        # The API and bare paths also under Django's stock ASGI handler (a second, otherwise idle server measured
        # in the same rounds): what oa.asgi's one-hop handler changes.
        stock_port = free_port()
        stock_server = start_server(stock_port, "bench.inbox_stock_asgi:application")
        headers = {
            "api": {"Authorization": f"Bearer {raw}", "Accept": "application/json"},
            "bare": {},
            "page": {"Cookie": cookie},
            "viewflow": {"Cookie": cookie},
        }
        for key, url in PATHS.items():  # warm every path (imports, pool, caches) before measuring
            measure(port, url, headers[key], 1.0)
        for key in ("api", "bare"):
            measure(stock_port, PATHS[key], headers[key], 1.0)
        stock: dict[str, tuple[float, list[float]]] = {}
        best: dict[str, tuple[float, list[float]]] = {}
        rounds: dict[str, list[float]] = {key: [] for key in PATHS}
        # Each path's stock-handler twin right after it, the pair in alternating order per round: the machine's
        # load drifts, and a comparison of two paths measured minutes apart mostly measures that drift.
        for n in range(ROUNDS):
            for key, url in PATHS.items():
                runs = [(best, port)] + ([(stock, stock_port)] if key in ("api", "bare") else [])
                for into, on in runs if n % 2 == 0 else runs[::-1]:
                    rate, latencies = measure(on, url, headers[key])
                    if into is best:
                        rounds[key].append(rate)
                    if key not in into or rate > into[key][0]:
                        into[key] = (rate, latencies)
        print(f"uvicorn, 1 worker, {THREADS} client threads, {ROUNDS} × {SECONDS:.0f} s per path (best round):")
        stats = {}
        for key, url in PATHS.items():
            rate, latencies = best[key]
            stats[key] = (rate, percentile(latencies, 50), percentile(latencies, 95))
            print(f"  {url:24s} {rate:8.1f} req/s  p50 {stats[key][1]:6.1f} ms  p95 {stats[key][2]:6.1f} ms  "
                  f"SQL {len(sql[key]):2d}  rounds {[round(r, 1) for r in rounds[key]]}")
        for key in ("api", "bare"):
            rate, latencies = stock[key]
            print(f"  {PATHS[key]:24s} {rate:8.1f} req/s  p50 {percentile(latencies, 50):6.1f} ms  "
                  f"p95 {percentile(latencies, 95):6.1f} ms  (Django's stock ASGI handler)")
        api, bare, page, vf = stats["api"], stats["bare"], stats["page"], stats["viewflow"]
        result("待办 API req/s ÷ bare Django JSON view", api[0], bare[0], "req/s", api[0] / bare[0], "≥ 0.60",
               api[0] / bare[0] >= 0.60)
        result("待办 API p95 ÷ bare view p95", api[2], bare[2], "ms", api[2] / bare[2], "≤ 2×", api[2] / bare[2] <= 2)
        result("待办 page req/s ÷ viewflow WorkflowInboxListView", page[0], vf[0], "req/s", page[0] / vf[0], "≥ 2×",
               page[0] / vf[0] >= 2)
        for key, label in (("bare", "bare view"), ("api", "待办 API")):
            ours, theirs = stats[key][0], stock[key][0]
            result(f"{label} req/s, one-hop ASGI handler ÷ Django's stock handler", ours, theirs, "req/s",
                   ours / theirs, "≥ 1.0", ours / theirs >= 1.0)
        ratio = len(sql["page"]) / len(sql["viewflow"])
        result("待办 page SQL ÷ viewflow inbox SQL", len(sql["page"]), len(sql["viewflow"]), "queries", ratio, "≤ 0.5",
               ratio <= 0.5)
    finally:
        for extra in (stock_server,):
            if extra is not None:
                extra.terminate()
                extra.wait(timeout=10)
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
