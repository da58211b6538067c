# Two commands: `make run` (embedded default, demo district) and `make test` (whole suite on PostgreSQL + Redis).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Debian packages the tests need: slapd for LDAP, chromium for Playwright,
# a CJK font so screenshots show Chinese, janus for the video rooms (and its JS client, whose copy we vendor).
TEST_DEBS := slapd ldap-utils chromium fonts-wqy-zenhei redis-server \
	libreoffice-writer-nogui poppler-utils poppler-data fonts-arphic-uming fonts-arphic-ukai fontconfig libnss3-tools faketime \
	janus libjs-janus-gateway libjs-webrtc-adapter

# The machine's PostgreSQL and Redis (CI and developer machines run them on loopback).
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_ENV := OA_SECRET_KEY=test-only-secret-key-not-for-production-0123456789abcdef \
	OA_SEAL_KEK=dGVzdC1vbmx5LXNlYWwta2VrLW5vdC1mb3ItcHJvZCE= \
	OA_HTTPS=0 OA_ALLOWED_HOSTS=testserver,127.0.0.1,localhost \
	OA_DATA_DIR=$(CURDIR)/var/test OA_AUDIT_HASH=sha256 OA_ACCEPT_STANDIN_FONTS=1

.PHONY: run test install debs services collectstatic embedded lint test-moved-clock test-faketime bench

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "需要 Python 3.11 或更高版本"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	$(PY) -c 'import django, channels, celery, ldap3, django_otp, docx, reportlab, playwright'
	touch $@

install: $(VENV)/.installed

run: install
	OA_DEBUG=1 $(PY) manage.py migrate --noinput
	OA_DEBUG=1 $(PY) manage.py load_demo --with-seals --with-meetings
	OA_DEBUG=1 $(PY) manage.py supervision_demo
	OA_DEBUG=1 $(PY) manage.py datarequests_demo
	OA_DEBUG=1 $(PY) manage.py load_service_demo
	OA_DEBUG=1 $(PY) manage.py load_information_demo
	@echo ""
	@echo "  一网协同办公平台已启动：http://127.0.0.1:8000/"
	@echo "  演示账号：zhangwei（张伟，拟稿人） / lina（李娜，核稿人），密码均为 Jiedong@2026"
	@echo "  调度器（定时任务）与 ASGI 服务器同时运行；按 Ctrl+C 停止。"
	@echo ""
	@# Forwarded headers: uvicorn trusts exactly the proxies OA_BEHIND_PROXY names (none when unset), the same
	@# list Django checks (oa/proxies.py, docs/security.md §8).
	proxy_args=$$($(PY) -m oa.proxies) || exit 1; \
	OA_DEBUG=1 $(PY) manage.py run_scheduler & sched=$$!; \
	trap "kill $$sched 2>/dev/null" EXIT INT TERM; \
	OA_DEBUG=1 $(VENV)/bin/uvicorn oa.asgi:application --host 127.0.0.1 --port 8000 $$proxy_args

debs:
	@if [ "$$(id -u)" = "0" ]; then \
		missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ]; then \
			echo "slapd slapd/no_configuration boolean true" | debconf-set-selections; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
		fi; \
	else echo "not root: assuming $(TEST_DEBS) are installed"; fi

services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && exit 0; sleep 1; done; echo "PostgreSQL/Redis 未就绪"; exit 1

collectstatic: install
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0

lint: install
	$(VENV)/bin/ruff check .

# Whole suite on PostgreSQL + Redis, in parallel (pytest-xdist: each worker its own database and Redis db);
# then the smoke subset on the embedded default (SQLite, in-process layer), less the tests whose point is an
# external server (slapd, Celery worker, browser against a live server, two live nodes).
TEST_WORKERS ?= 2
EMBEDDED_MARKS := smoke and not slapd and not celery_worker and not e2e and not live_nodes
test: install debs services collectstatic lint
	$(TEST_ENV) OA_DATABASE_URL=$(TEST_DATABASE_URL) OA_REDIS_URL=$(TEST_REDIS_URL) \
		OA_CELERY_BROKER_URL=redis://127.0.0.1:6379/14 OA_CELERY_RESULT_BACKEND=redis://127.0.0.1:6379/13 \
		$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)
	$(MAKE) --no-print-directory embedded

embedded: install collectstatic
	$(TEST_ENV) OA_DATABASE_URL= OA_DB_NAME= OA_REDIS_URL= $(PY) -m pytest -m "$(EMBEDDED_MARKS)" -p no:cacheprovider $(PYTEST_ARGS)

# The suite does not depend on today (docs/testing.md): the whole suite with the session clock moved months
# ahead onto a holiday, and the HTTP chains with the Python process itself at another date (libfaketime).
MOVED_CLOCK ?= 2027-05-03T09:30+08:00
FAKETIME_AT ?= 2027-03-01 10:00:00
CHAIN_TESTS := tests/test_issuance_http.py tests/test_receipt.py tests/test_circulation_http.py tests/test_routing_views.py
test-moved-clock:
	OA_TEST_CLOCK=$(MOVED_CLOCK) $(MAKE) --no-print-directory test
test-faketime: install debs collectstatic
	$(TEST_ENV) OA_DATABASE_URL= OA_DB_NAME= OA_REDIS_URL= faketime '$(FAKETIME_AT)' \
		$(PY) -m pytest -p no:cacheprovider $(CHAIN_TESTS) $(PYTEST_ARGS)

# Every bench/*.py script against the machine's PostgreSQL and Redis (each makes and drops its own databases), then
# one table of measure / ours / baseline / ratio / goal / met, also written to var/bench/latest.md
# (docs/performance.md). BENCH_ONLY="numbering audit_chain" runs only those.
bench: install services
	$(PY) bench/run.py $(BENCH_ONLY)
