"""gunicorn's access log, with our config, writes no Authorization header and no link token."""

import os
import re
import runpy
import subprocess
import sys
import textwrap

from tests.config.test_health_and_settings import ROOT, _base_env

CONF = ROOT / "config" / "gunicorn.conf.py"

ACCESS_LINE = textwrap.dedent(
    """
    import datetime, runpy, types
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    cfg = Config()
    for name, value in runpy.run_path("config/gunicorn.conf.py").items():
        if name in cfg.settings:
            cfg.set(name, value)
    logger = Logger(cfg)
    secret = "Bearer ak_live_S3CRETS3CRETS3CRET"
    for path in ("/api/agent/v1/checkins", "/password-reset/MQ/c3k8yq-0a1b2c3d4e5f6a7b8c9d/"):
        environ = {
            "REQUEST_METHOD": "POST", "RAW_URI": path + "?token=abc123456", "PATH_INFO": path,
            "QUERY_STRING": "token=abc123456", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "203.0.113.7", "HTTP_AUTHORIZATION": secret, "HTTP_USER_AGENT": "agent/2.1",
        }
        request = types.SimpleNamespace(headers=[("AUTHORIZATION", secret), ("USER-AGENT", "agent/2.1")])
        response = types.SimpleNamespace(status="200 OK", sent=42, headers=[])
        logger.access(response, request, environ, datetime.timedelta(milliseconds=12))
    """
)


def test_access_log_has_no_authorization_header_nor_link_token():
    result = subprocess.run(
        [sys.executable, "-c", ACCESS_LINE], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**_base_env(), "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2, result.stdout
    assert re.match(r'203\.0\.113\.7 \[.*\] "POST /api/agent/v1/checkins HTTP/1.1" 200 42 12ms "agent/2.1"', lines[0])
    for secret in ("S3CRET", "ak_live", "abc123456", "c3k8yq"):
        assert secret not in result.stdout


def test_workers_follow_web_concurrency(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "7")
    conf = runpy.run_path(str(CONF))
    assert conf["workers"] == 7
    monkeypatch.delenv("WEB_CONCURRENCY")
    assert runpy.run_path(str(CONF))["workers"] == 2 * os.cpu_count()  # the measured default
    assert not re.search(r"%\(\{[^}]+\}i\)s|%\(u\)s|%\(r\)s|%\(q\)s", conf["access_log_format"])
