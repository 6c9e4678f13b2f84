"""Where things go when no path is given: under the working directory, as `make demo` lays them out."""

from pathlib import Path

RAW = Path("data/raw")
PREPARED = Path("data/prepared")
RUNS = Path("runs")
BUNDLES = Path("bundles")
CAMEMBERT_TINY = Path("models/camembert-tiny")
CACHE = Path("data/cache")
