# partita: two commands do all the set-up on a fresh machine.
#   make demo   the main job, files under out/
#   make test   the default (fast) test suite
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: bootstrap demo test test-all lint bench clean

bootstrap:
	@scripts/bootstrap.sh

demo: bootstrap
	@$(PY) scripts/demo.py

test: bootstrap
	$(PY) -m pytest -q -n 2 --durations=10

test-all: bootstrap
	$(PY) -m pytest -q -n 2 -m "slow or not slow" --durations=20

lint: bootstrap
	$(VENV)/bin/ruff check partita tests benchmarks scripts

bench: bootstrap
	$(PY) -m benchmarks.run

clean:
	rm -rf out .pytest_cache
