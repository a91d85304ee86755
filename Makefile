# Customer workflow — every command a developer needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup run test test-fast lint typecheck bench openapi build deploy clean

help: ## List the commands
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install everything (run by the other targets)

run: $(STAMP) ## Start the local stack: AWS emulator on :4566, API on :3000, staff console on :3000/console/, demo data (Ctrl-C stops)
	$(BIN)/crm serve

test: $(STAMP) ## Run the whole suite: lint, types, unit, integration (moto), template, end-to-end
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

test-fast: $(STAMP) ## Unit and integration tests only
	$(BIN)/pytest -m "not e2e"

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

typecheck: $(STAMP) ## mypy (strict) on the layer and the local stack
	$(BIN)/mypy

bench: $(STAMP) ## Benchmarks: cold start, items read per search
	$(BIN)/python bench/run.py

openapi: $(STAMP) ## Write the API's OpenAPI document to openapi.json
	$(BIN)/crm openapi > openapi.json

build: ## sam build (needs the AWS SAM CLI)
	sam build

deploy: build ## sam deploy --guided (needs an AWS account)
	sam deploy --guided

clean: ## Remove .venv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam
