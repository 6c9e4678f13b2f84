"""`rakuten-edge evaluate`: bundles over split_val through onnxruntime, reports in the seed's format."""

from __future__ import annotations

import json
from pathlib import Path

from . import paths
from .bundles import list_bundles
from .data.prepared import load_split
from .errors import UserError
from .reports import classification_report, confusion, report_diff, report_markdown

EVALUATIONS = Path("evaluations")


def evaluate_bundle(bundle: Path, data: Path, out: Path, runs: Path) -> dict:
    from .runtime import load

    clf = load(bundle)
    m = clf.manifest
    val = load_split(data, "val")
    # The cached pixels are the runtime's load_image output (a test holds them identical), so decoding
    # every JPEG again would change nothing but the time.
    probs = clf.run(clf.encode(val.pixels, val.texts))
    report = classification_report(val.labels, probs.argmax(1))
    folder = Path(out) / bundle.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=1))
    title = f"{m['model_key']} ({m['precision']} ONNX, {bundle.name}) — split_val, {len(val)} rows"
    (folder / "report.md").write_text(report_markdown(report, title), encoding="utf-8")
    try:
        from .plots import confusion_matrix_png

        confusion_matrix_png(confusion(val.labels, probs.argmax(1)), folder / "confusion_matrix.png", bundle.name)
    except ImportError:  # matplotlib belongs to the [train] extra; the edge install still gets the reports
        pass
    native_path = Path(runs) / m["run"] / "report.json"
    comparison = {"native_report": str(native_path) if native_path.is_file() else None}
    if native_path.is_file():
        native = json.loads(native_path.read_text())
        diff = report_diff(report, native)
        comparison.update(
            identical=not diff,
            differences=diff,
            accuracy_change=report["summary"]["accuracy"] - native["summary"]["accuracy"],
            weighted_f1_change=report["summary"]["weighted_f1"] - native["summary"]["weighted_f1"],
        )
    return {
        "bundle": str(bundle),
        "model": m["model_key"],
        "precision": m["precision"],
        "rows": len(val),
        "report_dir": str(folder),
        **report["summary"],
        "vs_native": comparison,
    }


def evaluate(
    bundles: list[Path] | None = None,
    data: Path = paths.PREPARED,
    out: Path = EVALUATIONS,
    runs: Path = paths.RUNS,
    bundles_root: Path = paths.BUNDLES,
) -> list[dict]:
    chosen = [Path(b) for b in bundles] if bundles else list_bundles(bundles_root)
    if not chosen:
        raise UserError(f"no bundle to evaluate in {bundles_root}: run `rakuten-edge export` first")
    results = [evaluate_bundle(b, Path(data), Path(out), Path(runs)) for b in chosen]
    lines = [
        "## Model comparison (ONNX on split_val)",
        "",
        "| Bundle | Model | Precision | Accuracy | Weighted F1 | vs native report |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        native = r["vs_native"]
        verdict = (
            "no native report"
            if native["native_report"] is None
            else "identical"
            if native["identical"]
            else f"{len(native['differences'])} cells differ (acc {native['accuracy_change']:+.4f}, "
            f"wF1 {native['weighted_f1_change']:+.4f})"
        )
        lines.append(
            f"| {Path(r['bundle']).name} | {r['model']} | {r['precision']} | {r['accuracy']:.4f} | "
            f"{r['weighted_f1']:.4f} | {verdict} |"
        )
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return results
