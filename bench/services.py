"""零跑动: submit → first approval for 1,000 applications over every catalogue item type, on PostgreSQL.

    .venv/bin/python bench/services.py        # BENCH_PG (default postgresql://postgres@127.0.0.1:5432)
    BENCH_APPLICATIONS=240 .venv/bin/python bench/services.py

1. a throwaway database (bench.common.temp_database), migrated; the demo district, its 电子公章, the 零跑动 demo
   catalogue (every item type present: the built-in ones and every kind in workflows/services/items/);
2. for each active item, in turn, BENCH_APPLICATIONS // items applications by the demo cast through the same actions
   the pages call: ``check_submit_application`` (eligibility, prefill from directory and HR, the item's checks,
   route resolution, the flow's start, 待办 for the 受理 desk) and then the first approval — the 受理 desk's
   ``check_perform_service_step(…, "accept")`` (for a 即办件 that is the whole 办结: the sealed certificate, the stock
   issue). Wall time and SQL statements of each step are measured per application;
3. the baseline in the same run, right after each application (so machine load hits both alike): a plain
   ``Model.save()`` of one ApplicationEvent row;
4. prints median ms and median SQL per step, per item type and over all, and the ratios to the plain save.

An item type whose input this script cannot make up (a kind added later without a ``sample`` here) is listed as
skipped, never faked. Between applications the previous one is closed directly (status 不予办理, outside the
timing) so the items' "one open application at a time" checks do not refuse the next one.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import os  # noqa: E402

from bench.common import print_result, setup_django, temp_database  # noqa: E402

TOTAL = int(os.environ.get("BENCH_APPLICATIONS", "1000"))


def _setup():
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from documents.models import ArchivePackage, OfficialDocument
    from oa.actions.demo import do_load_demo
    from oa.models import Agency, Person
    from oa.selectors.calendar import add_working_days
    from tests.issued import ensure_office_seal
    from workflows.services.demo import do_load_service_demo
    from workflows.services.items.records import DutyRoster, DutySlot, PersonnelFile
    from workflows.services.models import SupplyItem

    do_load_demo()
    ensure_office_seal()
    do_load_service_demo()
    office = Agency.objects.get(doc_code="揭东府办")
    people = {p.username: p for p in Person.objects.filter(agency_people_filter(office))}
    SupplyItem.objects.filter(agency=office).update(stock=10 ** 9)
    for p in people.values():  # a 档案 for everyone in 区府办 (the demo has three)
        PersonnelFile.objects.get_or_create(person=p, defaults={"agency": office, "file_number": f"BENCH-{p.pk}",
                                                                "sections": [{"title": "履历材料", "content": "基准"}]})
    # An archived 公文 to borrow (rows only: archiving itself is not what is measured here).
    doc = OfficialDocument.objects.create(agency=office, title="基准归档公文", doc_number="揭东府办〔2026〕9001号",
                                          status=OfficialDocument.Status.ARCHIVED, created_by=people["liuyang"],
                                          seal_required=False)
    package = ArchivePackage(document=doc, sha256="0" * 64, manifest={}, retention="10y",
                             created_by=people["liuyang"])
    package.file.save("bench.zip", ContentFile(b"PK"), save=False)
    package.save()
    # 张伟 on duty on a future working day, 高军 not.
    duty_day = add_working_days(timezone.localdate(), 10)
    roster = DutyRoster.objects.create(agency=office, month=duty_day.replace(day=1), published_by=people["liuyang"],
                                       published_at=timezone.now())
    DutySlot.objects.create(roster=roster, day=duty_day, person=people["zhangwei"])
    # 会议室预约 books a meetings room the 区府办 cast may use (meeting rooms are the meetings app's data).
    from meetings.models import Room

    Room.objects.get_or_create(name="基准会议室", building="区府大楼", defaults={"capacity": 20, "owner_agency": office})
    return office, people, duty_day


def agency_people_filter(agency):
    from django.db.models import Q

    from oa.models import Appointment

    return Q(pk__in=Appointment.objects.filter(department__agency=agency).values("person_id"))


def _samples(people, duty_day):
    """item handler → (applicant, ApplicationInput factory by index)."""
    from django.utils import timezone

    from meetings.models import Room
    from oa.selectors.calendar import add_working_days
    from workflows.services.actions import ApplicationInput
    from workflows.services.items.affairs_models import OfficeRoom
    from workflows.services.items.records import PersonnelFile
    from workflows.services.items.seal import usable_seals
    from workflows.services.models import ServiceItem, SupplyItem

    today = timezone.localdate()

    def leave(i):
        day = add_working_days(today, 5 + i % 150)
        return ApplicationInput(leave_kind="personal", start=day, end=day, purpose="基准")

    def abroad(i):
        day = today + dt.timedelta(days=10 + i % 300)
        return ApplicationInput(extra={"destination": "新加坡", "organizer": "市外事局", "start": day, "end": day,
                                       "passport": "official", "purpose": "基准"})

    def vehicle(i):
        start = timezone.localtime().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1, hours=i % 48)
        return ApplicationInput(extra={"start": start, "end": start + dt.timedelta(hours=2), "passengers": 2,
                                       "origin": "区府大楼", "destination": "市政府", "purpose": "基准"})

    def room(i):
        start = timezone.localtime().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1, hours=i % 48)
        return ApplicationInput(extra={"room": meeting_room.pk, "title": "基准会议", "start": start,
                                       "end": start + dt.timedelta(hours=1), "attendees": 8, "purpose": ""})

    def travel(i):
        # 差旅费额度 is for the HR data's year: the next working day (a trip in the next year is refused, not faked).
        day = add_working_days(today, 1)
        return ApplicationInput(extra={"destination": "广州", "start": day, "end": day, "transport": "train",
                                       "estimated_cost": Decimal(300), "purpose": "基准"})

    zhang = people["zhangwei"]
    target = PersonnelFile.objects.get(person=zhang)
    meeting_room = Room.objects.get(name="基准会议室")
    seal = usable_seals(ServiceItem.objects.get(handler="seal"))[0]
    spare = OfficeRoom.objects.get(agency__doc_code="揭东府办", number="303")  # 张伟 is in 301
    supply = SupplyItem.objects.filter(agency__doc_code="揭东府办").first()
    return {
        "employment_cert": (zhang, lambda i: ApplicationInput(purpose="基准")),
        "income_cert": (zhang, lambda i: ApplicationInput(purpose="基准")),
        "general": (zhang, lambda i: ApplicationInput(purpose="基准")),
        "leave": (zhang, leave),
        "supplies": (zhang, lambda i: ApplicationInput(supply_id=supply.pk, quantity=1)),
        "personnel_archive": (people["lina"], lambda i: ApplicationInput(extra={"target": target.pk, "days": 2,
                                                                               "purpose": "基准"})),
        "doc_lending": (zhang, lambda i: ApplicationInput(extra={"doc_number": "揭东府办〔2026〕9001号", "days": 2,
                                                                "purpose": "基准"})),
        "abroad": (zhang, abroad),
        "duty_swap": (zhang, lambda i: ApplicationInput(extra={"my_day": duty_day, "counterpart": people["gaojun"].pk,
                                                              "their_day": None, "purpose": "基准"})),
        "seal": (zhang, lambda i: ApplicationInput(extra={"mode": "physical", "seal": seal.pk, "copies": 1,
                                                         "document_title": "基准文件", "purpose": "基准"})),
        "vehicle": (zhang, vehicle),
        "room": (zhang, room),
        "travel": (zhang, travel),
        "office": (zhang, lambda i: ApplicationInput(extra={"kind": "adjust", "room": spare.pk, "purpose": "基准"})),
    }


def _close(application) -> None:
    """Outside the timing: the next application of the same person is not refused as a duplicate."""
    from workflows.services.items.affairs_models import TravelRequest, VehicleTrip
    from workflows.services.items.records import AbroadTrip
    from workflows.services.models import LeaveRecord, ServiceApplication

    ServiceApplication.objects.filter(pk=application.pk).update(status=ServiceApplication.Status.REJECTED)
    LeaveRecord.objects.filter(application=application).update(state=LeaveRecord.State.REJECTED)
    AbroadTrip.objects.filter(application=application).delete()
    TravelRequest.objects.filter(application=application).update(state=TravelRequest.State.REJECTED)
    VehicleTrip.objects.filter(application=application).update(state=VehicleTrip.State.REJECTED)


def _measure(fn):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()  # a full log (9,000) would make the count wrap
    with CaptureQueriesContext(connection) as queries:
        t0 = time.perf_counter()
        result = fn()
        elapsed = (time.perf_counter() - t0) * 1000
    return result, elapsed, len(queries)


def main() -> None:
    with temp_database("services") as url:
        setup_django(url)
        from django.utils import timezone
        from viewflow.workflow.models import Task
        from viewflow.workflow.status import STATUS

        from workflows.services.actions import check_perform_service_step, check_submit_application
        from workflows.services.models import ApplicationEvent, ServiceItem

        t0 = time.monotonic()
        _office, people, duty_day = _setup()
        samples = _samples(people, duty_day)
        items = list(ServiceItem.objects.filter(is_active=True).order_by("code"))
        runnable = [i for i in items if i.handler in samples]
        skipped = [i.name for i in items if i.handler not in samples]
        per_item = max(1, TOTAL // max(1, len(runnable)))
        print(f"setup {time.monotonic() - t0:.1f} s; {len(items)} active items, {len(runnable)} measured, "
              f"{per_item} applications each" + (f"; skipped (no sample input): {'、'.join(skipped)}" if skipped else ""))

        submit_ms, submit_sql, first_ms, first_sql, base_ms, base_sql = [], [], [], [], [], []
        rows = []
        for item in runnable:
            applicant, make = samples[item.handler]
            s_ms, s_sql, f_ms, f_sql = [], [], [], []
            for i in range(per_item + 1):  # the first of each item warms caches and is not counted
                data = make(i)  # the input is made outside the timing
                application, ms, sql = _measure(
                    lambda a=applicant, it=item, d=data: check_submit_application(a, it, d))
                task = Task.objects.select_related("process", "owner").get(
                    process_id=application.process_id, flow_task_type="HUMAN", status=STATUS.ASSIGNED)
                _, ms2, sql2 = _measure(lambda t=task: check_perform_service_step(t.owner, t, "accept", "基准"))
                # The baseline right after, in the same conditions: a plain Model.save() of one row.
                row = ApplicationEvent(application=application, kind=ApplicationEvent.Kind.RATED, at=timezone.now())
                _, ms3, sql3 = _measure(row.save)
                if i:
                    s_ms.append(ms), s_sql.append(sql), f_ms.append(ms2), f_sql.append(sql2)
                    base_ms.append(ms3), base_sql.append(sql3)
                _close(application)
            rows.append((item, s_ms, s_sql, f_ms, f_sql))
            submit_ms += s_ms
            submit_sql += s_sql
            first_ms += f_ms
            first_sql += f_sql

        med = statistics.median
        print(f"\n{'事项':<14}{'办理类型':<18}{'提交 ms':>9}{'SQL':>5}{'首个审批 ms':>12}{'SQL':>5}")
        for item, s_ms, s_sql, f_ms, f_sql in rows:
            print(f"{item.name:<14}{item.handler:<18}{med(s_ms):>9.1f}{med(s_sql):>5.0f}{med(f_ms):>12.1f}"
                  f"{med(f_sql):>5.0f}")
        print(f"{'all':<14}{'':<18}{med(submit_ms):>9.1f}{med(submit_sql):>5.0f}{med(first_ms):>12.1f}"
              f"{med(first_sql):>5.0f}")
        print(f"plain Model.save(): {med(base_ms):.2f} ms, {med(base_sql):.0f} SQL ({len(base_ms)} saves)")
        n = len(submit_ms)
        common = {"applications": n, "item_types": len(runnable), "skipped": skipped}
        print_result(f"services submit, median of {n} applications / {len(runnable)} item types", med(submit_ms),
                     med(base_ms), "ms", "≤ 150×", sql=med(submit_sql), baseline_sql=med(base_sql), **common)
        print_result(f"services first approval (受理), median of {n}", med(first_ms), med(base_ms), "ms", "≤ 150×",
                     sql=med(first_sql), baseline_sql=med(base_sql), **common)
        print_result("services submit, SQL statements (median)", med(submit_sql), med(base_sql), "queries", "≤ 150×")
        print_result("services first approval, SQL statements (median)", med(first_sql), med(base_sql), "queries",
                     "≤ 150×")
        from django.db import connections

        connections.close_all()


if __name__ == "__main__":
    main()
