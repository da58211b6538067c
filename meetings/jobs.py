"""会议 periodic jobs (oa.scheduling)."""

from __future__ import annotations

from oa.scheduling import periodic


@periodic("meetings.send_reminders", every_seconds=60, description="按提醒时间发送会议提醒（每人每次提醒只发一次）")
def send_reminders() -> str:
    from meetings.actions import do_send_due_reminders

    return f"sent={do_send_due_reminders()}"
