"""会议 periodic jobs (oa.scheduling)."""

from __future__ import annotations

from oa.scheduling import periodic


@periodic("meetings.send_reminders", every_seconds=60, description="按提醒时间发送会议提醒（每人每次提醒只发一次）")
def send_reminders() -> str:
    from meetings.actions import do_send_due_reminders

    return f"sent={do_send_due_reminders()}"


@periodic("meetings.video_rooms", every_seconds=60,
          description="视频会议房间：服务不可用时重试建房；会议结束、取消或改为现场会后销毁房间")
def video_rooms() -> str:
    from meetings.video import do_maintain_video_rooms

    return " ".join(f"{k}={v}" for k, v in do_maintain_video_rooms().items())


@periodic("meetings.video_presence", every_seconds=30,
          description="视频会议签到：签到时段内按视频房间实际在场名单记录线上参会人到会")
def video_presence() -> str:
    from meetings.video import do_sync_all_video_presence

    return f"recorded={do_sync_all_video_presence()}"
