"""Linear fits of exactly the sixth model's text input (issue 22): are its features or its training short?

    .venv/bin/python benchmarks/hashed_lr.py PREPARED... [--buckets 65536 262144] [--norm joint per-kind]
        [--fit lr svc]

Each PREPARED is a `data prepare` folder, e.g. one benchmarks/real_text.py wrote (bench-results/real_text/prepared-*).
Each row hashes the texts as the runtime does (runtime/ngrams.py: word 1-2 and character 3-5 grams, TF-IDF weighted,
1,024 kept per text, `norm` joint or per-kind) into a sparse matrix and fits a linear model on the folder's own train /
val split: `lr`, scikit-learn's logistic regression with TF-IDF's settings (C = 10, lbfgs), or `svc`, a linear SVM
(LinearSVC, squared hinge, one-vs-rest, C = 1): the best linear fit of these features found (issue 22's ceiling).
Nothing here is a timing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def fits() -> dict:
    """The linear models, by name: what each fit is lives here only."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    # C for the SVM: 1 against 0.3 on the three 20,000-row splits, 0.7578 / 0.7480 / 0.7512 against 0.7535 / 0.7458 /
    # 0.7500 (AMD EPYC with AVX-512, 2026-12-02, 262,144 buckets, per-kind); logistic regression at C = 30 moved
    # none of them by more than 0.12 against C = 10
    return {"lr": lambda: LogisticRegression(max_iter=1000, C=10.0), "svc": lambda: LinearSVC(C=1.0)}


def accuracy(data: Path, buckets: int, norm: str, fit: str = "lr") -> tuple[float, float]:
    from scipy.sparse import csr_matrix
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

    model = fits()[fit]().fit(matrix(train.texts), train.labels)
    pred = model.predict(matrix(val.texts))
    return accuracy_score(val.labels, pred), f1_score(val.labels, pred, average="weighted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("--buckets", type=int, nargs="+", default=[65_536])
    parser.add_argument("--norm", nargs="+", default=["joint"])
    parser.add_argument("--fit", nargs="+", default=["lr"], choices=sorted(fits()))
    args = parser.parse_args()
    for data in args.data:
        for buckets in args.buckets:
            for norm in args.norm:
                for fit in args.fit:
                    acc, f1 = accuracy(data, buckets, norm, fit)
                    print(
                        f"{data.name}: {buckets:,} buckets, {norm}, {fit}: accuracy {acc:.4f}, weighted F1 {f1:.4f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
