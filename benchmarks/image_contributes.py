"""Does a model's image branch contribute? The same model trained twice on the same generated split: once with its
images, once with every image replaced by a blank one (its text-only variant). Issue 22's goal for the sixth model.

    .venv/bin/python benchmarks/image_contributes.py [--model ngram] [--n 2000] [--image-size 64] [--epochs 5]
        [--seeds 0] [--work bench-results/image_contributes]

Generated data only (`data synth`: the generator draws class-dependent images), so nothing here needs ../shared.
Each training runs as a command in a fresh process; results accumulate in WORK/results.jsonl (a killed run goes on
where it stopped). Nothing here is a timing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from real_text import load_results

VARIANTS = ("images", "blank images")


def cli(*args) -> None:
    subprocess.run([Path(sys.executable).with_name("rakuten-edge"), *map(str, args)], check=True)


def blank_copy(prepared: Path, out: Path) -> Path:
    """The prepared split with every image blank (white): the JPEG files and the decoded cache the trainer reads."""
    import numpy as np
    from PIL import Image

    if (out / "prepare.json").is_file():
        return out
    staging = out.with_name(out.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(prepared, staging)
    side = json.loads((prepared / "prepare.json").read_text())["image_size"]
    blank = staging / "blank.jpg"
    Image.new("L", (side, side), 255).save(blank, quality=95)
    for image in staging.glob("split_*/*/*.jpg"):
        shutil.copyfile(blank, image)
    for cache in staging.glob("split_*/images.npy"):
        np.save(cache, np.full_like(np.load(cache), 255))
    blank.unlink()
    staging.rename(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ngram")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--work", type=Path, default=Path("bench-results/image_contributes"))
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    raw, prepared = args.work / f"raw-{args.n}", args.work / f"prepared-{args.n}-{args.image_size}px"
    if not (raw / "X_train_update.csv").is_file():
        cli("data", "synth", "--out", raw, "--n", args.n, "--test-n", 10)
    if not (prepared / "prepare.json").is_file():
        cli("data", "prepare", "--raw", raw, "--out", prepared, "--image-size", args.image_size)
    data = {"images": prepared, "blank images": blank_copy(prepared, prepared.with_name(prepared.name + "-blank"))}
    results_path = args.work / "results.jsonl"
    results = load_results(results_path)
    for seed in args.seeds:
        for variant in VARIANTS:
            key = {"model": args.model, "n": args.n, "epochs": args.epochs, "seed": seed, "variant": variant}
            if any(all(r.get(k) == v for k, v in key.items()) for r in results):
                continue
            # the epochs are in the name: a run of another length must not replace this one's folder
            runs = args.work / "runs" / f"{args.model}-{args.n}-e{args.epochs}-s{seed}-{variant.replace(' ', '-')}"
            options = ["--image-size", args.image_size, "--epochs", args.epochs, "--seed", seed]
            cli("train", args.model, "--data", data[variant], "--out", runs, *options)
            metrics = json.loads(next(runs.glob("*/metrics.json")).read_text())
            row = {**key, "accuracy": metrics["accuracy"], "weighted_f1": metrics["weighted_f1"]}
            results.append(row)
            with results_path.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    same = {"model": args.model, "n": args.n, "epochs": args.epochs}
    for variant in VARIANTS:
        acc = [r["accuracy"] for r in results if r["variant"] == variant and all(r[k] == v for k, v in same.items())]
        if acc:
            spread = f" ± {statistics.stdev(acc):.4f}" if len(acc) > 1 else ""
            print(f"{same}, {variant}: accuracy {statistics.mean(acc):.4f}{spread} over {len(acc)} seed(s)")


if __name__ == "__main__":
    main()
