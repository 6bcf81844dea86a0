# lab10 tracing kit. `make demo` to see it work, `make test` to prove it.
SHELL := /bin/bash
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(HOME)/.docker/cli-plugins:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
PYTEST := $(BIN)/pytest
# The Python that creates the venv (>= requires-python of pyproject.toml): `make setup PYTHON=python3.12`.
PYTHON ?= python3

.PHONY: help setup testbed lint sanity unit cli integration molecule test demo down docs bench lock clean
.DEFAULT_GOAL := demo

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## .venv from requirements.txt + collections of requirements.yml (PYTHON=python3.X to pick the Python)
	@PYTHON="$(PYTHON)" bash scripts/setup.sh

testbed: setup ## Docker engine, compose plugin, Jaeger/lab-VM/app-base images -> .testbed/images.env
	@$(BIN)/python scripts/testbed.py

lint: setup ## yamllint, ruff, ansible-lint (production), ansible-test sanity
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint --profile production
	$(BIN)/python scripts/sanity.py

sanity: setup ## ansible-test sanity on a collection tree linked from this repo (no Docker)
	$(BIN)/python scripts/sanity.py

unit: setup ## every test that needs no Docker (no test bed either), on both cores
	$(PYTEST) -n auto --dist loadscope tests/unit

cli: setup ## tests that start Ansible's CLIs (ansible-playbook, ansible-inventory, bin/lab10) but no container
	$(PYTEST) -n auto --dist loadscope tests/cli

integration: testbed ## the role run for real on files (compose CLI), the test bed's Docker, Jaeger and lab VM
	$(PYTEST) tests/role tests/integration

molecule: testbed ## every molecule scenario
	bash scripts/molecule.sh test

test: testbed lint unit cli integration molecule ## everything CI runs

docs: setup ## regenerate README tables: variables (meta/argument_specs.yml), troubleshooting (doctor vocabulary); the sample class report (docs/sample-report)
	$(BIN)/python scripts/gen_readme_vars.py
	$(BIN)/python scripts/gen_readme_verdicts.py
	$(BIN)/python scripts/gen_sample_report.py

# Each script may write figures to $$LAB10_BENCH_JSON; benchmarks/run.py prints one table of them all.
BENCHMARKS := benchmarks/bench_stack.py benchmarks/bench_jaeger_trace_bulk.py benchmarks/bench_class_grade.py \
	benchmarks/bench_class_ssh.py
bench: testbed ## benchmarks, minutes (run under flock /tmp/lab10-docker.lock): one table, JSON in benchmarks/results/
	$(BIN)/python benchmarks/run.py $(BENCHMARKS)

demo: testbed ## Jaeger + one provisioned lab VM, a few requests, and the trace they left
	@bash scripts/demo.sh up

down: ## remove what `make demo` started
	@bash scripts/demo.sh down

lock: ## re-pin requirements.txt from requirements.in
	bash scripts/lock.sh

clean: down ## remove the venv, collections and test-bed state (images stay)
	rm -rf $(VENV) collections .testbed
