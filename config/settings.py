"""Settings for the storefront, every machine-specific value read from the environment.

With no environment at all the project runs on an embedded default (a SQLite file,
the local-memory cache, Celery tasks executed in-process) so that a newcomer's
first `make run` needs nothing installed. CI and production set DATABASE_URL,
REDIS_URL and CELERY_BROKER_URL.
"""

import os
import re
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int | None, *, minimum: int | None = None) -> int | None:
    """Return the variable as a whole number (``default`` when unset or empty); a start-up error naming it otherwise."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or (minimum is not None and number < minimum):
        from django.core.exceptions import ImproperlyConfigured

        floor = "" if minimum is None else f" of at least {minimum}"
        raise ImproperlyConfigured(f"{name} must be a whole number{floor}, not {value!r}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or default


DEBUG = env_bool("DJANGO_DEBUG", default=False)

def read_or_create_local_secret_key(path: Path) -> str:
    """Return a per-checkout random key, so no key is ever committed or shared between machines."""
    if not path.exists():
        from django.core.management.utils import get_random_secret_key

        path.write_text(get_random_secret_key())
        path.chmod(0o600)
    return path.read_text().strip()


def secret_key_from_environment() -> str:
    """DJANGO_SECRET_KEY, else a local key file for development; never a key invented per process.

    Production (DEBUG off) must say which key every process shares: web and worker sign the
    same cookies, so a key made up at start would log everyone out on each deploy.
    """
    if key := os.environ.get("DJANGO_SECRET_KEY", ""):
        return key
    key_file = os.environ.get("DJANGO_SECRET_KEY_FILE", "")
    if key_file or DEBUG:
        return read_or_create_local_secret_key(Path(key_file) if key_file else BASE_DIR / ".secret_key")
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Production needs one key shared by every process "
        "(see .env.example); for local development set DJANGO_DEBUG=1 or "
        "DJANGO_SECRET_KEY_FILE=.secret_key (the Makefile does)."
    )


SECRET_KEY = secret_key_from_environment()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# HTTPS: DJANGO_HTTPS=1 where the site is served over TLS (the documented production setting):
# redirect plain HTTP, send cookies only over TLS, and tell browsers to insist on HTTPS (HSTS).
HTTPS = env_bool("DJANGO_HTTPS", default=False)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=True)
SECURE_REDIRECT_EXEMPT = [r"^api/health/$", r"^health/?$"]  # load balancers probe over plain HTTP
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients): opt in.
if env_bool("DJANGO_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "core",
    "shop",
    "recommendations",
    "experiments",
]

MIDDLEWARE = [
    "core.middleware.RequestLogMiddleware",  # first: its X-Request-ID and timing cover every response
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "shop.middleware.VisitorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

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

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# Database: PostgreSQL from DATABASE_URL, else a SQLite file beside manage.py.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # JIT compilation costs more than it saves on the short queries a shop runs. A statement
        # timeout (milliseconds, 0 = none) bounds a web request's query; the documented production
        # environment sets it for web processes only, since training and migrations run long queries.
        server_options = "-c jit=off"
        if statement_timeout_ms := int(os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "0")):
            server_options += f" -c statement_timeout={statement_timeout_ms}"
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = server_options
        options["connect_timeout"] = int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis through django-redis when REDIS_URL is set. A dead or hung Redis is a
# cache miss within the socket timeouts, never a 500 or a hang.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_SOCKET_TIMEOUT = float(os.environ.get("CACHE_SOCKET_TIMEOUT", "0.25"))


def redis_cache(url: str, *, socket_timeout: float) -> dict:
    """Return a django-redis cache config that treats a dead or hung Redis as a cache miss."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "shop"),
        "TIMEOUT": 300,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            # After a timeout or refused connection, skip Redis for CACHE_CIRCUIT_OPEN_SECONDS (core/cache.py).
            "REDIS_CLIENT_CLASS": "core.cache.CircuitBreakingRedis",
            "SOCKET_CONNECT_TIMEOUT": socket_timeout,
            "SOCKET_TIMEOUT": socket_timeout,
            "IGNORE_EXCEPTIONS": True,
            # JSON, not pickle: a value written to a shared Redis is never executed on read.
            "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
        },
    }


if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL, socket_timeout=CACHE_SOCKET_TIMEOUT)}
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False  # the circuit breaker logs an outage once, not a traceback per call
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "storefront",
            "TIMEOUT": 300,
        }
    }

# Cache circuit breaker (core/cache.py): seconds a process skips a Redis that just timed out or
# refused a connection before letting one call try it again; 0 turns the breaker off.
CACHE_CIRCUIT_OPEN_SECONDS = float(os.environ.get("CACHE_CIRCUIT_OPEN_SECONDS", "5"))

# Recommendation lists: cache lifetime, and how often a web process looks for a newly
# activated model and re-reads which products are unavailable (seconds).
RECOMMENDATION_CACHE_TIMEOUT = int(os.environ.get("RECOMMENDATION_CACHE_TIMEOUT", "300"))
RECOMMENDATION_MODEL_CHECK_SECONDS = float(os.environ.get("RECOMMENDATION_MODEL_CHECK_SECONDS", "5"))
RECOMMENDATION_AVAILABILITY_SECONDS = float(os.environ.get("RECOMMENDATION_AVAILABILITY_SECONDS", "5"))

# Interaction retention (shop/retention.py): the nightly "Prune old interactions" task deletes views
# and clicks older than this many days (whole days, 1 or more); unset or empty keeps every event.
INTERACTION_RETENTION_DAYS = env_int("INTERACTION_RETENTION_DAYS", None, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# The storefront SPA (frontend/), built by Vite into frontend/dist with base /static/: its
# hashed assets are served by whitenoise, its index.html by core.spa for every storefront route.
FRONTEND_DIST_DIR = Path(os.environ.get("FRONTEND_DIST_DIR", str(BASE_DIR / "frontend" / "dist")))
STATICFILES_DIRS = [FRONTEND_DIST_DIR]  # a fresh clone has none until `make run` builds it


def whitenoise_immutable_file(path: str, url: str) -> bool:
    """Cache forever what carries a content hash: Vite's assets (assets/index-AhMg7uRA.js) and Django's (x.3f2a9c1b7d4e.css)."""
    return bool(re.search(r"^/static/(assets/.+-[A-Za-z0-9_-]{8}|.+\.[0-9a-f]{12})\.[a-z0-9]+$", url))


WHITENOISE_IMMUTABLE_FILE_TEST = whitenoise_immutable_file

# The storefront's visitor identity: a signed cookie naming the anonymous customer.
VISITOR_COOKIE_NAME = "visitor_id"
VISITOR_COOKIE_MAX_AGE = 60 * 60 * 24 * 365

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: a bad token is a 401 with WWW-Authenticate, not a CSRF 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # NUL, lone surrogates and absurd nesting are a 400 parse_error, not a database error or RecursionError.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "shop.api.pagination.ProductPagination",
    "PAGE_SIZE": 24,
    "EXCEPTION_HANDLER": "core.api_errors.api_exception_handler",
    # drf-spectacular's AutoSchema, plus the 429 of every rate-limited operation.
    "DEFAULT_SCHEMA_CLASS": "core.schema.ThrottledAutoSchema",
    # Rate limits (core.throttling): a view names its scope with `throttle_scope`; a caller is counted by
    # user or token, else by visitor cookie, else by address. Each rate is "<count>/<s|min|hour|day>", or
    # "off". Set far above what a shopper's browser sends (the storefront batches events about once a
    # second), so that only scripts meet them.
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.VisitorRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "events": os.environ.get("THROTTLE_RATE_EVENTS") or "240/min",
        "checkout": os.environ.get("THROTTLE_RATE_CHECKOUT") or "10/min",
        "feedback": os.environ.get("THROTTLE_RATE_FEEDBACK") or "600/min",
        "search": os.environ.get("THROTTLE_RATE_SEARCH") or "60/min",
        "sign_in": os.environ.get("THROTTLE_RATE_SIGN_IN") or "10/min",
    },
    # How many proxies in front of the server append to X-Forwarded-For; a client's address is the one
    # the outermost proxy saw. 0 (the default) uses the connection's address and ignores the header,
    # which a client could otherwise forge to get a fresh budget per request.
    "NUM_PROXIES": int(os.environ.get("THROTTLE_NUM_PROXIES", "0")),
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Storefront API",
    "DESCRIPTION": "Catalog, interactions and recommendations for the storefront.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",  # the default
        "core.openapi_hooks.document_server_limits",  # gunicorn's 414 and 431, on every operation
    ],
}

# Celery: a real broker when CELERY_BROKER_URL is set, else tasks run in-process.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# Results are kept only where a chord needs them (a spread training run's content blocks); on a Redis
# broker the same Redis holds them unless CELERY_RESULT_BACKEND names another store.
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else None
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Training's time limits (seconds): soft raises inside the task, hard kills the worker child.
TRAINING_SOFT_TIME_LIMIT = int(os.environ.get("TRAINING_SOFT_TIME_LIMIT", str(3 * 3600)))
TRAINING_HARD_TIME_LIMIT = TRAINING_SOFT_TIME_LIMIT + 300
# Spreading a task-started run's content-neighbour step over the workers (recommendations/training_spread.py):
# auto (when the workers offer 2+ processes and the catalogue has TRAINING_SPREAD_MIN_PRODUCTS products),
# always (whatever the workers say; operators who know), or off.
TRAINING_SPREAD = os.environ.get("TRAINING_SPREAD", "auto").strip().lower()
TRAINING_SPREAD_MIN_PRODUCTS = env_int("TRAINING_SPREAD_MIN_PRODUCTS", 20_000, minimum=0)
if TRAINING_SPREAD not in ("auto", "always", "off"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"TRAINING_SPREAD must be auto, always or off, not {TRAINING_SPREAD!r}.")
# Every broker call is bounded: an unreachable or hung broker is an error within seconds, not a hang.
BROKER_TIMEOUT_SECONDS = float(os.environ.get("CELERY_BROKER_TIMEOUT", "2"))
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than training's hard limit: an unacknowledged run is redelivered only once it cannot still be running.
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", str(TRAINING_HARD_TIME_LIMIT + 900))),
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # LOG_FORMAT: plain (the default, for a terminal) or json (one object a line, for a log collector).
    "formatters": {"plain": {"()": "core.logs.PlainFormatter"}, "json": {"()": "core.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": os.environ.get("LOG_FORMAT", "plain").strip().lower()}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # One line per request (core.middleware); REQUEST_LOG_LEVEL=WARNING turns it off.
        "core.requests": {"level": os.environ.get("REQUEST_LOG_LEVEL", "INFO")},
        "django.db.backends": {"level": "WARNING"},
        "django_redis": {"level": "WARNING"},
    },
}
