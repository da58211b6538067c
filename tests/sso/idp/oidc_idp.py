"""A real OpenID Connect provider for the SSO tests: django-oidc-provider in its own Django project.

Run in its own process (tests/sso/idp/run.py starts it) on a loopback port, with its own SQLite file and its
own session and CSRF cookie names, so it never shares a cookie with the OA server on the same host.

Environment (set by the fixture):
  IDP_DIR          working directory (SQLite file lives there)
  IDP_SITE_URL     http://127.0.0.1:<port>: the issuer is IDP_SITE_URL + "/openid"
  IDP_OVERRIDES    path of a JSON file {"<username>": {"acr": "...", "aud": "...", "iss": "..."}} read on every
                   ID token, so a test can make the provider assert a strong acr or a wrong audience/issuer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

IDP_DIR = Path(os.environ.get("IDP_DIR", "/tmp/oidc-idp"))
BASE = Path(__file__).resolve().parent

SECRET_KEY = "oidc-idp-test-only-" + "k" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.sso.idp.oidc_urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [BASE / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(IDP_DIR / "idp.sqlite3")}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
# Own cookie names: the OA server runs on the same host (cookies ignore the port).
SESSION_COOKIE_NAME = "oidc_idp_session"
CSRF_COOKIE_NAME = "oidc_idp_csrf"
LOGIN_URL = "/accounts/login/"
SITE_URL = os.environ.get("IDP_SITE_URL", "http://127.0.0.1:8800")
OIDC_IDTOKEN_SUB_GENERATOR = "tests.sso.idp.oidc_idp.subject_for"
OIDC_IDTOKEN_PROCESSING_HOOK = "tests.sso.idp.oidc_idp.apply_overrides"
OIDC_SESSION_MANAGEMENT_ENABLE = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}


def apply_overrides(id_token: dict, user=None, **kwargs) -> dict:
    """What this provider asserts beyond the defaults, per user, from the IDP_OVERRIDES file."""
    overrides_path = os.environ.get("IDP_OVERRIDES")
    if overrides_path and user is not None and Path(overrides_path).exists():
        overrides = json.loads(Path(overrides_path).read_text(encoding="utf-8")).get(user.username, {})
        id_token.update(overrides)
    return id_token



def subject_for(user) -> str:
    """The provincial platform's stable subject: not the e-mail, not our username."""
    return f"gd-{user.username}"
