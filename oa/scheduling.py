"""Periodic-job registry shared by the embedded scheduler loop and Celery beat.

Each app (oa included) declares its jobs in `<app>/jobs.py` with `@periodic(...)`; `autodiscover()` imports those modules.
`manage.py run_scheduler` runs due jobs in-process (embedded mode, started by `make run`); in production
`beat_schedule()` feeds Celery beat, whose entries call the same function through `oa.tasks.run_job`.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: int
    func: Callable[[], object]
    description: str


_registry: dict[str, Job] = {}


def periodic(name: str, *, every_seconds: int, description: str) -> Callable:
    def register(func: Callable[[], object]) -> Callable[[], object]:
        existing = _registry.get(name)
        if existing is not None and existing.func.__qualname__ != func.__qualname__:
            raise ValueError(f"job {name!r} registered twice")
        _registry[name] = Job(name, every_seconds, func, description)
        return func

    return register


def registered_jobs() -> dict[str, Job]:
    return dict(_registry)


def autodiscover() -> None:
    for config in apps.get_app_configs():
        module = f"{config.name}.jobs"
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def run_job(name: str) -> object:
    job = _registry[name]
    started = time.monotonic()
    result = job.func()
    logger.info("job %s done in %.2fs: %s", name, time.monotonic() - started, result)
    return result


def beat_schedule() -> dict[str, dict]:
    return {
        job.name: {"task": "oa.tasks.run_job", "schedule": float(job.every_seconds), "args": (job.name,)}
        for job in _registry.values()
    }


class Scheduler:
    """The embedded loop: each job runs when its interval has passed since its last run in this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.last_run: dict[str, float] = {}

    def due(self) -> list[Job]:
        now = self.clock()
        return [
            job
            for job in _registry.values()
            if job.name not in self.last_run or now - self.last_run[job.name] >= job.every_seconds
        ]

    def tick(self) -> list[str]:
        ran = []
        for job in self.due():
            self.last_run[job.name] = self.clock()
            try:
                run_job(job.name)
                ran.append(job.name)
            except Exception:
                # One failing job must not stop the others; the next tick retries it after its interval.
                logger.exception("job %s failed", job.name)
        return ran
