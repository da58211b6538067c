"""委托 resolution at assignment time, and 工作交接 over every registered kind of open work."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from oa.actions.delegation import check_create_delegation, check_handover, do_revoke_delegation
from oa.models import AuditEntry, Delegation
from oa.refusals import Refusal
from oa.selectors.delegation import on_behalf_label, open_work_counts, resolve_assignee
from tests.clients import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    """The test clock's date: validate_delegation refuses a 委托 that starts before it."""
    return timezone.localdate()


def test_demo_delegation_resolves_for_issuance_only(cast):
    today = timezone.localdate()
    resolved = resolve_assignee(cast.wangfang, "issuance", today)
    assert resolved.assignee == cast.lina
    assert resolved.principal == cast.wangfang
    assert resolved.label() == "李娜 代 王芳 办理"
    # Out of scope: 收文 work still goes to 王芳 herself.
    assert resolve_assignee(cast.wangfang, "receipt", today).assignee == cast.wangfang


def test_delegation_window_is_inclusive(cast, today):
    d = check_create_delegation(
        actor=cast.xuli, principal=cast.xuli, delegate=cast.gaojun, start_date=today,
        end_date=today + dt.timedelta(days=2), reason="休假",
    )
    assert resolve_assignee(cast.xuli, "anything", today - dt.timedelta(days=1)).assignee == cast.xuli
    for offset in range(3):
        r = resolve_assignee(cast.xuli, "anything", today + dt.timedelta(days=offset))
        assert r.assignee == cast.gaojun and r.delegation == d
    assert resolve_assignee(cast.xuli, "anything", today + dt.timedelta(days=3)).assignee == cast.xuli


def test_revoked_delegation_no_longer_applies_and_is_audited(cast, today):
    d = check_create_delegation(
        actor=cast.xuli, principal=cast.xuli, delegate=cast.gaojun, start_date=today, end_date=today, reason="会议",
    )
    do_revoke_delegation(actor=cast.xuli, delegation=d)
    assert resolve_assignee(cast.xuli, "issuance", today).assignee == cast.xuli
    assert AuditEntry.objects.filter(action="delegation.revoke", object_id=str(d.pk)).exists()
    assert AuditEntry.objects.filter(action="delegation.create", object_id=str(d.pk)).exists()


def test_delegation_is_not_transitive(cast, today):
    check_create_delegation(
        actor=cast.xuli, principal=cast.xuli, delegate=cast.gaojun, start_date=today, end_date=today, reason="出差",
    )
    check_create_delegation(
        actor=cast.gaojun, principal=cast.gaojun, delegate=cast.zhangwei, start_date=today, end_date=today,
        reason="出差",
    )
    assert resolve_assignee(cast.xuli, "issuance", today).assignee == cast.gaojun


def test_inactive_delegate_is_skipped(cast, today):
    check_create_delegation(
        actor=cast.xuli, principal=cast.xuli, delegate=cast.gaojun, start_date=today, end_date=today, reason="出差",
    )
    gaojun = cast.gaojun
    gaojun.is_active = False
    gaojun.save()
    assert resolve_assignee(cast.xuli, "issuance", today).assignee == cast.xuli


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"delegate": "xuli"}, "delegation_self"),
        ({"end_days": -1}, "delegation_dates"),
        ({"reason": "  "}, "delegation_reason"),
    ],
)
def test_bad_delegations_are_refused(cast, kwargs, code, today):
    args = {"delegate": "gaojun", "end_days": 0, "reason": "出差"} | kwargs
    with pytest.raises(Refusal) as exc:
        check_create_delegation(
            actor=cast.xuli, principal=cast.xuli, delegate=getattr(cast, args["delegate"]), start_date=today,
            end_date=today + dt.timedelta(days=args["end_days"]), reason=args["reason"],
        )
    assert (exc.value.code, exc.value.status) == (code, 400)
    assert not Delegation.objects.filter(principal=cast.xuli).exists()


def test_a_disabled_delegate_is_refused_by_name(cast, today):
    gaojun = cast.gaojun
    gaojun.is_active = False
    gaojun.save()
    with pytest.raises(Refusal) as exc:
        check_create_delegation(actor=cast.xuli, principal=cast.xuli, delegate=gaojun, start_date=today,
                                end_date=today, reason="出差")
    assert exc.value.code == "delegation_inactive"
    assert exc.value.message == f"受托人“{gaojun}”账号已停用。"


def test_overlapping_delegations_with_overlapping_scope_are_refused(cast, today):
    check_create_delegation(
        actor=cast.xuli, principal=cast.xuli, delegate=cast.gaojun, start_date=today,
        end_date=today + dt.timedelta(days=5), flow_types=["issuance"], reason="出差",
    )
    with pytest.raises(Refusal) as exc:
        check_create_delegation(
            actor=cast.xuli, principal=cast.xuli, delegate=cast.zhangwei, start_date=today + dt.timedelta(days=3),
            end_date=today + dt.timedelta(days=8), reason="出差",
        )
    assert (exc.value.code, exc.value.status) == ("delegation_overlap", 409)
    # The message names the delegation it collides with, dates as written everywhere else (ISO).
    assert exc.value.message == (
        f"与已有委托（{cast.gaojun}，{today.isoformat()}至{(today + dt.timedelta(days=5)).isoformat()}）的时间和范围重叠。"
    )
    # A disjoint scope in the same window is fine: 收文 to someone else.
    check_create_delegation(
        actor=cast.xuli, principal=cast.xuli, delegate=cast.zhangwei, start_date=today,
        end_date=today + dt.timedelta(days=5), flow_types=["receipt"], reason="出差",
    )
    assert resolve_assignee(cast.xuli, "receipt", today).assignee == cast.zhangwei
    assert resolve_assignee(cast.xuli, "issuance", today).assignee == cast.gaojun


def test_on_behalf_label_for_oneself(cast):
    assert on_behalf_label(cast.lina, None) == "李娜"
    assert on_behalf_label(cast.lina, cast.lina) == "李娜"


def _open_tasks(owner, n):
    # Rows as viewflow writes them for an assigned human task; the flow itself arrives with the 发文 issue.
    process = Process.objects.create(flow_class="workflows/flows.IssuanceFlow", status=STATUS.NEW)
    return [
        Task.objects.create(
            process=process, flow_task="workflows/flows.IssuanceFlow.review", flow_task_type="HUMAN",
            status=STATUS.ASSIGNED, owner=owner,
        )
        for _ in range(n)
    ]


def test_handover_moves_open_tasks_and_keeps_done_history(cast):
    open_tasks = _open_tasks(cast.xuli, 3)
    done = open_tasks[0]
    done.status = STATUS.DONE
    done.save()
    assert open_work_counts(cast.xuli) == {"流程待办": 2, "会议邀请、报名与会议室审批": 0}
    moved = check_handover(actor=cast.sunhao, source=cast.xuli, target=cast.gaojun, reason="调任")
    assert [(m.kind, m.moved) for m in moved] == [("flow_task", 2), ("meeting_invitation", 0)]
    assert Task.objects.filter(owner=cast.gaojun, status=STATUS.ASSIGNED).count() == 2
    assert Task.objects.get(pk=done.pk).owner == cast.xuli
    entry = AuditEntry.objects.filter(action="handover.execute").latest("id")
    assert entry.changes["moved"] == {"flow_task": 2, "meeting_invitation": 0}
    assert entry.actor == cast.sunhao


def test_handover_ends_delegations_pointing_at_the_leaver(cast):
    check_create_delegation(
        actor=cast.xuli, principal=cast.xuli, delegate=cast.gaojun, start_date=timezone.localdate(),
        end_date=timezone.localdate() + dt.timedelta(days=3), reason="出差",
    )
    check_handover(actor=None, source=cast.gaojun, target=cast.zhangwei, reason="离岗")
    assert not Delegation.objects.filter(delegate=cast.gaojun, revoked_at__isnull=True).exists()
    assert resolve_assignee(cast.xuli, "issuance").assignee == cast.xuli


def test_handover_command(cast):
    _open_tasks(cast.xuli, 1)
    out = io.StringIO()
    call_command("handover", "--from", "xuli", "--to", "gaojun", stdout=out)
    assert "流程待办：移交 1 项" in out.getvalue()
    with pytest.raises(CommandError, match="找不到用户"):
        call_command("handover", "--from", "nobody", "--to", "gaojun")
    with pytest.raises(CommandError) as refused:
        call_command("handover", "--from", "gaojun", "--to", "gaojun")
    assert str(refused.value) == "交接双方不能是同一人。"  # the refusal's message, as a clean command error
    gaojun = cast.gaojun
    gaojun.is_active = False
    gaojun.save()
    with pytest.raises(CommandError) as refused:
        call_command("handover", "--from", "xuli", "--to", "gaojun")
    assert str(refused.value) == f"接收人“{gaojun}”账号已停用。"


def test_check_handover_refuses_with_codes(cast):
    with pytest.raises(Refusal) as exc:
        check_handover(actor=None, source=cast.xuli, target=cast.xuli, reason="调任")
    assert (exc.value.code, exc.value.status) == ("handover_self", 400)
    gaojun = cast.gaojun
    gaojun.is_active = False
    gaojun.save()
    with pytest.raises(Refusal) as exc:
        check_handover(actor=None, source=cast.xuli, target=gaojun, reason="调任")
    assert exc.value.code == "handover_inactive"
    assert not AuditEntry.objects.filter(action="handover.execute").exists()


def test_handover_admin_action(client, cast):
    _open_tasks(cast.xuli, 2)
    admin = cast.oaroot  # the Django admin's emergency account
    admin.must_change_password = False
    admin.save()
    client.force_login(admin)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=admin, name="手机", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    url = "/admin/oa/person/"
    data = {"action": "handover", "_selected_action": [cast.xuli.pk]}
    page = client.post(url, data)
    assert page.status_code == 200
    assert "确认交接" in page.content.decode()
    done = client.post(url, data | {"apply": "1", "target": cast.gaojun.pk, "reason": "调任"}, follow=True)
    assert done.status_code == 200
    assert Task.objects.filter(owner=cast.gaojun, status=STATUS.ASSIGNED).count() == 2
    assert AuditEntry.objects.filter(action="handover.execute", actor=admin).exists()


def test_handover_admin_action_reports_a_refusal_and_hands_over_the_others(cast):
    _open_tasks(cast.xuli, 1)
    browser = login(cast.oaroot, otp=True)
    data = {"action": "handover", "_selected_action": [cast.xuli.pk, cast.gaojun.pk], "apply": "1",
            "target": cast.gaojun.pk, "reason": "调任"}
    done = browser.post("/admin/oa/person/", data, follow=True)
    assert done.status_code == 200
    page = done.content.decode()
    assert f"{cast.gaojun}：交接双方不能是同一人。" in page  # the refusal as an admin message, not an error page
    assert Task.objects.filter(owner=cast.gaojun, status=STATUS.ASSIGNED).count() == 1
    assert AuditEntry.objects.filter(action="handover.execute").count() == 1
