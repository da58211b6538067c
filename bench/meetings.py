"""Meetings (issue 15): free-slot search, and the live roster's fan-out to 500 watchers of one meeting.

    OA_SECRET_KEY=... OA_SEAL_KEK=... .venv/bin/python bench/meetings.py

Part one, free-slot search (会议 推荐空闲时段) for 30 people over two weeks with 10,000 meetings in PostgreSQL:

1. creates a throwaway database `bench_meetings_<pid>` (BENCH_PG, default postgresql://postgres@127.0.0.1:5432),
   migrates it, and fills it: BENCH_PEOPLE people, 40 rooms, BENCH_MEETINGS meetings over eight working weeks in
   working hours, 6 invitations each (bulk inserts);
2. measures, in the same run, `meetings.selectors.suggest_slots` (30 required people + a room, two weeks from a
   Monday, 1-hour slots, 5 suggestions — the query for their busy intervals plus the scan over the working-day
   calendar) against the baseline: one plain indexed overlap query fetching the same people's busy intervals in the
   same two weeks (raw SQL, nothing else);
3. prints medians and BENCH_RESULT lines.
The ratio says what the search adds on top of reading the busy intervals once.

Part two, roster fan-out (实时名单, docs/meetings.md): in the same database, one meeting with BENCH_WATCHERS (500)
invitees, each watching it on /ws/meetings/<id>/ from its own websocket (the `websockets` package; single-use
tickets from POST /api/ws-ticket, as a phone does) against a real uvicorn server on the Redis channel layer
(OA_BENCH_REDIS_URL, default redis://127.0.0.1:6379/7). Each round the secretary checks one person in by hand
(`check_manual_checkin`, the action the page calls); from its COMMIT to the roster delta (the changed row, the
counts, the next roster version) arriving on every socket is one sample (rounds × watchers samples, p50/p99); every
socket checks that the versions follow one another (no gap, so no resync). Baseline in the same run: the raw channel layer, one
group_send of a frame of the same size to a group of as many bare channels in this process, to receipt on each.
The database is dropped at the end. BENCH_ONLY=fanout skips part one's measurement (its data is still made).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This script's directory comes first on sys.path and holds files named like the apps (bench/supervision.py beats
# the namespace package supervision/): put the project first and drop the script's directory.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DB_NAME = f"bench_meetings_{os.getpid()}"
MEETINGS = int(os.environ.get("BENCH_MEETINGS", "10000"))
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "400"))
GROUP = 30
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "41"))
GOAL = 3.0  # the search may cost at most 3× the bare busy-interval query
WATCHERS = int(os.environ.get("BENCH_WATCHERS", "500"))
FANOUT_ROUNDS = int(os.environ.get("BENCH_FANOUT_ROUNDS", "20"))
FANOUT_GOAL = 1.5  # issue 14's bar for every push: commit → receipt p99 ≤ 1.5 × the raw channel layer's
REDIS_URL = os.environ.get("OA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
WAIT = 60.0
CONNECT_WAIT = 300.0  # 500 sockets on a shared 2-core machine

os.environ.update({
    "DJANGO_SETTINGS_MODULE": "oa.settings",
    "OA_DATABASE_URL": f"{PG}/{DB_NAME}",
    "OA_HTTPS": "0",
    "OA_DEBUG": "0",
    "OA_LOG_LEVEL": "WARNING",
    "OA_REDIS_URL": REDIS_URL,
    "OA_ALLOWED_HOSTS": "127.0.0.1,localhost",
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


# --- part two: roster fan-out ---------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def fanout_setup(n: int) -> tuple[int, int, list[tuple[int, str]]]:
    """A meeting starting in five minutes (签到 is open) with n invitees, each with an API token."""
    from django.utils import timezone

    from meetings.models import Invitation, Meeting
    from oa.actions.tokens import do_issue_token
    from oa.models import Agency, Person

    agency = Agency.objects.get(short_name="基准办")
    organiser = Person.objects.create(username="bm_secretary", name="会务秘书")
    watchers = Person.objects.bulk_create([Person(username=f"bm_w{i:04d}", name=f"参会{i:04d}", password="!")
                                           for i in range(n)])
    start = timezone.now() + dt.timedelta(minutes=5)
    meeting = Meeting.objects.create(title="名单扇出基准会议", agency=agency, organiser=organiser, start=start,
                                     end=start + dt.timedelta(hours=2), location="大会堂",
                                     status=Meeting.Status.SCHEDULED)
    Invitation.objects.bulk_create([Invitation(meeting=meeting, person=p) for p in watchers])
    return meeting.pk, organiser.pk, [(p.pk, do_issue_token(p, name="bench", days=1)[0]) for p in watchers]


def check_in_one(meeting_id: int, organiser_id: int, person_id: int) -> tuple[float, int]:
    """One manual check-in, committed; (time of COMMIT, frame bytes) — the roster delta leaves after commit."""
    from django.db import transaction

    from meetings.checkin import check_manual_checkin, roster_delta, roster_version
    from meetings.models import Meeting
    from oa.models import Person

    meeting = Meeting.objects.get(pk=meeting_id)
    committed: list[float] = []
    with transaction.atomic():
        # Registered before the action's own on-commit push, so it runs first, right after COMMIT.
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        check_manual_checkin(Person.objects.get(pk=organiser_id), meeting, Person.objects.get(pk=person_id))
    delta = roster_delta(meeting, [person_id], roster_version(meeting))
    return committed[0], len(json.dumps(delta, ensure_ascii=False).encode())


def whole_roster_bytes(meeting_id: int) -> int:
    from meetings.checkin import roster_json
    from meetings.models import Meeting

    return len(roster_json(Meeting.objects.get(pk=meeting_id)).encode())


class Watcher:
    def __init__(self, token: str, base: str, meeting_id: int) -> None:
        self.token, self.base, self.meeting_id = token, base, meeting_id
        self.rosters: list[float] = []  # receipt time of each roster delta
        self.version: int | None = None
        self.gaps = 0
        self.agenda = asyncio.Event()
        self.ws = None
        self.reader = None
        self.closed = ""

    def _ticket(self) -> str:
        request = urllib.request.Request(f"{self.base}/api/ws-ticket", data=b"", method="POST",
                                         headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return json.loads(response.read())["ticket"]

    async def connect(self) -> None:
        import websockets

        ticket = await asyncio.to_thread(self._ticket)
        url = self.base.replace("http://", "ws://", 1) + f"/ws/meetings/{self.meeting_id}/?ticket={ticket}"
        self.ws = await websockets.connect(url, max_queue=None, max_size=2**24, open_timeout=WAIT)
        self.reader = asyncio.create_task(self._read())
        # The two state frames (roster, then agenda), read from the database by the consumer on connect.
        done, _ = await asyncio.wait({self.reader, asyncio.create_task(self.agenda.wait())},
                                     timeout=CONNECT_WAIT, return_when=asyncio.FIRST_COMPLETED)
        if not self.agenda.is_set():
            raise RuntimeError(f"watcher: no state frames ({'socket closed ' + self.closed if self.reader in done else 'timeout'})")

    async def _read(self) -> None:
        import websockets

        try:
            async for raw in self.ws:
                now = time.perf_counter()
                # The frame's kind from its first bytes (the consumer writes "type" first): parsing the 74 KB
                # whole roster 500 times in this one client process would be the client's cost, not the server's.
                head = raw[:24]
                if head.startswith('{"type": "roster.delta"'):
                    self.rosters.append(now)
                    version = json.loads(raw)["version"]
                    self.gaps += self.version is not None and version != self.version + 1
                    self.version = version
                elif head.startswith('{"type": "roster"'):  # the whole roster, on connect: its version
                    self.version = int(raw[raw.index('"version": ') + 11:].split(",", 1)[0])
                elif head.startswith('{"type": "agenda"'):
                    self.agenda.set()
        except websockets.ConnectionClosed as exc:
            self.closed = f"{exc.rcvd.code if exc.rcvd else None}"


async def wait_until(predicate, timeout: float = WAIT) -> bool:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


async def raw_layer_rounds(n: int, size: int, rounds: int) -> list[float]:
    """group_send of one ~size-byte message to a group of n bare channels of this process → receipt on each."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(n)]
    for channel in channels:
        await layer.group_add("benchraw.meeting", channel)
    payload = "名" * (size // 3)
    latencies: list[float] = []
    for _ in range(rounds):
        receipts: list[float] = []

        async def receive(channel, receipts=receipts):
            await layer.receive(channel)
            receipts.append(time.perf_counter())

        receivers = [asyncio.create_task(receive(c)) for c in channels]
        await asyncio.sleep(0.05)  # every receive() listening
        t0 = time.perf_counter()
        await layer.group_send("benchraw.meeting", {"type": "meeting.frame", "frame": payload})
        await asyncio.wait_for(asyncio.gather(*receivers), WAIT)
        latencies += [r - t0 for r in receipts]
    for channel in channels:
        await layer.group_discard("benchraw.meeting", channel)
    return latencies


async def fanout_async(base: str, meeting_id: int, organiser_id: int, people: list[tuple[int, str]]) -> dict:
    from asgiref.sync import sync_to_async

    watchers = [Watcher(token, base, meeting_id) for _, token in people]
    semaphore = asyncio.Semaphore(4)  # a ticket lives 60 s: fetch each one just before its socket opens

    async def connect(w: Watcher) -> None:
        async with semaphore:
            await w.connect()

    t0 = time.perf_counter()
    await asyncio.gather(*(connect(w) for w in watchers))
    connect_s = time.perf_counter() - t0
    await asyncio.sleep(1.0)
    check_in = sync_to_async(check_in_one, thread_sensitive=True)
    latencies: list[float] = []
    size = 0
    for r in range(FANOUT_ROUNDS):
        before = [len(w.rosters) for w in watchers]
        committed, size = await check_in(meeting_id, organiser_id, people[r][0])
        if not await wait_until(lambda b=before: all(len(w.rosters) > x for w, x in zip(watchers, b, strict=True))):
            got = sum(len(w.rosters) > x for w, x in zip(watchers, before, strict=True))
            raise RuntimeError(f"roster round {r}: {got}/{len(watchers)} watchers received it in {WAIT:.0f} s")
        latencies += [w.rosters[x] - committed for w, x in zip(watchers, before, strict=True)]
        await asyncio.sleep(0.05)
    raw = await raw_layer_rounds(len(watchers), size, FANOUT_ROUNDS)
    for w in watchers:
        await w.ws.close()
    whole = await sync_to_async(whole_roster_bytes, thread_sensitive=True)(meeting_id)
    return {"connect_s": connect_s, "latency": latencies, "raw": raw, "frame_bytes": size, "whole_bytes": whole,
            "gaps": sum(w.gaps for w in watchers)}


def roster_fanout() -> None:
    """Part two (see the module docstring)."""
    import resource
    import subprocess

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * WATCHERS + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(2 * WATCHERS + 200, hard), hard))
    from django.db import connection

    t = time.perf_counter()
    meeting_id, organiser_id, people = fanout_setup(WATCHERS)
    print(f"\nroster fan-out: meeting {meeting_id} with {WATCHERS} invitees and tokens ({time.perf_counter() - t:.1f} s)")
    connection.close()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "oa.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning", "--no-access-log", "--ws", "websockets-sansio"], cwd=ROOT, env=dict(os.environ))
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.2)
        result = asyncio.run(fanout_async(f"http://127.0.0.1:{port}", meeting_id, organiser_id, people))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:  # uvicorn's graceful shutdown may wait on its channel-layer readers
            server.kill()
            server.wait()
    lat, raw = result["latency"], result["raw"]
    print(f"{WATCHERS} sockets connected (ticket + whole roster + agenda each) in {result['connect_s']:.1f} s; "
          f"whole roster {result['whole_bytes']:,} bytes, roster delta {result['frame_bytes']:,} bytes; "
          f"version gaps seen: {result['gaps']}")
    print(f"commit → roster delta on every socket ({len(lat)} samples): p50 {pct(lat, 50) * 1000:.1f} ms  "
          f"p99 {pct(lat, 99) * 1000:.1f} ms")
    print(f"raw channel layer, one group_send to {WATCHERS} bare channels ({len(raw)} samples): "
          f"p50 {pct(raw, 50) * 1000:.1f} ms  p99 {pct(raw, 99) * 1000:.1f} ms")
    for label, p in (("p50", 50), ("p99", 99)):
        ours, base = pct(lat, p) * 1000, pct(raw, p) * 1000
        print("BENCH_RESULT " + json.dumps({
            "measure": f"meeting roster fan-out commit→receipt {label}, {WATCHERS} watchers ÷ raw channel layer",
            "ours": round(ours, 2), "baseline": round(base, 2), "unit": "ms", "ratio": round(ours / base, 2),
            "goal": f"≤ {FANOUT_GOAL}×", "met": ours / base <= FANOUT_GOAL}, ensure_ascii=False))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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

        if os.environ.get("BENCH_ONLY") == "fanout":
            roster_fanout()
            return

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
        roster_fanout()
        connection.close()
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
