SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: run test screenshots bench bench-recipes clean

# Re-installs whenever requirements.txt changes; pip's notes about the machine's local indexes are filtered out.
$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing requirements into $(VENV) (first time: a few minutes)..."
	@set -o pipefail; $(PY) -m pip install -q -r requirements.txt 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	@touch $@

run: $(VENV)/.installed
	@$(PY) launch.py $(ARGS)  # not echoed: ARGS may hold --auth user:password

test: $(VENV)/.installed
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

screenshots: $(VENV)/.installed
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/gui/test_browser.py -k screenshot

bench: $(VENV)/.installed
	$(PY) bench/speed.py
	$(PY) bench/demo_run.py
	$(PY) bench/health_check.py
	$(PY) bench/eta.py
	$(PY) bench/export.py

bench-recipes: $(VENV)/.installed
	$(PY) bench/recipes.py

clean:
	rm -rf runs .pytest_cache
