"""Rewrite README.md's Results block from bench results (run by `make bench`; never edit that block by hand)."""

import json
import sys
from pathlib import Path

from rakuten_edge.bench.report import update_readme

SECTIONS = [
    ("bench-results/untrained", "Seed-size models (random weights; CamemBERT base-size, sequence 128)"),
    ("bench-results/trained", "Trained models on generated data (make demo's runs)"),
    ("bench-results/under-load", "Token models on a shared CPU (2 busy processes beside every row, spinning off)"),
]


def main(readme: str = "README.md") -> None:
    sections = []
    for folder, title in SECTIONS:
        path = Path(folder) / "results.json"
        sections.append((title, json.loads(path.read_text()) if path.is_file() else None))  # None: kept as it was
    if all(result is None for _, result in sections):
        sys.exit("no bench results: run `make bench` first")
    update_readme(Path(readme), sections)
    used = ", ".join(f for f, _ in SECTIONS if (Path(f) / "results.json").is_file())
    print(f"{readme}: Results block rewritten from {used}")


if __name__ == "__main__":
    main(*sys.argv[1:])
