# APhoS: two commands on a fresh machine.
#   make demo   set up .venv and the proxy, start the embedded catalogue, load the demo data
#               once, then run the hub and its services in the foreground (Ctrl-C stops all)
#   make test   set up .venv and run the whole test suite
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test venv proxy browser lint format bench bench-queries stop clean

venv:
	@scripts/ensure-venv

# The hub's proxy: the npm configurable-http-proxy, installed under hub_config/proxy.
proxy:
	@scripts/ensure-proxy

# Debian's chromium for the dashboard tests (installed with apt when missing and run as root).
browser:
	@scripts/ensure-browser

demo: venv proxy
	@$(VENV)/bin/aphos demo

test: venv proxy browser lint
	@scripts/run-tests $(PYTEST_ARGS)

lint: venv
	@$(VENV)/bin/ruff check aphos_lib tests bench hub_config
	@$(VENV)/bin/ruff format --check aphos_lib tests bench hub_config

format: venv
	@$(VENV)/bin/ruff format aphos_lib tests bench hub_config
	@$(VENV)/bin/ruff check --fix aphos_lib tests bench hub_config

bench: venv
	@$(PY) bench/ingest.py

bench-queries: venv
	@$(PY) bench/queries.py $(BENCH_ARGS)

stop:
	@$(VENV)/bin/aphos db stop

clean: stop
	rm -rf var
