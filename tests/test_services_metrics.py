"""零跑动指标 (docs/services.md 指标): shares, 一次办结率 and handling time per 主管部门; page, chart and Excel."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from tests.clients import login
from tests.services_helpers import item, load_services, open_task
from workflows.services.metrics import service_metrics
from workflows.services.models import ServiceApplication

pytestmark = pytest.mark.django_db


def _done(cast, purpose: str, amend: bool) -> None:
    zhangwei, xuli, lina = login(cast.zhangwei), login(cast.xuli), login(cast.lina)
    zhangwei.post(f"/services/items/{item('income_cert').pk}/apply", {"purpose": purpose})
    application = ServiceApplication.objects.get(form__purpose=purpose)
    xuli.post(f"/services/tasks/{open_task(application).pk}/", {"form": "decide", "decision": "accept"})
    if amend:
        lina.post(f"/services/tasks/{open_task(application).pk}/", {"form": "return", "reason": "写明用途"})
        zhangwei.post(f"/services/tasks/{open_task(application).pk}/", {"form": "amend", "purpose": purpose + "（补）"})
    lina.post(f"/services/tasks/{open_task(application).pk}/", {"form": "decide", "decision": "agree"})


def test_metrics_per_competent_department(cast):
    load_services()
    _done(cast, "贷款", amend=False)
    _done(cast, "签证", amend=True)
    rows = {r.department: r for r in service_metrics()}
    office = next(r for name, r in rows.items() if name.endswith("综合科"))
    # Every active 综合科 item of the demo catalogue (other kinds add theirs): all 零跑动, one 即办件 (在职证明).
    from workflows.services.models import ServiceItem

    count = ServiceItem.objects.filter(department__name="综合科", department__agency__doc_code="揭东府办",
                                       is_active=True).count()
    assert count >= 3 and (office.items, office.zero_visit, office.instant) == (count, count, 1)
    assert office.zero_visit_pct == 100.0 and office.instant_pct == round(100 / count, 1)
    assert office.finished == 2 and office.first_time_pct == 50.0
    assert office.average_limit == 3.0 and office.average_days is not None

    assert login(cast.zhangwei).get("/services/metrics/").status_code == 403
    leader = login(cast.huangjianhua, otp=True)
    page = leader.get("/services/metrics/").content.decode()
    assert "一次办结率" in page and "50.0%" in page and "<svg" in page
    export = leader.get("/services/metrics/?format=xlsx")
    assert export["Content-Disposition"].startswith("attachment")
    sheet = load_workbook(io.BytesIO(export.content)).active
    header, *body = list(sheet.iter_rows(values_only=True))
    assert header[0] == "主管部门" and header[5] == "一次办结率(%)"
    assert next(r for r in body if r[0].endswith("综合科"))[4:6] == (2, 50.0)
    assert body[-1][0] == "合计"
