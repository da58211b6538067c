"""A real CAS 3 server for the SSO tests: django-cas-server in its own Django project and process.

Own SQLite file, own session and CSRF cookie names (the OA server is on the same host). Users are Django users
of this project (cas_server.auth.DjangoAuthUser); the service pattern for the OA's service URL is created by
tests/sso/idp/run.py with single logout on and the attributes it releases.
"""

from __future__ import annotations

import os
from pathlib import Path

IDP_DIR = Path(os.environ.get("IDP_DIR", "/tmp/cas-idp"))

SECRET_KEY = "cas-idp-test-only-" + "c" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "cas_server",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
]
ROOT_URLCONF = "tests.sso.idp.cas_urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(IDP_DIR / "cas.sqlite3")}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
STATIC_URL = "/static/"
SESSION_COOKIE_NAME = "cas_idp_session"
CSRF_COOKIE_NAME = "cas_idp_csrf"
CAS_NEW_VERSION_HTML_WARNING = False  # it would ask PyPI for the latest version on every page
CAS_NEW_VERSION_EMAIL_WARNING = False
CAS_SHOW_POWERED = False
CAS_AUTH_CLASS = "cas_server.auth.DjangoAuthUser"
CAS_SLO_TIMEOUT = 5
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
