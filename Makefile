# lab10 tracing kit. `make demo` to see it work, `make test` to prove it.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(HOME)/.docker/cli-plugins:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
PYTEST := $(BIN)/pytest

.PHONY: help setup testbed lint unit integration molecule test demo down docs bench lock clean
.DEFAULT_GOAL := demo

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## .venv from requirements.txt + collections of requirements.yml
	@bash scripts/setup.sh

testbed: setup ## Docker engine, compose plugin, Jaeger/lab-VM/app-base images -> .testbed/images.env
	@$(BIN)/python scripts/testbed.py

lint: setup ## yamllint, ansible-lint (production), ruff
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production

unit: testbed ## unit tests, and the role run for real on files (needs the compose plugin)
	$(PYTEST) tests/unit tests/role

integration: testbed ## tests against the test bed's real Docker, Jaeger and lab-VM image
	$(PYTEST) tests/integration

molecule: testbed ## every molecule scenario
	bash scripts/molecule.sh test

test: testbed lint unit integration molecule ## everything CI runs

docs: setup ## regenerate README tables: variables (meta/argument_specs.yml), troubleshooting (doctor vocabulary)
	$(BIN)/python scripts/gen_readme_vars.py
	$(BIN)/python scripts/gen_readme_verdicts.py

bench: testbed ## benchmark scripts (print numbers)
	$(BIN)/python benchmarks/bench_jaeger_trace_bulk.py
	$(BIN)/python benchmarks/bench_class_grade.py

demo: testbed ## Jaeger + one provisioned lab VM, a few requests, and the trace they left
	@bash scripts/demo.sh up

down: ## remove what `make demo` started
	@bash scripts/demo.sh down

lock: ## re-pin requirements.txt from requirements.in
	bash scripts/lock.sh

clean: down ## remove the venv, collections and test-bed state (images stay)
	rm -rf $(VENV) collections .testbed
