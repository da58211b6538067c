"""The meeting form (docs/meetings.md 页面). Parsing only: the rules are meetings.actions'."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.utils import timezone

from frontend.widgets import CheckboxGroup
from meetings.actions import AgendaInput, MeetingInput
from meetings.models import Meeting
from meetings.selectors import departments_of_agency, reachable_people, rooms_bookable_by
from oa.models import Agency, Person

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
REMINDER_CHOICES = [(10080, "提前 1 周"), (1440, "提前 1 天"), (120, "提前 2 小时"), (60, "提前 1 小时"),
                    (30, "提前 30 分钟"), (15, "提前 15 分钟")]


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format=DATETIME_FORMAT)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Person) -> str:
        return obj.name


class PeopleChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Person) -> str:
        return obj.name


class AgencyChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Agency) -> str:
        return obj.short_name


def _agency_group(person: Person):
    appointment = next(iter(person.appointments.all()), None)
    if appointment is None:
        return None
    agency = appointment.department.agency
    return (f"a{agency.pk}", agency.short_name)


def _kind_group(agency: Agency):
    return (agency.kind, "镇街" if agency.kind == Agency.Kind.TOWN else "区直单位")


class MeetingForm(forms.Form):
    title = forms.CharField(label="会议名称", max_length=200)
    start = forms.DateTimeField(label="开始时间", widget=DateTimeLocal(), input_formats=[DATETIME_FORMAT])
    end = forms.DateTimeField(label="结束时间", widget=DateTimeLocal(), input_formats=[DATETIME_FORMAT],
                              help_text="跨过午夜的会议，结束时间选次日即可。")
    mode = forms.ChoiceField(label="会议形式", choices=Meeting.Mode.choices, widget=forms.RadioSelect,
                             initial=Meeting.Mode.OFFLINE)
    room = forms.ModelChoiceField(label="会议室", queryset=None, required=False, empty_label="（不用会议室）")
    location = forms.CharField(label="其他地点", max_length=200, required=False,
                               help_text="不在本系统会议室开会时填写，如“区应急指挥中心”。")
    host = PersonChoice(label="主持人", queryset=None, required=False, empty_label="（未定）")
    department = forms.ModelChoiceField(label="承办部门", queryset=None, required=False, empty_label="（未定）")
    participants = PeopleChoice(label="参会人员", queryset=None, required=False,
                                help_text="本单位人员（区政府、区府办可邀请全区人员）。")
    observers = PeopleChoice(label="列席人员", queryset=None, required=False)
    units = AgencyChoice(label="参会单位（跨单位通知，由各单位报名）", queryset=None, required=False)
    quota = forms.IntegerField(label="每单位名额", min_value=1, max_value=50, required=False,
                               help_text="不填则不限名额（估算会议室人数时按每单位 1 人计）。")
    signup_deadline = forms.DateTimeField(label="报名截止", required=False, widget=DateTimeLocal(),
                                          input_formats=[DATETIME_FORMAT])
    reminders = forms.TypedMultipleChoiceField(label="提醒", choices=REMINDER_CHOICES, coerce=int, required=False,
                                               widget=forms.CheckboxSelectMultiple)
    notes = forms.CharField(label="会议说明", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}),
                            help_text="只写会务安排，不要写涉密内容：它会推送到手机。")
    accept_conflicts = forms.BooleanField(label="人员有冲突，仍按此时间安排", required=False)
    slot = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, organiser: Person, agency: Agency, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        people = reachable_people(organiser).prefetch_related("appointments__department__agency")
        self.fields["room"].queryset = rooms_bookable_by(organiser)
        self.fields["room"].label_from_instance = lambda r: (
            f"{r.building} {r.name}（{r.capacity}人{'，可视频' if r.video_capable else ''}{'，需审批' if r.approver_id else ''}）")
        self.fields["host"].queryset = people
        self.fields["department"].queryset = departments_of_agency(agency)
        for name in ("participants", "observers"):
            self.fields[name].queryset = people
            self.fields[name].widget = CheckboxGroup(group_of=_agency_group, empty_text="没有可邀请的人员。")
        self.fields["units"].queryset = Agency.objects.filter(is_active=True).exclude(pk=agency.pk).order_by(
            "sort_order", "id")
        self.fields["units"].widget = CheckboxGroup(group_of=_kind_group)
        if not self.is_bound and "reminders" not in self.initial:
            self.initial["reminders"] = list(settings.OA_MEETING_REMINDERS)

    def clean(self):
        data = super().clean()
        slot = data.get("slot") or ""
        if slot:
            try:
                a, b = (dt.datetime.fromisoformat(x) for x in slot.split("|"))
            except ValueError as exc:
                raise forms.ValidationError("所选推荐时段无效，请重新选择。") from exc
            data["start"], data["end"] = a, b
        return data

    def to_input(self, agenda: list[AgendaInput]) -> MeetingInput:
        d = self.cleaned_data
        quota = d.get("quota")
        return MeetingInput(
            title=d["title"], start=d["start"], end=d["end"], mode=d["mode"], room=d.get("room"),
            location=d.get("location") or "", host=d.get("host"), department=d.get("department"),
            notes=d.get("notes") or "", participants=list(d.get("participants") or []),
            observers=list(d.get("observers") or []), units=[(a, quota) for a in d.get("units") or []],
            agenda=agenda, reminder_offsets=list(d.get("reminders") or []),
            signup_deadline=d.get("signup_deadline"), accept_person_conflicts=bool(d.get("accept_conflicts")),
        )


class AgendaForm(forms.Form):
    title = forms.CharField(label="议题", max_length=200, required=False)
    presenter = PersonChoice(label="汇报人", queryset=Person.objects.none(), required=False, empty_label="（未定）")
    start = forms.TimeField(label="开始", required=False, widget=TimeInput())
    end = forms.TimeField(label="结束", required=False, widget=TimeInput())




def agenda_formset(data=None, *, organiser: Person, initial: list[dict] | None = None, extra: int = 3):
    formset = forms.formset_factory(AgendaForm, extra=extra, max_num=30)(data, initial=initial, prefix="agenda")
    people = reachable_people(organiser)
    for form in formset.forms:
        form.fields["presenter"].queryset = people
    return formset


def agenda_inputs(formset, meeting_start: dt.datetime) -> list[AgendaInput]:
    """Rows with a title become 议题; their times are on the meeting's day (after midnight: the next day)."""
    tz = timezone.get_current_timezone()
    start = timezone.localtime(meeting_start)
    items = []
    for form in formset.forms:
        d = form.cleaned_data if form.is_valid() else {}
        if not (d.get("title") or "").strip():
            continue
        a = b = None
        if d.get("start") and d.get("end"):
            a = dt.datetime.combine(start.date(), d["start"], tzinfo=tz)
            if a < start:
                a += dt.timedelta(days=1)
            b = dt.datetime.combine(a.date(), d["end"], tzinfo=tz)
            if b <= a:
                b += dt.timedelta(days=1)
        elif d.get("start") or d.get("end"):
            a, b = (dt.datetime.combine(start.date(), d["start"], tzinfo=tz) if d.get("start") else None,
                    dt.datetime.combine(start.date(), d["end"], tzinfo=tz) if d.get("end") else None)
        items.append(AgendaInput(title=d["title"], presenter=d.get("presenter"), start=a, end=b))
    return items


class UnitSignupForm(forms.Form):
    people = PeopleChoice(label="本单位参会人员", queryset=None)

    def __init__(self, *args, candidates, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = candidates
        self.fields["people"].widget = CheckboxGroup(empty_text="本单位没有在职人员。")
