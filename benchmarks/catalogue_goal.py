"""Issue 20's catalogue goal on this CPU: a bundle scored through its throughput winner against today's default.

    .venv/bin/python benchmarks/catalogue_goal.py --real ../shared/real --bundle BUNDLE --prepared PREPARED \
        [--repeat 5] [--rounds 3] [--out bench-results/catalogue-goal]

The bundle (the seed-size cnn3 of `tune_goals.py`, say) is tuned for throughput here unless its tuning file already
holds this CPU's winner. The catalogue is the 1,000 real products of `--real`/catalogue (real photos, real titles),
written `--repeat` times under new row ids so that a run lasts long enough to time. Each figure comes from a fresh
process, and the two sides alternate `--rounds` times so that both meet the same neighbours on a shared VM:
- d: the runtime's `load_image` on all cores over the real photos;
- m: the engine alone over feeds built beforehand, as the catalogue runs it (64-row calls, the runtime's rule);
- end to end: `score_catalogue` with the local engine, today's default pinned (onnxruntime, the graph's precision)
  against the bundle's throughput tuning for this CPU (nothing pinned: what a user gets).
Goals: end to end >= 80% of 1/(1/m + 1/d) and >= 1.3x the default's items/s; the codes identical to the default's
where the winner computes in f32, and >= 99% agreement otherwise. Prints the CPU, writes results.json and results.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = {"backend": "onnxruntime"}  # today's default: onnxruntime on the graph as exported (fp32 here)
RATE = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from rates import decode_rate, model_rate
from pathlib import Path
from rakuten_edge.runtime.batching import DEFAULT_BATCH
images = sorted(Path(sys.argv[2]).glob("*.jpg"))
pin = json.loads(sys.argv[4])
if sys.argv[3] == "decode":
    print(json.dumps({"value": decode_rate(images * 4, os.cpu_count() or 1)}))
else:
    # feeds of the catalogue's batch (the runtime's rule: DEFAULT_BATCH rows per call, row by row where the graph is
    # not batch-invariant), on the engine the catalogue runs
    rate = model_rate(Path(sys.argv[3]), images, DEFAULT_BATCH, forced=False, job="throughput", **pin)
    print(json.dumps({"value": rate}))
"""
SCORE = """
import json, sys
from rakuten_edge.catalogue import CatalogueOptions, score_catalogue
s = score_catalogue(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4],
                    CatalogueOptions(progress=False, **json.loads(sys.argv[5])))
print(json.dumps(s.to_dict()))
"""


def _fresh(code: str, *args: str) -> dict:
    """One fresh process; its last stdout line is JSON."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"a measuring process failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_catalogue(real: Path, repeat: int, dest: Path) -> Path:
    """The real catalogue `repeat` times, each copy under new row ids (the images are the same files)."""
    with open(real / "catalogue" / "X_test_update.csv", newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    with open(dest, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(header)
        for copy in range(repeat):
            out.writerows([f"{copy}{row[0]}", *row[1:]] for row in rows)
    return dest


def codes(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as f:
        return [row[1] for row in list(csv.reader(f))[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True, help="the folder holding catalogue/")
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--prepared", type=Path, required=True, help="gate rows for tune (a prepared split)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench-results/catalogue-goal"))
    args = parser.parse_args()

    from rakuten_edge.machine import describe
    from rakuten_edge.runtime import load
    from rakuten_edge.runtime.tuning import cpu_signature, read_tunings
    from rakuten_edge.tune import tune

    machine = describe()
    cpu = f"{machine['cpu']} ({' '.join(machine['flags'])}), {machine['cores']} cores"
    print(f"CPU: {cpu}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    entry = read_tunings(args.bundle).get("cpus", {}).get(cpu_signature(machine)) or {}
    if not (entry.get("jobs", {}).get("throughput") or {}).get("winner"):
        tune(args.bundle, ("throughput",), args.prepared, rows=128)
        entry = read_tunings(args.bundle)["cpus"][cpu_signature(machine)]
    table = entry["jobs"]["throughput"]["table"]
    sides = {"default": DEFAULT, "winner": {}}
    # what each side runs, read once here: the catalogue loads the bundle the same way (job "throughput")
    engines = {side: load(args.bundle, job="throughput", **pin).candidate for side, pin in sides.items()}
    winner = engines["winner"]
    print(f"throughput winner here: {winner.label}", flush=True)
    catalogue = write_catalogue(args.real, args.repeat, args.out / "catalogue.csv")
    images = args.real / "catalogue" / "images"
    runs: dict[str, dict[str, list]] = {s: {"m": [], "e2e": []} for s in sides}
    d_runs = []
    for r in range(args.rounds):
        d_runs.append(_fresh(RATE, str(HERE), str(images), "decode", "{}")["value"])
        for side, pin in sides.items():
            runs[side]["m"].append(_fresh(RATE, str(HERE), str(images), str(args.bundle), json.dumps(pin))["value"])
            out = args.out / f"{side}-{r}" / "predictions.csv"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.unlink(missing_ok=True)
            s = _fresh(SCORE, str(catalogue), str(images), str(out), str(args.bundle), json.dumps(pin))
            runs[side]["e2e"].append(s["items_per_s"])
            print(f"round {r} {side}: {engines[side].label} {s['items_per_s']} items/s end to end", flush=True)
    d = statistics.median(d_runs)
    result = {"cpu": cpu, "machine": machine, "rows": 1000 * args.repeat, "d": d, "d_runs": d_runs, "tune": table}
    for side in sides:
        m = statistics.median(runs[side]["m"])
        e2e = statistics.median(runs[side]["e2e"])
        bound = 1 / (1 / m + 1 / d)
        result[side] = {**runs[side], "engine": engines[side].label, "m_median": m, "e2e_median": e2e}
        result[side] |= {"bound": bound, "share": e2e / bound}
    base = codes(args.out / "default-0" / "predictions.csv")
    got = codes(args.out / "winner-0" / "predictions.csv")
    same = sum(a == b for a, b in zip(base, got)) / len(base)
    lossless = winner.precision in (None, "f32")
    speedup = result["winner"]["e2e_median"] / result["default"]["e2e_median"]
    result["goals"] = {
        "winner": winner.label,
        "share_of_bound": result["winner"]["share"],
        "speedup_over_default": speedup,
        "code_agreement": same,
        "codes_ok": same == 1.0 if lossless else same >= 0.99,
        "bound_ok": result["winner"]["share"] >= 0.8,
        "speedup_ok": speedup >= 1.3,
    }
    (args.out / "results.json").write_text(json.dumps(result, indent=1))
    lines = [f"CPU: {cpu}; {result['rows']:,} products (the 1,000 real ones x {args.repeat})", ""]
    lines += ["| side | engine | m items/s | bound | end to end items/s (rounds) | share of bound |", "|" + "---|" * 6]
    for side in sides:
        x = result[side]
        e2e = ", ".join(f"{v:.1f}" for v in x["e2e"])
        lines.append(
            f"| {side} | {x['engine']} | {x['m_median']:.1f} | {x['bound']:.1f} | {x['e2e_median']:.1f} ({e2e}) "
            f"| {x['share']:.0%} |"
        )
    g = result["goals"]
    lines += [
        "",
        f"d = {d:.1f} img/s; winner / default end to end: {speedup:.2f}x (goal 1.3x); codes as the default's: "
        f"{same:.2%} ({'f32: identical required' if lossless else 'lossy: >= 99% required'}).",
    ]
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps(g))


if __name__ == "__main__":
    main()
