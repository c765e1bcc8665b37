"""The documented production environment passes `check --deploy`, and unsafe set-ups refuse to start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management.utils import get_random_secret_key

ROOT = Path(settings.BASE_DIR)
LOCAL_ONLY = ("DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_FILE", "DJANGO_DEBUG", "DJANGO_HTTPS", "STATIC_ROOT", "DATABASE_URL")


def documented_production_environment() -> dict[str, str]:
    """The variables `.env.example` documents, with a real secret key in place of its placeholder."""
    variables = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            variables[name.strip()] = value.strip().strip('"')
    variables["DJANGO_SECRET_KEY"] = get_random_secret_key()
    return variables


def run_django(code: str, **environment: str) -> subprocess.CompletedProcess:
    """Run Python in a fresh process with production settings and exactly the given variables on top."""
    env = {name: value for name, value in os.environ.items() if name not in LOCAL_ONLY}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **environment)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


MANAGE = "import sys; from django.core.management import execute_from_command_line as run; run(sys.argv[:1] + {args!r})"


def manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    return run_django(MANAGE.format(args=list(args)), **environment)


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory) -> Path:
    static_root = tmp_path_factory.mktemp("static")
    result = manage("collectstatic", "--noinput", "--verbosity", "0", DJANGO_SECRET_KEY=get_random_secret_key(), STATIC_ROOT=str(static_root))
    assert result.returncode == 0, result.stderr
    return static_root


def test_check_deploy_reports_nothing_under_the_documented_production_environment(collected_static):
    environment = documented_production_environment()
    assert environment.get("DJANGO_HTTPS") == "1"

    result = manage("check", "--deploy", "--fail-level", "DEBUG", **environment, STATIC_ROOT=str(collected_static))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_a_secret_key_the_server_refuses_to_start_and_says_why():
    result = run_django("import config.wsgi", DJANGO_DEBUG="0")

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("INTERACTION_RETENTION_DAYS", "ninety", "INTERACTION_RETENTION_DAYS must be a whole number of at least 1, not 'ninety'."),
        ("INTERACTION_RETENTION_DAYS", "0", "INTERACTION_RETENTION_DAYS must be a whole number of at least 1, not '0'."),
        ("TRAINING_SPREAD_MIN_PRODUCTS", "1e5", "TRAINING_SPREAD_MIN_PRODUCTS must be a whole number of at least 0, not '1e5'."),
        ("TRAINING_SPREAD", "sometimes", "TRAINING_SPREAD must be auto, always or off, not 'sometimes'."),
    ],
)
def test_a_malformed_setting_stops_the_start_and_names_the_variable(variable, value, message):
    result = run_django("import config.wsgi", DJANGO_SECRET_KEY=get_random_secret_key(), **{variable: value})

    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr


def test_the_celery_worker_refuses_to_start_without_a_secret_key():
    result = run_django("from config.celery import app; app.loader.import_default_modules()", DJANGO_DEBUG="0")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_without_collected_static_files_the_server_refuses_to_start(tmp_path):
    result = run_django("import config.wsgi", DJANGO_SECRET_KEY=get_random_secret_key(), STATIC_ROOT=str(tmp_path))

    assert result.returncode != 0
    assert f"The static files manifest {tmp_path}/staticfiles.json is missing" in result.stderr
    assert "collectstatic" in result.stderr


def test_with_collected_static_files_the_server_starts(collected_static):
    result = run_django("import config.wsgi; print('started')", DJANGO_SECRET_KEY=get_random_secret_key(), STATIC_ROOT=str(collected_static))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_a_visibility_timeout_shorter_than_training_is_refused():
    result = manage("check", DJANGO_SECRET_KEY=get_random_secret_key(), CELERY_VISIBILITY_TIMEOUT="3600")

    assert result.returncode != 0
    assert "core.E002" in result.stderr
    assert "(3600 s) must exceed the training task's hard time limit (11100 s)" in result.stderr


def test_by_default_a_training_run_outlives_neither_its_hard_limit_nor_the_visibility_timeout():
    from recommendations.tasks import train_models

    assert train_models.time_limit == settings.TRAINING_HARD_TIME_LIMIT == 3 * 3600 + 300
    assert train_models.soft_time_limit == 3 * 3600
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] == 3 * 3600 + 300 + 900


HTTPS_PROBE = """
import django; django.setup()
from django.test import Client
client = Client()
for path in ("/api/products/", "/api/health/"):
    response = client.get(path)
    print(path, response.status_code, response.headers.get("Location", ""))
response = Client().get("/api/products/", secure=True)
print("secure", response.status_code, response.headers.get("Strict-Transport-Security"))
"""


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory) -> str:
    """A database of its own for the requests the child processes serve."""
    path = str(tmp_path_factory.mktemp("db") / "db.sqlite3")
    result = manage("migrate", "--noinput", "--verbosity", "0", DJANGO_SECRET_KEY=get_random_secret_key(), SQLITE_PATH=path)
    assert result.returncode == 0, result.stderr
    return path


def test_over_https_plain_http_is_redirected_except_the_health_probe(migrated_sqlite):
    result = run_django(
        HTTPS_PROBE, DJANGO_SECRET_KEY=get_random_secret_key(), DJANGO_HTTPS="1", DJANGO_ALLOWED_HOSTS="testserver", SQLITE_PATH=migrated_sqlite
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "/api/products/ 301 https://testserver/api/products/"
    assert lines[1] == "/api/health/ 200 "
    assert lines[2] == "secure 200 max-age=31536000; includeSubDomains; preload"


def test_a_tls_proxy_is_trusted_only_when_the_operator_opts_in(migrated_sqlite):
    probe = (
        "import django; django.setup(); from django.test import Client; "
        "print(Client().get('/api/products/', HTTP_X_FORWARDED_PROTO='https').status_code)"
    )
    common = {
        "DJANGO_SECRET_KEY": get_random_secret_key(),
        "DJANGO_HTTPS": "1",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "SQLITE_PATH": migrated_sqlite,
    }

    assert run_django(probe, **common).stdout.strip() == "301"
    trusted = run_django(probe, **common, DJANGO_BEHIND_TLS_PROXY="1")
    assert trusted.stdout.strip() == "200", trusted.stderr


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="statement_timeout is a PostgreSQL setting: needs DATABASE_URL",
)
def test_the_statement_timeout_and_connect_timeout_reach_postgresql():
    probe = (
        "import django; django.setup(); from django.db import connection; "
        "cursor = connection.cursor(); cursor.execute('SHOW statement_timeout'); print(cursor.fetchone()[0]); "
        "print(connection.get_connection_params()['connect_timeout'])"
    )
    result = run_django(
        probe, DJANGO_SECRET_KEY=get_random_secret_key(), DATABASE_URL=os.environ["DATABASE_URL"], DATABASE_STATEMENT_TIMEOUT_MS="1500"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1500ms", "5"]
