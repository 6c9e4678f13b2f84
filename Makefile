# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv themselves.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CLI := $(VENV)/bin/rakuten-edge
SETUP_STAMP := $(VENV)/.setup-done
# 7,500 products (6,000 training rows). The demo trains the sixth model, ngram, on 64 px images for 5 epochs: the
# seed's cnn3 (128 px, 10 epochs) took 10 min 19 s on an AMD EPYC with avx512_bf16 but would take about 50 on one
# without AVX-512 (21 samples/s), where ngram at 64 px runs 118 samples/s and reached 0.8247 validation accuracy
# after 5 epochs (0.8140 after 4; cnn3 after 10: 0.7433). With ngram's linear preset (2026-12-01, no hidden layer,
# Adam 3e-3: +1.9 points over TF-IDF on real text) the same 5 epochs gave 0.8173 (benchmarks/README, "Real text").
# With three bags (2026-12-02): 0.8087, the whole demo 13 min 49 s from a fresh clone on the AMD EPYC without AVX-512.
# With 262,144 buckets x 32 columns (2026-12-02): 0.7820, 8 min 56 s on the AMD EPYC with AVX-512 (README).
DEMO_N ?= 7500
DEMO_IMAGE_SIZE ?= 64

.PHONY: setup demo test test-fast test-web web-tools fuzz lint bench clean

setup: $(SETUP_STAMP)

# torch goes first and pinned: 2.13.0 is the local CPU wheel; anything else would pull CUDA packages.
$(SETUP_STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[train,scale,serve,serve-ray,dev,openvino]'
	# onnxruntime-web, pinned by web/package-lock.json: `rakuten-edge web` copies its wasm runtime from here.
	npm ci --prefix web --no-audit --no-fund --silent
	touch $@

demo: setup
	test -f data/raw/X_train_update.csv || $(CLI) data synth --out data/raw --n $(DEMO_N) --test-n 100
	$(CLI) data prepare --raw data/raw --out data/prepared --image-size $(DEMO_IMAGE_SIZE)
	$(CLI) train ngram --image-size $(DEMO_IMAGE_SIZE) --epochs 5
	# cnn1-3 and the CamemBERT models train the same way (README: `train cnn3 --image-size 64`, or 128 px data).
	cat runs/ngram/report.md
	$(CLI) export ngram --quantize
	$(CLI) evaluate bundles/ngram-*
	$(PY) scripts/demo_predict.py
	@echo
	@echo "raw data: data/raw | prepared: data/prepared | runs: runs/ | bundles: bundles/ | reports: evaluations/"

# CI's command: lint, then the whole suite. A ruff finding fails it like a failing test. Two pytest-xdist workers
# share the generated data and the six tiny models, each made once by the first worker that needs it
# (tests/conftest.py).
test: setup lint
	$(PY) -m pytest -q -n 2 --dist loadgroup

# Debian's chromium and chromium-driver for the page's test (tests/test_web.py skips, saying so, without them).
# Kept out of `make test` (it needs root and apt); .ci/run calls it before `make test`.
web-tools:
	test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

test-web: setup web-tools
	$(PY) -m pytest -q tests/test_web.py

# The inner loop: everything that needs no trained model (about a minute on 2 cores).
test-fast: setup lint
	$(PY) -m pytest -q -m "not slow"

# Fuzzing: 10,000 examples per property (make test runs the same properties with a small profile).
fuzz: setup
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz.py

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The published tables: seed-size models (random weights) and the demo's trained runs, then README.md.
bench: setup
	$(CLI) bench --untrained --out bench-results/untrained
	test ! -d runs || $(CLI) bench --out bench-results/trained
	# A shared CPU: one busy process per core beside every row (catalogue decoding, other jobs); see benchmarks/README.
	$(CLI) bench --untrained cnn1 cnn2 cnn3 --load 2 --no-spin --out bench-results/under-load
	$(PY) benchmarks/update_readme.py README.md

clean:
	rm -rf data runs bundles models bench-results site .pytest_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
