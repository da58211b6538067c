"""agency_service_scores (docs/services.md 指标): per 主管机关 好差评 average and 一次办结率 for a period, for 考核评价."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from oa.models import Agency
from tests.clients import login
from tests.test_services_metrics import _done
from workflows.services.metrics import agency_service_scores
from workflows.services.models import ServiceApplication

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")


def test_scores_per_agency_for_a_period(cast, time_machine):
    from tests.services_helpers import load_services

    time_machine.move_to(dt.datetime(2026, 3, 2, 10, 0, tzinfo=BEIJING), tick=False)
    load_services()
    _done(cast, "贷款", amend=False)
    _done(cast, "签证", amend=True)
    zhangwei = login(cast.zhangwei)
    for purpose, rating, comment in (("贷款", 5, ""), ("签证", 2, "补正要求不清楚")):
        application = ServiceApplication.objects.get(form__purpose__startswith=purpose)
        response = zhangwei.post(f"/services/applications/{application.pk}/",
                                 {"form": "rate", "rating": rating, "comment": comment})
        assert response.status_code == 302
    office = Agency.objects.get(doc_code="揭东府办")

    scores = agency_service_scores(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert set(scores) == {office.pk}
    score = scores[office.pk]
    assert (score.finished, score.first_time, score.first_time_pct) == (2, 1, 50.0)
    assert (score.rated, score.rating_average) == (2, 3.5)
    assert agency_service_scores(dt.date(2026, 2, 1), dt.date(2026, 3, 1)) == {}  # completed on 3/2: outside
    assert agency_service_scores(dt.date(2026, 3, 2), dt.date(2026, 3, 2))[office.pk].finished == 2
