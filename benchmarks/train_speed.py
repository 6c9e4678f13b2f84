"""Training steps per second of a seed-size model: stock Keras, + fused batch norm, + bfloat16 convolutions.

    .venv/bin/python benchmarks/train_speed.py [--model cnn3] [--steps 20]

All three in one process on the same random batch of 64 (compiled `train_on_batch`, 3 warm-up steps each), so the
ratios are not blurred by the machine's speed drifting between runs. Prints samples/s and CPU-seconds per step.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def measure(model, x, y, steps: int) -> tuple[float, float]:
    for _ in range(3):
        model.train_on_batch(x, y)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return len(y) * steps / (time.perf_counter() - wall), (time.process_time() - cpu) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn3")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    import keras
    import numpy as np

    from rakuten_edge.models.keras_builders import build_keras_model
    from rakuten_edge.models.registry import REGISTRY
    from rakuten_edge.training.bf16_conv import bf16_convolutions
    from rakuten_edge.training.fused_bn import fuse_batch_norms

    config = REGISTRY[args.model].config("seed")
    rng = np.random.default_rng(0)
    size, length = config.image.size, config.text.sequence_length
    x = [rng.random((64, size, size, 1), dtype=np.float32), rng.integers(2, 1000, (64, length)).astype(np.int32)]
    y = rng.integers(0, config.num_classes, 64)
    keras.utils.set_random_seed(0)
    model = build_keras_model(config)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    rows = [("stock Keras", *measure(model, x, y, args.steps))]
    fuse_batch_norms(model)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")  # retrace with the swapped calls
    rows.append(("+ fused batch norm", *measure(model, x, y, args.steps)))
    if bf16_convolutions(model):
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
        rows.append(("+ bfloat16 convolutions", *measure(model, x, y, args.steps)))
    print(f"| {args.model} seed, batch 64 | samples/s | CPU s per step | vs stock |\n|---|---|---|---|")
    for name, rate, cpu in rows:
        print(f"| {name} | {rate:.1f} | {cpu:.2f} | {rate / rows[0][1]:.2f}x |")


if __name__ == "__main__":
    main()
