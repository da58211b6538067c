"""The 报表“一张表” demo (`manage.py datarequests_demo`, run by `make run`): what it shows and that a second run
changes nothing."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from zoneinfo import ZoneInfo

import time_machine
from django.core.management import call_command

from oa.models import AuditEntry, WorkItem
from supervision.datarequests import actions as act
from supervision.datarequests.demo import FINANCE_TITLE, MONTHLY_TITLE, PENDING_TITLE
from supervision.datarequests.models import Answer, CatalogField, DataRequest, Round, Submission

BJ = ZoneInfo("Asia/Shanghai")


def _run() -> str:
    out = StringIO()
    call_command("datarequests_demo", stdout=out)
    return out.getvalue()


def test_demo_runs_twice_and_shows_prefill_return_late_and_a_pending_listing(cast):
    with time_machine.travel(dt.datetime(2026, 9, 16, 10, tzinfo=BJ), tick=False):
        first = _run()
        counts = (DataRequest.objects.count(), Round.objects.count(), Submission.objects.count(),
                  Answer.objects.count(), CatalogField.objects.count(), WorkItem.objects.count(),
                  AuditEntry.objects.count())
        second = _run()
    assert "新建 3 张报表" in first and "新建 0 张报表" in second
    assert counts == (DataRequest.objects.count(), Round.objects.count(), Submission.objects.count(),
                      Answer.objects.count(), CatalogField.objects.count(), WorkItem.objects.count(),
                      AuditEntry.objects.count())

    finance = DataRequest.objects.get(title=FINANCE_TITLE)
    assert finance.status == "active" and finance.listing == "listed"
    assert [r.period for r in finance.rounds.all()] == ["2026-09"]

    monthly = DataRequest.objects.get(title=MONTHLY_TITLE)
    assert monthly.owner == cast.xuli and monthly.cycle == "monthly" and monthly.listing == "listed"
    assert monthly.listed_by == cast.zhaolei
    (rnd,) = monthly.rounds.all()
    assert rnd.period == "2026-09" and rnd.deadline < dt.date(2026, 9, 16) and rnd.reminded_at is not None
    subs = {s.agency.short_name: s for s in rnd.submissions.select_related("agency")}
    assert {k: (s.status, s.late) for k, s in subs.items()} == {
        "曲溪街道": ("submitted", False), "磐东街道": ("returned", False), "玉湖镇": ("submitted", True)}
    # The reused catalogue field came prefilled from the finance request for the two towns that answered it.
    assert subs["曲溪街道"].prefilled["revenue"] == {"value": "1286.5", "source": FINANCE_TITLE}
    assert subs["磐东街道"].prefilled["revenue"]["value"] == "973.2"
    assert not subs["玉湖镇"].prefilled
    assert subs["磐东街道"].return_reason.startswith("规上工业增加值")
    assert WorkItem.objects.filter(ref=act.submission_ref(subs["磐东街道"]), owner=cast.pandong03, state="open",
                                   step="填报（退回）").exists()
    assert subs["曲溪街道"].values["per_firm"] == "115.6522"  # 5320 / 46, four decimals
    revenue = CatalogField.objects.get(name="一般公共预算收入", unit="万元")
    assert set(revenue.uses.values_list("request__title", flat=True)) == {FINANCE_TITLE, MONTHLY_TITLE}

    pending = DataRequest.objects.get(title=PENDING_TITLE)
    assert pending.status == "draft" and pending.listing == "pending"
    assert {w.owner.username for w in WorkItem.objects.filter(ref=act.listing_ref(pending), state="open")} == {
        "wujing", "zhaolei"}


def test_demo_pages_render_for_the_cast(cast):
    from tests.clients import login

    with time_machine.travel(dt.datetime(2026, 9, 16, 10, tzinfo=BJ), tick=False):
        _run()
        monthly = DataRequest.objects.get(title=MONTHLY_TITLE)
        page = login(cast.xuli, otp=True).get(f"/datarequests/{monthly.pk}/").content.decode()
        assert "已报送 <strong>2</strong> / 3" in page and "逾期报送" in page and "被退回" in page
        pandong = Submission.objects.get(round__request=monthly, agency__short_name="磐东街道")
        page = login(cast.pandong03, otp=True).get(f"/datarequests/submissions/{pandong.pk}/").content.decode()
        assert "已预填" in page and f"预填自“{FINANCE_TITLE}”" in page and "请核实单位" in page
        page = login(cast.wujing, otp=True).get("/datarequests/listing/").content.decode()
        assert PENDING_TITLE in page
