"""Where a bundle's batch-1 time goes, node by node: onnxruntime's own profiler over many calls.

    .venv/bin/python benchmarks/node_profile.py BUNDLE [BUNDLE ...] [--runs 300] [--threads 2] [--no-spin]
    .venv/bin/python benchmarks/node_profile.py --untrained cnn2   # seed-size cnn2, random weights, fp32 + int8

For each bundle: the mean time per call of every node (kernel time, µs), its share of the summed kernel time, and
the op types summed, so an int8 graph can be read beside its fp32 one (which convolutions got faster, what the
quantize/dequantize steps and layout changes cost). The wall time per call includes what the profiler does not
attribute to nodes (session overhead, thread wake-ups). Writes bench-results/node_profile.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def profile(bundle: Path, runs: int, threads: int, spin: bool) -> tuple[dict[str, tuple[str, float]], float]:
    """{node: (op type, mean µs per call)} and the mean wall ms per call."""
    from rakuten_edge.runtime.engine import EngineOptions, open_engine
    from rakuten_edge.runtime.manifest import read_manifest
    from rakuten_edge.tables.text_kinds import sequence_length

    manifest = read_manifest(bundle, verify=False)
    text = manifest["preprocessing"]["text"]
    length = sequence_length(text)
    with tempfile.TemporaryDirectory() as tmp:
        options = EngineOptions(threads=threads, spin=spin, profile=str(Path(tmp) / "profile"))
        engine = open_engine(bundle / "model.onnx", options=options)
        feeds = {
            t.name: np.ones(
                [d if isinstance(d, int) else (1 if i == 0 else length) for i, d in enumerate(t.shape)], dtype=t.dtype
            )
            for t in engine.inputs()
        }
        for _ in range(20):
            engine.run(feeds)
        start = time.perf_counter()
        for _ in range(runs):
            engine.run(feeds)
        wall_ms = (time.perf_counter() - start) * 1000 / runs
        events = json.loads(Path(engine.close()["profile"]).read_text())
    per_node: dict[str, list[float]] = defaultdict(list)
    ops: dict[str, str] = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            node = e["name"][: -len("_kernel_time")]
            per_node[node].append(e["dur"])
            ops[node] = e["args"].get("op_name", "?")
    # The last `runs` calls of each node (the first 20 were warm-up).
    return {n: (ops[n], float(np.mean(d[-runs:]))) for n, d in per_node.items()}, wall_ms


def table(name: str, nodes: dict[str, tuple[str, float]], wall_ms: float, top: int = 15) -> str:
    total = sum(us for _, us in nodes.values())
    by_op: dict[str, float] = defaultdict(float)
    for op, us in nodes.values():
        by_op[op] += us
    lines = [
        f"### {name}",
        "",
        f"Wall {wall_ms:.3f} ms per call; node kernels sum to {total / 1000:.3f} ms ({len(nodes)} nodes).",
        "",
        "| op type | µs per call | share |",
        "|---|---|---|",
    ]
    lines += [f"| {op} | {us:.1f} | {us / total:.1%} |" for op, us in sorted(by_op.items(), key=lambda kv: -kv[1])]
    lines += ["", f"Top {top} nodes:", "", "| node | op | µs per call | share |", "|---|---|---|---|"]
    ranked = sorted(nodes.items(), key=lambda kv: -kv[1][1])[:top]
    lines += [f"| {n} | {op} | {us:.1f} | {us / total:.1%} |" for n, (op, us) in ranked]
    return "\n".join(lines) + "\n"


def untrained_bundles(key: str, work: Path) -> list[Path]:
    from rakuten_edge.bench.untrained import build

    build(work / "runs", [key], work / "bundles")
    return sorted(p for p in (work / "bundles").iterdir() if (p / "manifest.json").is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="*", type=Path)
    parser.add_argument("--untrained", help="a model key: build its seed-size fp32 + int8 bundles first")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-spin", dest="spin", action="store_false")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "node_profile.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rakuten-nodes-") as tmp:
        bundles = list(args.bundles) + (untrained_bundles(args.untrained, Path(tmp)) if args.untrained else [])
        if not bundles:
            raise SystemExit("name bundles, or --untrained MODEL")
        parts = [
            f"Node profile, batch 1, {args.threads} threads, spinning {'on' if args.spin else 'off'}, "
            f"{args.runs} calls after 20 warm-up calls.\n"
        ]
        for bundle in bundles:
            nodes, wall = profile(bundle, args.runs, args.threads, args.spin)
            parts.append(table(bundle.name, nodes, wall))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(parts))
    print("\n".join(parts))


if __name__ == "__main__":
    main()
