"""Django admin has a working page for every model of the platform core."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, cast):
    sysadmin = cast.oaroot  # the Django admin is the superuser's (emergency) tool
    client.force_login(sysadmin)
    device = TOTPDevice.objects.create(user=sysadmin, name="手机", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id  # the 2FA step is passed (see tests/test_auth.py)
    session.save()
    return client


def test_every_oa_model_is_registered():
    missing = [m.__name__ for m in apps.get_app_config("oa").get_models() if m not in admin.site._registry]
    assert missing == ["AuditChainHead"]  # internal single row, not an administrable object


@pytest.mark.parametrize(
    "model", [m for m in apps.get_app_config("oa").get_models() if m.__name__ != "AuditChainHead"], ids=lambda m: m.__name__
)
def test_changelist_and_add_pages(admin_client, model):
    opts = model._meta
    assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert add.status_code in {200, 403}  # 403 where adding is deliberately refused (audit log, password history)


def test_audit_log_is_read_only_in_admin(admin_client):
    assert admin_client.get(reverse("admin:oa_auditentry_add")).status_code == 403


def test_agency_admin_rejects_bad_uscc(admin_client):
    response = admin_client.post(
        reverse("admin:oa_agency_add"),
        {
            "name": "揭阳市揭东区测试局",
            "short_name": "测试局",
            "doc_code": "揭东测",
            "uscc": "91350100M000100Y44",
            "kind": "bureau",
            "ordinary_signoff": "responsible_deputy",
            "sort_order": 100,
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert "第18位校验码“4”错误" in response.content.decode()
