"""我的 → 委托: each person sets and cancels their own 委托 over HTTP, through the audited actions; bad input is
refused beside its field with the form kept and nothing written (docs/workbench.md)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from oa.actions.delegation import check_create_delegation
from oa.models import AuditEntry, Delegation
from oa.refusals import Refusal
from tests.clients import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return timezone.localdate()


def last_audit_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def form(delegate, start: dt.date, end: dt.date, **extra) -> dict:
    return {"delegate": delegate.pk, "start_date": start.isoformat(), "end_date": end.isoformat(),
            "reason": "外出学习", **extra}


def test_profile_offers_colleagues_of_the_agency_and_the_registered_work_kinds(cast):
    page = login(cast.xuli).get("/profile/").content.decode()
    select = re.search(r'<select name="delegate".*?</select>', page, re.S).group(0)
    assert f'value="{cast.gaojun.pk}"' in select and "高军" in select  # 区府办
    assert f'value="{cast.hemei.pk}"' in select  # 政数局, with a 兼职 post in 区府办 综合科
    assert f'value="{cast.sunhao.pk}"' not in select  # 政数局 only
    assert f'value="{cast.xuli.pk}"' not in select
    assert 'name="flow_types" value="issuance"' in page and 'name="flow_types" value="receipt"' in page
    assert '<label class="field-label" for="id_delegate">代理人</label>' in page
    assert "<script>" not in page  # CSP: no inline script


def test_a_person_sets_and_cancels_their_own_delegation_audited(cast, today):
    xuli = login(cast.xuli)
    since = last_audit_id()
    response = xuli.post("/profile/delegations/", form(cast.gaojun, today, today + dt.timedelta(days=4),
                                                         flow_types=["receipt"]))
    assert response.status_code == 302
    delegation = Delegation.objects.get(principal=cast.xuli, revoked_at__isnull=True)
    assert (delegation.delegate, delegation.flow_types, delegation.created_by) == (cast.gaojun, ["receipt"], cast.xuli)
    created = AuditEntry.objects.get(pk__gt=since, action="delegation.create")
    assert created.actor == cast.xuli and created.changes["via"] == "profile"
    page = xuli.get(response["Location"]).content.decode()
    assert "委托 高军 代为办理" in page and "已委托 高军 代为办理。" in page
    assert f'/profile/delegations/{delegation.pk}/revoke/' in page

    # Someone else cannot cancel it, not even the delegate: 404, nothing written.
    before = last_audit_id()
    assert login(cast.gaojun).post(f"/profile/delegations/{delegation.pk}/revoke/").status_code == 404
    delegation.refresh_from_db()
    assert delegation.revoked_at is None and last_audit_id() == before

    assert xuli.post(f"/profile/delegations/{delegation.pk}/revoke/").status_code == 302
    delegation.refresh_from_db()
    assert delegation.revoked_by == cast.xuli and delegation.revoked_at is not None
    revoked = AuditEntry.objects.get(pk__gt=before, action="delegation.revoke")
    assert revoked.actor == cast.xuli and revoked.changes["via"] == "profile"
    # Cancelled once is cancelled: a second post finds nothing open.
    assert xuli.post(f"/profile/delegations/{delegation.pk}/revoke/").status_code == 404
    assert AuditEntry.objects.filter(pk__gt=before, action="delegation.revoke").count() == 1


def _overlap(cast, today):
    check_create_delegation(actor=cast.xuli, principal=cast.xuli, delegate=cast.gaojun, start_date=today,
                            end_date=today + dt.timedelta(days=5), reason="出差")
    return form(cast.hemei, today + dt.timedelta(days=2), today + dt.timedelta(days=8)), "start_date", 409, "重叠"


def _outside(cast, today):
    return (form(cast.sunhao, today, today + dt.timedelta(days=2)), "delegate", 400,
            "受托人“孙浩”不在委托人所在机关，只能委托本机关人员。")


def _past(cast, today):
    return (form(cast.gaojun, today - dt.timedelta(days=1), today + dt.timedelta(days=2)), "start_date", 400,
            "委托开始日期不能早于今天。")


@pytest.mark.parametrize("case", [_overlap, _outside, _past], ids=["overlap", "outside_agency", "past"])
def test_bad_delegation_is_shown_beside_its_field_form_kept_nothing_changed(cast, today, case):
    data, field, status, message = case(cast, today)
    data["reason"] = "参加全市培训班"
    before_rows, since = Delegation.objects.filter(principal=cast.xuli).count(), last_audit_id()
    response = login(cast.xuli).post("/profile/delegations/", data)
    assert response.status_code == status
    page = response.content.decode()
    error = re.search(rf'<ul class="field-errors" id="id_{field}_error" role="alert">(.*?)</ul>', page, re.S)
    assert error and message in error.group(1)
    control = re.search(rf'<(?:input|select)[^>]*id="id_{field}"[^>]*>', page).group(0)
    assert f'id_{field}_error' in control and 'aria-invalid="true"' in control
    # The form is kept open with what was typed.
    assert '<details class="delegation-new" open>' in page
    assert 'value="参加全市培训班"' in page and f'value="{data["end_date"]}"' in page
    if field != "delegate":  # a person outside the agency is not among the options; the error names them
        assert re.search(rf'<option value="{data["delegate"]}" selected>', page)
    assert Delegation.objects.filter(principal=cast.xuli).count() == before_rows
    assert last_audit_id() == since


@pytest.mark.parametrize(
    ("delegate", "start_days", "scope", "code"),
    [
        ("sunhao", 0, [], "delegation_agency"),
        ("gaojun", -1, [], "delegation_past"),
        ("gaojun", 0, ["nonsense"], "delegation_scope"),
    ],
)
def test_validate_delegation_refuses_with_codes(cast, today, delegate, start_days, scope, code):
    with pytest.raises(Refusal) as exc:
        check_create_delegation(actor=cast.xuli, principal=cast.xuli, delegate=getattr(cast, delegate),
                                start_date=today + dt.timedelta(days=start_days), end_date=today + dt.timedelta(days=3),
                                flow_types=scope, reason="出差")
    assert (exc.value.code, exc.value.status) == (code, 400)
    assert not Delegation.objects.filter(principal=cast.xuli).exists()


def test_a_colleague_through_a_concurrent_post_may_be_chosen(cast, today):
    # 何梅 (政数局) also serves in 区府办: 徐丽 (区府办) may hand her work to her.
    d = check_create_delegation(actor=cast.xuli, principal=cast.xuli, delegate=cast.hemei, start_date=today,
                                end_date=today, reason="会议")
    assert d.delegate == cast.hemei
