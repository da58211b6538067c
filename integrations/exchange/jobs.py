"""Periodic exchange jobs (oa.scheduling; Celery beat runs the same registry)."""

from __future__ import annotations

from oa.scheduling import periodic


@periodic("exchange.deliver_outbox", every_seconds=5, description="发送公文交换发件箱中到期的交换包和回执（失败重试）")
def deliver_outbox() -> str:
    from oa.actions.outbox import do_deliver_due_outbox

    from .selectors import OUTBOX_CHANNEL

    counts = do_deliver_due_outbox(limit=100, channels=[OUTBOX_CHANNEL])
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "idle"


@periodic("exchange.prune_nonces", every_seconds=600, description="清理过期的交换请求随机数")
def prune_nonces() -> str:
    from .actions import do_prune_nonces

    return f"deleted={do_prune_nonces()}"
