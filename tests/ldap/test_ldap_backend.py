"""Login through the directory (integrations.ldap.backend.LdapBackend) against a real slapd."""

from __future__ import annotations

import io
import logging

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from ldif_data import USER_PASSWORD, people

from integrations.ldap.backend import LDAP_UNAVAILABLE_MESSAGE, ldap_error, ldap_status
from oa.models import AuditEntry, Person

pytestmark = [pytest.mark.slapd, pytest.mark.django_db]

ROW = people()[42]


def sync() -> None:
    call_command("sync_directory", "--apply", stdout=io.StringIO())


def test_right_password_logs_in_the_synced_person(ldap_settings):
    sync()
    synced = Person.objects.get(username=ROW.uid)
    person = authenticate(request=None, username=ROW.uid, password=USER_PASSWORD)
    assert person is not None and person.pk == synced.pk
    assert person.backend == "integrations.ldap.backend.LdapBackend"


def test_first_login_before_any_sync_creates_the_person(ldap_settings):
    assert not Person.objects.filter(username=ROW.uid).exists()
    person = authenticate(request=None, username=ROW.uid, password=USER_PASSWORD)
    assert person is not None
    assert (person.source, person.name, person.external_dn) == ("ldap", ROW.name, ROW.dn)
    assert person.external_id and not person.has_usable_password()
    entry = AuditEntry.objects.get(action="directory.person.create", object_id=str(person.pk))
    assert entry.changes["via"] == "login"  # the same action as the sync's, another caller
    # The sync later recognises the same row by entryUUID and only adds the post.
    sync()
    assert Person.objects.get(username=ROW.uid).pk == person.pk
    assert person.appointments.get(is_primary=True).department.name == ROW.dept.split("/")[-1]


def test_wrong_password_is_refused(ldap_settings):
    assert authenticate(request=None, username=ROW.uid, password="wrong-password") is None
    assert authenticate(request=None, username=ROW.uid, password="") is None


@pytest.mark.parametrize("username", ["*)(uid=*", "*", "ldu04*", f"{ROW.uid})(|(uid=*"])
def test_filter_injection_matches_nobody(ldap_settings, username):
    # Everybody in the test directory shares USER_PASSWORD: a filter that matched anyone would log in.
    assert authenticate(request=None, username=username, password=USER_PASSWORD) is None
    assert not Person.objects.filter(source="ldap").exists()


def test_server_down_refuses_and_tells_the_login_view(ldap_settings, closed_port_url, caplog):
    ldap_settings.LDAP_URL = closed_port_url
    request = RequestFactory().post("/login/")
    with caplog.at_level(logging.WARNING, logger="integrations.ldap.backend"):
        assert authenticate(request=request, username=ROW.uid, password=USER_PASSWORD) is None
    assert ldap_error(request) == LDAP_UNAVAILABLE_MESSAGE
    assert "目录服务器不可用" in caplog.text
    assert ldap_status() is not None and "目录服务器不可用" in ldap_status()


def test_ldap_status_is_none_when_the_directory_answers(ldap_settings):
    assert ldap_status() is None


def test_disabled_person_cannot_log_in(ldap_settings):
    sync()
    Person.objects.filter(username=ROW.uid).update(is_active=False)
    assert authenticate(request=None, username=ROW.uid, password=USER_PASSWORD) is None


def test_local_accounts_keep_their_local_password(ldap_settings, cast):
    # The demo's local accounts are not in the directory; the backend checks their local hash instead.
    person = authenticate(request=None, username="zhangwei", password="Jiedong@2026")
    assert person is not None and person.pk == cast.zhangwei.pk
    assert authenticate(request=None, username="zhangwei", password="wrong") is None


def test_login_page_logs_in_through_the_directory_and_says_when_it_is_down(ldap_settings, client, closed_port_url):
    sync()
    page = client.post("/accounts/login/", {"username": ROW.uid, "password": USER_PASSWORD})
    assert page.status_code == 302
    assert client.get("/").status_code == 200
    client.logout()
    ldap_settings.LDAP_URL = closed_port_url
    down = client.post("/accounts/login/", {"username": ROW.uid, "password": USER_PASSWORD})
    assert down.status_code == 503
    assert "目录服务器不可用" in down.content.decode()
    person = Person.objects.get(username=ROW.uid)
    assert person.failed_login_count == 0  # the directory failed, not the user
    assert AuditEntry.objects.filter(
        action="auth.login_failed", actor=person, changes__reason="directory_unavailable"
    ).exists()
