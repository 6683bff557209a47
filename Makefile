# CloudGeo: `make run` brings up the local cluster, `make test` runs the whole suite.
# Both install what they need first (Debian packages, then .venv on Debian's python3).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system.sh
	@./scripts/install-system.sh
	@test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[node,cluster,operator,dev]'
	@touch $(STAMP)

run: install
	@$(PY) -m cloudgeo.fileservice.devserver

test: install
	@$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	@$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .state .pytest_cache
