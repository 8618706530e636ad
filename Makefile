SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=
WEB_RUNTIME := assets/onnxruntime-web/.fetched

.PHONY: run test screenshots bench bench-recipes clean

# Re-installs whenever requirements.txt changes; pip's notes about the machine's local indexes are filtered out.
$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing requirements into $(VENV) (first time: a few minutes)..."
	@set -o pipefail; $(PY) -m pip install -q -r requirements.txt 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	@touch $@

# onnxruntime-web for the web page export: pinned and checked in core/export/web_runtime.py, fetched, not committed.
$(WEB_RUNTIME): core/export/web_runtime.py $(VENV)/.installed
	$(PY) -m core.export.web_runtime
	@touch $@

# The app starts without onnxruntime-web (offline, behind a proxy): only the web page export needs it, and says so.
run: $(VENV)/.installed
	@$(MAKE) -s $(WEB_RUNTIME) || echo "Note: onnxruntime-web could not be fetched; the app runs, but the web page export needs it (make again when online)."
	@$(PY) launch.py $(ARGS)  # not echoed: ARGS may hold --auth user:password

test: $(VENV)/.installed $(WEB_RUNTIME)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

screenshots: $(VENV)/.installed
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/gui/test_browser.py -k screenshot
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/gui/test_i18n_browser.py

bench: $(VENV)/.installed $(WEB_RUNTIME)
	$(PY) bench/speed.py
	$(PY) bench/demo_run.py
	$(PY) bench/health_check.py
	$(PY) bench/eta.py
	$(PY) bench/export.py
	$(PY) bench/web_page.py

bench-recipes: $(VENV)/.installed
	$(PY) bench/recipes.py

clean:
	rm -rf runs .pytest_cache
