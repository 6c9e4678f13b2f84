"""Real text: the registry's models against TF-IDF + logistic regression on real product texts (issue 22).

    .venv/bin/python benchmarks/real_text.py --real ../shared/real [--sizes 8000 20000] [--seeds 0 1 2]
        [--models cnn1 cnn2 cnn3 ngram] [--variant VARIANT (below: bn-stats-off, monitor-acc, linear-lr3e-3, ...)]
        [--work bench-results/real_text] [--int8] [--image-size 64]

The texts (`text_en/products.csv`, English translations, labelled) are written in the challenge's format with one
blank white image per product, so every figure is text-only. Seed s means split seed s and training seed s, so the
spread covers both; TF-IDF runs on exactly the same split. Every model row trains in a fresh process, and its result
is kept in WORK/results.jsonl: a killed run goes on where it stopped. The summary (mean ± spread, epoch curves, best
epochs under val_loss and val_accuracy, int8 gates) goes to WORK/summary.md. Nothing here is a timing.
The images are blank, so their side changes no answer's information: `--image-size 64` trains the same text-only
comparison about four times faster on a CPU without AVX-512 (its rows carry the variant name `VARIANT-64px`).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from rakuten_edge.models.config import ImageBranch  # dataclasses only: the seed's image side

HERE = Path(__file__).resolve().parent
# Variants of the seed preset, by config section: one training addition switched off at a time, or the ngram model's
# heads. The ngram ones carry every value they mean, so a row names the same model after the ngram seed preset became
# `linear-lr3e-3` (2026-12-01); its rows from before are `hidden-lr1e-3` (the old preset).
HIDDEN = {"text": {"dense": 128}, "fusion": {"dense": 256}}
LINEAR = {"text": {"dense": 0}, "fusion": {"dense": 0}}
# LINEAR with the word and character n-grams normalised apart (runtime/ngrams.py's norm "per-kind")
PER_KIND = {"text": {"dense": 0, "ngram_norm": "per-kind"}, "fusion": {"dense": 0}}
COSINE15 = {"learning_rate": 3e-3, "schedule": "cosine", "epochs": 15}
# COSINE15 at 4x the batch and Adam 1e-2, keeping the epoch of lowest training loss (about the last)
LAST_B256 = {**COSINE15, "learning_rate": 1e-2, "batch_size": 256, "monitor": "loss", "early_stopping_patience": 15}
VARIANTS = {
    "default": {},
    "bn-stats-off": {"training": {"bn_statistics_rows": 0}},
    "monitor-acc": {"training": {"monitor": "val_accuracy"}},
    "fused-bn-off": {"training": {"fused_batch_norms": False}},
    "bf16-conv-off": {"training": {"bf16_convolutions": False}},  # a difference only where bf16 is native
    "hidden-lr1e-3": {**HIDDEN, "training": {"learning_rate": 1e-3}},
    "fusion-linear": {"text": HIDDEN["text"], "fusion": {"dense": 0}, "training": {"learning_rate": 1e-3}},
    "fusion-linear-nodrop": {
        "text": HIDDEN["text"],
        "fusion": {"dense": 0, "dropout": 0.0},
        "training": {"learning_rate": 1e-3},
    },
    # no hidden layer anywhere after the bag: logits = W_image . image + W_text . bag, a linear model of the n-grams
    # (rank <= 27 <= the bag's width, so as expressive as logistic regression on the same features)
    "linear": {**LINEAR, "training": {"learning_rate": 1e-3}},
    # the same with a 3x step (the ngram seed preset since 2026-12-01): `linear` was still falling at epoch 10
    "linear-lr3e-3": {**LINEAR, "training": {"learning_rate": 3e-3}},
    # no text head, the seed's hidden fusion layer kept: the image features meet the bag in a hidden layer
    "linear-text-lr3e-3": {"text": {"dense": 0}, "fusion": {"dense": 256}, "training": {"learning_rate": 3e-3}},
    # and the word and character n-grams normalised apart (runtime/ngrams.py's norm "per-kind")
    "linear-lr3e-3-per-kind": {**PER_KIND, "training": {"learning_rate": 3e-3}},
    # the preset, its step annealed to zero over 15 epochs (CosineDecay) instead of halved on a val_loss plateau
    "linear-cosine15": {**LINEAR, "training": COSINE15},
    "linear-cosine15-per-kind": {**PER_KIND, "training": COSINE15},
    # the same without the image branch's dropout: on blank images its masks are the branch's only variation, noise
    # that the linear fusion passes to the logits while training
    "linear-cosine15-per-kind-imgdrop0": {"image": {"dropout": 0.0}, **PER_KIND, "training": COSINE15},
    # the cosine per-kind candidate at 4x the batch and Adam 1e-2 (a quarter of the steps), keeping the epoch of lowest
    # training loss (under the annealed step, about the last) instead of the lowest val_loss, which turned at epoch 5-6
    # while accuracy climbed to 12-14: 0.7402 +- 0.0058 at 20,000 rows, level with the val_loss pick (benchmarks/README)
    "linear-cosine15-per-kind-last-b256": {
        **PER_KIND,
        "training": LAST_B256,
    },
    # the same with three bags, each its own embedding and softmax head on its own loss, the answer their mean
    # (models/ngram.py): the scratch lead of 2026-12-02 carried into the model
    "bags3-cosine15-per-kind-last-b256": {
        "text": {**PER_KIND["text"], "bags": 3},
        "fusion": PER_KIND["fusion"],
        "training": LAST_B256,
    },
    # the same hashed into 262,144 buckets with 32-column tables: the ngram seed preset since 2026-12-02
    # (models/registry.py and benchmarks/README give the evidence)
    "bags3-h256k-d32": {
        "text": {**PER_KIND["text"], "bags": 3, "max_tokens": 262_144, "embedding_dim": 32},
        "fusion": PER_KIND["fusion"],
        "training": LAST_B256,
    },
}


def write_challenge(real: Path, n: int, raw: Path) -> None:
    """The first n real texts as X_train/Y_train with one blank image each (hard links to one JPEG)."""
    from PIL import Image

    if (raw / "Y_train_CVw08PX.csv").is_file():
        return
    images = raw / "images" / "image_train"
    images.mkdir(parents=True, exist_ok=True)
    blank = raw / "blank.jpg"
    Image.new("RGB", (500, 500), "white").save(blank, quality=90)
    with open(real / "text_en" / "products.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[:n]
    with (
        open(raw / "X_train_update.csv", "w", newline="", encoding="utf-8") as fx,
        open(raw / "Y_train_CVw08PX.csv", "w", newline="", encoding="utf-8") as fy,
    ):
        x, y = csv.writer(fx), csv.writer(fy)
        x.writerow(["", "designation", "description", "productid", "imageid"])
        y.writerow(["", "prdtypecode"])
        for i, row in enumerate(rows):
            x.writerow([i, row["text"], "", 1_000_000 + i, 2_000_000 + i])
            y.writerow([i, row["prdtypecode"]])
            target = images / f"image_{2_000_000 + i}_product_{1_000_000 + i}.jpg"
            if not target.exists():
                os.link(blank, target)


def px_suffix(args) -> str:
    """How a folder or a row names a non-default image side ("" at the seed's)."""
    return "" if args.image_size == ImageBranch.size else f"-{args.image_size}px"


def prepared(args, n: int, seed: int) -> Path:
    raw, out = args.work / f"raw-{n}", args.work / f"prepared-{n}-s{seed}{px_suffix(args)}"
    write_challenge(args.real, n, raw)
    if not (out / "split_val").is_dir():
        cli = Path(sys.executable).with_name("rakuten-edge")
        size = ["--image-size", str(args.image_size)]
        subprocess.run([cli, "data", "prepare", "--raw", raw, "--out", out, "--seed", str(seed), *size], check=True)
    return out


def tfidf_row(data: Path) -> dict:
    """TF-IDF (1-2 grams, sublinear) + logistic regression, the yardstick of data/baseline.py, on the split."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from rakuten_edge.data.prepared import load_split

    train, val = load_split(data, "train"), load_split(data, "val")
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    model = LogisticRegression(max_iter=1000, C=10.0).fit(vectorizer.fit_transform(train.texts), train.labels)
    pred = model.predict(vectorizer.transform(val.texts))
    return {"accuracy": accuracy_score(val.labels, pred), "weighted_f1": f1_score(val.labels, pred, average="weighted")}


def train_row(model: str, data: Path, seed: int, variant: str, runs: Path, name: str, image_size: int) -> dict:
    """One model row, in this (fresh) process: the seed preset with the variant's training settings."""
    from dataclasses import replace

    from rakuten_edge.machine import cpu
    from rakuten_edge.models.registry import REGISTRY
    from rakuten_edge.training import train
    from rakuten_edge.training.bf16_conv import native_bf16

    entry = REGISTRY[model]
    seed_config = entry.presets["seed"]
    for section, changes in VARIANTS[variant].items():
        seed_config = replace(seed_config, **{section: replace(getattr(seed_config, section), **changes)})
    REGISTRY[model] = replace(entry, presets={**entry.presets, "seed": seed_config})
    metrics = train(model, data=data, out=runs, seed=seed, name=name, image_size=image_size)
    history = json.loads((Path(metrics["run"]) / "history.json").read_text())
    best = {
        m: 1 + max(range(len(history[m])), key=lambda e: -history[m][e] if "loss" in m else history[m][e])
        for m in ("val_loss", "val_accuracy")
    }
    return {
        "accuracy": metrics["accuracy"],
        "weighted_f1": metrics["weighted_f1"],
        "epochs_run": metrics["epochs_run"],
        "best_epoch_val_loss": best["val_loss"],
        "best_epoch_val_accuracy": best["val_accuracy"],
        "val_accuracy_curve": [round(v, 4) for v in history["val_accuracy"]],
        "run": metrics["run"],
        # what differs by machine: bfloat16 convolutions train only where the CPU computes bfloat16 natively
        "cpu": cpu()[0],
        "bf16_convolutions": seed_config.training.bf16_convolutions and native_bf16(),
    }


def int8_gates(args, run: Path) -> dict:
    """Export the run with every int8 recipe measured; the manifest of the int8 bundle (if any) and export's table."""
    cli = Path(sys.executable).with_name("rakuten-edge")
    out = args.work / "bundles"
    done = subprocess.run(
        [cli, "export", run.name, "--runs", run.parent, "--out", out, "--quantize"], capture_output=True, text=True
    )
    return {"exit": done.returncode, "table": done.stdout[-4000:]}


def load_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def summary(results: list[dict]) -> str:
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["n"], r["model"], r["variant"]), []).append(r)
    lines = [
        "| rows | model | variant | seeds | accuracy | weighted F1 | best epoch (val_loss / val_acc) |",
        "|---|---|---|---|---|---|---|",
    ]
    for (n, model, variant), rows in sorted(groups.items()):
        acc, f1 = [r["accuracy"] for r in rows], [r["weighted_f1"] for r in rows]
        spread = lambda v: f" ± {statistics.stdev(v):.4f}" if len(v) > 1 else ""  # noqa: E731
        best = ", ".join(f"{r.get('best_epoch_val_loss', '-')}/{r.get('best_epoch_val_accuracy', '-')}" for r in rows)
        lines.append(
            f"| {n:,} | {model} | {variant} | {len(rows)} | {statistics.mean(acc):.4f}{spread(acc)} "
            f"| {statistics.mean(f1):.4f}{spread(f1)} | {best} |"
        )
    curves = [
        f"- {r['model']} {r['variant']} n={r['n']} seed {r['seed']}: {r['val_accuracy_curve']}"
        for r in results
        if "val_accuracy_curve" in r
    ]
    return "\n".join([*lines, "", "val_accuracy by epoch:", *curves, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, required=True, help="the folder holding text_en/products.csv")
    parser.add_argument("--work", type=Path, default=Path("bench-results/real_text"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[8000, 20000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=["tfidf", "cnn1", "cnn2", "cnn3", "ngram"])
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="default")
    parser.add_argument("--int8", action="store_true", help="export each model's first seed with --quantize")
    parser.add_argument("--image-size", type=int, default=ImageBranch.size, help="side of the blank images (px)")
    row_args = ("MODEL", "DATA", "SEED", "VARIANT", "NAME", "PX")
    parser.add_argument("--row", nargs=len(row_args), metavar=row_args, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.row:
        model, data, seed, variant, name, px = args.row
        print(json.dumps(train_row(model, Path(data), int(seed), variant, args.work / "runs", name, int(px))))
        return
    if not (args.real / "text_en" / "products.csv").is_file():
        parser.error(f"{args.real}/text_en/products.csv not found (pass the shared real-data folder)")
    args.work.mkdir(parents=True, exist_ok=True)
    path = args.work / "results.jsonl"
    results = load_results(path)
    done = {(r["n"], r["model"], r["seed"], r["variant"]) for r in results}
    for n in args.sizes:
        for model in args.models:
            for seed in args.seeds:
                variant = "default" if model == "tfidf" else args.variant
                # the recorded variant names a non-default image side (TF-IDF reads no image)
                label = variant if model == "tfidf" else f"{variant}{px_suffix(args)}"
                if (n, model, seed, label) in done:
                    continue
                data = prepared(args, n, seed)
                if model == "tfidf":
                    row = tfidf_row(data)
                else:
                    name = f"{model}-{label}-{n}-s{seed}"
                    cmd = [
                        sys.executable,
                        __file__,
                        "--real",
                        args.real,
                        "--work",
                        args.work,
                        "--row",
                        model,
                        data,
                        str(seed),
                        variant,
                        name,
                        args.image_size,
                    ]
                    done_row = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
                    if done_row.returncode:
                        print(f"{model} n={n} seed {seed}: failed\n{done_row.stderr[-2000:]}", file=sys.stderr)
                        continue
                    row = json.loads(done_row.stdout.strip().splitlines()[-1])
                    if args.int8 and seed == args.seeds[0]:
                        row["int8"] = int8_gates(args, Path(row["run"]))
                row = {"n": n, "model": model, "seed": seed, "variant": label, **row}
                with open(path, "a") as f:
                    f.write(json.dumps(row) + "\n")
                results.append(row)
                print(
                    f"{model} n={n} seed {seed} {label}: acc {row['accuracy']:.4f} f1 {row['weighted_f1']:.4f}",
                    flush=True,
                )
    from rakuten_edge.machine import cpu

    name, flags = cpu()
    (args.work / "summary.md").write_text(f"CPU: {name} ({', '.join(flags)})\n\n{summary(results)}")
    print(summary(results))


if __name__ == "__main__":
    main()
