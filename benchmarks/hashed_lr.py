"""Logistic regression on exactly the sixth model's text input (issue 22): are its features or its training short?

    .venv/bin/python benchmarks/hashed_lr.py PREPARED... [--buckets 65536 262144] [--norm joint per-kind]

Each PREPARED is a `data prepare` folder, e.g. one benchmarks/real_text.py wrote (bench-results/real_text/prepared-*).
Each row hashes the texts as the runtime does (runtime/ngrams.py: word 1-2 and character 3-5 grams, TF-IDF weighted,
1,024 kept per text, `norm` joint or per-kind) into a sparse matrix and fits scikit-learn's logistic regression with
TF-IDF's settings (C = 10, lbfgs), on the folder's own train / val split. Nothing here is a timing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def accuracy(data: Path, buckets: int, norm: str) -> tuple[float, float]:
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from rakuten_edge.data.prepared import load_split
    from rakuten_edge.runtime.ngrams import HashedNgrams, NgramSpec, fit_idf

    train, val = load_split(data, "train"), load_split(data, "val")
    spec = NgramSpec(buckets=buckets, max_features=1024, norm=norm)
    encode = HashedNgrams(spec, fit_idf(spec, train.texts))

    def matrix(texts):
        ids, weights = encode(texts)  # padding: id 0 with weight 0, which adds nothing
        rows = np.repeat(np.arange(len(ids)), ids.shape[1])
        return csr_matrix((weights.ravel(), (rows, ids.ravel())), shape=(len(ids), buckets))

    model = LogisticRegression(max_iter=1000, C=10.0).fit(matrix(train.texts), train.labels)
    pred = model.predict(matrix(val.texts))
    return accuracy_score(val.labels, pred), f1_score(val.labels, pred, average="weighted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("--buckets", type=int, nargs="+", default=[65_536])
    parser.add_argument("--norm", nargs="+", default=["joint"])
    args = parser.parse_args()
    for data in args.data:
        for buckets in args.buckets:
            for norm in args.norm:
                acc, f1 = accuracy(data, buckets, norm)
                print(f"{data.name}: {buckets:,} buckets, {norm}: accuracy {acc:.4f}, weighted F1 {f1:.4f}", flush=True)


if __name__ == "__main__":
    main()
