"""Celery entry points. Thin: each calls into the job registry or an action."""

from __future__ import annotations

import os
import socket

from celery import shared_task
from django.utils import timezone

from oa import scheduling


@shared_task(name="oa.tasks.run_job")
def run_job(name: str) -> str:
    return str(scheduling.run_job(name))


@shared_task(name="oa.tasks.ping")
def ping() -> dict[str, object]:
    """Health check for ops (docs/jobs.md): proves a worker takes tasks from the broker and results come back.

    Touches no database, so it is also what the real-worker test sends.
    """
    return {"hostname": socket.gethostname(), "pid": os.getpid(), "time": timezone.now().isoformat()}


@shared_task(name="oa.tasks.deliver_outbox", ignore_result=True)
def deliver_outbox(channel: str | None = None) -> dict[str, int]:
    """Kicked on commit by oa.actions.outbox so a new message leaves at once; the periodic job catches the rest."""
    from oa.actions.outbox import do_deliver_due_outbox

    return do_deliver_due_outbox(channels=[channel] if channel else None)
