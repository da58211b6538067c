"""Settings: embedded default, refusal without a secret key, and a clean `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The checks below are about oa.settings: pytest-django exports DJANGO_SETTINGS_MODULE=tests.settings, which
# fills in test-only OA_* values and would hide a missing secret key.
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("OA_")} | {"DJANGO_SETTINGS_MODULE": "oa.settings"}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=BASE_ENV | env, capture_output=True, text=True, timeout=120
    )


def test_refuses_to_start_without_secret_key(tmp_path):
    result = run_manage("check", env={"OA_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "缺少 OA_SECRET_KEY" in result.stderr


def test_debug_mode_starts_with_a_dev_key(tmp_path):
    result = run_manage("check", env={"OA_DEBUG": "1", "OA_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr


def test_check_deploy_has_zero_warnings_in_a_production_like_environment(tmp_path):
    env = {
        "OA_SECRET_KEY": "k9#Vq2!xLm4@Zr7$Tp1%Wc8^Hn3&Jd6*Fs5(Gb0)Ye-Ua+Ko=Ni",
        "OA_SEAL_KEK": "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=",
        "OA_ALLOWED_HOSTS": "oa.jiedong.gov.cn",
        "OA_DATABASE_URL": os.environ.get("OA_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        "OA_REDIS_URL": os.environ.get("OA_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "OA_DATA_DIR": str(tmp_path),
    }
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_audit_retention_below_legal_minimum_is_refused(tmp_path):
    result = run_manage(
        "check", env={"OA_DEBUG": "1", "OA_DATA_DIR": str(tmp_path), "OA_AUDIT_RETENTION_DAYS": "90"}
    )
    assert result.returncode != 0 and "不得少于 180 天" in result.stderr


def test_embedded_default_uses_no_external_service(tmp_path):
    code = (
        "import django, os; django.setup(); from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'],"
        " s.CACHES['default']['BACKEND'], s.STORAGES['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER,"
        " s.AUTHENTICATION_BACKENDS, s.TIME_ZONE, s.LANGUAGE_CODE, s.USE_TZ)"
    )
    env = BASE_ENV | {"OA_DEBUG": "1", "OA_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "oa.settings"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.files.storage.FileSystemStorage",
        "True",
        "['django.contrib.auth.backends.ModelBackend']",
        "Asia/Shanghai",
        "zh-hans",
        "True",
    ]


def test_production_parts_are_switched_on_by_environment(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CHANNEL_LAYERS['default']['BACKEND'],"
        " s.CACHES['default']['BACKEND'], s.STORAGES['default']['BACKEND'], s.MINIO_STORAGE_AUTO_CREATE_MEDIA_POLICY,"
        " s.CELERY_BROKER_URL, s.AUTHENTICATION_BACKENDS[0])"
    )
    env = BASE_ENV | {
        "OA_SECRET_KEY": "x" * 60,
        "OA_SEAL_KEK": "dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE=",
        "OA_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "oa.settings",
        "OA_DATABASE_URL": "postgresql://oa:pw@db.internal:5432/oa",
        "OA_REDIS_URL": "redis://cache.internal:6379/0",
        "OA_STORAGE": "minio",
        "OA_MINIO_ENDPOINT": "minio.internal:9000",
        "OA_LDAP_URL": "ldap://ldap.internal",
    }
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "django.db.backends.postgresql",
        "oa",
        "channels_redis.core.RedisChannelLayer",
        "django.core.cache.backends.redis.RedisCache",
        "minio_storage.storage.MinioMediaStorage",
        "False",
        "redis://cache.internal:6379/0",
        "integrations.ldap.backend.LdapBackend",
    ]


def test_a_proxy_list_or_callback_window_that_makes_no_sense_is_refused(tmp_path):
    base = {"OA_DEBUG": "1", "OA_DATA_DIR": str(tmp_path)}
    result = run_manage("check", env=base | {"OA_BEHIND_PROXY": "nginx.internal"})
    assert result.returncode != 0 and "OA_BEHIND_PROXY 中的“nginx.internal”不是 IP 地址或网段" in result.stderr
    result = run_manage("check", env=base | {"OA_WECOM_TIMESTAMP_WINDOW": "5"})
    assert result.returncode != 0 and "OA_WECOM_TIMESTAMP_WINDOW 须在 30～3600 秒之间" in result.stderr
