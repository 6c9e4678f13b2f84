# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv themselves.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/rakuten-edge
SETUP_STAMP := $(VENV)/.setup-done
DEMO_N ?= 3000

.PHONY: setup demo test bench clean

setup: $(SETUP_STAMP)

# torch goes first and pinned: 2.13.0 is the local CPU wheel; anything else would pull CUDA packages.
$(SETUP_STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[train,dev]'
	touch $@

demo: setup
	$(CLI) data synth --out data/raw --n $(DEMO_N) --test-n 100
	$(CLI) data prepare --raw data/raw --out data/prepared
	@echo "raw data:      data/raw  (X_train_update.csv, Y_train_CVw08PX.csv, images/)"
	@echo "prepared data: data/prepared  (split_train/, split_val/, labels.json)"

test: setup
	$(PY) -m pytest -q

bench: setup
	$(CLI) bench

clean:
	rm -rf data runs bundles models bench-results .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
