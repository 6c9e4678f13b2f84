"""Bench outputs: a rich table, JSON, CSV, Markdown, a PNG chart, and the README's Results section."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ..choices import Precision
from ..progress import console
from ..tables.formats import FORMATS, bundle_format

HEADERS = [
    "model",
    "format",
    "status",
    "size MB",
    "accuracy",
    "wF1",
    "p50 ms",
    "p95 ms",
    "items/s @N",
    "cold start s",
    "peak MB",
    "× native",
]
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def _fmt(value, digits=2):
    if value is None or value == "":
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _cells(r: dict, width: int | None = None) -> list[str]:
    status = r["status"] + (f" {r['reason']}" if r.get("reason") and r["status"] != "✅" else "")
    if width and len(status) > width:
        status = status[: width - 1] + "…"
    return [
        r["model"],
        r["format"],
        status,
        _fmt(r.get("size_mb")),
        _fmt(r.get("accuracy"), 4),
        _fmt(r.get("weighted_f1"), 4),
        _fmt(r.get("p50_ms"), 3),
        _fmt(r.get("p95_ms"), 3),
        _fmt(r.get("throughput_per_s"), 0),
        _fmt(r.get("cold_start_s")),
        _fmt(r.get("peak_memory_mb"), 0),
        _fmt(r.get("speedup_vs_native")),
    ]


def header_line(result: dict) -> str:
    m = result["machine"]
    return (
        f"{result['date']} — {m['cpu']}, {m['cores']} cores ({', '.join(m['flags']) or 'no SIMD flags read'}), "
        f"{m['memory_gib']} GiB; {result['threads']} threads, provider {result['provider']}; latency at batch 1 "
        f"(median and p95 of {result['repeats']} runs after warm-up), throughput at batch {result['batch_sizes'][1]}"
        + ("; seed-size models with random weights (accuracy not applicable)" if result["untrained"] else "")
        + (f"; under load: {result['load']} busy processes beside each row" if result.get("load") else "")
        + ("; onnxruntime spinning off" if result.get("spin") is False else "")
    )


def markdown(result: dict) -> str:
    n = result["batch_sizes"][1]
    headers = [h.replace("@N", f"@{n}") for h in HEADERS]
    lines = [header_line(result), "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in result["rows"]]
    return "\n".join(lines) + "\n"


def physical_markdown(result: dict) -> str:
    limit = result.get("physical_limit") or {}
    if not limit:
        return ""
    peaks = limit["peak_gflops"]
    lines = [
        f"Achievable GEMM rate through onnxruntime ({result['threads']} threads, 1024³ MatMul): "
        f"fp32 {peaks['fp32']:.0f} GFLOP/s, int8 {peaks['int8']:.0f} GFLOP/s (dynamic quantization, best of "
        "QUInt8/QInt8)"
        + (
            f"; bf16 {peaks['bf16']:.0f} GFLOP/s on {peaks['bf16_engine']} (bf16 rows are held to it)"
            if "bf16" in peaks
            else ""
        )
        + ". FLOPs counted from each fp32 graph (Conv, MatMul, Gemm, LSTM).",
        "",
        "| model | format | GFLOP/item | GFLOP/s batch 1 | % of peak | GFLOP/s batch N | % of peak |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in limit["rows"]:
        bn = f"{r['gflops_batchN']:.1f} | {100 * r['efficiency_batchN']:.1f}%" if r["gflops_batchN"] else "— | —"
        lines.append(
            f"| {r['model']} | {r['format']} | {r['gflop_per_item']:.3f} | {r['gflops_batch1']:.1f} | "
            f"{100 * r['efficiency_batch1']:.1f}% | {bn} |"
        )
    return "\n".join(lines) + "\n"


def _row(result: dict, model: str, fmt: str) -> dict | None:
    match = [r for r in result["rows"] if r["model"] == model and r["format"] == fmt and r.get("p50_ms")]
    return match[0] if match else None


def _measure(target, rows: dict[str, dict | None], result: dict, model: str) -> tuple[str, bool] | None:
    """(measured text, met) for one declared target, or None when its rows are missing."""
    from ..models.targets import Check

    native, fp32, int8 = rows["reference"], rows[Precision.fp32], rows[Precision.int8]
    if target.check == Check.int8_speedup:
        speedup = native["p50_ms"] / int8["p50_ms"]
        return f"{speedup:.2f}×", speedup >= target.threshold
    if target.check == Check.int8_vs_peer:
        peer = _row(result, model, target.peer)
        if not peer:
            return None
        return f"{int8['p50_ms']:.3f} vs {peer['p50_ms']:.3f} ms", int8["p50_ms"] <= peer["p50_ms"]
    if target.check == Check.int8_size and fp32 and fp32.get("size_mb") and int8.get("size_mb"):
        ratio = fp32["size_mb"] / int8["size_mb"]
        return f"1/{ratio:.2f}", ratio >= target.threshold
    if target.check == Check.f1_drop and fp32 and None not in (fp32.get("weighted_f1"), int8.get("weighted_f1")):
        drop = fp32["weighted_f1"] - int8["weighted_f1"]
        measured = f"{100 * drop:.2f} points lost" if drop > 0 else f"{-100 * drop:.2f} points gained"
        return measured, drop <= target.threshold
    if target.check == Check.cold_start and fp32:
        cold = min(fp32["cold_start_s"], int8["cold_start_s"])
        return f"{cold:.2f} s", cold <= target.threshold
    return None


def _roles() -> dict:
    """The rows a target compares, by role: the reference format (native) and the bundle format of each precision."""
    reference = next(f.name for f in FORMATS.values() if f.reference)
    return {"reference": reference, **{p: bundle_format(p).name for p in Precision}}


def targets(result: dict) -> list[dict]:
    """The targets each model declares on its registry entry, checked against this run's rows (batch 1)."""
    from ..models.registry import REGISTRY

    checks = []
    for model, key in dict.fromkeys((r["model"], r.get("key")) for r in result["rows"]):
        rows = {role: _row(result, model, name) for role, name in _roles().items()}
        if key not in REGISTRY or not (rows["reference"] and rows[Precision.int8]):
            continue
        fp32_mb = (rows[Precision.fp32] or {}).get("size_mb") or 0
        for target in REGISTRY[key].targets:
            if fp32_mb < target.min_fp32_mb:
                continue
            measured = _measure(target, rows, result, model)
            if measured:
                checks.append({"model": model, "target": target.text, "measured": measured[0], "met": measured[1]})
    return checks


def targets_markdown(result: dict) -> str:
    rows = targets(result)
    if not rows:
        return ""
    lines = ["| model | target | measured | met |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['target']} | {r['measured']} | {'✅' if r['met'] else '❌ missed'} |")
    return "\n".join(lines) + "\n"


def write_outputs(result: dict, out: Path) -> None:
    from rich.table import Table

    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(result["rows"][0]) if result["rows"] else ["model"])
        writer.writeheader()
        writer.writerows(result["rows"])
    (out / "results.md").write_text(markdown(result), encoding="utf-8")
    (out / "physical_limit.md").write_text(
        physical_markdown(result) or "no fp32 bundle: nothing to count\n", encoding="utf-8"
    )
    (out / "targets.md").write_text(targets_markdown(result) or "no row pair to check\n", encoding="utf-8")
    table = Table(title=header_line(result), title_justify="left")
    for h in HEADERS:
        table.add_column(h.replace("@N", f"@{result['batch_sizes'][1]}"))
    for r in result["rows"]:
        table.add_row(*_cells(r, width=48))
    console.print(table)
    chart(result, out / "latency.png")


def chart(result: dict, path: Path) -> None:
    try:
        from ..plots import _plt

        plt = _plt()
    except ImportError:  # matplotlib is in the [train] extra
        return
    rows = [r for r in result["rows"] if r.get("p50_ms")]
    models = list(dict.fromkeys(r["model"] for r in rows))
    formats = list(dict.fromkeys(r["format"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(models)), 4))
    width = 0.8 / max(1, len(formats))
    for j, fmt in enumerate(formats):
        xs, ys = [], []
        for i, model in enumerate(models):
            match = [r for r in rows if r["model"] == model and r["format"] == fmt]
            if match:
                xs.append(i + j * width)
                ys.append(match[0]["p50_ms"])
        ax.bar(xs, ys, width, label=fmt)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(models))])
    ax.set_xticklabels(models, rotation=15)
    ax.set_yscale("log")
    ax.set_ylabel("p50 latency, batch 1 (ms, log)")
    ax.legend(fontsize=7)
    ax.set_title("Latency by model and format")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def update_readme(readme: Path, sections: list[tuple[str, dict | None]]) -> None:
    """Replace the README block between the bench markers with tables generated from results; a section whose
    result is None (not measured this time) keeps the text it had."""
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no {README_START} … {README_END} block")
    head, rest = text.split(README_START, 1)
    old, tail = rest.split(README_END, 1)
    kept = {part.split("\n", 1)[0].strip(): part.strip() for part in old.split("### ")[1:]}
    parts = []
    for title, result in sections:
        if result is not None:
            parts.append(
                f"### {title}\n\n{markdown(result)}\nTargets, checked by the bench:\n\n{targets_markdown(result)}\n"
                f"Physical limit:\n\n{physical_markdown(result)}"
            )
        elif title in kept:
            parts.append(f"### {kept[title]}\n")
    body = "\n".join(parts)
    readme.write_text(f"{head}{README_START}\n{body}\n{README_END}{tail}", encoding="utf-8")
