"""督办 light recomputation on PostgreSQL: 50,000 items, seconds per run and the ratio to one plain UPDATE.

    .venv/bin/python bench/supervision.py          # BENCH_PG (default postgresql://postgres@127.0.0.1:5432)

1. creates a throwaway database `bench_supervision_<pid>` and migrates it;
2. populates BENCH_ITEMS (50,000) items in 办理中, one unit task each, under three light policies, with four
   feedback due dates per unit (some missed, some made up late, some on time) and mixed progress and deadlines;
3. settles the colours once (the set-based part only, so the first run's 50,000 audit entries are not timed);
4. times, ROUNDS times each: (a) `recolour` — the per-policy UPDATE … SET light = CASE … and the item roll-up UPDATE;
   (b) the baseline, one `UPDATE supervision_unittask SET light_prev = light` over the same rows (it writes every
   row; recolour reads every row and writes only those whose colour changes); then once (c) `do_recompute_lights`
   the next day on 1,000 of the items, when some colours change and each change is audited;
5. prints the best times, the ratio recolour / baseline (goal ≤ 3×);
6. closes 40 % of the tasks (done on, before or after their deadline, across weekends) and times, ROUNDS times each,
   the 督办看板 of a 督查员 over the 200 units (`supervision.dashboard.dashboard_for`: the per-unit GROUP BY with
   the conditional COUNTs and the working-day SUM; the whole page is one GROUP BY unit, source, month, in-period
   over the period and the 12 trend months, summed up per unit/source/month in Python over the groups) against a
   plain `SELECT agency_id, count(*) … GROUP BY agency_id` over the same rows; prints both ratios (per-unit query
   alone, and the whole dashboard) and drops the database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
# This script's own directory comes first on sys.path and holds a file named like the app: put the project first.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB_NAME = f"bench_supervision_{os.getpid()}"
ITEMS = int(os.environ.get("BENCH_ITEMS", "50000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
GOAL = 3.0
DASH_GOAL = 5.0  # the per-unit query: conditional aggregates and the working-day CASE vs a bare count
DASH_WHOLE_GOAL = 15.0  # the whole page: per-unit + total + by-source + trend (12 months wider) queries

os.environ.update({"DJANGO_SETTINGS_MODULE": "oa.settings", "OA_DATABASE_URL": f"{PG}/{DB_NAME}", "OA_DEBUG": "0",
                   "OA_LOG_LEVEL": "WARNING"})
os.environ.setdefault("OA_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("OA_SEAL_KEK", "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=")
os.environ.setdefault("OA_DATA_DIR", str(ROOT / "var" / f"bench-supervision-{os.getpid()}"))
Path(os.environ["OA_DATA_DIR"], "static").mkdir(parents=True, exist_ok=True)


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def populate(today: dt.date) -> None:
    from django.core.management import call_command

    from oa.models import Agency, Person
    from supervision.models import FeedbackDue, LightPolicy, SupervisionItem, UnitTask
    from supervision.pace import WorkdayOrdinals

    call_command("migrate", verbosity=0)
    from oa.actions.calendar import do_load_official_calendars

    do_load_official_calendars(actor=None)  # the shipped 2025/2026 holidays: working days as in production
    office = Agency.objects.create(name="基准区府办", short_name="区府办", doc_code="基准府办", uscc="11440000MB9999999X")
    units = [Agency.objects.create(name=f"基准单位{i:03d}", short_name=f"单位{i:03d}", doc_code=f"基准{i:03d}",
                                   uscc=f"11440000MB{i:07d}X", parent=office) for i in range(200)]
    people = [Person.objects.create(username=f"bench_{i}", name=f"基准{i}") for i in range(4)]
    policies = [
        LightPolicy.objects.create(agency=office, name="通用", is_default=True, urge_after_days=[1, 3, 5]),
        LightPolicy.objects.create(agency=office, name="人大政协", source_types=["npc", "cppcc"], yellow_days=10,
                                   pace_yellow_pct=15, pace_red_pct=35, urge_after_days=[1, 5, 10]),
        LightPolicy.objects.create(agency=office, name="重点工作", source_types=["key_work"], yellow_days=5,
                                   urge_after_days=[1, 2, 3]),
    ]
    rnd = random.Random(16)
    ordinals = WorkdayOrdinals()
    batch = 5000
    for start in range(0, ITEMS, batch):
        items = []
        for n in range(start, min(ITEMS, start + batch)):
            deadline = today + dt.timedelta(days=rnd.randint(-10, 60))
            items.append(SupervisionItem(
                agency=office, year=today.year, seq=n + 1, number=f"督〔{today.year}〕{n + 1}号", title=f"基准事项{n}",
                source_type=rnd.choice(["instruction", "npc", "key_work", "other"]), leader=people[0],
                supervisor=people[1], lead_agency=units[n % 200], responsible=people[2], requirements="基准",
                deadline=deadline, cycle="weekly", cycle_weekday=5, policy=rnd.choice(policies), status="handling"))
        items = SupervisionItem.objects.bulk_create(items)
        tasks = []
        for i in items:
            started = today - dt.timedelta(days=rnd.randint(10, 40))
            tasks.append(UnitTask(item=i, agency=i.lead_agency, role="lead", handler=people[3], status="handling",
                                  progress=rnd.randint(0, 100), deadline=i.deadline, start_ord=started.toordinal(),
                                  deadline_ord=i.deadline.toordinal(), start_wd=ordinals.ordinal(started),
                                  deadline_wd=ordinals.ordinal(i.deadline)))
        tasks = UnitTask.objects.bulk_create(tasks)
        dues = []
        for t in tasks:
            # One past due date (today − 7) and three to come; 20 % of the past ones were reported late (补报 → 黄).
            for k in range(4):
                due = today + dt.timedelta(days=7 * (k - 1))
                dues.append(FeedbackDue(unit=t, due_date=due, late=k == 0 and rnd.random() < 0.2))
        FeedbackDue.objects.bulk_create(dues)
    # A fulfilled due needs a Feedback row: one shared row per unit for the ones not missed is enough for the SQL
    # (only feedback IS NULL is read).
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""INSERT INTO supervision_feedback (unit_id, author_id, text, progress, files, submitted_at)
                       SELECT id, %s, '基准', progress, '[]'::jsonb, now() FROM supervision_unittask""", [people[3].pk])
        # Each unit's one feedback row fulfils its latest past due date in 90 % of units (the rest: missed → 红).
        cur.execute("""UPDATE supervision_feedbackdue d SET feedback_id = f.id FROM supervision_feedback f
                       WHERE f.unit_id = d.unit_id AND d.due_date = %s AND random() > 0.1""",
                    [today - dt.timedelta(days=7)])
        cur.execute("ANALYZE")


def best(fn, rounds: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), times


def dashboard_bench(today: dt.date) -> None:
    """督办看板 for 200 units vs a plain GROUP BY over the same rows (docs/supervision.md 基准)."""
    from django.db import connection
    from django.db.models import Count

    from oa.models import Agency, Person, Role, RoleAssignment
    from supervision import dashboard as dash
    from supervision.models import UnitTask

    office = Agency.objects.get(short_name="区府办")
    supervisor = Person.objects.get(username="bench_1")
    RoleAssignment.objects.create(person=supervisor, role=Role.SUPERVISOR, agency=office)
    with connection.cursor() as cur:
        # 40 % done, between 5 days before and 12 days after the deadline (Beijing afternoon), the rest open.
        cur.execute("""UPDATE supervision_unittask SET status = 'done', light = '',
                       done_at = (deadline + ((id * 7919) % 18 - 5)::int) + time '08:00'
                       WHERE id % 5 < 2""")
        cur.execute("ANALYZE supervision_unittask")
    filters = dash.Filters(dt.date(today.year, 1, 1), dt.date(today.year + 1, 1, 31))  # every deadline
    board = dash.dashboard_for(supervisor, filters, today=today)
    assert len(board.units) == 200 and board.total.total == ITEMS, (len(board.units), board.total.total)
    print(f"dashboard: {board.total.total:,} tasks, {board.total.done:,} done, on-time {board.total.ontime_rate}%, "
          f"{board.total.overdue:,} overdue, average delay {board.total.average_delay} working days")
    wd = dash.WorkdayCounter.load()

    def per_unit() -> None:
        qs = dash._annotated(dash._filtered(dash.tasks_in_scope(supervisor), filters), today, wd)
        rows = list(qs.order_by().values("agency_id").annotate(**dash._aggregates(today)))
        assert len(rows) == 200

    def whole() -> None:
        dash.dashboard_for(supervisor, filters, today=today)

    def plain() -> None:
        rows = list(UnitTask.objects.order_by().values("agency_id").annotate(n=Count("id")))
        assert len(rows) == 200

    for fn in (plain, per_unit, whole):
        fn()  # warm
    unit_s, unit_all = best(per_unit, ROUNDS * 2)
    whole_s, whole_all = best(whole, ROUNDS * 2)
    plain_s, plain_all = best(plain, ROUNDS * 2)
    print(f"dashboard per-unit query (200 units, {ITEMS:,} tasks): best {unit_s * 1000:.1f} ms  rounds "
          f"{[round(t * 1000, 1) for t in unit_all]}")
    print(f"dashboard whole (grouped query + names, 12 months): best {whole_s * 1000:.1f} ms  rounds "
          f"{[round(t * 1000, 1) for t in whole_all]}")
    print(f"baseline SELECT agency_id, count(*) GROUP BY:      best {plain_s * 1000:.1f} ms  rounds "
          f"{[round(t * 1000, 1) for t in plain_all]}")
    for measure, ours, goal in (("supervision dashboard per-unit aggregate, 200 units", unit_s, DASH_GOAL),
                                ("supervision dashboard whole page queries, 200 units", whole_s, DASH_WHOLE_GOAL)):
        ratio = ours / plain_s
        print(f"{measure}: ratio {ratio:.2f}× (goal ≤ {goal:.0f}×)")
        print("BENCH_RESULT " + json.dumps({
            "measure": measure, "ours": round(ours * 1000, 2), "baseline": round(plain_s * 1000, 2), "unit": "ms",
            "ratio": round(ratio, 3), "goal": f"≤ {goal:.0f}×", "met": ratio <= goal}, ensure_ascii=False))


def main() -> None:
    if urlparse(PG).scheme not in {"postgres", "postgresql"}:
        raise SystemExit("BENCH_PG must be a postgresql:// URL")
    admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    try:
        import django

        django.setup()
        from django.db import connection, transaction
        from django.db.models import F

        from supervision.actions import do_recompute_lights, recolour
        from supervision.models import SupervisionItem, UnitTask

        today = dt.date(2026, 11, 16)  # a fixed Monday: the run does not depend on the wall clock
        t0 = time.monotonic()
        populate(today)
        print(f"database {DB_NAME}: {ITEMS:,} items, {UnitTask.objects.count():,} unit tasks "
              f"(populated in {time.monotonic() - t0:.1f} s)")
        with transaction.atomic():
            recolour(on=today)  # settle: every row gets its first colour without 50,000 audit entries

        def ours() -> None:
            with transaction.atomic():
                recolour(on=today)

        def baseline() -> None:
            with transaction.atomic():
                UnitTask.objects.filter(item__status="handling").update(light_prev=F("light"))

        baseline()
        ours()  # warm both
        ours_s, ours_all = best(ours, ROUNDS)
        base_s, base_all = best(baseline, ROUNDS)
        # The audited path, on 1,000 items: every colour change costs an audit entry and a history row.
        sample = list(SupervisionItem.objects.order_by("pk").values_list("pk", flat=True)[:1000])
        t1 = time.perf_counter()
        changes = do_recompute_lights(on=today + dt.timedelta(days=1), item_ids=sample)
        full_s = time.perf_counter() - t1
        ratio = ours_s / base_s
        print(f"recolour ({ITEMS:,} units, 3 policies + item roll-up): best {ours_s:.3f} s  rounds "
              f"{[round(t, 3) for t in ours_all]}")
        print(f"baseline UPDATE … SET light_prev = light (same rows):   best {base_s:.3f} s  rounds "
              f"{[round(t, 3) for t in base_all]}")
        print(f"ratio {ratio:.2f}× (goal ≤ {GOAL:.0f}×)")
        print(f"do_recompute_lights the next day, 1,000 items: {full_s:.2f} s, {len(changes):,} colour changes audited")
        with connection.cursor() as cur:
            cur.execute("SELECT light, count(*) FROM supervision_unittask GROUP BY light ORDER BY light")
            print("colours:", dict(cur.fetchall()))
        print("BENCH_RESULT " + json.dumps({
            "measure": "supervision light recomputation, 50k items", "ours": round(ours_s, 4),
            "baseline": round(base_s, 4), "unit": "s", "ratio": round(ratio, 3), "goal": f"≤ {GOAL:.0f}×",
            "met": ratio <= GOAL}, ensure_ascii=False))
        dashboard_bench(today)
    finally:
        from django.db import connections

        connections.close_all()
        admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
