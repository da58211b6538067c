"""Periodic delivery of the platform outbox (oa.scheduling; Celery beat runs the same registry)."""

from __future__ import annotations

from oa.scheduling import periodic


@periodic("wecom.deliver_outbox", every_seconds=30, description="发送移动政务平台发件箱中到期的消息（失败重试）")
def deliver_outbox() -> str:
    from oa.actions.outbox import do_deliver_due_outbox

    from .channel import OUTBOX_CHANNEL

    counts = do_deliver_due_outbox(limit=200, channels=[OUTBOX_CHANNEL])
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "idle"
