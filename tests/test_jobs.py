"""Periodic jobs: the registry, the embedded scheduler (`run_scheduler`), Celery beat wiring, eager mode and
one real Celery worker on Redis."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from oa import scheduling
from oa.models import CalendarYear

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def probe():
    """A job registered for one test, then removed from the registry."""
    calls: list[float] = []
    name = f"tests.probe_{uuid.uuid4().hex[:8]}"

    @scheduling.periodic(name, every_seconds=3600, description="测试探针")
    def probe_job() -> str:
        calls.append(time.monotonic())
        return "probed"

    probe_job.job_name = name
    probe_job.calls = calls
    yield probe_job
    scheduling._registry.pop(name, None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def isolated_registry(monkeypatch):
    """The scheduler logic against a registry holding only the jobs a test defines."""
    registry: dict[str, scheduling.Job] = {}
    monkeypatch.setattr(scheduling, "_registry", registry)
    return registry


# --- registry ------------------------------------------------------------------------------------------


def test_apps_declare_their_jobs():
    jobs = scheduling.registered_jobs()
    for name in ["workflows.workflow_timers", "oa.verify_audit", "oa.clear_sessions", "oa.calendar_check"]:
        assert name in jobs
    assert jobs["workflows.workflow_timers"].every_seconds == 60
    assert all(job.description for job in jobs.values())


def test_a_name_cannot_be_taken_twice(probe):
    with pytest.raises(ValueError, match="registered twice"):

        @scheduling.periodic(probe.job_name, every_seconds=1, description="另一个")
        def other() -> None:
            pass


# --- embedded scheduler --------------------------------------------------------------------------------


def test_scheduler_due_logic_with_a_fake_clock(isolated_registry, caplog):
    log: list[str] = []
    clock = FakeClock()

    def job(name: str, fail: bool = False):
        def run() -> str:
            log.append(name)
            if fail:
                raise RuntimeError(f"{name} broke")
            return name

        return run

    scheduling.periodic("minute", every_seconds=60, description="每分钟")(job("minute"))
    scheduling.periodic("hour", every_seconds=3600, description="每小时")(job("hour"))
    scheduling.periodic("broken", every_seconds=60, description="总是失败")(job("broken", fail=True))
    scheduler = scheduling.Scheduler(clock=clock)

    # First tick: everything is due, and a failing job does not stop the others.
    with caplog.at_level(logging.ERROR, logger="oa.scheduling"):
        assert sorted(scheduler.tick()) == ["hour", "minute"]
    assert sorted(log) == ["broken", "hour", "minute"]
    assert "job broken failed" in caplog.text

    log.clear()
    clock.now += 59
    assert scheduler.due() == []
    assert scheduler.tick() == []
    clock.now += 1  # 60 s after the last run
    assert sorted(j.name for j in scheduler.due()) == ["broken", "minute"]
    scheduler.tick()
    assert sorted(log) == ["broken", "minute"]  # the failed job is retried after its interval

    log.clear()
    clock.now += 3600
    assert sorted(scheduler.tick()) == ["hour", "minute"]
    assert [j.name for j in scheduler.due()] == []


def test_run_scheduler_once_runs_every_registered_job(db, probe, capsys):
    call_command("run_scheduler", once=True)
    out = capsys.readouterr().out
    assert len(probe.calls) == 1
    for name in ["workflows.workflow_timers", "oa.verify_audit", "oa.clear_sessions", "oa.calendar_check",
                 probe.job_name]:
        assert f"任务完成：{name}" in out


def test_run_scheduler_reports_a_failing_job_and_carries_on(db, probe, capsys):
    name = f"tests.broken_{uuid.uuid4().hex[:8]}"

    @scheduling.periodic(name, every_seconds=60, description="总是失败")
    def broken() -> None:
        raise RuntimeError("boom")

    try:
        call_command("run_scheduler", once=True)
    finally:
        scheduling._registry.pop(name, None)
    captured = capsys.readouterr()
    assert f"任务失败：{name}" in captured.err
    assert len(probe.calls) == 1


def test_run_scheduler_rejects_a_bad_interval():
    with pytest.raises(CommandError, match="--interval"):
        call_command("run_scheduler", interval=0)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def test_run_scheduler_loop_stops_gracefully_on_sigterm(tmp_path):
    # A real process on the configured (non-test) database would run real jobs; SQLite in a temp dir is safe.
    env = _env(OA_DATA_DIR=str(tmp_path), OA_CELERY_EAGER="1")
    env.pop("OA_DATABASE_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    proc = subprocess.Popen(
        [*manage, "run_scheduler", "--interval", "0.2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        line = ""
        while "调度器已启动" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "调度器已启动" in line
        time.sleep(1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "任务完成：workflows.workflow_timers" in out
    assert "调度器已停止" in out


# --- jobs ----------------------------------------------------------------------------------------------


def test_calendar_check_warns_about_a_missing_year(db, caplog):
    today = dt.date.today()
    CalendarYear.objects.get_or_create(year=today.year)
    CalendarYear.objects.get_or_create(year=today.year + 1)
    assert scheduling.run_job("oa.calendar_check") == "ok"
    CalendarYear.objects.filter(year=today.year).delete()
    with caplog.at_level(logging.WARNING, logger="oa.jobs"):
        assert scheduling.run_job("oa.calendar_check").startswith("missing=")
    assert f"{today.year}年的法定节假日安排尚未导入" in caplog.text


# --- Celery --------------------------------------------------------------------------------------------


def test_beat_schedule_is_the_registry(probe):
    entries = scheduling.beat_schedule()
    assert entries[probe.job_name] == {"task": "oa.tasks.run_job", "schedule": 3600.0, "args": (probe.job_name,)}

    from oa.celery import app

    app.finalize()
    # What a worker does at start: import every app's tasks module (autodiscovery). Without it, whether
    # oa.tasks is registered here depends on which test imported it earlier in this process.
    app.loader.import_default_modules()
    beat = app.conf.beat_schedule
    for name, job in scheduling.registered_jobs().items():
        if name.startswith("tests."):
            continue  # registered after the app was finalised
        assert beat[name]["task"] == "oa.tasks.run_job"
        assert tuple(beat[name]["args"]) == (name,)
        assert beat[name]["schedule"] == float(job.every_seconds)
    assert "oa.tasks.run_job" in app.tasks and "oa.tasks.ping" in app.tasks


@override_settings(CELERY_TASK_ALWAYS_EAGER=True)
def test_embedded_mode_runs_tasks_inline(db, probe):
    from oa.tasks import ping, run_job

    result = run_job.delay(probe.job_name)
    assert result.get() == "probed"
    assert len(probe.calls) == 1  # already ran, in this process, before .get()
    pong = ping.delay().get()
    assert pong["hostname"] == socket.gethostname() and pong["pid"] == os.getpid()


def _redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.celery_worker
def test_real_worker_on_redis(tmp_path):
    from celery import Celery

    broker = os.environ.get("OA_CELERY_BROKER_URL") or "redis://127.0.0.1:6379/14"
    backend = os.environ.get("OA_CELERY_RESULT_BACKEND") or "redis://127.0.0.1:6379/13"
    if not broker.startswith("redis://") or not _redis_reachable(broker):
        pytest.skip(f"Redis 不可用：{broker}")
    queue = f"oa-test-{uuid.uuid4().hex[:10]}"  # our own queue: no stray task from elsewhere reaches this worker
    node = f"{queue}@{socket.gethostname()}"
    env = _env(OA_CELERY_BROKER_URL=broker, OA_CELERY_RESULT_BACKEND=backend, OA_CELERY_EAGER="0")
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "oa", "worker", "--pool=solo", "-c1", "-l", "warning",
             "-Q", queue, "-n", node, "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    client = Celery("oa-test-client", broker=broker, backend=backend)
    client.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json")
    try:
        deadline = time.monotonic() + 60
        while not client.control.ping(destination=[node], timeout=1.0):
            assert worker.poll() is None, f"worker exited early:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"worker not ready within 60 s:\n{log.read_text()}"
        pong = client.send_task("oa.tasks.ping", queue=queue).get(timeout=30)
        assert pong["hostname"] == socket.gethostname()
        assert pong["pid"] == worker.pid  # --pool=solo: the task ran in the worker process itself
        # run_job is routed through the registry in the worker: an unknown name fails there (no DB touched).
        with pytest.raises(Exception, match=r"no\.such\.job"):
            client.send_task("oa.tasks.run_job", args=["no.such.job"], queue=queue).get(timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        _forget_queue(broker, queue)
        client.close()
    assert worker.returncode == 0, log.read_text()


def _forget_queue(broker: str, queue: str) -> None:
    """Remove the bindings kombu keeps in Redis for our one-off queue, so test runs leave nothing behind."""
    import redis

    r = redis.Redis.from_url(broker)
    try:
        r.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        r.close()
