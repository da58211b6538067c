"""Demo rooms and meetings for `make run` (docs/demo.md, docs/meetings.md). Idempotent: found by name/title."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand
from django.utils import timezone

from meetings.actions import AgendaInput, MeetingInput, check_create_meeting
from meetings.models import Meeting, Room
from oa.models import Agency, Person
from oa.selectors.calendar import WorkCalendar

ROOMS = [
    # (name, building, floor, capacity, equipment, video, approver username)
    ("第一会议室", "区府大楼", "3楼301", 30, "投影、话筒、视频会议终端", True, None),
    ("第二会议室", "区府大楼", "3楼305", 12, "电视屏幕、白板", False, None),
    ("常务会议室", "区府大楼", "5楼501", 40, "视频会议终端、表决器、同声录音", True, "liuyang"),
    ("数据中心会商室", "政数局大楼", "2楼", 16, "大屏、视频会议终端", True, None),
]


class Command(BaseCommand):
    help = "加载演示会议室和会议（幂等）"

    def handle(self, *args, **options):
        office = Agency.objects.get(short_name="区府办")
        data = Agency.objects.get(short_name="区政数局")
        rooms = {}
        for order, (name, building, floor, capacity, equipment, video, approver) in enumerate(ROOMS, start=1):
            room, _ = Room.objects.update_or_create(building=building, name=name, defaults={
                "floor": floor, "capacity": capacity, "equipment": equipment, "video_capable": video,
                "owner_agency": data if building == "政数局大楼" else office, "sort_order": order * 10,
                "approver": Person.objects.get(username=approver) if approver else None,
            })
            rooms[name] = room
        p = {u: Person.objects.get(username=u) for u in
             ("zhangwei", "lina", "xuli", "gaojun", "wangfang", "liuyang", "hemei", "zhengguodong")}
        calendar = WorkCalendar()
        tz = timezone.get_current_timezone()
        first = calendar.add_working_days(timezone.localdate(), 1)
        third = calendar.add_working_days(timezone.localdate(), 3)
        created = 0
        plans = [
            ("区府办周例会", p["zhangwei"], MeetingInput(
                title="区府办周例会", start=dt.datetime.combine(first, dt.time(9), tzinfo=tz),
                end=dt.datetime.combine(first, dt.time(10), tzinfo=tz), room=rooms["第二会议室"], host=p["wangfang"],
                participants=[p["lina"], p["xuli"], p["gaojun"], p["wangfang"]], observers=[p["hemei"]],
                agenda=[AgendaInput("上周工作小结", p["lina"]), AgendaInput("本周公文办理安排", p["xuli"])])),
            ("全区数字政府建设推进会", p["lina"], MeetingInput(
                title="全区数字政府建设推进会", start=dt.datetime.combine(third, dt.time(14, 30), tzinfo=tz),
                end=dt.datetime.combine(third, dt.time(16, 30), tzinfo=tz), room=rooms["第一会议室"],
                mode=Meeting.Mode.HYBRID, host=p["wangfang"], participants=[p["zhangwei"], p["zhengguodong"]],
                units=[(Agency.objects.get(short_name=n), 2) for n in ("区财政局", "区教育局", "曲溪街道")],
                signup_deadline=dt.datetime.combine(calendar.add_working_days(timezone.localdate(), 2), dt.time(17),
                                                    tzinfo=tz),
                agenda=[AgendaInput("“一网协同”推广情况通报", p["zhengguodong"]),
                        AgendaInput("各单位汇报", None)])),
        ]
        for title, organiser, data_in in plans:
            if Meeting.objects.filter(title=title, start__gte=timezone.now()).exists():
                continue
            check_create_meeting(organiser, data_in)
            created += 1
        self.stdout.write(f"演示会议：{len(rooms)} 间会议室，新建 {created} 个会议。")
