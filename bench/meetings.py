"""Free-slot search (会议 推荐空闲时段) for 30 people over two weeks with 10,000 meetings in PostgreSQL.

    OA_SECRET_KEY=... OA_SEAL_KEK=... .venv/bin/python bench/meetings.py

1. creates a throwaway database `bench_meetings_<pid>` (BENCH_PG, default postgresql://postgres@127.0.0.1:5432),
   migrates it, and fills it: BENCH_PEOPLE people, 40 rooms, BENCH_MEETINGS meetings over eight working weeks in
   working hours, 6 invitations each (bulk inserts);
2. measures, in the same run, `meetings.selectors.suggest_slots` (30 required people + a room, two weeks from a
   Monday, 1-hour slots, 5 suggestions — the query for their busy intervals plus the scan over the working-day
   calendar) against the baseline: one plain indexed overlap query fetching the same people's busy intervals in the
   same two weeks (raw SQL, nothing else);
3. prints medians and BENCH_RESULT lines, then drops the database.
The ratio says what the search adds on top of reading the busy intervals once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB_NAME = f"bench_meetings_{os.getpid()}"
MEETINGS = int(os.environ.get("BENCH_MEETINGS", "10000"))
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "400"))
GROUP = 30
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "41"))
GOAL = 3.0  # the search may cost at most 3× the bare busy-interval query

os.environ.update({
    "DJANGO_SETTINGS_MODULE": "oa.settings",
    "OA_DATABASE_URL": f"{PG}/{DB_NAME}",
    "OA_HTTPS": "0",
    "OA_DEBUG": "0",
    "OA_LOG_LEVEL": "WARNING",
})
os.environ.setdefault("OA_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("OA_SEAL_KEK", "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=")
os.environ.setdefault("OA_DATA_DIR", str(ROOT / "var" / "bench"))
Path(os.environ["OA_DATA_DIR"]).mkdir(parents=True, exist_ok=True)


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def populate(rng: random.Random) -> tuple[list[int], int, dt.datetime]:
    from django.utils import timezone

    from meetings.models import Invitation, Meeting, Room
    from oa.models import Agency, Person
    from oa.selectors.calendar import WorkCalendar

    agency = Agency.objects.create(name="基准区人民政府办公室", short_name="基准办", doc_code="基准办",
                                   kind=Agency.Kind.OFFICE)
    people = Person.objects.bulk_create([Person(username=f"bm_{i:04d}", name=f"人员{i:04d}") for i in range(PEOPLE)])
    rooms = Room.objects.bulk_create([Room(name=f"{i}号会议室", building="基准大楼", capacity=50, owner_agency=agency)
                                      for i in range(40)])
    tz = timezone.get_current_timezone()
    calendar = WorkCalendar()
    day = dt.date(2026, 3, 2)  # a Monday
    days = []
    while len(days) < 40:
        if calendar.is_working_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    starts = [dt.time(h, m) for h, m in ((8, 30), (9, 0), (9, 30), (10, 0), (10, 30), (14, 30), (15, 0), (15, 30),
                                         (16, 0), (16, 30))]
    meetings = []
    for i in range(MEETINGS):
        start = dt.datetime.combine(rng.choice(days), rng.choice(starts), tzinfo=tz)
        meetings.append(Meeting(title=f"会议{i}", agency=agency, organiser=rng.choice(people), room=rng.choice(rooms),
                                start=start, end=start + dt.timedelta(minutes=rng.choice((30, 60, 60, 90))),
                                status=Meeting.Status.SCHEDULED))
    meetings = Meeting.objects.bulk_create(meetings, batch_size=2000)
    invitations = []
    for m in meetings:
        for person in rng.sample(people, 6):
            invitations.append(Invitation(meeting=m, person=person, response=rng.choice(
                [Invitation.Response.PENDING, Invitation.Response.ACCEPTED, Invitation.Response.ACCEPTED,
                 Invitation.Response.LEAVE])))
    Invitation.objects.bulk_create(invitations, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    group = [p.pk for p in rng.sample(people, GROUP)]
    return group, rooms[0].pk, dt.datetime.combine(days[0], dt.time(8, 0), tzinfo=tz)


def median_ms(fn, rounds: int) -> float:
    fn()  # warm (plans, calendar cache)
    samples = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main() -> None:
    admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        rng = random.Random(15)
        t = time.perf_counter()
        group, room_id, after = populate(rng)
        print(f"populated {MEETINGS} meetings, {MEETINGS * 6} invitations, {PEOPLE} people in "
              f"{time.perf_counter() - t:.1f} s")

        from meetings.models import Room
        from meetings.selectors import suggest_slots

        room = Room.objects.get(pk=room_id)
        horizon = after + dt.timedelta(days=14)
        found: list = []

        def ours() -> None:
            found[:] = suggest_slots(room=room, person_ids=group, duration=dt.timedelta(hours=1), after=after)

        sql = ("SELECT m.start, m.\"end\" FROM meetings_invitation i JOIN meetings_meeting m ON m.id = i.meeting_id "
               "WHERE i.person_id = ANY(%s) AND m.start < %s AND m.\"end\" > %s")

        def baseline() -> None:
            with connection.cursor() as cur:
                cur.execute(sql, [group, horizon, after])
                cur.fetchall()

        results = {}
        for name, fn in (("baseline", baseline), ("ours", ours)):
            results[name] = median_ms(fn, ROUNDS)
        with connection.cursor() as cur:
            cur.execute(sql, [group, horizon, after])
            busy = len(cur.fetchall())
        ratio = results["ours"] / results["baseline"]
        print(f"30 people, two weeks: {busy} busy intervals; suggestions: "
              + ", ".join(f"{a:%m-%d %H:%M}" for a, _ in found))
        print(f"free-slot search median {results['ours']:.2f} ms; plain overlap query median "
              f"{results['baseline']:.2f} ms; ratio {ratio:.2f}× (goal ≤ {GOAL}×)")
        print("BENCH_RESULT " + json.dumps({
            "measure": "meetings free-slot search, 30 people, 2 weeks, 10k meetings (median)",
            "ours": round(results["ours"], 2), "baseline": round(results["baseline"], 2), "unit": "ms",
            "ratio": round(ratio, 2), "goal": f"≤ {GOAL}×", "met": ratio <= GOAL}, ensure_ascii=False))
        connection.close()
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
