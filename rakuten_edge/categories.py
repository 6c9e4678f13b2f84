"""The 27 prdtypecodes of the challenge: label index = rank of the sorted code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Category:
    index: int
    prdtypecode: int
    name_fr: str
    name_en: str
    train_count: int


@lru_cache(maxsize=1)
def categories() -> tuple[Category, ...]:
    raw = json.loads(resources.files("rakuten_edge.resources").joinpath("categories.json").read_text("utf-8"))
    cats = tuple(
        Category(c["index"], c["prdtypecode"], c["name_fr"], c["name_en"], c["train_count"]) for c in raw["classes"]
    )
    assert [c.prdtypecode for c in cats] == sorted(c.prdtypecode for c in cats), "codes must be sorted"
    return cats


def code_to_index() -> dict[int, int]:
    return {c.prdtypecode: c.index for c in categories()}


def labels_table() -> list[dict]:
    """The label file's rows (also the bundle manifest's labels)."""
    return [
        {"index": c.index, "prdtypecode": c.prdtypecode, "name_fr": c.name_fr, "name_en": c.name_en}
        for c in categories()
    ]


@lru_cache(maxsize=1)
def seed_reports() -> dict:
    text = resources.files("rakuten_edge.resources").joinpath("seed_reports.json").read_text("utf-8")
    return json.loads(text)
