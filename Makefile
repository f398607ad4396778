# BTCUSDT 10-second-ahead prediction pipeline. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
JOBS ?= 2
# `local` (Cargo.toml): release without LTO, for make run; `release` (thin LTO) is what the images build.
PROFILE ?= local
# target/<dir> name -> cargo profile name (debug builds come from the `dev` profile)
CARGO_PROFILE := $(if $(filter debug,$(PROFILE)),dev,$(PROFILE))
VENV := .local/venv
NEXTEST := $(shell command -v cargo-nextest 2>/dev/null)
SERVICES := -p ingestor -p aggregator -p inference -p exchange-sim

.PHONY: help bootstrap build run stop status alerts watch test test-rust test-observability test-deploy lint metric-lint \
        e2e bench fuzz docs train evaluate clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "; printf "Targets:\n"} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## Install what the local stack and tests need (apt, npm, pip; idempotent)
	@bash deploy/local/bootstrap.sh

build: ## Build every crate and service (debug)
	$(CARGO) build --workspace -j$(JOBS)

run: bootstrap ## Start Redis, kinesalite, Prometheus, Alertmanager, the exchange simulator and the three services
	$(CARGO) build --profile $(CARGO_PROFILE) -j$(JOBS) $(SERVICES) -p watch
	$(if $(ARCHIVE_DIR),$(CARGO) build --profile $(CARGO_PROFILE) -j$(JOBS) -p dataset --bin archive-writer)
	@PROFILE=$(PROFILE) ARCHIVE_DIR="$(ARCHIVE_DIR)" bash deploy/local/stack.sh up all

stop: ## Stop everything `make run` started
	@bash deploy/local/stack.sh down

status: ## Show which local-stack processes are up
	@bash deploy/local/stack.sh status

alerts: ## What the local Alertmanager delivered (notification sink) and what is firing now
	@python3 tools/alerts.py

# Ports as stack.sh takes them (INFERENCE_PORT=... make watch); WATCH_ARGS adds flags (`watch --help`).
watch: ## Live view of the running stack: prediction, its outcome, accuracy, health, alerts (q quits)
	$(CARGO) build -q --profile $(CARGO_PROFILE) -j$(JOBS) -p watch
	@$${CARGO_TARGET_DIR:-target}/$(PROFILE)/watch --inference http://127.0.0.1:$${INFERENCE_PORT:-9092} \
	  --aggregator http://127.0.0.1:$${AGGREGATOR_PORT:-9091} --ingestor http://127.0.0.1:$${INGESTOR_PORT:-9090} \
	  --alertmanager http://127.0.0.1:$${AM_PORT:-9093} $(WATCH_ARGS)

# `build --tests`: the feature set nextest just built (dev-dependencies included), so the service
# binaries it placed in target/debug are reused; a plain `cargo build` resolves features without
# dev-dependencies and rebuilt ~9 minutes of crates in CI.
test: bootstrap test-observability test-deploy test-rust ## Run the whole test suite (what CI runs; e2e in its short variant)
	$(CARGO) build --workspace --tests -j$(JOBS)
	@echo "make test: first hour (tests/first_hour: make run's summary commands, notification sink, watch; ~30 s)"
	@python3 tests/first_hour/first_hour_test.py --profile debug
	@echo "make test: end-to-end suite, SHORT variant (tests/e2e/run.sh --short, ~5 min); 'make e2e' runs all of it"
	@bash tests/e2e/run.sh --short --profile debug

test-rust: ## Rust unit, property and integration tests (starts its own Redis/kinesalite on free ports)
ifdef NEXTEST
	$(CARGO) nextest run --workspace -j$(JOBS) --no-fail-fast
	@python3 tests/check_skips.py target/nextest/default/junit.xml --data ../shared/data/market
else
	$(CARGO) test --workspace -j$(JOBS) --no-fail-fast
endif

test-observability: ## promtool/amtool checks and unit tests, dashboard validation
	@bash tests/observability/run.sh

test-deploy: ## Least-privilege and hardening tests on the CloudFormation templates
	@bash tests/deploy/run.sh

metric-lint: ## Reject PromQL (rules, dashboards) naming metrics outside crates/metrics-schema
	$(CARGO) run -q -p metrics-schema -- lint --root .

lint: bootstrap metric-lint ## fmt --check, clippy -D warnings, metric lint, hadolint, cfn-lint
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -j$(JOBS) -- -D warnings
	@bash deploy/lint.sh

# e2e uses debug binaries (what `make test` builds) unless PROFILE is given explicitly.
E2E_PROFILE := $(if $(filter command line environment environment override,$(origin PROFILE)),$(PROFILE),debug)
E2E_CARGO_PROFILE := $(if $(filter debug,$(E2E_PROFILE)),dev,$(E2E_PROFILE))
# Debug: `--tests` like `make test`, so the binaries nextest built are reused instead of rebuilt.
E2E_BUILD_FLAGS := $(if $(filter dev,$(E2E_CARGO_PROFILE)),--tests,)

e2e: bootstrap ## Whole stack on one machine: replay, steady-state checks, all chaos scenarios (docs/e2e.md)
	$(CARGO) build --workspace $(E2E_BUILD_FLAGS) --profile $(E2E_CARGO_PROFILE) -j$(JOBS)
	@bash tests/e2e/run.sh --profile $(E2E_PROFILE)

# Only the bench targets (`--bench '*'`) in the `bench` profile (release without LTO, Cargo.toml):
# building the lib/bin unit-test harnesses as well would double the compile time. Criterion runs
# shortened (BENCH_ARGS); parts from an earlier run are removed so the report only shows figures
# measured now; a failing bench still gets the report of the others, and `make bench` then fails. Budget: < 15 min on 2 cores (docs/bench.md).
BENCH_ARGS ?= --warm-up-time 1 --measurement-time 3
bench: ## Criterion benches + service benches → target/bench/report.json, report.md, latency.png
	mkdir -p target/bench/parts
	rm -f target/bench/parts/*.json
	touch target/bench/.started
	rc=0; $(CARGO) bench --workspace -j$(JOBS) --no-fail-fast --bench '*' -- $(BENCH_ARGS) || rc=$$?; \
	py=$(VENV)/bin/python; [ -x $$py ] || py=python3; \
	$$py -c 'import matplotlib' 2>/dev/null || { [ -x $(VENV)/bin/pip ] && \
	  $(VENV)/bin/pip install -q --disable-pip-version-check -r deploy/local/requirements-tools.txt; } || \
	  echo "make bench: matplotlib unavailable; the report will skip the plot"; \
	$$py tools/bench_report.py target && exit $$rc

fuzz: ## Run every SBE fuzz target for FUZZ_SECONDS each (default 60; not part of make test)
	@bash fuzz/run.sh $${FUZZ_SECONDS:-60}

train: bootstrap ## Build the real-data tables, run the walk-forward protocol over the candidates, export the pick (docs/model.md)
	@bash model/train.sh

evaluate: bootstrap ## Walk-forward out-of-sample evaluation of the served model vs baselines → model/reports/
	@bash model/evaluate.sh

docs: ## Regenerate docs/metrics.md from the metric schema
	$(CARGO) run -q -p metrics-schema -- list --format markdown > docs/metrics.md

clean: stop ## Remove build output and local-stack state
	$(CARGO) clean
	rm -rf .run
