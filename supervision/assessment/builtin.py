"""The score sources that read records this system already keeps (docs/assessment.md 指标):

- 督办按时办结率 (``supervision``): 督办 unit tasks due in the period;
- 办文按时限办理率 (``documents``): 发文/收文 steps finished in the period against their working-day limits;
- 零跑动一次办结率 (``services``) and 零跑动好评率 (``services_rating``): 零跑动 applications of the unit's 主管部门.

Each is a few indexed queries over the period; nothing is stored, so a score is always what the records say now.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from urllib.parse import urlencode

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from oa.scores import Record, SourceScore, percent
from supervision.models import SupervisionItem, UnitTask

DISPATCHED = [SupervisionItem.Status.HANDLING, SupervisionItem.Status.CLOSING, SupervisionItem.Status.CLOSED,
              SupervisionItem.Status.ARCHIVED]


def drill_url(key: str, agency_id: int, start: dt.date, end: dt.date) -> str:
    query = urlencode({"agency": agency_id, "start": start.isoformat(), "end": end.isoformat()})
    return f"/supervision/assessment/records/{key}/?{query}"


def _day_range(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end+1 00:00) in local time: the period as aware datetimes for indexed comparisons."""
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(start, dt.time(), tz), dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz))


def _date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


class _Counting:
    """Helpers shared by the sources below: count (ok, total) per agency, then build scores and drill urls."""

    key = ""
    label = ""

    def _scores(self, counts: dict[int, list[int]], agency_ids: list[int], start: dt.date,
                end: dt.date) -> dict[int, SourceScore]:
        out = {}
        for agency_id in agency_ids:
            ok, total = counts.get(agency_id, (0, 0))
            out[agency_id] = SourceScore(percent(ok, total), ok, total, drill_url(self.key, agency_id, start, end))
        return out


class SupervisionSource(_Counting):
    """督办按时办结率: of the unit tasks whose (final, after any approved 延期) deadline falls in the period and that
    are judged — done, or still open with the deadline passed — the share whose 办结报告 came by the deadline and
    was accepted. A task still open before its deadline is not judged yet; each task counts in one period only."""

    key = "supervision"
    label = "督办按时办结率"

    def _units(self, agency_ids: list[int], start: dt.date, end: dt.date):
        return (UnitTask.objects.filter(agency_id__in=agency_ids, deadline__gte=start, deadline__lte=end,
                                        item__status__in=DISPATCHED)
                .filter(Q(status=UnitTask.Status.DONE) | Q(deadline__lt=timezone.localdate())))

    @staticmethod
    def _on_time(status: str, deadline: dt.date, reported_at: dt.datetime | None) -> bool:
        return (status == UnitTask.Status.DONE and reported_at is not None
                and timezone.localtime(reported_at).date() <= deadline)

    def scores(self, agency_ids: list[int], start: dt.date, end: dt.date) -> dict[int, SourceScore]:
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        rows = self._units(agency_ids, start, end).values_list("agency_id", "status", "deadline", "reported_at")
        for agency_id, status, deadline, reported_at in rows:
            counts[agency_id][0] += self._on_time(status, deadline, reported_at)
            counts[agency_id][1] += 1
        return self._scores(counts, agency_ids, start, end)

    def records(self, agency_id: int, start: dt.date, end: dt.date) -> list[Record]:
        out = []
        units = self._units([agency_id], start, end).select_related("item").order_by("deadline", "id")
        for u in units:
            ok = self._on_time(u.status, u.deadline, u.reported_at)
            if u.status == UnitTask.Status.DONE and u.reported_at:
                when = f"办结报告 {_date(timezone.localtime(u.reported_at).date())}"
            else:
                when = f"未办结（{u.get_status_display()}）"
            out.append(Record(f"{u.item.number} {u.item.title}", f"期限 {_date(u.deadline)}，{when}", ok,
                              f"/supervision/units/{u.pk}/"))
        return out


class DocumentsSource(_Counting):
    """办文按时限办理率: the human steps of 发文 (IssuanceFlow) and 收文 (ReceiptFlow) finished in the period that
    carry a deadline (every step does: ``limit_days`` working days from its arrival, or the 办理时限 a 批办 set), and
    of them the share finished by that deadline. The unit is the process's agency (process.data["agency_id"])."""

    key = "documents"
    label = "办文按时限办理率"

    def _tasks(self, agency_ids: list[int], start: dt.date, end: dt.date):
        from workflows.issuance.flows import IssuanceFlow
        from workflows.receipt.flows import ReceiptFlow

        lo, hi = _day_range(start, end)
        return Task.objects.filter(
            Q(process__flow_class=IssuanceFlow) | Q(process__flow_class=ReceiptFlow),
            flow_task_type="HUMAN", status=STATUS.DONE, finished__gte=lo, finished__lt=hi,
            process__data__agency_id__in=agency_ids, data__has_key="deadline",
        )

    @staticmethod
    def _deadline(data: dict) -> dt.datetime | None:
        raw = (data or {}).get("deadline")
        return parse_datetime(str(raw)) if raw else None

    def scores(self, agency_ids: list[int], start: dt.date, end: dt.date) -> dict[int, SourceScore]:
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for finished, data, agency_id in self._tasks(agency_ids, start, end).values_list(
                "finished", "data", "process__data__agency_id"):
            deadline = self._deadline(data)
            if deadline is None:
                continue
            counts[int(agency_id)][0] += finished <= deadline
            counts[int(agency_id)][1] += 1
        return self._scores(counts, agency_ids, start, end)

    def records(self, agency_id: int, start: dt.date, end: dt.date) -> list[Record]:
        from workflows.nodes import node_label

        out = []
        tasks = self._tasks([agency_id], start, end).select_related("process", "owner").order_by("finished", "id")
        for task in tasks:
            deadline = self._deadline(task.data)
            if deadline is None:
                continue
            pdata = task.process.data or {}
            # Titles are left out on purpose: the 督查室 counts steps, it is not on the document's reader list.
            flow_name = getattr(task.process.flow_class, "process_title", "")
            number = pdata.get("doc_number") or f"流程 {task.process_id}"
            label = f"{flow_name} · {node_label(task.flow_task)} · {number}"
            finished = timezone.localtime(task.finished)
            owner = task.owner.get_full_name() if task.owner else ""
            detail = (f"{owner} 期限 {timezone.localtime(deadline):%Y-%m-%d %H:%M}，"
                      f"完成 {finished:%Y-%m-%d %H:%M}")
            out.append(Record(label, detail, task.finished <= deadline))
        return out


class ServicesSource(_Counting):
    """零跑动一次办结率: applications of the items whose 主管部门 belongs to the unit, 办结 in the period, and of them
    the share finished without any 补正 (the same rule as workflows/services/metrics.py)."""

    key = "services"
    label = "零跑动一次办结率"

    def _applications(self, agency_ids: list[int], start: dt.date, end: dt.date):
        from workflows.services.models import ServiceApplication

        lo, hi = _day_range(start, end)
        return ServiceApplication.objects.filter(status=ServiceApplication.Status.DONE, completed_at__gte=lo,
                                                 completed_at__lt=hi, item__department__agency_id__in=agency_ids)

    def scores(self, agency_ids: list[int], start: dt.date, end: dt.date) -> dict[int, SourceScore]:
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for agency_id, amends in self._applications(agency_ids, start, end).values_list(
                "item__department__agency_id", "amend_count"):
            counts[agency_id][0] += amends == 0
            counts[agency_id][1] += 1
        return self._scores(counts, agency_ids, start, end)

    def records(self, agency_id: int, start: dt.date, end: dt.date) -> list[Record]:
        apps = self._applications([agency_id], start, end).select_related("item").order_by("completed_at", "id")
        return [Record(f"{a.number} {a.item.name}",
                       f"办结 {timezone.localtime(a.completed_at):%Y-%m-%d}，补正 {a.amend_count} 次", a.amend_count == 0)
                for a in apps]


GOOD_RATING = 4  # 满意 (4) and 非常满意 (5) are 好评 in the 1–5 好差评 scale


class ServiceRatingSource(_Counting):
    """零跑动好评率: the 好差评 ratings given in the period on the unit's applications, and the share rated 4 or 5."""

    key = "services_rating"
    label = "零跑动好评率"

    def _rated(self, agency_ids: list[int], start: dt.date, end: dt.date):
        from workflows.services.models import ServiceApplication

        lo, hi = _day_range(start, end)
        return ServiceApplication.objects.filter(rating__isnull=False, rated_at__gte=lo, rated_at__lt=hi,
                                                 item__department__agency_id__in=agency_ids)

    def scores(self, agency_ids: list[int], start: dt.date, end: dt.date) -> dict[int, SourceScore]:
        counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for agency_id, rating in self._rated(agency_ids, start, end).values_list(
                "item__department__agency_id", "rating"):
            counts[agency_id][0] += rating >= GOOD_RATING
            counts[agency_id][1] += 1
        return self._scores(counts, agency_ids, start, end)

    def records(self, agency_id: int, start: dt.date, end: dt.date) -> list[Record]:
        rated = self._rated([agency_id], start, end).select_related("item").order_by("rated_at", "id")
        return [Record(f"{a.number} {a.item.name}",
                       f"评价 {a.rating} 分（{timezone.localtime(a.rated_at):%Y-%m-%d}）", a.rating >= GOOD_RATING)
                for a in rated]


BUILTIN = [SupervisionSource(), DocumentsSource(), ServicesSource(), ServiceRatingSource()]
