# Customer workflow — every command a developer needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup run reset-data test unit test-fast lint typecheck bench openapi build deploy clean

help: ## List the commands
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@echo "==> setup [1/3]: a virtual environment in $(VENV)/ ($$($(PYTHON) --version))"
	@mkdir -p $(VENV) && date +%s > $(VENV)/.setup-started
	$(PYTHON) -m venv $(VENV)
	@echo "==> setup [2/3]: pip"
	$(BIN)/python -m pip install --upgrade --disable-pip-version-check pip
	@echo "==> setup [3/3]: the project and its tools, as pinned in pyproject.toml (the first time: a few minutes)"
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)
	@echo "==> setup done in $$(( $$(date +%s) - $$(cat $(VENV)/.setup-started) )) s"; rm -f $(VENV)/.setup-started

setup: $(STAMP) ## Create .venv and install everything (run by the other targets)

run: $(STAMP) ## Start the local stack: API on :3000 (staff console at /console/), AWS emulator on :4566; data kept in .local-stack/ (Ctrl-C stops)
	PYTHONUNBUFFERED=1 $(BIN)/crm serve

reset-data: $(STAMP) ## Delete the local stack's saved data (.local-stack/); the next `make run` starts empty
	$(BIN)/crm reset-data

test: $(STAMP) ## Run the whole suite: lint, types, unit, integration (moto), template, end-to-end
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

unit: $(STAMP) ## The unit tests alone (no AWS, seconds)
	$(BIN)/pytest tests/unit -q

test-fast: $(STAMP) ## Unit and integration tests, without the slow ones (volume, whole-stack restarts)
	$(BIN)/pytest -m "not e2e and not slow"

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

typecheck: $(STAMP) ## mypy (strict) on the layer and the local stack
	$(BIN)/mypy

bench: $(STAMP) ## Benchmarks: cold start, items read per search
	$(BIN)/python bench/run.py

openapi: $(STAMP) ## Write the API's OpenAPI document to openapi.json
	$(BIN)/crm openapi > openapi.json

$(SAM_STAMP): tools/sam-cli.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r tools/sam-cli.txt
	@touch $(SAM_STAMP)

build: $(SAM_STAMP) ## sam build for arm64 (the SAM CLI in .venv-sam; needs a Python 3.12 on PATH, pyenv's if present)
	@if ! python3.12 --version >/dev/null 2>&1 && command -v pyenv >/dev/null; then \
	  export PYENV_VERSION=$$(pyenv versions --bare | grep -E '^3\.12(\.|$$)' | tail -1); fi; \
	python3.12 --version >/dev/null 2>&1 || { echo "sam build needs a Python 3.12 on PATH (the functions' runtime)"; exit 1; }; \
	$(SAM_VENV)/bin/sam build

deploy: build ## sam deploy --guided (needs an AWS account; see the README's runbook)
	$(SAM_VENV)/bin/sam deploy --guided

clean: ## Remove the venvs and caches
	rm -rf $(VENV) $(SAM_VENV) .venv-translator .pytest_cache .mypy_cache .ruff_cache .aws-sam
