# relance: two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install system demo test up worker check bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "relance needs Python 3.11, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

## Run the sample ledger through the real workflows on the time-skipping Temporal server.
demo: install
	$(BIN)/relance demo

## Debian packages the suite needs (tools/system-packages.txt), installed when missing.
system:
	bash tools/system-packages.sh

## The whole suite (unit, lifecycle on the time-skipping server, visibility and CLI on the dev server).
test: install system
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

## Temporal dev server (SQLite under var/, Web UI on :8233), SMTP sink (var/outbox/), a worker and the ops console
## (http://127.0.0.1:8080; make up UP_ARGS="--console-port 8090"). Ctrl-C stops it.
up: install
	$(BIN)/relance up $(UP_ARGS)

## Only a worker, against TEMPORAL_ADDRESS (a cluster or Temporal Cloud).
worker: install
	$(BIN)/relance worker

## Validate the rule files.
check: install
	$(BIN)/relance rules check

## Cost per case against a bare Temporal workflow: table on stdout, figures in bench/results.json. Starts with the
## time from an import's first start to every case asleep at 2,000 and 20,000 invoices (--big adds 50,000; long on
## 2 cores: --only asleep,ingest,... picks measurements). Sizes and repeats are flags, e.g.
## make bench BENCH_ARGS="--only asleep --asleep-sizes 2000,5000" or BENCH_ARGS="--invoices 100000 --lifecycles 10000".
## Then a customer with 50 invoices, grouped and per invoice (emails and history events per customer,
## bench/results-accounts.json; ACCOUNTS_ARGS="--invoices 200"; ACCOUNTS_ARGS=skip leaves it out).
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)
	@if [ "$(ACCOUNTS_ARGS)" != "skip" ]; then $(BIN)/python -m bench.accounts $(ACCOUNTS_ARGS); fi

## Fault injection on real processes (dev server, SMTP sink, workers; issue 13's table): kills, pauses, an SMTP
## outage; a table of messages expected, received, duplicated, missing and the time to recover (~11 min at 300
## cases). Exit 1 on any loss or duplicate. Smaller: make chaos CHAOS_ARGS="--cases 50 --only worker-kill pg-pause"
.PHONY: chaos
chaos: install system
	$(BIN)/python -m chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
