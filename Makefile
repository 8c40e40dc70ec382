# APhoS: two commands on a fresh machine.
#   make demo   set up .venv, start the embedded catalogue, load the demo data once, show it
#   make test   set up .venv and run the whole test suite
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test venv lint format bench stop clean

venv:
	@scripts/ensure-venv

demo: venv
	@$(VENV)/bin/aphos demo

test: venv lint
	@$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	@$(VENV)/bin/ruff check aphos_lib tests bench

format: venv
	@$(VENV)/bin/ruff format aphos_lib tests bench
	@$(VENV)/bin/ruff check --fix aphos_lib tests bench

bench: venv
	@$(PY) bench/ingest.py

stop:
	@$(VENV)/bin/aphos db stop

clean: stop
	rm -rf var
