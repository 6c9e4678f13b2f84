"""Frozen-encoder [CLS] vectors, cached on disk per (encoder fingerprint, text)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..progress import progress_bar
from ..runtime.preprocess import TransformerTextEncoder


def cls_embeddings(
    model,
    encoder: TransformerTextEncoder,
    texts: list[str],
    batch_size: int,
    cache_dir: Path,
    model_id: str,
    label: str = "embedding",
) -> tuple[np.ndarray, int]:
    """Last layer [CLS] vectors and how many came from the cache, kept on disk per (model, text): a rerun only
    embeds texts it has not seen."""
    import torch

    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_file = cache_dir / f"cls-{model_id}.npz"
    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    cached: dict[str, np.ndarray] = {}
    if cache_file.is_file():
        with np.load(cache_file) as z:
            cached = dict(zip(z["keys"].tolist(), z["vectors"]))
    missing = sorted({k: i for i, k in enumerate(keys) if k not in cached}.values())
    hits = len(texts) - len(missing)
    if missing:
        with progress_bar() as bar, torch.inference_mode():
            task = bar.add_task(f"{label} ({hits} cached)", total=len(missing))
            for start in range(0, len(missing), batch_size):
                rows = missing[start : start + batch_size]
                feeds = {k: torch.from_numpy(v) for k, v in encoder([texts[i] for i in rows]).items()}
                vectors = model(**feeds).last_hidden_state[:, 0].float().numpy()
                for i, v in zip(rows, vectors):
                    cached[keys[i]] = v
                bar.advance(task, len(rows))
        tmp = cache_file.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(cached)), vectors=np.stack(list(cached.values())))
        tmp.replace(cache_file)
    return np.stack([cached[k] for k in keys]).astype(np.float32), hits
