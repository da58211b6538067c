"""The demo district: idempotent, with the documented cast, roles, 兼职, one active 委托 and calendars."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from oa.actions.demo import CAST, DEMO_PASSWORD, all_members
from oa.models import (
    Agency,
    Appointment,
    AuditEntry,
    CalendarYear,
    Delegation,
    Department,
    Person,
    RoleAssignment,
)
from oa.selectors.delegation import resolve_assignee

pytestmark = pytest.mark.django_db


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Agency, Department, Person, Appointment, RoleAssignment, Delegation, CalendarYear, AuditEntry)
    }


def test_load_demo_twice_changes_nothing():
    before = _counts()
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert _counts() == before
    assert "11 个机关" in out.getvalue()


def test_every_member_is_loaded_with_a_working_password():
    usernames = [m.username for m in all_members()]
    assert len(usernames) == len(set(usernames))
    assert Person.objects.filter(username__in=usernames).count() == len(usernames)
    for member in CAST:
        person = Person.objects.get(username=member.username)
        assert person.name == member.name
        assert person.check_password(DEMO_PASSWORD)
        assert not person.must_change_password


def test_cast_roles_match_docs(cast):
    def roles(username):
        return set(RoleAssignment.objects.filter(person__username=username).values_list("role", flat=True))

    assert roles("zhangwei") == {"drafter"}
    assert roles("lina") == {"dept_head", "reviewer"}
    assert roles("wangfang") == {"deputy_leader"}
    assert roles("huangjianhua") == {"principal"}
    assert roles("zhoumin") == {"seal_keeper"}
    assert roles("wujing") == {"dept_head", "supervisor"}
    # 三员分立: three people, one role each, for the whole district (granted at 区政府); none a superuser.
    assert roles("sunhao") == {"sysadmin"} and roles("qianjing") == {"secadmin"} and roles("yanghui") == {"auditadmin"}
    for username in ("sunhao", "qianjing", "yanghui"):
        assert RoleAssignment.objects.get(person__username=username).agency.doc_code == "揭东府"
        assert not Person.objects.get(username=username).is_superuser
    assert not cast.sunhao.is_staff and not cast.zhangwei.is_staff
    # The Django admin's emergency account: a superuser with no post and no role.
    assert cast.oaroot.is_superuser and cast.oaroot.is_staff and not cast.oaroot.appointments.exists()


def test_one_active_delegation():
    active = Delegation.objects.filter(revoked_at__isnull=True)
    assert active.count() == 1
    wangfang = Person.objects.get(username="wangfang")
    assert resolve_assignee(wangfang, "issuance", timezone.localdate()).assignee.username == "lina"


def test_calendars_loaded():
    assert set(CalendarYear.objects.values_list("year", flat=True)) >= {2025, 2026}
