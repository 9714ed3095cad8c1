# The two quick-start commands: `make run` (install, then the dashboard on the sample
# library) and `make test` (install everything, then the whole test suite). Both work on a
# fresh machine: they create .venv and install what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test install install-dev browser postgres lint evaluate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned, so nothing else can pull the multi-GB CUDA build.
install: $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements.txt

install-dev: install
	$(BIN)/pip install --quiet -r requirements-dev.txt

run: install
	$(BIN)/streamlit run app.py --server.port $(PORT)

# Debian's Chromium for the browser tests; never a downloaded browser build.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

test: install-dev browser postgres
	TEST_DATABASE_URL=$(PG_URL) $(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check .

evaluate: install
	$(BIN)/python -m pipelines evaluate ../shared/eval/dev.jsonl
