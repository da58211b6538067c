"""One settings module, driven by OA_* environment variables (docs/settings.md).

With no variable set (except OA_DEBUG=1 for the dev key) the system runs embedded: SQLite, in-memory
channel layer, local files, eager jobs. Production parts are switched on one by one by environment.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

from oa.proxies import parse_trusted_proxies

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} 必须是整数，当前值为 {raw!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("OA_DEBUG")
DATA_DIR = Path(env("OA_DATA_DIR", str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env("OA_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "缺少 OA_SECRET_KEY：生产环境必须通过环境变量提供密钥（开发时可设置 OA_DEBUG=1 使用开发密钥）。"
        )
    SECRET_KEY = "dev-only-insecure-key-" + "x" * 40

# E-seal private keys are encrypted at rest with this key-encryption key (docs/seals.md): 32 random bytes, base64.
# OA_SEAL_KEK_PREVIOUS holds retired KEKs (comma-separated) while `manage.py seal_ca rotate-kek` re-encrypts.
SEAL_KEK = env("OA_SEAL_KEK")
SEAL_KEK_PREVIOUS = env_list("OA_SEAL_KEK_PREVIOUS")
if not SEAL_KEK:
    if not DEBUG:
        raise ImproperlyConfigured(
            "缺少 OA_SEAL_KEK：生产环境必须通过环境变量提供印章私钥加密密钥（生成：manage.py seal_ca new-kek）。"
        )
    SEAL_KEK = "ZGV2LW9ubHktaW5zZWN1cmUtc2VhbC1rZWstMDAwMDA="  # base64 of a fixed 32-byte dev-only key
for _kek in [SEAL_KEK, *SEAL_KEK_PREVIOUS]:
    try:
        _kek_ok = len(base64.b64decode(_kek.replace("-", "+").replace("_", "/"), validate=True)) == 32
    except ValueError:
        _kek_ok = False
    if not _kek_ok:
        raise ImproperlyConfigured("OA_SEAL_KEK / OA_SEAL_KEK_PREVIOUS 格式错误：须为 32 字节随机数的 base64 编码（44 个字符）")

ALLOWED_HOSTS = env_list("OA_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("OA_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "oa.apps.OaAdminConfig",  # django.contrib.admin whose login is ours (oa/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "viewflow",
    "viewflow.workflow",
    "oa.apps.OaConfig",
    "workflows.apps.WorkflowsConfig",
    "frontend.apps.FrontendConfig",
    "documents.apps.DocumentsConfig",
    "integrations.ldap.apps.LdapConfig",
    "integrations.wecom.apps.WecomConfig",
    "integrations.exchange.apps.ExchangeConfig",
    "meetings.apps.MeetingsConfig",
    "supervision.apps.SupervisionConfig",
]

MIDDLEWARE = [
    "oa.middleware.ForwardedHeadersMiddleware",  # first: nothing may read a forwarded header it did not vet
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "oa.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "oa.middleware.IdleTimeoutMiddleware",
    "oa.middleware.SecurityGateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "oa.middleware.RefusalMiddleware",  # a Refusal a page view lets through: its message and status, not 500
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "oa.urls"
ASGI_APPLICATION = "oa.asgi.application"
AUTH_USER_MODEL = "oa.Person"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # First, so our 400/403/404/500 pages win over viewflow's English ones (viewflow precedes our apps), and
        # our Chinese overrides of Django admin templates over django.contrib.admin's (admin_templates/).
        "DIRS": [BASE_DIR / "frontend" / "error_templates", BASE_DIR / "frontend" / "admin_templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.shell",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------------------


def _pg_connections() -> dict:
    """How PostgreSQL connections are kept (docs/performance.md "待办 path"): with OA_DB_POOL=1 a psycopg pool per
    process (Django's built-in OPTIONS["pool"]), so a request borrows a warm connection whatever thread ASGI
    runs it on and gives it back at its end (the inbox bench runs this way). Off by default for now: with the
    pool on, the websocket consumers' database reads (Channels' executor threads) stall and the /ws/ tests time
    out. Django refuses CONN_MAX_AGE with a pool; without it connections persist per thread
    (OA_DB_CONN_MAX_AGE), e.g. behind pgbouncer in transaction mode."""
    if env_bool("OA_DB_POOL", False):
        return {
            "CONN_MAX_AGE": 0,
            "OPTIONS": {
                "pool": {
                    "min_size": env_int("OA_DB_POOL_MIN_SIZE", 2),
                    "max_size": env_int("OA_DB_POOL_MAX_SIZE", 10),
                    # A request waits this long for a free connection, then fails (503-class) instead of hanging.
                    "timeout": env_int("OA_DB_POOL_TIMEOUT", 10),
                }
            },
        }
    return {"CONN_MAX_AGE": env_int("OA_DB_CONN_MAX_AGE", 60)}


def _database() -> dict:
    url = env("OA_DATABASE_URL")
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in {"postgres", "postgresql"}:
            raise ImproperlyConfigured("OA_DATABASE_URL 仅支持 postgresql://")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            **_pg_connections(),
        }
    if env("OA_DB_NAME"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env("OA_DB_NAME"),
            "USER": env("OA_DB_USER", "postgres"),
            "PASSWORD": env("OA_DB_PASSWORD"),
            "HOST": env("OA_DB_HOST", "127.0.0.1"),
            "PORT": env("OA_DB_PORT", "5432"),
            **_pg_connections(),
        }
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # a fresh clone has no var/ yet
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "oa.sqlite3"),
        # WAL + a busy timeout let the scheduler loop and the web server share the file.
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASES = {"default": _database()}
if env("OA_DB_TEST_NAME"):
    # Lets two test runs share one PostgreSQL server without dropping each other's test database.
    DATABASES["default"]["TEST"] = {"NAME": env("OA_DB_TEST_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery --------------------------------------------------------------

REDIS_URL = env("OA_REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "oa"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = env("OA_CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env("OA_CELERY_RESULT_BACKEND", REDIS_URL or "cache+memory://")
# Embedded mode: no broker and no worker, jobs run inline (after commit, see oa.jobs.enqueue).
CELERY_TASK_ALWAYS_EAGER = env_bool("OA_CELERY_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# --- Files ---------------------------------------------------------------------------------------------

MEDIA_ROOT = str(DATA_DIR / "media")
MEDIA_URL = "/media/"
STATIC_URL = "/static/"
STATIC_ROOT = str(DATA_DIR / "static")
STORAGE_BACKEND = env("OA_STORAGE", "local")
if STORAGE_BACKEND == "minio":
    from integrations.storage.config import MINIO_BACKEND, minio_settings

    _default_storage = {"BACKEND": MINIO_BACKEND}
    if not env("OA_MINIO_ENDPOINT"):
        raise ImproperlyConfigured("OA_STORAGE=minio 还缺少 OA_MINIO_ENDPOINT（host:port）")
    # Private bucket (no auto policy), presigned URLs only, HTTPS unless OA_MINIO_HTTPS=0 (docs/storage.md).
    try:
        _minio = minio_settings(
            endpoint=env("OA_MINIO_ENDPOINT"),
            access_key=env("OA_MINIO_ACCESS_KEY"),
            secret_key=env("OA_MINIO_SECRET_KEY"),
            bucket=env("OA_MINIO_BUCKET", "oa-media"),
            region=env("OA_MINIO_REGION", "us-east-1"),
            use_https=env_bool("OA_MINIO_HTTPS", True),
            public_url=env("OA_MINIO_PUBLIC_URL"),
        )
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    globals().update(_minio)  # the MINIO_STORAGE_* settings
elif STORAGE_BACKEND == "local":
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured("OA_STORAGE 只能是 local 或 minio")
# MinIO downloads: "redirect" to a presigned URL (≤ 300 s) or "stream" through Django.
OA_MINIO_DOWNLOAD = env("OA_MINIO_DOWNLOAD", "redirect")
if OA_MINIO_DOWNLOAD not in {"redirect", "stream"}:
    raise ImproperlyConfigured("OA_MINIO_DOWNLOAD 只能是 redirect 或 stream")
OA_MINIO_URL_TTL = env_int("OA_MINIO_URL_TTL", 120)
if not 1 <= OA_MINIO_URL_TTL <= 300:
    raise ImproperlyConfigured("OA_MINIO_URL_TTL 须在 1～300 秒之间（预签名链接只应短时有效）")
OA_UPLOAD_MAX_BYTES = env_int("OA_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
# 会议 (docs/meetings.md): working hours the free-slot search offers, and the default reminder offsets in minutes.
OA_MEETING_WORK_HOURS = env("OA_MEETING_WORK_HOURS", "08:30-12:00,14:30-17:30")
OA_MEETING_REMINDERS = [int(x) for x in env_list("OA_MEETING_REMINDERS", "1440,30")]
OA_PREVIEW_MAX_PAGES = env_int("OA_PREVIEW_MAX_PAGES", 50)
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Directory / LDAP ----------------------------------------------------------------------------------

LDAP_URL = env("OA_LDAP_URL")
LDAP_BIND_DN = env("OA_LDAP_BIND_DN")
LDAP_BIND_PASSWORD = env("OA_LDAP_BIND_PASSWORD")
LDAP_BASE_DN = env("OA_LDAP_BASE_DN")
LDAP_USER_FILTER = env("OA_LDAP_USER_FILTER", "(objectClass=inetOrgPerson)")
LDAP_LOGIN_ATTR = env("OA_LDAP_LOGIN_ATTR", "uid")
LDAP_CONCURRENT_POST_ATTR = env("OA_LDAP_CONCURRENT_POST_ATTR", "departmentNumber")
LDAP_TIMEOUT = env_int("OA_LDAP_TIMEOUT", 5)

AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
if LDAP_URL:
    AUTHENTICATION_BACKENDS = ["integrations.ldap.backend.LdapBackend"]

# --- 等保三级 login controls (docs/security.md) --------------------------------------------------------

# One login name from one address: THRESHOLD failures within MINUTES lock that pair for MINUTES.
OA_LOCKOUT_THRESHOLD = env_int("OA_LOCKOUT_THRESHOLD", 5)
OA_LOCKOUT_MINUTES = env_int("OA_LOCKOUT_MINUTES", 15)
# One login name from all addresses together (distributed guessing): larger and slower. Addresses the owner
# logged in from within OA_KNOWN_ADDRESS_DAYS are not shut out by it.
OA_ACCOUNT_LOCKOUT_THRESHOLD = env_int("OA_ACCOUNT_LOCKOUT_THRESHOLD", 30)
OA_ACCOUNT_LOCKOUT_MINUTES = env_int("OA_ACCOUNT_LOCKOUT_MINUTES", 60)
OA_KNOWN_ADDRESS_DAYS = env_int("OA_KNOWN_ADDRESS_DAYS", 30)
OA_IP_THROTTLE_FAILURES = env_int("OA_IP_THROTTLE_FAILURES", 30)
OA_IP_THROTTLE_MINUTES = env_int("OA_IP_THROTTLE_MINUTES", 15)
OA_IDLE_TIMEOUT_MINUTES = env_int("OA_IDLE_TIMEOUT_MINUTES", 30)
# The idle clock is written to the session at most once per this many seconds: a read request then saves no
# session (the timeout is exact to within it).
OA_IDLE_TOUCH_SECONDS = env_int("OA_IDLE_TOUCH_SECONDS", 60)
# Longest life of cached box counts (oa.work_counts); every WorkItem write invalidates them sooner.
OA_COUNTS_CACHE_SECONDS = env_int("OA_COUNTS_CACHE_SECONDS", 300)
OA_PASSWORD_HISTORY = env_int("OA_PASSWORD_HISTORY", 5)
# Local words a password may not be built from (agency abbreviations in pinyin), comma-separated.
OA_COMMON_PASSWORD_WORDS = tuple(w.strip() for w in env("OA_COMMON_PASSWORD_WORDS", "").split(",") if w.strip())
OA_AUDIT_RETENTION_DAYS = env_int("OA_AUDIT_RETENTION_DAYS", 180)
if OA_AUDIT_RETENTION_DAYS < 180:
    raise ImproperlyConfigured("OA_AUDIT_RETENTION_DAYS 不得少于 180 天（网络安全法第二十一条）")
OA_AUDIT_HASH = env("OA_AUDIT_HASH", "sha256")
if OA_AUDIT_HASH not in {"sha256", "sm3"}:
    raise ImproperlyConfigured("OA_AUDIT_HASH 只能是 sha256 或 sm3")
# The audit log is several hash chains so that appends never queue on one row (docs/security.md § 审计链):
# at most this many chains are opened (one per concurrently appending transaction), and every chain writes a
# checkpoint linking all chains after this many entries of its own.
OA_AUDIT_MAX_CHAINS = env_int("OA_AUDIT_MAX_CHAINS", 64)
OA_AUDIT_CHECKPOINT_EVERY = env_int("OA_AUDIT_CHECKPOINT_EVERY", 1000)
if OA_AUDIT_MAX_CHAINS < 1 or OA_AUDIT_CHECKPOINT_EVERY < 1:
    raise ImproperlyConfigured("OA_AUDIT_MAX_CHAINS 与 OA_AUDIT_CHECKPOINT_EVERY 须为正整数")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "oa.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "oa.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "oa.passwords.NoUsernameValidator"},
    {"NAME": "oa.passwords.CommonPasswordValidator"},  # Django's list + oa/password_data/common-zh.txt
    {"NAME": "oa.passwords.HistoryValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Security headers ---------------------------------------------------------------------------------

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "oa.views.errors.csrf_failure"  # a Chinese page in the project's shell, not Django's
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
_https = env_bool("OA_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env_bool("OA_SSL_REDIRECT", _https)
SECURE_HSTS_SECONDS = env_int("OA_HSTS_SECONDS", 31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
# The reverse proxies whose X-Forwarded-For/-Proto we believe (oa/proxies.py; `1` = loopback). Their headers are
# dropped on every other connection (oa.middleware.ForwardedHeadersMiddleware), so SECURE_PROXY_SSL_HEADER
# can only be set by them.
try:
    OA_TRUSTED_PROXIES = parse_trusted_proxies(env("OA_BEHIND_PROXY"))
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
if OA_TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Health checks from the load balancer come in over plain HTTP on loopback.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
OA_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)

# --- Locale --------------------------------------------------------------------------------------------

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True


OA_SITE_NAME = env("OA_SITE_NAME", "揭东区一网协同办公平台")
# Shown as the account issuer in the authenticator app after scanning the 2FA enrolment QR code.
OTP_TOTP_ISSUER = OA_SITE_NAME
# Defence in depth: django_otp hides keys and QR codes in its own admin pages (ours replace them, oa/admin/auth.py).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("OA_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- 粤政易-style (WeCom-compatible) platform and the outbox (docs/wecom.md) -----------------------------

# Absolute origin of this site as phones reach it; deep links in platform cards and the OAuth2 redirect use it.
OA_PUBLIC_BASE_URL = env("OA_PUBLIC_BASE_URL").rstrip("/")
OA_WECOM_BASE_URL = env("OA_WECOM_BASE_URL", "https://qyapi.weixin.qq.com").rstrip("/")
OA_WECOM_OAUTH_URL = env("OA_WECOM_OAUTH_URL", "https://open.weixin.qq.com/connect/oauth2/authorize")
OA_WECOM_CORP_ID = env("OA_WECOM_CORP_ID")  # empty = the platform adapter is off
OA_WECOM_AGENT_ID = env("OA_WECOM_AGENT_ID")
OA_WECOM_SECRET = env("OA_WECOM_SECRET")
OA_WECOM_TOKEN = env("OA_WECOM_TOKEN")
OA_WECOM_AES_KEY = env("OA_WECOM_AES_KEY")
OA_WECOM_TIMEOUT = env_int("OA_WECOM_TIMEOUT", 5)
OA_WECOM_CARD_MODE = env("OA_WECOM_CARD_MODE", "textcard")
OA_WECOM_EVENT_TYPES = env_list("OA_WECOM_EVENT_TYPES", "work.assigned,work.urged,work.returned")
OA_WECOM_SYNC_MATCH = env("OA_WECOM_SYNC_MATCH", "mobile")
# Callbacks whose timestamp is further than this from our clock are refused (replays; docs/wecom.md).
OA_WECOM_TIMESTAMP_WINDOW = env_int("OA_WECOM_TIMESTAMP_WINDOW", 300)
if OA_WECOM_CARD_MODE not in {"textcard", "template_card"}:
    raise ImproperlyConfigured("OA_WECOM_CARD_MODE 只能是 textcard 或 template_card")
if not 30 <= OA_WECOM_TIMESTAMP_WINDOW <= 3600:
    raise ImproperlyConfigured("OA_WECOM_TIMESTAMP_WINDOW 须在 30～3600 秒之间")
if OA_WECOM_SYNC_MATCH not in {"mobile", "username", "email"}:
    raise ImproperlyConfigured("OA_WECOM_SYNC_MATCH 只能是 mobile、username 或 email")
if OA_WECOM_CORP_ID:
    _missing = [
        name
        for name, value in [
            ("OA_WECOM_AGENT_ID", OA_WECOM_AGENT_ID),
            ("OA_WECOM_SECRET", OA_WECOM_SECRET),
            ("OA_PUBLIC_BASE_URL", OA_PUBLIC_BASE_URL),
        ]
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(f"已设置 OA_WECOM_CORP_ID，还缺少：{'、'.join(_missing)}")
    if OA_WECOM_AES_KEY and len(OA_WECOM_AES_KEY) != 43:
        raise ImproperlyConfigured("OA_WECOM_AES_KEY（EncodingAESKey）必须是 43 个字符")
OA_OUTBOX_MAX_ATTEMPTS = env_int("OA_OUTBOX_MAX_ATTEMPTS", 10)
OA_OUTBOX_BASE_DELAY = env_int("OA_OUTBOX_BASE_DELAY", 30)
OA_OUTBOX_MAX_DELAY = env_int("OA_OUTBOX_MAX_DELAY", 3600)
# Start delivery right after commit (a Celery task; inline in embedded mode). The periodic job catches the rest.
OA_OUTBOX_KICK = env_bool("OA_OUTBOX_KICK", True)
# 分发 starts the receivers' 收文 flows through the outbox after commit (workflows.actions.receipt_start). On:
# in the 分发 transaction itself, by the same delivery path (the test settings, so a test sees the 签收 待办 at once).
OA_RECEIPT_START_EAGER = env_bool("OA_RECEIPT_START_EAGER", False)

# --- Inter-deployment exchange (docs/exchange.md); off while OA_EXCHANGE_NODE_CODE is empty --------------
OA_EXCHANGE_NODE_CODE = env("OA_EXCHANGE_NODE_CODE")
OA_EXCHANGE_NODE_NAME = env("OA_EXCHANGE_NODE_NAME", OA_SITE_NAME)
OA_EXCHANGE_NODE_KEY = env("OA_EXCHANGE_NODE_KEY")  # base64 Ed25519 private key (manage.py exchange_node new-key)
OA_EXCHANGE_URL = env("OA_EXCHANGE_URL").rstrip("/")  # our public base URL as peers reach it
OA_EXCHANGE_CLOCK_SKEW = env_int("OA_EXCHANGE_CLOCK_SKEW", 300)
OA_EXCHANGE_MAX_BYTES = env_int("OA_EXCHANGE_MAX_BYTES", 100 * 1024 * 1024)
OA_EXCHANGE_TIMEOUT = env_int("OA_EXCHANGE_TIMEOUT", 30)
if OA_EXCHANGE_NODE_CODE and (len(OA_EXCHANGE_NODE_CODE) > 40 or OA_EXCHANGE_NODE_CODE.startswith("-") or not set(
        OA_EXCHANGE_NODE_CODE) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")):
    raise ImproperlyConfigured("OA_EXCHANGE_NODE_CODE 只能由小写字母、数字和连字符组成（至多 40 个字符）")
if OA_EXCHANGE_NODE_KEY:
    try:
        _node_key = base64.b64decode(OA_EXCHANGE_NODE_KEY.strip(), validate=True)
    except ValueError:
        _node_key = b""
    if len(_node_key) != 32:
        raise ImproperlyConfigured("OA_EXCHANGE_NODE_KEY 须为 Ed25519 私钥 32 字节的 base64 编码（manage.py exchange_node new-key）")
if not 30 <= OA_EXCHANGE_CLOCK_SKEW <= 3600:
    raise ImproperlyConfigured("OA_EXCHANGE_CLOCK_SKEW 须在 30～3600 秒之间")

# --- REST API (docs/api.md) ----------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Bearer first: its WWW-Authenticate challenge makes anonymous requests 401 rather than 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oa.api.auth.BearerTokenAuthentication",
        "oa.api.auth.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Not DRF's JSONParser: that one answers 500 to deeply nested JSON and reads bodies of any size.
    "DEFAULT_PARSER_CLASSES": ["oa.api.parsers.SafeJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["oa.api.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env("OA_API_RATE_USER", "600/min"),
        "auth_token": env("OA_API_RATE_TOKEN", "20/min"),
    },
    "EXCEPTION_HANDLER": "oa.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "一网协同办公平台 REST API",
    "DESCRIPTION": "工作台（待办/待阅/已办/已阅/我发起）、通知与磁贴的接口。错误统一为 {code, message, fields?}，见 docs/api.md。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two choice sets share the field name "urgency": the inbox's 0/1/2 and the 公文要素 "", jiaji, teji.
    "ENUM_NAME_OVERRIDES": {
        "WorkUrgencyEnum": "oa.models.work.WorkItem.Urgency",
        "DocumentUrgencyEnum": "documents.models.document.Urgency",
    },
    # Served by the app itself (drf-spectacular-sidecar): the government network has no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Events / websocket (docs/events.md) ----------------------------------------------------------------

if REDIS_URL:
    CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [
        {
            "address": REDIS_URL,
            # redis-py's asyncio pool raises (not waits) past max_connections (100 by default); a burst of
            # reconnecting sockets (group_add each) or a wide fan-out must not hit that ceiling.
            "max_connections": env_int("OA_CHANNELS_REDIS_MAX_CONNECTIONS", 1000),
            # redis-py 8 reads with a 5 s socket timeout, the same as channels-redis's 5 s BZPOPMIN: an idle
            # consumer's read then races the server's empty reply, raises TimeoutError and stalls the
            # process's shared receive loop (every socket stops getting events). Read longer than BZPOPMIN.
            "socket_timeout": 15,
        }
    ]
    # All sockets of one ASGI process share ONE Redis list for their messages ("specific.<process>!"), and
    # channels-redis silently drops a group_send once it holds `capacity` (default 100): an event for 1,000
    # people would reach ~100 of them live. The hints are tiny; size this above (sockets per process × burst).
    CHANNEL_LAYERS["default"]["CONFIG"]["capacity"] = env_int("OA_CHANNELS_CAPACITY", 50000)

# --- Document fonts (docs/gbt9704.md "PDF") -------------------------------------------------------------
# Licensed 公文 fonts (仿宋_GB2312, 方正小标宋简体, …): a directory scanned for their usual file names, and/or JSON
# {"仿宋_GB2312": "/path/file.ttf", "宋体": ["/path/simsun.ttc", 0]}. Missing ones fall back to Debian stand-ins.
FONT_DIR = env("OA_FONT_DIR")
FONTS = env("OA_FONTS")
# 用印 of a PDF set in Debian stand-in fonts (no licensed 仿宋_GB2312/方正小标宋 configured) is refused unless the
# deployment accepts them: on for the demo (OA_DEBUG) and the tests, off in production by default.
ACCEPT_STANDIN_FONTS = env_bool("OA_ACCEPT_STANDIN_FONTS", DEBUG)

# --- Video meetings (integrations/video, docs/video.md) --------------------------------------------------
# none = in-person meetings only (the embedded default); janus = the self-hosted default for a district;
# jitsi / bbb = an existing Jitsi Meet or BigBlueButton server. Secrets come only from the environment.
INSTALLED_APPS += ["integrations.video.apps.VideoConfig"]
OA_VIDEO_PROVIDER = env("OA_VIDEO_PROVIDER", "none")
OA_VIDEO_TIMEOUT = env_int("OA_VIDEO_TIMEOUT", 5)
OA_VIDEO_JANUS_URL = env("OA_VIDEO_JANUS_URL", "http://127.0.0.1:8088/janus")  # as this server reaches it
OA_VIDEO_JANUS_PUBLIC_URL = env("OA_VIDEO_JANUS_PUBLIC_URL", "/janus")  # as browsers reach it (nginx, same origin)
OA_VIDEO_JANUS_API_SECRET = env("OA_VIDEO_JANUS_API_SECRET")  # janus.jcfg general.api_secret
OA_VIDEO_JANUS_TOKEN_SECRET = env("OA_VIDEO_JANUS_TOKEN_SECRET")  # janus.jcfg general.token_auth_secret
OA_VIDEO_JANUS_ADMIN_KEY = env("OA_VIDEO_JANUS_ADMIN_KEY")  # janus.plugin.videoroom.jcfg general.admin_key
OA_VIDEO_JANUS_PUBLISHERS = env_int("OA_VIDEO_JANUS_PUBLISHERS", 16)
OA_VIDEO_TURN_URLS = env_list("OA_VIDEO_TURN_URLS")  # browsers' TURN server(s) (coturn), comma-separated
OA_VIDEO_TURN_SECRET = env("OA_VIDEO_TURN_SECRET")  # coturn static-auth-secret: time-limited credentials
OA_VIDEO_JITSI_URL = env("OA_VIDEO_JITSI_URL").rstrip("/")
OA_VIDEO_JITSI_APP_ID = env("OA_VIDEO_JITSI_APP_ID")
OA_VIDEO_JITSI_APP_SECRET = env("OA_VIDEO_JITSI_APP_SECRET")
OA_VIDEO_JITSI_AUDIENCE = env("OA_VIDEO_JITSI_AUDIENCE", "jitsi")
OA_VIDEO_JITSI_SUBJECT = env("OA_VIDEO_JITSI_SUBJECT")
OA_VIDEO_BBB_URL = env("OA_VIDEO_BBB_URL").rstrip("/")
OA_VIDEO_BBB_SECRET = env("OA_VIDEO_BBB_SECRET")
OA_VIDEO_BBB_CHECKSUM = env("OA_VIDEO_BBB_CHECKSUM", "sha256")
_video_required = {
    "none": [],
    "janus": ["OA_VIDEO_JANUS_API_SECRET", "OA_VIDEO_JANUS_TOKEN_SECRET", "OA_VIDEO_JANUS_ADMIN_KEY"],
    "jitsi": ["OA_VIDEO_JITSI_URL", "OA_VIDEO_JITSI_APP_ID", "OA_VIDEO_JITSI_APP_SECRET"],
    "bbb": ["OA_VIDEO_BBB_URL", "OA_VIDEO_BBB_SECRET"],
}
if OA_VIDEO_PROVIDER not in _video_required:
    raise ImproperlyConfigured("OA_VIDEO_PROVIDER 只能是 janus、jitsi、bbb 或 none")
_missing = [name for name in _video_required[OA_VIDEO_PROVIDER] if not globals()[name]]
if _missing:
    raise ImproperlyConfigured(f"OA_VIDEO_PROVIDER={OA_VIDEO_PROVIDER} 需要设置：{'、'.join(_missing)}")
if OA_VIDEO_BBB_CHECKSUM not in {"sha1", "sha256"}:
    raise ImproperlyConfigured("OA_VIDEO_BBB_CHECKSUM 只能是 sha1 或 sha256")

# 零跑动 internal services and the 人事/财务 data source they prefill from (docs/services.md).
INSTALLED_APPS += ["integrations.hr.apps.HrConfig", "workflows.services.apps.ServicesConfig"]

# --- 省统一身份认证 (single sign-on, docs/sso.md) -----------------------------------------------------------
# OpenID Connect (mozilla-django-oidc, authorisation code + PKCE) and CAS 3 (django-cas-ng); each is off until its
# OA_* variables are set. Users are keyed on the provider's subject through integrations.sso.SsoIdentity.
INSTALLED_APPS += ["django_cas_ng", "integrations.sso.apps.SsoConfig"]
OA_OIDC_ISSUER = env("OA_OIDC_ISSUER").rstrip("/")
OA_OIDC_CLIENT_ID = env("OA_OIDC_CLIENT_ID")
OA_OIDC_CLIENT_SECRET = env("OA_OIDC_CLIENT_SECRET")
# Endpoints: empty = read from {issuer}/.well-known/openid-configuration on first use (cached an hour).
OA_OIDC_AUTHORIZATION_URL = env("OA_OIDC_AUTHORIZATION_URL")
OA_OIDC_TOKEN_URL = env("OA_OIDC_TOKEN_URL")
OA_OIDC_USERINFO_URL = env("OA_OIDC_USERINFO_URL")
OA_OIDC_JWKS_URL = env("OA_OIDC_JWKS_URL")
OA_OIDC_END_SESSION_URL = env("OA_OIDC_END_SESSION_URL")
OA_OIDC_SCOPES = env("OA_OIDC_SCOPES", "openid")
OA_OIDC_SIGN_ALGO = env("OA_OIDC_SIGN_ALGO", "RS256")
OA_OIDC_ACR_VALUES = env("OA_OIDC_ACR_VALUES")  # sent as acr_values in the authorisation request when set
# acr values this deployment accepts as strong authentication: such a login passes the 2FA gate (docs/sso.md).
OA_OIDC_STRONG_ACR = frozenset(env_list("OA_OIDC_STRONG_ACR"))
OA_OIDC_TIMEOUT = env_int("OA_OIDC_TIMEOUT", 5)
OA_OIDC_VERIFY_TLS = env_bool("OA_OIDC_VERIFY_TLS", True)
_oidc_set = [bool(OA_OIDC_ISSUER), bool(OA_OIDC_CLIENT_ID), bool(OA_OIDC_CLIENT_SECRET)]
if any(_oidc_set) and not all(_oidc_set):
    raise ImproperlyConfigured("启用 OpenID Connect 须同时设置 OA_OIDC_ISSUER、OA_OIDC_CLIENT_ID、OA_OIDC_CLIENT_SECRET")
if OA_OIDC_SIGN_ALGO not in {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}:
    raise ImproperlyConfigured("OA_OIDC_SIGN_ALGO 须为非对称签名算法（RS256、ES256、PS256 等）")
if OA_OIDC_ISSUER and "openid" not in OA_OIDC_SCOPES.split():
    raise ImproperlyConfigured("OA_OIDC_SCOPES 必须包含 openid")
OA_CAS_SERVER_URL = env("OA_CAS_SERVER_URL")
if OA_CAS_SERVER_URL and not OA_CAS_SERVER_URL.endswith("/"):
    OA_CAS_SERVER_URL += "/"  # python-cas joins "p3/serviceValidate" onto it
OA_CAS_SUBJECT_ATTRIBUTE = env("OA_CAS_SUBJECT_ATTRIBUTE")  # empty = <cas:user>
OA_CAS_TIMEOUT = env_int("OA_CAS_TIMEOUT", 5)
OA_CAS_VERIFY_TLS = env_bool("OA_CAS_VERIFY_TLS", True)
if OA_CAS_SERVER_URL and not OA_CAS_SERVER_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("OA_CAS_SERVER_URL 须为 http(s):// 开头的完整地址，如 https://cas.example.gov.cn/cas/")
from integrations.sso.cas import timeout_session as _cas_timeout_session  # noqa: E402 (requests only)

# django-cas-ng's client settings (its own views are not used: integrations/sso/views.py drives the protocol).
CAS_SERVER_URL = OA_CAS_SERVER_URL or None
CAS_VERSION = "3"
CAS_STORE_NEXT = True  # the service URL stays the bare callback, as registered at the CAS server
CAS_ROOT_PROXIED_AS = OA_PUBLIC_BASE_URL or None
CAS_VERIFY_SSL_CERTIFICATE = OA_CAS_VERIFY_TLS
CAS_SESSION_FACTORY = _cas_timeout_session
CAS_CREATE_USER = False
CAS_LOGIN_MSG = None
CAS_LOGGED_MSG = None
# 报表“一张表” (docs/datarequests.md)
INSTALLED_APPS += ["supervision.datarequests.apps.DataRequestsConfig"]
# 信息报送 (政务信息 to the 区府办 信息科, docs/information.md).
INSTALLED_APPS += ["workflows.information.apps.InformationConfig"]
