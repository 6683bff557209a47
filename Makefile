# CloudGeo: `make run` brings up the local cluster, `make test` runs the whole suite.
# Both install what they need first (Debian packages, then .venv on Debian's python3).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test check lint clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system.sh
	@./scripts/install-system.sh
	@test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[node,cluster,operator,dev]'
	@touch $(STAMP)

# A 3-node cluster on 127.0.0.1 (kept running afterwards: `.venv/bin/cloudgeo down`
# stops it), then the walkthrough through its gateway.
run: install
	@$(VENV)/bin/cloudgeo status >/dev/null 2>&1 || $(VENV)/bin/cloudgeo up --nodes 3
	@$(VENV)/bin/cloudgeo walkthrough
	@echo "The cluster keeps running: .venv/bin/cloudgeo status | logs | down"

test: install
	@$(PY) -m pytest $(PYTEST_ARGS)

# The fast loop (about a minute): lint, then the unit tests (no cluster, no containers).
check: install
	@$(VENV)/bin/ruff check .
	@$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

lint: install
	@$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .state .pytest_cache
