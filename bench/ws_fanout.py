"""Websocket fan-out benchmark: one uvicorn server, Redis channel layer, PostgreSQL (issue 3).

    python bench/ws_fanout.py [--sizes 100,1000] [--events 10] [--offline 20]   (the project's venv python)

For each N: N people with API tokens open N websocket clients (the `websockets` package) on loopback, each
with a fresh ticket from POST /api/ws-ticket, then
  * latency: events sent from this process with send_event_on_commit to all N, commit → receipt p50/p99;
  * baselines in the same run: (a) raw channel layer, group_send → receive on a bare channel in this
    process, no server; (b) a counts push, group_send {"type": "oa.counts"} → the server's consumer → socket;
  * forced disconnect: every client's TCP connection is aborted, K events are sent while they are offline,
    the clients reconnect with last_event_id and must receive every missed event once, in order
    (delivered/sent must be 1.0);
  * acknowledgement: like the browser client, every client acknowledges the last id it received
    ({"type": "ack"}) after each round; at the end the web deliveries marked "delivered" must be exactly the
    acknowledged ones (the server writes them in batches);
  * memory per idle connection: server RSS delta (/proc/<pid>/status VmRSS) / N.
It creates a throwaway PostgreSQL database bench_ws_fanout_<pid> through the admin database `postgres`
(OA_BENCH_DATABASE_URL), dropped at the end, uses a Redis database (OA_BENCH_REDIS_URL, default
redis://127.0.0.1:6379/7) with a channel prefix of its own, and stops by itself (hard deadline, default 300 s).
Figures are for comparison within one run (ratios), not absolute claims; BENCH_RESULT lines (issue 14
`make bench`) carry them for the summary table.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BASE_DB_URL = os.environ.get("OA_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("OA_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
DB_NAME = f"bench_ws_fanout_{os.getpid()}"
GOAL_P99 = 1.5  # issue 14: event commit → receipt p99 at most 1.5 × the raw channel layer's
WAIT = 60.0  # seconds any single phase may wait for messages


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("VmRSS not found")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(BASE_DB_URL, autocommit=True) as conn:
        conn.execute(statement)


def setup_environment(data_dir: str) -> dict[str, str]:
    base = BASE_DB_URL.rsplit("/", 1)[0]
    env = {
        "OA_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
        "OA_SEAL_KEK": "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=",
        "OA_HTTPS": "0",
        "OA_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "OA_DATA_DIR": data_dir,
        "OA_DATABASE_URL": f"{base}/{DB_NAME}",
        "OA_REDIS_URL": REDIS_URL,
        "OA_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "oa.settings",
    }
    os.environ.update(env)
    return env


def prepare_people(n: int) -> list[tuple[int, str]]:
    """Migrate the throwaway database and create n people with one API token each."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from oa.actions.tokens import do_issue_token
    from oa.models import Person

    Person.objects.bulk_create(
        [Person(username=f"bench{i:04d}", name=f"压测{i:04d}", password="!") for i in range(n)]  # unusable pw
    )
    people = Person.objects.filter(username__startswith="bench").order_by("id")
    return [(p.pk, do_issue_token(p, name="bench", days=1)[0]) for p in people]


class Client:
    """One websocket client: remembers the last event id it saw and timestamps every message."""

    def __init__(self, user_id: int, token: str, url: str) -> None:
        self.user_id, self.token, self.url = user_id, token, url
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.last_id: int | None = None
        self.events: list[tuple[int, float]] = []  # (event id, receipt time)
        self.counts: list[float] = []
        self.synced = asyncio.Event()
        self.closed = ""  # close codes (received/sent) if the connection ended
        self.on_socket: list[int] = []  # event ids received on the current connection
        self.acked: set[int] = set()  # every id acknowledged (cumulatively) over all connections
        self.errors: list[str] = []

    async def connect(self) -> None:
        import websockets

        self.synced.clear()
        self.closed = ""
        self.on_socket = []
        ticket = await asyncio.to_thread(self._ticket)
        self.ws = await websockets.connect(f"{self.url}?ticket={ticket}", max_queue=None, open_timeout=WAIT)
        self.reader = asyncio.create_task(self._read())
        await self.ws.send(json.dumps({"type": "hello", "last_event_id": self.last_id}))
        await asyncio.wait_for(self.synced.wait(), WAIT)

    def _ticket(self) -> str:
        """What a mobile client does before every (re)connect: trade its bearer token for a single-use ticket
        (the token itself is refused in the URL, docs/events.md)."""
        base = self.url.replace("ws://", "http://", 1).split("/ws/", 1)[0]
        request = urllib.request.Request(
            f"{base}/api/ws-ticket", data=b"", method="POST", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=WAIT) as response:
            return json.loads(response.read())["ticket"]

    async def _read(self) -> None:
        import websockets

        try:
            async for raw in self.ws:
                now = time.perf_counter()
                message = json.loads(raw)
                if message["type"] == "event":
                    self.events.append((message["id"], now))
                    self.last_id = message["id"]
                    self.on_socket.append(message["id"])
                elif message["type"] == "error":
                    self.errors.append(message["code"])
                elif message["type"] == "counts":
                    self.counts.append(now)
                elif message["type"] == "synced":
                    self.last_id = message["last_event_id"]
                    self.synced.set()
        except websockets.ConnectionClosed as exc:
            self.closed = f"{exc.rcvd.code if exc.rcvd else None}/{exc.sent.code if exc.sent else None}"

    async def ack(self) -> None:
        """What the browser client does every few seconds: acknowledge the last id this connection received."""
        if self.on_socket and self.on_socket[-1] not in self.acked:
            self.acked.update(self.on_socket)
            await self.ws.send(json.dumps({"type": "ack", "last_event_id": self.on_socket[-1]}))

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake, like a phone losing its network."""
        self.ws.transport.abort()

    async def close(self) -> None:
        await self.ws.close()
        if self.reader:
            await self.reader


async def wait_until(predicate, timeout: float = WAIT) -> bool:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def gather_limited(coros, limit: int = 50) -> None:
    semaphore = asyncio.Semaphore(limit)

    async def run(coro):
        async with semaphore:
            await coro

    await asyncio.gather(*(run(c) for c in coros))


def send_event_to(user_ids: list[int], marker: str) -> tuple[float, list[int]]:
    """One committed transaction sending one event to every user; returns (commit time, notification ids)."""
    from django.db import transaction

    from oa.events import Event, send_event_on_commit

    committed: list[float] = []
    with transaction.atomic():
        # Registered before send_event_on_commit's own callback, so it runs first, right after COMMIT.
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        event = Event(
            "work.retired", f"压测事件 {marker}", "", "/work/1/", {"work_item_id": 1, "state": "done"}
        )
        notifications = send_event_on_commit(event, user_ids)
    return committed[0], [n.pk for n in notifications]


async def raw_layer_baseline(n: int, rounds: int) -> list[float]:
    """group_send → receive on bare channels of this process: the channel layer alone, no server."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(n)]
    for i, channel in enumerate(channels):
        await layer.group_add(f"benchraw.{i}", channel)
    latencies: list[float] = []
    for _ in range(rounds):
        receipts: list[float] = []

        async def receive(channel, receipts=receipts):
            await layer.receive(channel)
            receipts.append(time.perf_counter())

        receivers = [asyncio.create_task(receive(c)) for c in channels]
        await asyncio.sleep(0.05)  # let every receive() start listening
        t0 = time.perf_counter()
        for start in range(0, n, 50):
            await asyncio.gather(
                *(
                    layer.group_send(f"benchraw.{i}", {"type": "bench"})
                    for i in range(start, min(n, start + 50))
                )
            )
        await asyncio.wait_for(asyncio.gather(*receivers), WAIT)
        latencies += [r - t0 for r in receipts]
    for i, channel in enumerate(channels):
        await layer.group_discard(f"benchraw.{i}", channel)
    return latencies


async def run_size(n: int, people, url: str, server_pid: int, rounds: int, offline: int) -> dict:
    from asgiref.sync import sync_to_async
    from channels.layers import get_channel_layer

    from oa.events import user_group

    people = people[:n]
    user_ids = [uid for uid, _ in people]
    first_id = await sync_to_async(newest_event_id, thread_sensitive=True)()  # earlier sizes' events excluded
    clients = [Client(uid, token, url) for uid, token in people]
    await asyncio.sleep(1.0)
    rss_before = rss_kib(server_pid)
    t0 = time.perf_counter()
    await gather_limited([c.connect() for c in clients])
    connect_time = time.perf_counter() - t0
    await asyncio.sleep(2.0)  # idle
    rss_idle = rss_kib(server_pid)

    send = sync_to_async(send_event_to, thread_sensitive=True)

    # 1. commit → receipt for live events
    latencies: list[float] = []
    for r in range(rounds):
        before = [len(c.events) for c in clients]
        committed_at, _ = await send(user_ids, f"live-{n}-{r}")
        if not await wait_until(
            lambda b=before: all(len(c.events) > x for c, x in zip(clients, b, strict=True))
        ):
            got = sum(len(c.events) > x for c, x in zip(clients, before, strict=True))
            closed = collections.Counter(c.closed for c in clients if c.closed)
            raise RuntimeError(f"live event {r}: {got}/{n} clients received it in {WAIT:.0f} s; closed: {closed}")
        latencies += [c.events[x][1] - committed_at for c, x in zip(clients, before, strict=True)]
        await asyncio.gather(*(c.ack() for c in clients))  # after the receipts were timed

    # 2. baselines: counts push through the server, and the raw channel layer
    layer = get_channel_layer()
    counts_latencies: list[float] = []
    for _ in range(rounds):
        before = [len(c.counts) for c in clients]
        t_send = time.perf_counter()
        for start in range(0, n, 50):
            await asyncio.gather(
                *(
                    layer.group_send(user_group(uid), {"type": "oa.counts"})
                    for uid in user_ids[start : start + 50]
                )
            )
        if not await wait_until(
            lambda b=before: all(len(c.counts) > x for c, x in zip(clients, b, strict=True))
        ):
            raise RuntimeError("counts pushes did not all arrive within the time limit")
        counts_latencies += [c.counts[x] - t_send for c, x in zip(clients, before, strict=True)]
    raw_latencies = await raw_layer_baseline(n, rounds)

    # 3. forced disconnect, K events while offline, reconnect with last_event_id
    for c in clients:
        c.abort()
    await asyncio.gather(*(c.reader for c in clients))
    expected: dict[int, list[int]] = {uid: [] for uid in user_ids}
    for k in range(offline):
        _, ids = await send(user_ids, f"offline-{n}-{k}")
        for uid, nid in zip(user_ids, ids, strict=True):
            expected[uid].append(nid)
    marks = {id(c): len(c.events) for c in clients}
    t0 = time.perf_counter()
    await gather_limited([c.connect() for c in clients])
    resync_time = time.perf_counter() - t0
    await asyncio.sleep(0.5)  # anything extra (a duplicate) would arrive now
    delivered = duplicates = out_of_order = 0
    for c in clients:
        got = [eid for eid, _ in c.events[marks[id(c)] :]]
        delivered += len(set(got) & set(expected[c.user_id]))
        duplicates += len(got) - len(set(got))
        out_of_order += got != sorted(got)
    sent = offline * n
    await asyncio.gather(*(c.ack() for c in clients))
    await gather_limited([c.close() for c in clients])  # a close writes the batch still waiting
    acked = {i for c in clients for i in c.acked}
    delivered_marks = await sync_to_async(delivered_ids, thread_sensitive=True)(user_ids, first_id)
    errors = collections.Counter(e for c in clients for e in c.errors)

    return {
        "n": n,
        "connect_s": connect_time,
        "rss_delta_kib_per_conn": (rss_idle - rss_before) / n,
        "latency": latencies,
        "counts_latency": counts_latencies,
        "raw_latency": raw_latencies,
        "sent": sent,
        "delivered": delivered,
        "duplicates": duplicates,
        "out_of_order_clients": out_of_order,
        "resync_s": resync_time,
        "acked": len(acked),
        "delivered_marks_exact": await wait_marks(user_ids, first_id, acked, delivered_marks),
        "errors": dict(errors),
    }


def newest_event_id() -> int:
    from oa.models import Notification

    return Notification.objects.order_by("-id").values_list("id", flat=True).first() or 0


def delivered_ids(user_ids: list[int], after_id: int) -> set[int]:
    from oa.models import NotificationDelivery

    return set(
        NotificationDelivery.objects.filter(
            notification__recipient_id__in=user_ids, notification_id__gt=after_id, channel="web",
            state="delivered",
        ).values_list("notification_id", flat=True)
    )


async def wait_marks(user_ids: list[int], after_id: int, acked: set[int], marks: set[int]) -> bool:
    """The server writes the last batches as the sockets close: give it a moment, then compare."""
    from asgiref.sync import sync_to_async

    for _ in range(50):
        if marks == acked:
            return True
        await asyncio.sleep(0.2)
        marks = await sync_to_async(delivered_ids, thread_sensitive=True)(user_ids, after_id)
    print(f"delivered marks: {len(marks)}, acknowledged: {len(acked)}, "
          f"marked but not acknowledged: {len(marks - acked)}, acknowledged not marked: {len(acked - marks)}")
    return False


def report(result: dict) -> None:
    lat, cnt, raw = result["latency"], result["counts_latency"], result["raw_latency"]
    n = result["n"]
    print(f"\n== N = {n} clients ==")
    print(f"connect + hello/synced for all:     {result['connect_s']:.2f} s")
    print(f"memory per idle connection (RSS):   {result['rss_delta_kib_per_conn']:.1f} KiB")
    print(f"commit → receipt (event, {len(lat)} samples):  p50 {ms(pct(lat, 50))}  p99 {ms(pct(lat, 99))}")
    print(f"baseline counts push via server:    p50 {ms(pct(cnt, 50))}  p99 {ms(pct(cnt, 99))}")
    print(f"baseline raw channel layer:         p50 {ms(pct(raw, 50))}  p99 {ms(pct(raw, 99))}")
    print(
        f"ratio event / counts push:          p50 {pct(lat, 50) / pct(cnt, 50):.2f}  p99 {pct(lat, 99) / pct(cnt, 99):.2f}"
    )
    print(
        f"ratio event / raw channel layer:    p50 {pct(lat, 50) / pct(raw, 50):.1f}  p99 {pct(lat, 99) / pct(raw, 99):.1f}"
    )
    ratio = result["delivered"] / result["sent"] if result["sent"] else float("nan")
    print(
        f"forced disconnect → {result['sent']} events offline → reconnect: delivered/sent = {ratio:.3f} "
        f"(duplicates {result['duplicates']}, clients out of order {result['out_of_order_clients']}, "
        f"resync of all clients {result['resync_s']:.2f} s)"
    )
    print(
        f"acknowledged {result['acked']} events; web deliveries marked delivered = exactly the acknowledged: "
        f"{result['delivered_marks_exact']}; error frames: {result['errors'] or 'none'}"
    )
    print(f"(mean event latency {ms(statistics.mean(lat))})")
    for label, p in (("p50", 50), ("p99", 99)):
        ours, base = pct(lat, p) * 1000, pct(raw, p) * 1000
        bench_result(
            f"websocket event commit→receipt {label}, {n} connections ÷ raw channel layer",
            ours, base, "ms", ours / base, f"≤ {GOAL_P99}×", ours / base <= GOAL_P99,
        )
    replay = result["delivered"] / result["sent"] if result["sent"] else float("nan")
    bench_result(
        f"websocket replay after forced disconnect, {n} connections: delivered/sent",
        replay, 1.0, "ratio", replay, "= 1.000",
        replay == 1.0 and not result["duplicates"] and not result["out_of_order_clients"],
    )


def bench_result(measure: str, ours: float, baseline: float, unit: str, ratio: float, goal: str, met: bool) -> None:
    print("BENCH_RESULT " + json.dumps({
        "measure": measure, "ours": round(ours, 3), "baseline": round(baseline, 3), "unit": unit,
        "ratio": round(ratio, 3), "goal": goal, "met": bool(met),
    }, ensure_ascii=False))


async def main_async(args, people, url: str, server_pid: int) -> list[dict]:
    results = []
    for n in args.sizes:
        result = await run_size(n, people, url, server_pid, args.events, args.offline)
        report(result)
        results.append(result)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100,1000", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--events", type=int, default=10, help="live events (and baseline rounds) per size")
    parser.add_argument("--offline", type=int, default=20, help="events sent while every client is offline")
    parser.add_argument("--deadline", type=float, default=300.0, help="hard stop, seconds")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * max(args.sizes) + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))

    data_dir = tempfile.mkdtemp(prefix="bench_ws_")
    env = setup_environment(data_dir)
    admin_sql(f'CREATE DATABASE "{DB_NAME}"')
    server = None
    try:
        import django

        django.setup()
        t0 = time.perf_counter()
        people = prepare_people(max(args.sizes))
        print(
            f"database {DB_NAME}: migrated, {len(people)} people with tokens ({time.perf_counter() - t0:.1f} s)"
        )

        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "oa.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--ws",
                "websockets",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
        )
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.2)
        print(
            f"uvicorn pid {server.pid} on 127.0.0.1:{port}, channel layer {REDIS_URL}, PostgreSQL {DB_NAME}"
        )

        results = asyncio.run(
            asyncio.wait_for(
                main_async(args, people, f"ws://127.0.0.1:{port}/ws/events/", server.pid), args.deadline
            )
        )
        ok = all(r["delivered"] == r["sent"] and not r["duplicates"] and r["delivered_marks_exact"]
                 for r in results)
        print(
            "\nresult:",
            "every missed event delivered exactly once, delivery marks = acknowledgements" if ok
            else "MISSING OR DUPLICATE EVENTS, OR DELIVERY MARKS THAT DIFFER FROM THE ACKNOWLEDGEMENTS",
        )
        return 0 if ok else 1
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        from django.db import connections

        connections.close_all()
        admin_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
