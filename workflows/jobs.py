"""viewflow timers (OnTimeout, Timer nodes) only fire when something runs them: we do, every minute."""

from __future__ import annotations

from django.core.management import call_command

from oa.scheduling import periodic


@periodic("workflows.workflow_timers", every_seconds=60, description="触发流程定时器（超时催办等）")
def workflow_timers() -> str:
    call_command("workflow_timers")
    return "ok"


@periodic("workflows.receipt_starts", every_seconds=5,
          description="启动分发后送达中收文的收文流程（提交后已立即触发，此处兜底与失败重试）")
def receipt_starts() -> str:
    from workflows.actions.receipt_start import do_start_due_receipts

    counts = do_start_due_receipts()
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "idle"
