"""What the commands print as tables (rich), kept apart so cli.py stays a list of thin commands."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from .choices import Precision


def echo_json(obj) -> None:
    """A command's result on stdout as JSON (progress and notes go to stderr)."""
    typer.echo(json.dumps(obj, indent=1, ensure_ascii=False, default=str))


def prediction_table(result: dict) -> None:
    table = Table(title=f"{result['bundle']} ({result['provider']})")
    for col in ("rank", "prdtypecode", "category", "probability"):
        table.add_column(col, justify="right" if col in ("rank", "probability") else "left")
    for rank, cand in enumerate(result["top_k"], start=1):
        table.add_row(str(rank), str(cand["prdtypecode"]), cand["category"], f"{cand['probability']:.4f}")
    Console().print(table)


def _verdict(native: dict) -> str:
    if native["native_report"] is None:
        return "no native report"
    if native["identical"]:
        return "[green]identical[/]"
    return f"[yellow]{len(native['differences'])} cells differ[/] (wF1 {native['weighted_f1_change']:+.4f})"


def evaluation_table(results: list[dict]) -> None:
    console = Console()
    table = Table(title="Model comparison (ONNX, split_val)")
    for col in ("bundle", "model", "precision", "accuracy", "weighted F1", "vs native report"):
        table.add_column(col)
    for r in results:
        name = Path(r["bundle"]).name
        table.add_row(
            name,
            r["model"],
            r["precision"],
            f"{r['accuracy']:.4f}",
            f"{r['weighted_f1']:.4f}",
            _verdict(r["vs_native"]),
        )
    console.print(table)
    for r in results:
        if not Precision(r["precision"]).lossy and r["vs_native"].get("differences"):
            diffs = "; ".join(r["vs_native"]["differences"][:10])
            console.print(f"{Path(r['bundle']).name} differs from its native report: {diffs}", markup=False)
