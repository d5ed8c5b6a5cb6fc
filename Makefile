# The two first commands of a new user: `make run` and `make test`. Both build .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
RUN_ARGS ?=
BENCH_ARGS ?=

.PHONY: install run test lint pytest format bench bench-driver bench-compute bench-stats bench-load bench-dashboard bench-add-checks bench-storm bench-fleet bench-queue clean

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-test.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## The service on its embedded default (SQLite file under data/), seeded from data/urls.csv,
## on http://127.0.0.1:8000 (docs at /docs). Set DB_ADDRESS / CACHE_ADDRESS for MySQL / Redis;
## RUN_ARGS passes options on, e.g. make run RUN_ARGS="--port 8080 --data-path my.csv".
run: $(STAMP)
	$(BIN)/service-monitor serve $(RUN_ARGS)

## Lint, types and the whole suite. REQUIRE_SERVICES=1 turns "MariaDB/Redis unreachable" from a
## skip into a failure (CI sets it).
test: lint pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

## Benchmarks print their figures; none of them asserts a time. BENCH_ARGS passes options on,
## e.g. make bench-compute BENCH_ARGS=--big (adds 100,000 URLs: about 10 minutes more),
## make bench-stats BENCH_ARGS=--quick (every step on tiny data sets, about a minute).
## make bench-load: wrk on the API (2 workers) for 60 s, cached and uncached statistics and POSTs,
## with compute cycles at the same time (BENCH_ARGS=--quick: 15 s on 1,000 URLs, about a minute).
## Like bench-stats it needs wrk (apt-get install -y wrk) and MariaDB + Redis on 127.0.0.1.
bench: bench-driver bench-add-checks bench-compute bench-storm bench-fleet bench-queue bench-stats bench-load bench-dashboard

bench-driver: $(STAMP)
	$(BIN)/python bench/bench_mysql_driver.py

## make bench-add-checks: the store's insert rate for a cycle's checks (CheckStore.add_checks), both
## backends; BENCH_ARGS="--backend mysql --checks 100000" for one.
bench-add-checks: $(STAMP)
	$(BIN)/python bench/bench_add_checks.py $(BENCH_ARGS)

## make bench-compute BENCH_ARGS="--alerting --mix default": also the cycle with alerting on (a default
## channel and `service-monitor dispatch` running, every failure a transition), with its ratio.
bench-compute: $(STAMP)
	$(BIN)/python bench/bench_compute.py $(BENCH_ARGS)

## make bench-storm: 10,000 monitors flip to down at once with the dispatcher running: the time to the
## storm message, the messages received (one per default channel), and the extra add_checks time.
bench-storm: $(STAMP)
	$(BIN)/python bench/bench_storm.py $(BENCH_ARGS)

## make bench-fleet: the fleet (issue 17) on MariaDB + Redis: probes/s of 1 and 2 `service-monitor
## worker` processes on the target farm, the worker's CPU per probe against the whole-list cycle,
## and planning 1,000,000 monitors with simulated workers (BENCH_ARGS=--quick: small, a few minutes;
## --size N for the planning part).
bench-fleet: $(STAMP)
	$(BIN)/python bench/bench_fleet.py $(BENCH_ARGS)

bench-stats: $(STAMP)
	$(BIN)/python bench/bench_stats.py $(BENCH_ARGS)

bench-load: $(STAMP)
	$(BIN)/python bench/bench_load.py $(BENCH_ARGS)

## make bench-dashboard: the dashboard's first load in Chromium (medians of cold loads) at 100 and
## 10,000 monitors with 30 days of checks, on MariaDB + Redis and on the embedded store.
bench-dashboard: $(STAMP)
	$(BIN)/python bench/bench_dashboard.py $(BENCH_ARGS)

## make bench-queue: the fleet's shard queue (RedisShardQueue) against taskiq-redis's RedisStreamBroker
## and a list queue on the Redis at 127.0.0.1:6379 (keys bench-queue:*, removed after): 10,000 shards
## published then consumed by 1 and 4 consumers, medians of 3 runs, about 12 minutes
## (BENCH_ARGS=--quick: 1,000 shards, one run, about a minute). Written up in docs/fleet-queue-choice.md.
bench-queue: $(STAMP)
	$(BIN)/python bench/bench_queue.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build src/*.egg-info
