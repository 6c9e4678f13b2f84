"""Classification reports in the seed's format, computed with numpy alone (the evaluate command needs no
scikit-learn); tests check them against scikit-learn."""

from __future__ import annotations

import numpy as np

from .categories import categories, seed_reports

SUMMARY_KEYS = (
    "accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "weighted_precision",
    "weighted_recall",
    "weighted_f1",
)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = 27) -> np.ndarray:
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = 27) -> dict:
    """Per class precision/recall/f1/support and the summary, rounded to 4 decimals like the seed.

    Classes absent from both truth and predictions are reported with support 0 and zeros (scikit-learn's
    zero_division=0), and count in the macro averages over the 27 classes.
    """
    cm = confusion(y_true, y_pred, num_classes)
    tp = np.diag(cm).astype(float)
    support, predicted = cm.sum(1).astype(float), cm.sum(0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    total = support.sum()
    weights = support / total if total else support
    per_class = {
        str(i): {
            "precision": round(float(precision[i]), 4),
            "recall": round(float(recall[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(support[i]),
        }
        for i in range(num_classes)
    }
    summary = {
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "weighted_precision": float((precision * weights).sum()),
        "weighted_recall": float((recall * weights).sum()),
        "weighted_f1": float((f1 * weights).sum()),
    }
    return {"per_class": per_class, "summary": {k: round(v, 4) for k, v in summary.items()}}


def report_markdown(report: dict, title: str) -> str:
    names = {c.index: f"{c.prdtypecode} {c.name_en}" for c in categories()}
    lines = [
        f"## {title}",
        "",
        "| Class | Category | Precision | Recall | F1-score | Support |",
        "|---|---|---|---|---|---|",
    ]
    for i, row in report["per_class"].items():
        lines.append(
            f"| {i} | {names.get(int(i), '')} | {row['precision']:.4f} | {row['recall']:.4f} | "
            f"{row['f1']:.4f} | {row['support']} |"
        )
    s = report["summary"]
    lines += ["", "| Metric | Value |", "|---|---|", f"| Accuracy | {s['accuracy']:.4f} |"]
    for kind in ("macro", "weighted"):
        for metric, label in (("precision", "Precision"), ("recall", "Recall"), ("f1", "F1-score")):
            lines.append(f"| {kind.capitalize()} avg {label} | {s[f'{kind}_{metric}']:.4f} |")
    return "\n".join(lines) + "\n"


def seed_comparison_markdown(key: str, report: dict, data_note: str) -> str:
    """This run beside the seed's published numbers for the same model."""
    seed = seed_reports().get(key)
    lines = [
        f"## {key}: this run vs the seed",
        "",
        f"This run: {data_note}.",
        "Seed: the original write-up, trained on the real challenge data (validation 16,984 rows).",
        "",
        "| Metric | This run | Seed | Δ |",
        "|---|---|---|---|",
    ]
    for k in SUMMARY_KEYS:
        ours = report["summary"][k]
        theirs = seed["summary"][k] if seed else None
        seed_cells = f"{theirs:.4f} | {ours - theirs:+.4f}" if theirs is not None else "— | —"
        lines.append(f"| {k} | {ours:.4f} | {seed_cells} |")
    return "\n".join(lines) + "\n"


def report_diff(a: dict, b: dict) -> list[str]:
    """Every cell that differs between two reports (empty when identical)."""
    diffs = [
        f"class {i} {m}: {a['per_class'][i][m]} vs {b['per_class'][i][m]}"
        for i in a["per_class"]
        for m in ("precision", "recall", "f1", "support")
        if a["per_class"][i][m] != b["per_class"][i][m]
    ]
    diffs += [
        f"{k}: {a['summary'][k]} vs {b['summary'][k]}" for k in SUMMARY_KEYS if a["summary"][k] != b["summary"][k]
    ]
    return diffs
