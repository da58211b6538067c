"""会议 (docs/meetings.md): rooms, meetings, 议题, invitations and RSVP, cross-unit sign-up, reminders, history.

A meeting's participants are Invitation rows (one per person; 列席 is a role of the row). A cross-unit notice
invites whole units (MeetingUnit): each unit's contact names its attendees, which become Invitation rows with
``unit`` set, so the organiser's sign-up statistics are one GROUP BY. Times are aware datetimes; an interval is
half-open [start, end), so a meeting ending at 10:00 and one starting at 10:00 do not conflict.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Room(models.Model):
    name = models.CharField("会议室", max_length=60)
    building = models.CharField("楼宇", max_length=60)
    floor = models.CharField("楼层/房号", max_length=30, blank=True)
    capacity = models.PositiveIntegerField("容纳人数")
    equipment = models.CharField("设备", max_length=200, blank=True, help_text="如：投影、话筒、视频会议终端")
    video_capable = models.BooleanField("支持视频会议", default=False)
    owner_agency = models.ForeignKey("oa.Agency", verbose_name="管理机关", on_delete=models.PROTECT, related_name="+")
    # Who may book: none selected = every agency; otherwise the listed agencies and departments only.
    bookable_agencies = models.ManyToManyField("oa.Agency", verbose_name="可预约机关", blank=True, related_name="+")
    bookable_departments = models.ManyToManyField("oa.Department", verbose_name="可预约部门", blank=True,
                                                  related_name="+")
    # Optional approval: a booking of this room waits for the approver (会议室管理员) before it is confirmed.
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审批人", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    sort_order = models.PositiveIntegerField("排序", default=100)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "会议室"
        ordering = ["sort_order", "building", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["building", "name"], name="meetings_room_unique_name")]

    def __str__(self) -> str:
        return f"{self.building} {self.name}"

    @property
    def requires_approval(self) -> bool:
        return self.approver_id is not None


class Meeting(models.Model):
    class Mode(models.TextChoices):
        OFFLINE = "offline", "线下"
        ONLINE = "online", "线上"
        HYBRID = "hybrid", "线上线下结合"

    class Status(models.TextChoices):
        PENDING = "pending", "待审批"  # the room needs its approver's 同意
        SCHEDULED = "scheduled", "已安排"
        REJECTED = "rejected", "未获批准"
        CANCELLED = "cancelled", "已取消"

    uid = models.UUIDField("日历标识", default=uuid.uuid4, unique=True, editable=False)  # the ICS UID, stable
    sequence = models.PositiveIntegerField("日历版本号", default=0)  # ICS SEQUENCE: +1 on every change people see
    title = models.CharField("会议名称", max_length=200)
    agency = models.ForeignKey("oa.Agency", verbose_name="主办机关", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("oa.Department", verbose_name="承办部门", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    organiser = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="组织人", on_delete=models.PROTECT,
                                  related_name="+")
    host = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="主持人", null=True, blank=True,
                             on_delete=models.PROTECT, related_name="+")
    room = models.ForeignKey(Room, verbose_name="会议室", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="meetings")
    location = models.CharField("其他地点", max_length=200, blank=True)
    mode = models.CharField("形式", max_length=10, choices=Mode.choices, default=Mode.OFFLINE)
    start = models.DateTimeField("开始时间")
    end = models.DateTimeField("结束时间")
    notes = models.TextField("会议说明", blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.SCHEDULED)
    # Minutes before the start at which every participant is reminded (e.g. [1440, 30]); fired once each.
    reminder_offsets = models.JSONField("提醒时间（分钟）", default=list)
    signup_deadline = models.DateTimeField("报名截止", null=True, blank=True)
    cancel_reason = models.CharField("取消原因", max_length=300, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "会议"
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="meetings_meeting_end_after_start"),
        ]
        indexes = [
            models.Index(fields=["room", "start", "end"], name="meetings_room_time_idx"),
            models.Index(fields=["start", "end"], name="meetings_time_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.SCHEDULED)

    @property
    def place(self) -> str:
        if self.room_id:
            return str(self.room)
        return self.location or ("线上" if self.mode == self.Mode.ONLINE else "")


class AgendaItem(models.Model):
    """一个议题: what is discussed, who presents it, when, with its materials."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveSmallIntegerField("序号")
    title = models.CharField("议题", max_length=200)
    presenter = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="汇报人", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField("开始时间", null=True, blank=True)
    end = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "议题"
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "position"], name="meetings_agenda_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


def material_key(instance: AgendaMaterial, filename: str) -> str:
    """Random storage key: the uploaded name lives in the row, never in the path."""
    return f"meetings/{uuid.uuid4().hex}"


class AgendaMaterial(models.Model):
    """A file attached to a 议题, checked by content like a 公文's 附件 (documents.uploads)."""

    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="materials")
    name = models.CharField("文件名", max_length=255)
    file = models.FileField("文件", upload_to=material_key, max_length=300)
    content_type = models.CharField("文件类型", max_length=100)
    size = models.PositiveBigIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "议题材料"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class MeetingUnit(models.Model):
    """A unit (agency, or one department) invited by a cross-unit notice; its contact names the attendees."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="units")
    agency = models.ForeignKey("oa.Agency", verbose_name="参会单位", on_delete=models.PROTECT, related_name="+")
    quota = models.PositiveSmallIntegerField("名额", null=True, blank=True)  # None: as many as the unit names
    contacts = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name="报名联系人", related_name="+")
    named_at = models.DateTimeField("报名时间", null=True, blank=True)
    named_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="报名人", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = verbose_name_plural = "参会单位"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "agency"], name="meetings_unit_unique")]

    def __str__(self) -> str:
        return f"{self.meeting_id}:{self.agency_id}"


class Invitation(models.Model):
    class Role(models.TextChoices):
        PARTICIPANT = "participant", "参会"
        OBSERVER = "observer", "列席"

    class Response(models.TextChoices):
        PENDING = "pending", "未回复"
        ACCEPTED = "accepted", "参加"
        LEAVE = "leave", "请假"
        DELEGATED = "delegated", "委派他人"
        WITHDRAWN = "withdrawn", "已取消邀请"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="invitations")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="人员", on_delete=models.PROTECT,
                               related_name="meeting_invitations")
    role = models.CharField("身份", max_length=12, choices=Role.choices, default=Role.PARTICIPANT)
    required = models.BooleanField("必须参加", default=True)  # its other meetings count as conflicts
    unit = models.ForeignKey(MeetingUnit, verbose_name="报名单位", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="attendees")
    response = models.CharField("回复", max_length=12, choices=Response.choices, default=Response.PENDING)
    reason = models.CharField("请假事由", max_length=300, blank=True)
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="委派给", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    delegated_from = models.ForeignKey("self", verbose_name="受谁委派", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    responded_at = models.DateTimeField("回复时间", null=True, blank=True)
    invited_at = models.DateTimeField("邀请时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "会议邀请"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "person"], name="meetings_invitation_unique")]
        indexes = [models.Index(fields=["person", "response"], name="meetings_invitation_person_idx")]

    def __str__(self) -> str:
        return f"{self.meeting_id}:{self.person_id} {self.response}"

    @property
    def attending(self) -> bool:
        """Still expected in the room (the basis of conflicts and reminders)."""
        return self.response in (self.Response.PENDING, self.Response.ACCEPTED)


class ReminderSent(models.Model):
    """One row per (invitation, offset): the unique constraint is what makes a reminder fire exactly once."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="reminders")
    offset_minutes = models.PositiveIntegerField("提前分钟数")
    sent_at = models.DateTimeField("发送时间")
    notified = models.BooleanField("已发提醒", default=True)  # False: passed over (a nearer reminder went instead)

    class Meta:
        verbose_name = verbose_name_plural = "会议提醒记录"
        constraints = [
            models.UniqueConstraint(fields=["invitation", "offset_minutes"], name="meetings_reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.invitation_id}:{self.offset_minutes}"


class MeetingChange(models.Model):
    """The meeting's history: every create, change, cancellation, reply and sign-up, with who and when."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField("时间")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True,
                           on_delete=models.PROTECT, related_name="+")
    action = models.CharField("操作", max_length=30)
    summary = models.CharField("说明", max_length=300)
    changes = models.JSONField("变更内容", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "会议变更记录"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.summary


class CalendarFeed(models.Model):
    """A person's ICS subscription: the URL carries a random token; only its SHA-256 is stored."""

    person = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_sha256 = models.CharField("令牌摘要", max_length=64, unique=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "日历订阅"

    def __str__(self) -> str:
        return f"日历订阅 {self.person_id}"


# --- 签到, live agenda and the video room (docs/meetings.md 签到 / 实时名单 / 视频会议) ------------------------------


class Attendance(models.Model):
    """One row per person who checked in (QR scan, the secretary's manual check-in, or joining the video room).
    Absent / on leave / delegated are not rows: they follow from the invitation (meetings.checkin.roster)."""

    class Status(models.TextChoices):
        PRESENT = "present", "已到"
        LATE = "late", "迟到"

    class Method(models.TextChoices):
        QR = "qr", "扫码签到"
        MANUAL = "manual", "会务人员代签"
        VIDEO = "video", "视频入会"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="人员", on_delete=models.PROTECT,
                               related_name="+")
    status = models.CharField("签到状态", max_length=10, choices=Status.choices)
    method = models.CharField("签到方式", max_length=10, choices=Method.choices)
    at = models.DateTimeField("签到时间")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="代签人", null=True, blank=True,
                           on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = verbose_name_plural = "会议签到"
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "person"], name="meetings_attendance_once")]

    def __str__(self) -> str:
        return f"{self.meeting_id}:{self.person_id} {self.status}"


class MeetingLive(models.Model):
    """Per-meeting state of the room: the current 议题, the 签到 grace period, and the video room."""

    class Video(models.TextChoices):
        NONE = "none", "无视频"
        PENDING = "pending", "待创建"  # the provider was unreachable: the job meetings.video_rooms retries
        READY = "ready", "已创建"
        ENDED = "ended", "已结束"

    meeting = models.OneToOneField(Meeting, on_delete=models.CASCADE, related_name="live", primary_key=True)
    current_item = models.ForeignKey(AgendaItem, verbose_name="当前议题", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    grace_minutes = models.PositiveSmallIntegerField("签到宽限（分钟）", default=10)
    # RoomInfo.to_dict() of integrations.video; its secret never leaves the server.
    video_room = models.JSONField("视频房间", null=True, blank=True)
    video_state = models.CharField("视频状态", max_length=10, choices=Video.choices, default=Video.NONE)
    video_attempts = models.PositiveIntegerField("建房尝试次数", default=0)
    video_error = models.CharField("最近一次错误", max_length=300, blank=True)
    # +1 per roster change (meetings.checkin.roster_changed); the live roster's deltas carry it, a gap → resync.
    roster_version = models.PositiveBigIntegerField("名单版本", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "会议现场状态"

    def __str__(self) -> str:
        return f"live:{self.meeting_id}"
# --- 纪要 and 议定事项 (meetings/minutes.py, docs/meetings.md 纪要) ------------------------------------------------


class Decision(models.Model):
    """议定事项: what the meeting decided, which unit carries it out and by when. 督办 takes these over
    (meetings.minutes.decisions_for_supervision); until then the meeting page lists them with their owners."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="decisions")
    agenda_item = models.ForeignKey(AgendaItem, verbose_name="所属议题", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="decisions")
    position = models.PositiveSmallIntegerField("序号")
    text = models.TextField("议定内容", max_length=1000)
    owner_unit = models.ForeignKey("oa.Agency", verbose_name="责任单位", on_delete=models.PROTECT, related_name="+")
    deadline = models.DateField("完成时限", null=True, blank=True)
    # Set when the deadline was given as N working days after the meeting (the calendar computed `deadline`).
    deadline_working_days = models.PositiveSmallIntegerField("时限（工作日）", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "议定事项"
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["meeting", "position"], name="meetings_decision_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.text[:30]}"


class MeetingMinutes(models.Model):
    """The meeting's 纪要: an OfficialDocument of 文种 纪要, drafted from the agenda and decisions, then routed
    on the 发文 flow like any 公文."""

    meeting = models.OneToOneField(Meeting, on_delete=models.CASCADE, related_name="minutes")
    document = models.OneToOneField("documents.OfficialDocument", verbose_name="纪要公文", on_delete=models.PROTECT,
                                    related_name="+")
    drafted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="起草人", on_delete=models.PROTECT,
                                   related_name="+")
    drafted_at = models.DateTimeField("起草时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "会议纪要"

    def __str__(self) -> str:
        return f"纪要 {self.meeting_id}"
