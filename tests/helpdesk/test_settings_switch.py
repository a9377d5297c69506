"""The settings module reads its mode from the environment at import, so each case runs in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.conf import settings
from helpdesk.celery import app
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "layer_hosts": settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts"),
    "eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "result_backend": app.conf.result_backend,
    "debug": settings.DEBUG,
    "secret_key": settings.SECRET_KEY,
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "allowed_hosts": settings.ALLOWED_HOSTS,
}))
"""
# Everything the settings module reads; each case starts from none of them.
SETTINGS_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "ALLOWED_HOSTS",
    "HELPDESK_VAR_DIR",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
)


def _run(code: str, tmp_path: Path, **env_vars: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARS}
    env.update({"DJANGO_SETTINGS_MODULE": "helpdesk.settings", "HELPDESK_VAR_DIR": str(tmp_path / "var")})
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _settings(tmp_path: Path, **env_vars: str) -> dict:
    result = _run(PROBE, tmp_path, **env_vars)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_default_is_sqlite_in_memory_layer_and_eager_celery(tmp_path):
    embedded = _settings(tmp_path)

    assert embedded["engine"] == "django.db.backends.sqlite3"
    assert embedded["db_name"] == str(tmp_path / "var" / "helpdesk.sqlite3")
    assert embedded["layer"] == "channels.layers.InMemoryChannelLayer"
    assert embedded["eager"] is True
    assert embedded["debug"] is True
    assert embedded["session_secure"] is False


def test_embedded_secret_key_is_generated_once_and_kept_in_var(tmp_path):
    first = _settings(tmp_path)["secret_key"]
    second = _settings(tmp_path)["secret_key"]

    assert len(first) >= 50
    assert first == second
    assert (tmp_path / "var" / "secret_key").read_text().strip() == first
    assert oct((tmp_path / "var" / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_database_url_switches_to_postgresql_and_redis_url_to_redis_layer_and_workers(tmp_path):
    production_services = _settings(
        tmp_path, DATABASE_URL="postgres://helpdesk@db.internal:5432/helpdesk", REDIS_URL="redis://cache:6379/2"
    )

    assert production_services["engine"] == "django.db.backends.postgresql"
    assert production_services["db_name"] == "helpdesk"
    assert production_services["layer"] == "channels_redis.core.RedisChannelLayer"
    # The two traps measured on this machine: 1011 closes every 5 s, and the pool's 100-connection cap.
    host = production_services["layer_hosts"][0]
    assert host["address"] == "redis://cache:6379/2"
    assert host["socket_timeout"] is None
    assert host["max_connections"] >= 1000
    assert production_services["eager"] is False
    assert production_services["broker"] == "redis://cache:6379/2"
    assert production_services["result_backend"] == "redis://cache:6379/2"


def test_database_url_that_is_not_postgresql_is_refused(tmp_path):
    result = _run(PROBE, tmp_path, DATABASE_URL="mysql://root@localhost/helpdesk")

    assert result.returncode != 0
    assert "DATABASE_URL must be a postgres:// URL" in result.stderr


def test_production_mode_needs_a_secret_key(tmp_path):
    result = _run(PROBE, tmp_path, DEBUG="0", ALLOWED_HOSTS="help.example.com")

    assert result.returncode != 0
    assert "DEBUG=0 needs SECRET_KEY or SECRET_KEY_FILE" in result.stderr
    assert not (tmp_path / "var" / "secret_key").exists()


def test_production_mode_needs_allowed_hosts(tmp_path):
    result = _run(PROBE, tmp_path, DEBUG="0", SECRET_KEY="x" * 60)

    assert result.returncode != 0
    assert "DEBUG=0 needs ALLOWED_HOSTS" in result.stderr


def test_production_mode_reads_secret_key_file_and_secures_cookies(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text("k" * 30 + "Q7#z" * 10 + "\n")

    production = _settings(tmp_path, DEBUG="0", SECRET_KEY_FILE=str(key_file), ALLOWED_HOSTS="help.example.com")

    assert production["debug"] is False
    assert production["secret_key"] == "k" * 30 + "Q7#z" * 10
    assert production["allowed_hosts"] == ["help.example.com"]
    assert production["session_secure"] is True
    assert production["csrf_secure"] is True
    assert production["ssl_redirect"] is True
    assert production["hsts"] >= 31536000


def test_a_bad_boolean_names_the_variable(tmp_path):
    result = _run(PROBE, tmp_path, DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


@pytest.mark.timeout(180)
def test_check_deploy_is_clean_in_production_mode(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT,
        env={
            **{key: value for key, value in os.environ.items() if key not in SETTINGS_VARS},
            "HELPDESK_VAR_DIR": str(tmp_path / "var"),
            "DEBUG": "0",
            "SECRET_KEY": "a-long-random-production-key-" + "Zx9!" * 12,
            "ALLOWED_HOSTS": "help.example.com",
        },
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
