"""scripts/run (`make run`) stops gunicorn and the task cluster within seconds on INT or TERM,
whoever sends it: Ctrl-C or a supervisor to the whole process group, or a kill to the script.

Slow-ish (a real gunicorn and qcluster on a migrated SQLite file, about 4 s a test); kept in the
suite because a hung cluster after `make run` is what a developer notices.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
STOPPED_WITHIN = 10  # seconds


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def run_env(tmp_path_factory):
    database = tmp_path_factory.mktemp("run") / "run.sqlite3"
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_SETTINGS_MODULE", "DJANGO_ENV", "PORT", "SITE_URL", "DEBUG"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=f"sqlite:///{database}",
               VENV=str(VENV), WEB_CONCURRENCY="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT,
                   env=env, check=True, timeout=120)
    return env


def _start(env):
    """scripts/run in a process group of its own, once it answers and its cluster has workers."""
    port = _free_port()
    # INT at its default, as in a terminal: a test run started in the background (CI under
    # `cmd &`) passes INT down ignored, and a shell cannot trap a signal ignored on entry.
    script = subprocess.Popen(["scripts/run"], cwd=ROOT, env={**env, "PORT": str(port)},
                              start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
        except OSError:
            time.sleep(0.2)
            continue
        family = psutil.Process(script.pid).children(recursive=True)
        if any("qcluster" in " ".join(p.cmdline()) for p in family) and len(family) >= 5:
            return script, family
        time.sleep(0.2)
    os.killpg(script.pid, signal.SIGKILL)
    pytest.fail("scripts/run did not answer on its port with its task cluster up")


def _assert_all_gone(script, family):
    gone, alive = psutil.wait_procs([psutil.Process(script.pid), *family], timeout=STOPPED_WITHIN)
    leftovers = [(p.pid, " ".join(p.cmdline())) for p in alive if p.is_running()
                 and p.status() != psutil.STATUS_ZOMBIE]
    for p in alive:
        p.kill()
    script.wait(timeout=5)
    assert not leftovers, f"still running {STOPPED_WITHIN} s after the signal: {leftovers}"


def test_term_to_the_process_group_stops_gunicorn_and_the_cluster(run_env):
    script, family = _start(run_env)
    os.killpg(script.pid, signal.SIGTERM)
    _assert_all_gone(script, family)


def test_int_to_the_script_alone_stops_gunicorn_and_the_cluster(run_env):
    script, family = _start(run_env)
    os.kill(script.pid, signal.SIGINT)
    _assert_all_gone(script, family)
