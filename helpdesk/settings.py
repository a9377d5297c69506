"""One env-driven settings module.

With no environment variables this is the embedded default: SQLite under ``var/``, the in-memory channel
layer, Celery running tasks eagerly in-process, DEBUG on and a secret key generated into ``var/``.
``DATABASE_URL`` switches to PostgreSQL (psycopg 3); ``REDIS_URL`` switches the channel layer and Celery's
broker and result backend to Redis. ``DEBUG=0`` is production: it needs ``SECRET_KEY`` (or
``SECRET_KEY_FILE``) and ``ALLOWED_HOSTS``, and turns on secure cookies, HSTS and the SSL redirect.
The README's configuration table lists every variable read here.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from helpdesk.env import env_bool, env_int, env_list, env_str, generated_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("HELPDESK_VAR_DIR") or BASE_DIR / "var")
SHARED_DATA_DIR = Path(env_str("HELPDESK_SHARED_DATA") or BASE_DIR.parent / "shared" / "data")

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DEBUG=0 needs SECRET_KEY or SECRET_KEY_FILE")
    SECRET_KEY = generated_secret_key(VAR_DIR / "secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DEBUG=0 needs ALLOWED_HOSTS (comma-separated host names)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "corsheaders",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_celery_beat",
    "apps.accounts",
    "apps.customers",
    "apps.knowledge",
    "apps.assistant",
    "apps.tickets",
    "apps.conversations",
    "apps.recommendations",
    "apps.reports",
    "apps.privacy",
    "apps.oversight",
    "apps.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
ASGI_APPLICATION = "helpdesk.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Persistent connections are per thread, and under ASGI every sync request thread keeps its own until it
    # is collected: a burst then exhausts PostgreSQL's max_connections (measured: 500s at 50 concurrent
    # session starts). Django's advice for ASGI is 0 with a pooler (PgBouncer) in front when needed.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"DATABASE_URL must be a postgres:// URL, got {DATABASES['default']['ENGINE']}")
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "helpdesk.sqlite3",
            # WAL lets the inbox read while a message is written; IMMEDIATE takes the write lock at BEGIN
            # so two concurrent message_post calls queue instead of failing with "database is locked".
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file, not the shared-cache in-memory default: shared cache takes table locks that ignore the
            # busy timeout, so concurrent writers would fail in tests where production would wait.
            # One file per test process, so two test runs on one checkout never share a database.
            "TEST": {"NAME": VAR_DIR / f"test_helpdesk_{os.getpid()}.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels and Celery --------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Both layers drop messages silently past their capacity (default 100, per process on Redis); the database
# stays the truth and clients resume by seq, but a higher capacity keeps the doorbell ringing under load.
CHANNEL_CAPACITY = env_int("CHANNEL_CAPACITY", 5000)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # socket_timeout=None: redis-py's 5 s read timeout equals the layer's 5 s blocking pop and
                # closes sockets with 1011 about every 5 s otherwise. redis-py 8 caps a pool at 100
                # connections; one Daphne process opens about one per socket.
                # retry_on_timeout: redis-py then gives each connection one immediate retry on a connection
                # error or timeout (Retry(NoBackoff(), 1); it retries nothing by default), so a pooled
                # connection that a Redis restart left stale heals on its next use instead of failing it. Not
                # more: a consumer blocked in the layer's receive must still fail while Redis is down, so its
                # socket is closed (4503) and the client resumes; one that outlived the restart would be deaf,
                # since a restarted Redis has forgotten every group. (A bool, not a Retry: settings stay JSON.)
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "max_connections": env_int("REDIS_MAX_CONNECTIONS", 10000),
                        "retry_on_timeout": True,
                    }
                ],
                "capacity": CHANNEL_CAPACITY,
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": CHANNEL_CAPACITY}}
    }

CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task whose worker dies mid-way is delivered again rather than lost; tasks are written to be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
# Redis may restart under a running desk. Workers wait for it, at start and after losing it, for as long as it
# takes; a task running when the connection drops finishes (its result is in PostgreSQL) rather than being
# cancelled, and a result (the help-centre search's) is stored once Redis is back rather than lost. A web
# process publishing a task rides out a few seconds of restart; past that the message is stored anyway and
# the assistant's beat sweep (apps.assistant.tasks.requeue_unanalysed) queues its analysis again.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Celery warns at every reconnect that 6.0 will cancel such tasks by default; this keeps them running.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_RESULT_BACKEND_MAX_RETRIES = 10
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 6, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_TASK_DEFAULT_QUEUE = "default"
# Model inference goes to its own queue so a GPU worker can take it (celery worker -Q inference).
CELERY_TASK_ROUTES = {
    "apps.assistant.tasks.analyse_*": {"queue": "inference"},
    "apps.assistant.tasks.train_*": {"queue": "training"},
    "apps.assistant.tasks.learning_*": {"queue": "training"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = env_str("TIME_ZONE", "UTC")

# --- Auth, API ------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/minute", "widget_session": env_str("WIDGET_SESSION_RATE", "30/minute")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "helpdesk API",
    "DESCRIPTION": "Tickets, conversations, messages and customers of the helpdesk. Session or token auth.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- I18n, static, files --------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
MODEL_STORE = Path(env_str("MODEL_STORE") or VAR_DIR / "models")

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))  # for the file-based backend
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "helpdesk@localhost")

# --- Production switches --------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Joining the browsers' preload list cannot be undone quickly, so it is the operator's explicit choice
# (SECURE_HSTS_PRELOAD=1), and the deploy check's reminder about it is silenced.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that sets X-Forwarded-Proto itself and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # No log line carries an e-mail address, phone, card number, IBAN, IP or national id.
    "filters": {"redact_pii": {"()": "apps.privacy.redaction.RedactingLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_pii"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- The product ----------------------------------------------------------------------------------------
# Origins (besides ALLOWED_HOSTS) whose pages may embed the widget: its session endpoint and websocket.
# The desk's public address, for links in e-mails (the survey); no trailing slash needed.
HELPDESK_PUBLIC_URL = env_str("HELPDESK_PUBLIC_URL", "http://127.0.0.1:8000")
HELPDESK_WIDGET_ORIGINS = env_list("HELPDESK_WIDGET_ORIGINS")
# The customers' sites call the widget's session endpoint cross-origin; nothing else is open to them.
CORS_ALLOWED_ORIGINS = [origin for origin in HELPDESK_WIDGET_ORIGINS if origin != "*"]
CORS_ALLOW_ALL_ORIGINS = "*" in HELPDESK_WIDGET_ORIGINS
CORS_URLS_REGEX = r"^/api/widget/.*$"
CORS_ALLOW_CREDENTIALS = False
# How long a widget session token stays valid (seconds); a returning customer within it resumes the chat.
HELPDESK_WIDGET_TOKEN_MAX_AGE = env_int("HELPDESK_WIDGET_TOKEN_MAX_AGE", 30 * 24 * 3600)
# The Celery task (by name) run for every stored customer message; empty = straight to the agents' queue.
# Sent by name so the conversations app never imports the assistant.
HELPDESK_MESSAGE_HOOK_TASK = env_str("HELPDESK_MESSAGE_HOOK_TASK", "apps.assistant.tasks.analyse_message")
# Seconds after which a customer message nobody has analysed counts as lost by the broker and is queued again
# by the beat sweep; longer than a busy inference queue's wait, or the sweep only adds cheap duplicates.
HELPDESK_ANALYSIS_REQUEUE_AFTER = env_int("HELPDESK_ANALYSIS_REQUEUE_AFTER", 60)
# Per widget socket: more than this many messages in the window is refused with a rate_limited error.
HELPDESK_WIDGET_RATE_LIMIT = (env_int("HELPDESK_WIDGET_RATE_LIMIT", 20), 10.0)
# A local Hugging Face model folder to use instead of the bundled all-MiniLM-L6-v2.
HELPDESK_ENCODER_PATH = env_str("HELPDESK_ENCODER_PATH", "")
# Seconds the help-centre search waits for a worker's passage search before it falls back to keywords.
HELPDESK_SEARCH_TIMEOUT = float(env_str("HELPDESK_SEARCH_TIMEOUT", "2"))
# Threads torch uses per process (0 = torch's default, one per core). Workers sharing the cores: cores / processes;
# on 2 busy cores one MiniLM embedding took 9 ms with 1 thread and 370 ms with 2.
HELPDESK_TORCH_THREADS = env_int("HELPDESK_TORCH_THREADS", 0)
# The torch device models run on (e.g. "cpu", "cuda:1"); empty = the GPU when there is one, else the CPU.
HELPDESK_DEVICE = env_str("HELPDESK_DEVICE", "")
# Dotted path of a text -> text function run on everything a model sees, so no model, training set or model
# log holds an e-mail address, phone, card, IBAN, IP or national id (apps/privacy/redaction.py); "" turns it off.
HELPDESK_REDACTOR = env_str("HELPDESK_REDACTOR", "apps.privacy.redaction.redact_text")
# Store customers' messages redacted (typed placeholders such as [CARD]); agents then see the redacted text too.
HELPDESK_REDACT_AT_REST = env_bool("HELPDESK_REDACT_AT_REST", False)
# Closed conversations older than this many days are anonymised by a daily beat job; 0 keeps them forever.
HELPDESK_RETENTION_DAYS = env_int("HELPDESK_RETENTION_DAYS", 0)

# Reply generation (apps/assistant/generation)
# The local backend's model folder (safetensors), written by `manage.py prepare_llm`.
HELPDESK_LLM_PATH = Path(env_str("HELPDESK_LLM_PATH") or VAR_DIR / "models" / "llm" / "smollm2-135m-instruct")
# Most tokens a model writes for one answer (local max_new_tokens, openai max_tokens).
HELPDESK_LLM_MAX_NEW_TOKENS = env_int("HELPDESK_LLM_MAX_NEW_TOKENS", 120)
# The openai backend's server, up to its version, e.g. http://127.0.0.1:11434/v1 (Ollama) or a vLLM /v1.
HELPDESK_OPENAI_BASE_URL = env_str("HELPDESK_OPENAI_BASE_URL", "")
# Its bearer token, or HELPDESK_OPENAI_API_KEY_FILE; empty sends none (local servers).
HELPDESK_OPENAI_API_KEY = env_str("HELPDESK_OPENAI_API_KEY", "")
# The model name the server knows, e.g. "qwen2.5:1.5b-instruct" on Ollama.
HELPDESK_OPENAI_MODEL = env_str("HELPDESK_OPENAI_MODEL", "")
# Seconds to wait for a whole answer before the bot falls back to the extractive one.
HELPDESK_OPENAI_TIMEOUT = env_int("HELPDESK_OPENAI_TIMEOUT", 10)

# Oversight (the admin's floor, SLA and bulk actions)
# The admin's "Close stale pending tickets" closes pending tickets untouched for this many days.
HELPDESK_STALE_PENDING_DAYS = env_int("HELPDESK_STALE_PENDING_DAYS", 7)
# The floor flags a conversation whose ticket's next SLA target is due within this many minutes.
HELPDESK_FLOOR_SLA_WARNING_MINUTES = env_int("HELPDESK_FLOOR_SLA_WARNING_MINUTES", 15)
