"""What every training run leaves in its folder, whatever the framework, written atomically."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from ..models.config import ModelConfig
from ..reports import classification_report, confusion, report_markdown, seed_comparison_markdown
from ..run import Run, write_json


def write_run_artifacts(
    folder: Path,
    config: ModelConfig,
    history: dict[str, list[float]],
    y_val: np.ndarray,
    val_probs: np.ndarray,
    val_productid: np.ndarray,
    data_note: str,
    extra: dict,
) -> dict:
    """History, curves, seed-format report, confusion matrix, validation probabilities, seed comparison."""
    from ..plots import confusion_matrix_png, training_curves

    key, run = config.key, Run(folder)
    run.write_config(config)
    write_json(folder / "history.json", history)
    with open(folder / "history.csv", "w", newline="") as f:
        writer = csv.writer(f)
        keys = list(history)
        writer.writerow(["epoch", *keys])
        for e in range(len(history.get("loss", []))):
            writer.writerow([e + 1, *(history[k][e] if e < len(history[k]) else "" for k in keys)])
    training_curves(history, folder / "curves.png", f"{key} ({config.preset} preset)")

    y_pred = val_probs.argmax(1)
    report = classification_report(y_val, y_pred, config.num_classes)
    write_json(run.report_path, report)
    title = f"{key} — classification report on split_val ({len(y_val)} rows)"
    (folder / "report.md").write_text(report_markdown(report, title), encoding="utf-8")
    confusion_matrix_png(confusion(y_val, y_pred, config.num_classes), folder / "confusion_matrix.png", key)
    (folder / "comparison.md").write_text(seed_comparison_markdown(key, report, data_note), encoding="utf-8")
    # Probabilities keyed by productid: the export's parity checks and `evaluate` compare against them.
    np.savez_compressed(run.val_probs_path, probs=val_probs.astype(np.float32), productid=val_productid, labels=y_val)
    metrics = {
        "key": key,
        "preset": config.preset,
        "data": data_note,
        **report["summary"],
        **extra,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    run.write_metrics(metrics)
    return metrics
