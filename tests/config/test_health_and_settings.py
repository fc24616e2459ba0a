import os
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.jobs import JOBS, register_job, schedules_sync

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
    assert response.json()["task_queue"].startswith("ok")


def test_healthz_503_when_queue_unreachable(client, monkeypatch):
    from django_q import brokers

    class Down:
        def ping(self):
            raise ConnectionError("refused")

    monkeypatch.setattr(brokers, "get_broker", lambda *a, **k: Down())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response["Retry-After"]


def test_schedules_registered_once_per_job_name():
    from django_q.models import Schedule

    register_job("test_job", "math.floor", Schedule.DAILY)
    try:
        schedules_sync()
        schedules_sync()
        assert Schedule.objects.filter(name="test_job").count() == 1
        assert Schedule.objects.count() == len(JOBS)
    finally:
        JOBS.pop("test_job")


def _manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 20 + "production-secret-key-of-fifty-plus-characters-9a8b7c",
    "ALLOWED_HOSTS": "backoffice.example.com",
    "STRIPE_SECRET_KEY": "sk_test_123",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def _base_env():
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ENV"}}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return env


def test_production_passes_check_deploy_without_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env={**_base_env(), **PRODUCTION_ENV})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "STRIPE_SECRET_KEY", "EMAIL_URL"])
def test_production_refuses_to_start_without_secrets(missing):
    env = {**_base_env(), **PRODUCTION_ENV}
    del env[missing]
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert missing in result.stderr


def test_production_refuses_sandbox_gateway():
    result = _manage("check", env={**_base_env(), **PRODUCTION_ENV, "PAYMENT_GATEWAY": "sandbox"})
    assert result.returncode != 0 and "sandbox is refused in production" in result.stderr
