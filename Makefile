# Alliance Board. Two commands do everything:
#   make run    set up (first time) and start the site on the bundled sample data
#               (development access: every page open to everyone, labelled as such)
#   make test   set up (first time) and run the whole test suite (lint included)
# Needs only Python 3.11+ and make. Dependencies are pinned in requirements.lock.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
N      ?= 2

.PHONY: run serve test setup lint validate data bench clean a11y-deps

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $@

# ALLIANCE_DEVELOPMENT_ACCESS=1: the development default (everyone an analyst, labelled on
# every page), so a newcomer sees the whole board. Never set it on a shared deployment.
run: setup
	ALLIANCE_DEVELOPMENT_ACCESS=1 $(BIN)/streamlit run streamlit_app.py --server.port $(PORT)

# N site processes behind HAProxy on http://127.0.0.1:$(PORT) (cookie affinity, health
# checks on /healthz, each process warm before it is put in service); Ctrl-C stops them
# all. Needs Debian's haproxy (apt-get install haproxy). docs/deploy.md says more.
serve: setup
	ALLIANCE_DEVELOPMENT_ACCESS=1 $(BIN)/python -m metrics.launcher serve --processes $(N) --port $(PORT)

# Files are shared out between up to four worker processes (pytest-xdist; one per core),
# each file whole on one worker so the servers it starts are started once.
test: setup a11y-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile

# axe-core for the accessibility tests, from the npm registry (pinned in the lock file).
# Skipped where npm is absent; the tests then skip too (and fail in CI).
a11y-deps: tests/a11y/node_modules/.installed

tests/a11y/node_modules/.installed: tests/a11y/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: accessibility tests will be skipped"; fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check metrics pages tests bench sample_data streamlit_app.py

validate: setup
	$(BIN)/python -m metrics validate

data: setup
	$(BIN)/python sample_data/generate.py

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
