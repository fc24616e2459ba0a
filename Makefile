# The two commands: `make run` and `make test`. Both set up everything they need.
PYTHON ?= $(shell scripts/find-python)
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: run test install lint lock bench bench-pages load faults clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	touch $@

install: $(VENV)/.installed

run: install
	@scripts/ensure-weasyprint
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py collectstatic --noinput -v0
	VENV=$(VENV) scripts/run

test: install
	@scripts/ensure-chromium
	@scripts/ensure-weasyprint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# Regenerates the lock after a change of pyproject.toml (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --extra dev --universal --python-version 3.12 --generate-hashes -o requirements.lock

# Load test of the customer pages: gunicorn with production settings on PostgreSQL (database
# bo_load) and Redis (db 5) at 127.0.0.1:8190, locust at a fixed rate; prints throughput and
# p50/p99. LOAD_RATE, LOAD_USERS, LOAD_DURATION, WEB_CONCURRENCY tune it (bench/load.py).
load: install
	$(BIN)/python bench/load.py

# The check-in benchmark (issue 13): batches of 100 in events/s, a single check-in against a bare
# Django view (p50/p99), gunicorn with production settings on PostgreSQL (database bo_bench made
# anew) and Redis (db 12, emptied) at 127.0.0.1:8137 (bench/checkins.py; docs/performance.md).
# BENCH_ARGS passes options, e.g. "--seconds 10 --repeat 3".
bench: install
	$(BIN)/python bench/checkins.py $(BENCH_ARGS)

# Every customer page at 10 and 100,000 tracked users (issue 13): queries and server time
# (median and max of 5 reads, in-process test client) on PostgreSQL, database bo_pages made anew
# (bench/pages.py; docs/performance.md, "Pages at 10 and 100,000 tracked users").
# BENCH_PAGES_ARGS passes options, e.g. "--sizes 10 1000 --reads 3".
bench-pages: install
	$(BIN)/python bench/pages.py $(BENCH_PAGES_ARGS)

# Fault runs (docs/performance.md, "Faults"): the fault tests on PostgreSQL (every job killed
# mid-way then rerun, the task cluster killed and restarted, the gateway timing out after
# charging, the database unreachable), then PostgreSQL restarted under check-in load
# (bench/faults_pg_restart.py: gunicorn on 127.0.0.1:8191, database bo_faults). The restart
# disturbs everything else on this PostgreSQL server: run it at a quiet moment.
FAULTS_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bo_faults
faults: install
	DATABASE_URL=$(FAULTS_TEST_DATABASE_URL) $(BIN)/python -m pytest -q tests/hardening/test_job_faults.py \
		tests/hardening/test_db_outage.py tests/billing/test_gateway_timeout.py
	$(BIN)/python bench/faults_pg_restart.py

clean:
	rm -rf $(VENV) db.sqlite3* staticfiles .pytest_cache
