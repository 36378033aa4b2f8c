# Modelbay — the two commands a user needs are `make demo` and `make test`.
# Every target does its own set-up; re-running is safe and fast.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(CURDIR)/.tools/bin/uv
RUN := $(UV) run --frozen
PYTEST := $(RUN) pytest

.PHONY: help setup services-up services-down check test test-long test-corpus-long test-fast test-unit test-integration test-e2e test-chaos fuzz demo bench-serve bench-pipeline bench-catalog compose-up compose-down dist

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

setup: ## install system packages, uv and the Python workspace (idempotent)
	@bash scripts/bootstrap.sh

dist: ## wheels of the SDK and the runtime in dist/ (pip install dist/modelbay-*.whl dist/modelbay_runtime-*.whl on Python 3.10-3.13)
	@rm -f dist/modelbay-*.whl dist/modelbay_runtime-*.whl
	$(UV) build --wheel --out-dir dist libs/runtime
	$(UV) build --wheel --out-dir dist libs/sdk

services-up: setup ## start Postgres, RabbitMQ, Docker, registry, S3 (moto) and the base image
	@bash scripts/services-up.sh

services-down: ## stop only the services that scripts/services-up.sh started
	@bash scripts/services-down.sh

check: setup ## ruff (lint + format) and mypy --strict
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

test-unit: setup ## unit tier: no I/O beyond temp files
	$(PYTEST) tests/unit -q

test-integration: services-up ## integration tier: real Postgres, RabbitMQ, S3, Docker, registry
	$(PYTEST) tests/integration -q

test-e2e: services-up ## end-to-end tier: public API and real docker run
	$(PYTEST) tests/e2e -q

test-chaos: services-up ## fault suite, long form: the issue's 20 pushes while every process is killed once and the broker and database restart
	MODELBAY_CHAOS_PUSHES=20 $(PYTEST) tests/chaos -q -s

fuzz: services-up ## abuse suite, long form: schemathesis with 100 cases per operation and mode against the gateway and a model server
	MODELBAY_FUZZ_EXAMPLES=100 $(PYTEST) tests/e2e/test_fuzz_gateway.py tests/integration/test_runtime_fuzz.py -q -s

test: setup services-up check ## every tier, after all set-up (the long forms marked `long` run in test-long)
	$(PYTEST) tests -q -m "not long" --durations=30

test-long: services-up ## the long forms left out of make test: the daemonless buildah backend's real builds, the corpus on 3.13, a pre-built image pushed by registry reference
	$(PYTEST) tests -q -m long

test-corpus-long: services-up ## the first-try corpus through built images, every model on Python 3.11 and 3.13
	$(PYTEST) tests/e2e/test_corpus.py -q

test-fast: services-up ## every tier without the tests marked slow or long (venv and image builds)
	$(PYTEST) tests -q -m "not slow and not long"

demo: services-up ## run the main job on the embedded default
	@bash scripts/demo.sh

bench-serve: setup ## serving benchmark against MLflow, BentoML, MLServer and a FastAPI floor (bench/serve)
	@bash bench/serve/run.sh

bench-pipeline: services-up ## push→ready benchmark, cold and warm, embedded and stack (bench/pipeline)
	@bash bench/pipeline/run.sh

bench-catalog: services-up ## search at 100,000 models through the gateway, 8 clients; query plans (bench/catalog)
	@bash bench/catalog/run.sh

compose-up: services-up ## the docker-compose stack with local stand-ins (docs/deploy.md); settings in var/compose/compose.env
	@bash scripts/compose/up-local.sh

compose-down: ## stop what compose-up started and delete its volumes
	@bash scripts/compose/compose.sh --env-file var/compose/compose.env -p modelbay-local \
		-f deploy/docker-compose.yml -f deploy/docker-compose.local.yml down -v
