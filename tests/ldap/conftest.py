"""A real slapd for the LDAP tests: started once per session on loopback, loaded with ldif_data via ldapadd.

Tests that change the directory (move, delete, group edits) undo their change in their fixture's teardown,
so every test sees the same directory; the database side rolls back per test as usual.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The helpers sit beside the tests (no package: test module names stay short); make them importable in any
# pytest import mode.
sys.path.insert(0, str(Path(__file__).parent))

from ldif_data import ldif
from slapd import BASE_DN, SERVICE_DN, SERVICE_PW, Slapd, available, free_port


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory):
    if not available():
        pytest.skip("未安装 /usr/sbin/slapd 和 ldap-utils（make debs 会安装），跳过真实 LDAP 测试")
    server = Slapd(tmp_path_factory.mktemp("slapd"))
    server.start()
    try:
        server.add(ldif())
        yield server
    finally:
        server.stop()


@pytest.fixture
def ldap_settings(slapd_server, settings):
    """Point the OA at the test slapd (pytest-django restores the settings afterwards)."""
    settings.LDAP_URL = slapd_server.url
    settings.LDAP_BIND_DN = SERVICE_DN
    settings.LDAP_BIND_PASSWORD = SERVICE_PW
    settings.LDAP_BASE_DN = BASE_DN
    settings.LDAP_USER_FILTER = "(objectClass=inetOrgPerson)"
    settings.LDAP_LOGIN_ATTR = "uid"
    settings.LDAP_CONCURRENT_POST_ATTR = "departmentNumber"
    settings.LDAP_TIMEOUT = 3
    settings.AUTHENTICATION_BACKENDS = ["integrations.ldap.backend.LdapBackend"]
    return settings


@pytest.fixture
def closed_port_url() -> str:
    # Bound and released at once: nothing listens there for the duration of the test.
    return f"ldap://127.0.0.1:{free_port()}/"
