"""SSO off by default, the login page buttons, settings validation and `manage.py sso_link` (no provider needed)."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from integrations.sso.models import SsoIdentity
from oa.models import AuditEntry

ROOT = Path(__file__).resolve().parents[2]


def test_off_by_default_no_buttons_and_404(client, db):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and "省统一身份认证登录" not in page.content.decode()
    for url in ("/accounts/sso/oidc/login/", "/accounts/sso/oidc/callback/?state=x&code=y",
                "/accounts/sso/cas/login/"):
        answer = client.get(url)
        assert answer.status_code == 404 and "省统一身份认证登录未启用" in answer.content.decode()


def test_buttons_only_for_configured_providers(client, db, settings):
    settings.OA_CAS_SERVER_URL = "https://cas.example.gov.cn/cas/"
    text = client.get("/accounts/login/?next=/profile/").content.decode()
    assert text.count("省统一身份认证登录") == 1 and 'id="sso-cas"' in text and 'id="sso-oidc"' not in text
    assert "/accounts/sso/cas/login/?next=%2Fprofile%2F" in text
    settings.OA_OIDC_ISSUER, settings.OA_OIDC_CLIENT_ID, settings.OA_OIDC_CLIENT_SECRET = "https://id.example", "c", "s"
    text = client.get("/accounts/login/").content.decode()
    assert 'id="sso-oidc"' in text and 'id="sso-cas"' in text


@pytest.mark.parametrize(("env", "message"), [
    ({"OA_OIDC_ISSUER": "https://id.example"}, "须同时设置"),
    ({"OA_OIDC_ISSUER": "https://id.example", "OA_OIDC_CLIENT_ID": "c", "OA_OIDC_CLIENT_SECRET": "s",
      "OA_OIDC_SIGN_ALGO": "HS256"}, "非对称"),
    ({"OA_CAS_SERVER_URL": "cas.example.gov.cn/cas"}, "OA_CAS_SERVER_URL"),
])
def test_incomplete_settings_refuse_to_start(env, message):
    result = subprocess.run(
        [sys.executable, "-c", "import oa.settings"], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "OA_DEBUG": "1", **env}, timeout=60,
    )
    assert result.returncode != 0 and message in result.stderr


def test_sso_link_command(cast):
    out = StringIO()
    call_command("sso_link", "--provider", "oidc", "--subject", "gd-0001", "--username", "zhangwei", stdout=out)
    assert "已关联" in out.getvalue()
    identity = SsoIdentity.objects.get(provider="oidc", subject="gd-0001")
    assert identity.person == cast.zhangwei
    assert AuditEntry.objects.filter(action="sso.identity.link").latest("id").changes["subject"] == "gd-0001"
    with pytest.raises(CommandError, match="已关联 张伟"):
        call_command("sso_link", "--provider", "oidc", "--subject", "gd-0001", "--username", "lina")
    with pytest.raises(CommandError, match="已关联一个"):
        call_command("sso_link", "--provider", "oidc", "--subject", "gd-0002", "--username", "zhangwei")
    call_command("sso_link", "--provider", "oidc", "--subject", "gd-0001", "--unlink", stdout=StringIO())
    assert not SsoIdentity.objects.exists()
    assert AuditEntry.objects.filter(action="sso.identity.unlink").exists()


def test_sso_link_csv_is_all_or_nothing(cast, tmp_path):
    sheet = tmp_path / "links.csv"
    sheet.write_text("subject,username\ngd-1,zhangwei\ngd-2,nobody\n,lina\n", encoding="utf-8")
    with pytest.raises(CommandError) as refused:
        call_command("sso_link", "--provider", "cas", "--csv", str(sheet))
    assert "第 3 行" in str(refused.value) and "nobody" in str(refused.value) and "第 4 行" in str(refused.value)
    assert not SsoIdentity.objects.exists()
    sheet.write_text("subject,username\ngd-1,zhangwei\ngd-2,lina\n", encoding="utf-8")
    call_command("sso_link", "--provider", "cas", "--csv", str(sheet), stdout=StringIO())
    assert SsoIdentity.objects.filter(provider="cas").count() == 2
