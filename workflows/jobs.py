"""viewflow timers (OnTimeout, Timer nodes) only fire when something runs them: we do, every minute."""

from __future__ import annotations

from django.core.management import call_command

from oa.scheduling import periodic


@periodic("workflows.workflow_timers", every_seconds=60, description="触发流程定时器（超时催办等）")
def workflow_timers() -> str:
    call_command("workflow_timers")
    return "ok"
