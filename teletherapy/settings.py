"""Settings, read from the environment.

With nothing set, the platform runs on the embedded default: SQLite files under ``DATA_DIR``,
an in-memory channel layer, Celery tasks run eagerly and e-mail goes to the console. Setting
``DATABASE_URL`` and ``REDIS_URL`` selects PostgreSQL and Redis. ``DJANGO_ENV=production``
fails closed: it refuses to start without the secrets and services a real deployment needs.
"""

from __future__ import annotations

import secrets
import ssl
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF

from teletherapy.api_settings import api_framework, api_schema
from teletherapy.env import envbool, envint, envlist, envstr, require
from teletherapy.keyring import (
    ENV_NAMES,
    OPTIONAL_PURPOSES,
    complete_local_key_file,
    generate_key_file,
    load_key_file,
    parse_key_list,
)
from teletherapy.log_format import logging_config
from teletherapy.schedule import beat_schedule
from teletherapy.storage_config import documents_storage

BASE_DIR = Path(__file__).resolve().parent.parent
DJANGO_ENV = (envstr("DJANGO_ENV", "development") or "development").lower()
PRODUCTION = DJANGO_ENV == "production"
DATA_DIR = Path(envstr("DATA_DIR", str(BASE_DIR / "data")) or BASE_DIR / "data")

DEBUG = envbool("DEBUG", False)
if PRODUCTION and DEBUG:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("DEBUG cannot be on in production.")


def _local_secret(name: str) -> str:
    path = DATA_DIR / name
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


if PRODUCTION:
    SECRET_KEY = require("SECRET_KEY", envstr("SECRET_KEY"))
    ALLOWED_HOSTS = envlist("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        require("ALLOWED_HOSTS", None)
else:
    SECRET_KEY = envstr("SECRET_KEY") or _local_secret("secret_key")
    ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")


def _keyring_config() -> dict[str, list[dict[str, str]]]:
    key_file = envstr("KEYRING_FILE")
    if key_file:
        return load_key_file(Path(key_file))
    from_env = {purpose: envstr(name) for purpose, name in ENV_NAMES.items()}
    # With the signing key kept by a separate signer, this process gets only its public half.
    public = envstr("AUDIT_SIGNING_PUBLIC_KEYS")
    if any(from_env.values()):
        config = {}
        for purpose, raw in from_env.items():
            not_here = not raw and (purpose in OPTIONAL_PURPOSES or (purpose == "signing" and public))
            config[purpose] = [] if not_here else parse_key_list(require(ENV_NAMES[purpose], raw))
        config["signing_public"] = parse_key_list(public or "")
        return config
    if PRODUCTION:
        require("FIELD_ENCRYPTION_KEYS (or KEYRING_FILE)", None)
    local = DATA_DIR / "keyring.json"
    return complete_local_key_file(local) if local.exists() else generate_key_file(local)


KEYRING = _keyring_config()

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "django_otp",
    "csp",
    "teletherapy.apps.TeletherapyConfig",
    "accounts.apps.AccountsConfig",
    "audit.apps.AuditConfig",
    "consent.apps.ConsentConfig",
    "records.apps.RecordsConfig",
    "messaging.apps.MessagingConfig",
    "intake.apps.IntakeConfig",
    "sessions.apps.VideoSessionsConfig",
    "compliance.apps.ComplianceConfig",
    "oversight.apps.OversightConfig",
    "home.apps.HomeConfig",
    "operations.apps.OperationsConfig",
    "billing.apps.BillingConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "teletherapy.middleware.RequestLogMiddleware",
    "teletherapy.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.MFAMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    "accounts.middleware.MFAEnforcementMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "teletherapy.middleware.SecurityHeadersMiddleware",
    "audit.middleware.FailClosedMiddleware",
]

ROOT_URLCONF = "teletherapy.urls"
ASGI_APPLICATION = "teletherapy.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "builtins": ["teletherapy.templatetags.when"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# Databases -----------------------------------------------------------------------------------
DATABASE_URL = envstr("DATABASE_URL")
if PRODUCTION:
    require("DATABASE_URL", DATABASE_URL)

# The owner's URLs, used by `migrate` only (teletherapy/dbroles.py); DATABASE_URL and
# PSYCHOTHERAPY_DATABASE_URL name the runtime role, which owns nothing and may not change the
# append-only tables.
MIGRATION_DATABASES: dict[str, dict[str, Any]] = {}
if DATABASE_URL:
    _conn_max_age = envint("DB_CONN_MAX_AGE", 60)
    _default: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=_conn_max_age))
    _psy_url = envstr("PSYCHOTHERAPY_DATABASE_URL")
    if _psy_url:
        _psychotherapy: dict[str, Any] = dict(dj_database_url.parse(_psy_url, conn_max_age=_conn_max_age))
    else:
        _psychotherapy = dict(_default)
        _psychotherapy["NAME"] = f"{_default['NAME']}_psychotherapy"
    DATABASES: dict[str, dict[str, Any]] = {"default": _default, "psychotherapy": _psychotherapy}
    for _alias, _variable in (
        ("default", "MIGRATION_DATABASE_URL"),
        ("psychotherapy", "PSYCHOTHERAPY_MIGRATION_DATABASE_URL"),
    ):
        _owner_url = envstr(_variable)
        if _owner_url:
            MIGRATION_DATABASES[_alias] = dict(dj_database_url.parse(_owner_url))
    if "default" in MIGRATION_DATABASES and "psychotherapy" not in MIGRATION_DATABASES and not _psy_url:
        MIGRATION_DATABASES["psychotherapy"] = MIGRATION_DATABASES["default"]
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)

    def _sqlite(name: str) -> dict[str, Any]:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / name,
            # IMMEDIATE takes the write lock at BEGIN, so two writers never race on the audit
            # chain's head; WAL lets readers go on while one writes.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }

    DATABASES = {
        "default": _sqlite("teletherapy.sqlite3"),
        "psychotherapy": _sqlite("psychotherapy.sqlite3"),
    }

# The runtime role of each database, as configured (tests and `migrate` may switch credentials).
RUNTIME_DATABASE_USERS = {alias: db.get("USER", "") for alias, db in DATABASES.items()}
DATABASE_ROUTERS = ["teletherapy.routers.PsychotherapyRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: channel layer, cache, Celery broker --------------------------------------------------
REDIS_URL = envstr("REDIS_URL")
if PRODUCTION:
    require("REDIS_URL", REDIS_URL)

if REDIS_URL:
    # rediss:// is Redis over TLS, its certificate checked against REDIS_CA_FILE (or the system's CAs).
    _redis_tls: dict[str, Any] = {}
    if REDIS_URL.startswith("rediss://"):
        _redis_tls = {"ssl_cert_reqs": "required", "ssl_ca_certs": envstr("REDIS_CA_FILE") or None}
        CELERY_BROKER_USE_SSL = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": _redis_tls["ssl_ca_certs"]}
    # A command on a connection Redis dropped (it restarted) reconnects and is sent again, a few
    # times with a short backoff, instead of failing.
    from redis.asyncio.retry import Retry as _AsyncRetry
    from redis.backoff import ExponentialBackoff as _Backoff
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as _RedisTimeoutError
    from redis.retry import Retry as _Retry

    _retry_on = [_RedisConnectionError, _RedisTimeoutError]
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {**_redis_tls, "retry": _Retry(_Backoff(cap=1.0, base=0.05), 3), "retry_on_error": _retry_on},
        }
    }
    # channels-redis's pub/sub layer, delivering locally when it can (teletherapy/channel_layers.py).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "teletherapy.channel_layers.LocalFirstPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        **_redis_tls,
                        "retry": _AsyncRetry(_Backoff(cap=1.0, base=0.05), 3),
                        "retry_on_error": _retry_on,
                    }
                ],
                "prefix": envstr("CHANNEL_PREFIX", "teletherapy"),
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # The embedded default runs a real worker and beat beside daphne (scripts/run.sh), through a
    # broker that is only a folder; elsewhere without Redis (tests), tasks run in the request.
    CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", True)
    if CELERY_TASK_ALWAYS_EAGER:
        CELERY_BROKER_URL = "memory://"
    else:
        _broker = DATA_DIR / "broker"
        for _folder in ("queue", "processed", "control"):
            (_broker / _folder).mkdir(parents=True, exist_ok=True)
        CELERY_BROKER_URL = "atomicfs://"  # kombu's folder transport, written atomically
        CELERY_BROKER_TRANSPORT_OPTIONS = {
            "data_folder_in": str(_broker / "queue"),
            "data_folder_out": str(_broker / "queue"),
            "processed_folder": str(_broker / "processed"),
            "store_processed": False,
            # How often the worker looks in the folder: a task starts, and Ctrl-C stops the worker,
            # within a fraction of a second rather than a second or more.
            "polling_interval": 0.2,
            # Its exchange tables too, rather than a "control" folder wherever the worker started.
            "control_folder": str(_broker / "control"),
        }
CELERY_TASK_EAGER_PROPAGATES = True
# What a task prints (the console e-mail backend's messages) goes to the worker's own output, not
# into its log: the run command shows the demo's e-mails in the terminal and its logs in files.
CELERY_WORKER_REDIRECT_STDOUTS = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Backups and their drill go to a queue of their own, for the one worker given the owner's URLs.
CELERY_TASK_ROUTES = {"operations.tasks.*": {"queue": "backups"}}
# What beat runs and how often (teletherapy/schedule.py).
CELERY_BEAT_SCHEDULE = beat_schedule()

# The off-host witness of the audit trail (audit/witness.py): syslog over TLS.
AUDIT_WITNESS_URL = envstr("AUDIT_WITNESS_URL", "") or ""
AUDIT_WITNESS_CA_FILE = envstr("AUDIT_WITNESS_CA_FILE", "") or ""
AUDIT_WITNESS_CERT_FILE = envstr("AUDIT_WITNESS_CERT_FILE", "") or ""
AUDIT_WITNESS_KEY_FILE = envstr("AUDIT_WITNESS_KEY_FILE", "") or ""
AUDIT_WITNESS_HOSTNAME = envstr("AUDIT_WITNESS_HOSTNAME", "") or ""
AUDIT_WITNESS_ALERT_MINUTES = envint("AUDIT_WITNESS_ALERT_MINUTES", 15)
AUDIT_WITNESS_BATCH = envint("AUDIT_WITNESS_BATCH", 2000)
AUDIT_WITNESS_TIMEOUT_SECONDS = envint("AUDIT_WITNESS_TIMEOUT_SECONDS", 10)

# What the privacy fact sheet states about hosting and retention (compliance/services/factsheet.py): as the
# operator gives them; the rest of the sheet is worked out from the system itself.
HOSTING_PROVIDER = envstr("HOSTING_PROVIDER", "") or ""
HOSTING_REGION = envstr("HOSTING_REGION", "") or ""
AUDIT_RETENTION_YEARS = 6  # HIPAA's documentation retention; nothing deletes the audit trail
RECORD_RETENTION_YEARS = envint("RECORD_RETENTION_YEARS", 0) or None

# Accounts and authentication -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home:dashboard"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

INVITATION_TTL_HOURS = envint("INVITATION_TTL_HOURS", 72)
LOCKOUT_THRESHOLD = envint("LOCKOUT_THRESHOLD", 5)
LOCKOUT_BASE_SECONDS = envint("LOCKOUT_BASE_SECONDS", 30)
LOCKOUT_MAX_SECONDS = envint("LOCKOUT_MAX_SECONDS", 3600)
LOCKOUT_FORGET_SECONDS = envint("LOCKOUT_FORGET_SECONDS", 24 * 3600)
# How many reverse proxies in front of daphne append to X-Forwarded-For. With 0 the header is
# ignored entirely, so a client cannot forge its own address.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
# How many 30-second steps either side of now an authenticator code is taken from (0 to 2): one
# forgives a phone's clock a little and a code typed as it changes.
OTP_TOTP_TOLERANCE_STEPS = max(0, min(2, envint("OTP_TOTP_TOLERANCE_STEPS", 1)))
OTP_THROTTLE_FACTOR = envint("OTP_THROTTLE_FACTOR", 1)
REAUTH_WINDOW_SECONDS = envint("REAUTH_WINDOW_SECONDS", 600)
# Where a practice requires passkeys of its staff: the days a staff member without one may still
# sign in with an authenticator code (from when the requirement began, or they joined).
PASSKEY_GRACE_DAYS = envint("PASSKEY_GRACE_DAYS", 7)
# A local crisis line shown to a client whose questionnaire says they may be at risk, beside 988.
CRISIS_LOCAL_LINE_NAME = envstr("CRISIS_LOCAL_LINE_NAME", "")
CRISIS_LOCAL_LINE_NUMBER = envstr("CRISIS_LOCAL_LINE_NUMBER", "")
# How long a confirmed account recovery waits (the person is told and can cancel) before it acts.
ACCOUNT_RECOVERY_DELAY_HOURS = envint("ACCOUNT_RECOVERY_DELAY_HOURS", 24)

# Sessions live in the database so that losing Redis logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT_SECONDS = envint("SESSION_IDLE_TIMEOUT_SECONDS", 15 * 60)
SESSION_IDLE_WARNING_SECONDS = envint("SESSION_IDLE_WARNING_SECONDS", 120)
SESSION_ABSOLUTE_LIFETIME_SECONDS = envint("SESSION_ABSOLUTE_LIFETIME_SECONDS", 12 * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_LIFETIME_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "teletherapy.views.csrf_failure"

# HTTP security -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    if envbool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "media-src": [SELF, "blob:"],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# API -----------------------------------------------------------------------------------------
# The API's framework and its OpenAPI description (teletherapy/api_settings.py).
REST_FRAMEWORK, SPECTACULAR_SETTINGS = api_framework(), api_schema()

# Static files, e-mail, time ------------------------------------------------------------------
STATIC_URL = "/static/"
if PRODUCTION:
    STATIC_ROOT = Path(envstr("STATIC_ROOT") or BASE_DIR / "staticfiles")
else:
    # Served from the source folders (WHITENOISE_USE_FINDERS); the empty root keeps WhiteNoise quiet.
    STATIC_ROOT = Path(envstr("STATIC_ROOT") or DATA_DIR / "static")
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

if envstr("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = envstr("EMAIL_HOST")
    EMAIL_PORT = envint("EMAIL_PORT", 587)
    EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "no-reply@teletherapy.invalid")
SITE_URL = envstr("SITE_URL", "http://localhost:8000")

# Documents: uploads to a chart ---------------------------------------------------------------
# Files are sealed with the key ring before they reach the store, which holds ciphertext only:
# the local disk by default, or an S3-compatible bucket (pip install '.[s3]'). The key never
# leaves this process.
DOCUMENT_MAX_BYTES = envint("DOCUMENT_MAX_BYTES", 20 * 1024 * 1024)
# Pixels of uploaded images one process decodes at once, and how long an upload waits for room
# (teletherapy/images.py): about 4 bytes each as RGBA, so 60 million is about 240 MB.
IMAGE_DECODE_BUDGET_PIXELS = envint("IMAGE_DECODE_BUDGET_PIXELS", 60_000_000)
IMAGE_DECODE_WAIT_SECONDS = envint("IMAGE_DECODE_WAIT_SECONDS", 20)
DOCUMENT_STORE = (envstr("DOCUMENT_STORE", "local") or "local").lower()
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "documents": documents_storage(DOCUMENT_STORE, DATA_DIR),
}
# Backups: made daily at BACKUP_HOUR (UTC) into a folder of their own under BACKUP_DIR (keep it
# on another disk, or a mounted bucket), pruned by the retention policy, and restored by a drill
# an hour later into scratch copies (operations/). An alert is raised when the newest good backup
# is older than BACKUP_MAX_AGE_HOURS, or a backup or drill fails.
BACKUP_DIR = Path(envstr("BACKUP_DIR") or DATA_DIR / "backups")
BACKUP_HOUR = envint("BACKUP_HOUR", 3)
BACKUP_KEEP_DAILY = envint("BACKUP_KEEP_DAILY", 7)
BACKUP_KEEP_WEEKLY = envint("BACKUP_KEEP_WEEKLY", 4)
BACKUP_KEEP_MONTHLY = envint("BACKUP_KEEP_MONTHLY", 6)
BACKUP_MAX_AGE_HOURS = envint("BACKUP_MAX_AGE_HOURS", 26)
BACKUP_DRILL_TIMEOUT_SECONDS = envint("BACKUP_DRILL_TIMEOUT_SECONDS", 4 * 3600)

# ClamAV's daemon scans every upload: a Unix socket path, or host:port. In production an upload
# is refused while no scanner is configured or it does not answer; the embedded default accepts
# files unscanned when none is configured, and says so on the upload form.
CLAMD_SOCKET = envstr("CLAMD_SOCKET") or ""
CLAMD_ADDRESS = envstr("CLAMD_ADDRESS") or ""
CLAMD_TIMEOUT_SECONDS = envint("CLAMD_TIMEOUT_SECONDS", 60)
DOCUMENT_SCAN_REQUIRED = envbool("DOCUMENT_SCAN_REQUIRED", PRODUCTION)

# Video sessions ------------------------------------------------------------------------------
# Defaults for a practice that has not chosen its own (sessions.SessionPolicy).
VIDEO_JOIN_BEFORE_MINUTES = envint("VIDEO_JOIN_BEFORE_MINUTES", 15)
VIDEO_JOIN_AFTER_MINUTES = envint("VIDEO_JOIN_AFTER_MINUTES", 30)
VIDEO_REMINDER_HOURS = envint("VIDEO_REMINDER_HOURS", 24)
# A second, shorter reminder (hours before; 0: none).
VIDEO_LAST_REMINDER_HOURS = envint("VIDEO_LAST_REMINDER_HOURS", 2)
# ICE: STUN and TURN URLs (comma-separated), and the secret shared with coturn's use-auth-secret.
ICE_STUN_URLS = envlist("ICE_STUN_URLS")
ICE_TURN_URLS = envlist("ICE_TURN_URLS")
TURN_SHARED_SECRET = envstr("TURN_SHARED_SECRET", "")
if PRODUCTION and ICE_TURN_URLS:
    require("TURN_SHARED_SECRET", TURN_SHARED_SECRET)
# Group sessions' media server: Janus's API on a private address (deploy/janus/), the secret
# every request carries, and the VideoRoom admin key that creating a room needs.
JANUS_URL = envstr("JANUS_URL", "") or ""
JANUS_API_SECRET = envstr("JANUS_API_SECRET", "") or ""
JANUS_ROOM_ADMIN_KEY = envstr("JANUS_ROOM_ADMIN_KEY", "") or ""
# Signaling: at most this many messages per second per connection (burst: SIGNALING_BURST).
SIGNALING_RATE = envint("SIGNALING_RATE", 40)
# An admitted participant whose socket drops (a network blip, a reload) and comes back within
# this many seconds is let straight back in; later, the therapist admits them again.
SIGNALING_REJOIN_GRACE_SECONDS = envint("SIGNALING_REJOIN_GRACE_SECONDS", 120)
# How often an open socket is re-checked by the server (0: the heartbeat interval, 5 to 20 s).
SIGNALING_RECHECK_SECONDS = envint("SIGNALING_RECHECK_SECONDS", 0)
SIGNALING_BURST = envint("SIGNALING_BURST", 120)
# The connection test's echo peers: at most this many at once in each process, each for at most
# this many seconds.
CONNECTION_TEST_MAX_PEERS = envint("CONNECTION_TEST_MAX_PEERS", 8)
CONNECTION_TEST_SECONDS = envint("CONNECTION_TEST_SECONDS", 60)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Logs: one line per request (LOG_REQUESTS, on in production), as text or JSON (LOG_FORMAT);
# this process's Prometheus metrics on METRICS_ADDRESS (host:port), a listener of its own.
LOG_REQUESTS = envbool("LOG_REQUESTS", PRODUCTION)
METRICS_ADDRESS = envstr("METRICS_ADDRESS", "") or ""
LOGGING = logging_config(envstr("LOG_FORMAT", "text") or "text", envstr("LOG_LEVEL", "WARNING") or "WARNING")
