# Alliance Board. Two commands do everything:
#   make run    set up (first time) and start the site on the bundled sample data
#   make test   set up (first time) and run the whole test suite (lint included)
# Needs only Python 3.11+ and make. Dependencies are pinned in requirements.lock.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501

.PHONY: run test setup lint validate data bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $@

run: setup
	$(BIN)/streamlit run streamlit_app.py --server.port $(PORT)

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

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
