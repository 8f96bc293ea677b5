# Two commands on a fresh machine: `make run` and `make test`. Everything installs from requirements.lock: the product's
# pins plus those of the `test` and `eval` extras (pytest, langchain-tests, mypy, matplotlib for the report's plots).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock requirements-nodeps.txt pyproject.toml | sha1sum | cut -c1-12)
# Offline at run and test time: no telemetry, no hub downloads.
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install index run serve test test-quick eval bench browser-deps db-deps clean

$(STAMP):
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

install: $(STAMP)

index: install
	$(VENV)/bin/assistant ingest

# One person's computer: without a login, adding documents is allowed from 127.0.0.1 only (README, Security).
run: index
	ASSISTANT_ALLOW_LOCAL_CHANGES=$${ASSISTANT_ALLOW_LOCAL_CHANGES:-true} $(VENV)/bin/assistant serve

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Debian's PostgreSQL server for the shared-state tests (they start their own on a free port; nothing runs as a service).
db-deps:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# Type checking of the product package (mypy, configured in pyproject.toml), then the whole test suite.
test: install browser-deps db-deps
	$(VENV)/bin/mypy
	@tmp=$$(mktemp -d); HOME=$$tmp/home TIKTOKEN_CACHE_DIR=$$tmp/tiktoken $(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; rm -rf $$tmp; exit $$rc

test-quick: install
	@tmp=$$(mktemp -d); HOME=$$tmp/home TIKTOKEN_CACHE_DIR=$$tmp/tiktoken $(PY) -m pytest -q -m "not slow and not browser" $(PYTEST_ARGS); rc=$$?; rm -rf $$tmp; exit $$rc

eval: index
	$(VENV)/bin/assistant eval --dataset evals/datasets/golden.jsonl --out evals/results/latest
	$(VENV)/bin/assistant eval --dataset evals/datasets/holdout.jsonl --out evals/results/holdout

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) .data
