# livepanty-db on a fresh Debian/Ubuntu machine (as root, or a user with sudo):
#   make demo   install what is missing, start the local cluster, migrate it, run the demo
#   make test   install what is missing (with the dev tools), ruff, then the whole test suite
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
LIVEPANTY_DB := $(VENV)/bin/livepanty-db
APT_PACKAGES := postgresql-15 postgresql-contrib postgresql-15-pgtap postgresql-15-plpgsql-check postgresql-15-plproxy \
  pgbouncer \
  pgbackrest
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
PIP := $(PY) -m pip --disable-pip-version-check
# The client and concurrency tests that the pgbouncer and router passes of `make test` run again, and the
# client tests of the features (KYC, sanctions, review queue, fraud controls, shows, goals and menus, privacy).
CLIENT_TESTS := tests/py/test_client*.py tests/py/test_concurrency.py tests/py/test_lock_protocol.py \
	tests/py/test_tip_many.py tests/py/test_batcher.py
FEATURE_CLIENT_TESTS := tests/py/test_kyc_client.py tests/py/test_kyc_gate_client.py \
	tests/py/test_sanctions_client.py tests/py/test_review_queue_client.py tests/py/test_fraud_client.py \
	tests/py/test_shows_client.py tests/py/test_goals_menus_client.py tests/py/test_privacy_client.py

.PHONY: help system-deps install install-dev lint test docs generate demo stop

help:
	@echo "make demo    start the local cluster, migrate it and run the demo"
	@echo "make test    ruff + the whole test suite (pgTAP and Python)"
	@echo "make stop    stop the local cluster"
	@echo "make docs    regenerate docs/cli.md;  make generate  regenerate the sync client from the async one"

# apt packages, only those missing (plus python3-venv when the interpreter cannot make a venv).
system-deps:
	@missing=(); \
	for pkg in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q '^install ok installed$$' || missing+=("$$pkg"); \
	done; \
	$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv); \
	if [ $${#missing[@]} -gt 0 ]; then \
	  echo "installing: $${missing[*]}"; \
	  $(SUDO) apt-get update; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$${missing[@]}"; \
	fi

# A virtualenv keeps the install away from the system Python (PEP 668); it sees the interpreter's packages.
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "livepanty-db needs Python >= 3.11; $(PYTHON) is older (make PYTHON=/path/to/python3.11 ...)"; exit 1; }
	$(PYTHON) -m venv --system-site-packages $(VENV)

install: system-deps $(PY)
	$(PIP) install -q -e .

# The tests also cut the network to a shard (tests/py/test_shards.py): nftables, and ss from iproute2.
install-dev: APT_PACKAGES += nftables iproute2
install-dev: system-deps $(PY)
	$(PIP) install -q -e '.[dev]'

lint: install-dev
	$(PY) -m ruff check .

# -v lists every pgTAP assertion (a subtest). Any non-zero pytest exit fails the target, including 5 (no tests).
test: lint
	$(PY) -m pytest -v
	# Second pass: the client, concurrency and feature client tests through pgbouncer in transaction pooling mode
	# (tests/conftest.py, LIVEPANTY_TEST_PGBOUNCER; tests needing session state are skipped with their reason).
	LIVEPANTY_TEST_PGBOUNCER=1 $(PY) -m pytest -v $(CLIENT_TESTS) $(FEATURE_CLIENT_TESTS)
	# Third pass: the same tests, and the admin-change lock tests, against a router over 2 shard databases
	# (tests/conftest.py, LIVEPANTY_TEST_SHARDS; tests that need one database are skipped with their reason,
	# NEEDS_ONE_DATABASE).
	LIVEPANTY_TEST_SHARDS=2 $(PY) -m pytest -v -rs $(CLIENT_TESTS) $(FEATURE_CLIENT_TESTS) tests/py/test_admin_lock.py
	# Fourth pass: the client, concurrency and feature client tests against that router behind pgbouncer in
	# transaction pooling mode, as an application behind its pooler reaches a sharded installation (both
	# variables; each pass's skips apply). test_admin_lock.py connects as login roles the test pooler does not
	# admit, so it runs in the first and third passes only.
	LIVEPANTY_TEST_PGBOUNCER=1 LIVEPANTY_TEST_SHARDS=2 $(PY) -m pytest -v -rs $(CLIENT_TESTS) $(FEATURE_CLIENT_TESTS)

# Regenerate docs/cli.md from the command definitions (a test fails when it is stale).
docs: install-dev
	$(PY) tools/cli_reference.py

# The sync client is generated from the async one (livepanty_db/client_async.py is the source).
generate: install-dev
	$(PY) tools/async_to_sync.py

demo: install
	$(LIVEPANTY_DB) local start
	$(LIVEPANTY_DB) migrate
	$(PY) -m livepanty_db.demo

stop:
	$(LIVEPANTY_DB) local stop
