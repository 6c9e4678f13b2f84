"""A pretrained sentence encoder against the best linear fit of n-grams on real texts (issue 22's cnn3 + 10).

    .venv/bin/python benchmarks/encoder_text.py PREPARED... --encoder DIR [--fit frozen finetune] [--epochs 3]

Each PREPARED is a `data prepare` folder (bench-results/real_text/prepared-*, which benchmarks/real_text.py writes);
DIR is a local transformers folder of a BERT-like encoder (config.json, weights, tokenizer.json): nothing is
downloaded. Every row fits on the folder's own train split and reads its validation split:
- `ngrams`: the linear ceiling of the sixth model's kind of input, TF-IDF word 1-2 and `char_wb` 2-5 grams (sublinear)
  into a linear SVM (C = 1), always run as the reference;
- `frozen`: the encoder's mean-pooled, L2-normalised embedding, alone (logistic regression, C = 10) and beside the
  n-grams (the same SVM, the embedding scaled by 0.5);
- `finetune`: the encoder and a softmax over its mean-pooled output trained end to end (AdamW, one-cycle 1e-4 for
  the encoder and 1e-3 for the head, batch 32, label smoothing 0.1, 64 tokens), alone and its probabilities averaged
  with the n-gram logistic regression's.
Nothing here is a timing; the CPU is printed with the rows.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def ngram_features(train: list[str], val: list[str]):
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizers = [
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    ]
    x_train = hstack([v.fit_transform(train) for v in vectorizers]).tocsr()
    return x_train, hstack([v.transform(val) for v in vectorizers]).tocsr()


def length_batches(texts: list[str], size: int, rng=None) -> list[np.ndarray]:
    """Batches of similar length (padding is most of the cost on short titles), shuffled when rng is given."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


class Encoder:
    def __init__(self, folder: Path, classes: int, seed: int):
        import torch

        from rakuten_edge.models.camembert import load_encoder  # the project's loader: local only, one-line errors

        torch.manual_seed(seed)
        self.torch = torch
        self.model, self.tokenizer = load_encoder(str(folder))
        self.head = torch.nn.Linear(self.model.config.hidden_size, classes)

    def pooled(self, texts: list[str]):
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.model.config.hidden_size), np.float32)
        self.model.eval()
        with self.torch.inference_mode():
            for idx in length_batches(texts, 64):
                out[idx] = self.torch.nn.functional.normalize(self.pooled([texts[i] for i in idx]), dim=1).numpy()
        return out

    def finetune(self, texts: list[str], labels: np.ndarray, epochs: int, seed: int) -> None:
        torch = self.torch
        groups = [{"params": self.model.parameters(), "lr": 1e-4}, {"params": self.head.parameters(), "lr": 1e-3}]
        optimizer = torch.optim.AdamW(groups, weight_decay=0.01)
        rng, y = np.random.default_rng(seed), torch.tensor(labels, dtype=torch.long)
        steps = epochs * len(length_batches(texts, 32))
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, [1e-4, 1e-3], total_steps=steps, pct_start=0.1)
        self.model.train()
        for _ in range(epochs):
            for idx in length_batches(texts, 32, rng):
                logits = self.head(self.pooled([texts[i] for i in idx]))
                loss = torch.nn.functional.cross_entropy(logits, y[idx], label_smoothing=0.1)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()

    def probabilities(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.head.out_features), np.float32)
        self.model.eval()
        with self.torch.inference_mode():
            for idx in length_batches(texts, 64):
                out[idx] = self.torch.softmax(self.head(self.pooled([texts[i] for i in idx])), dim=1).numpy()
        return out


def rows(data: Path, encoder_dir: Path, fits: list[str], epochs: int) -> dict[str, float]:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.svm import LinearSVC

    from rakuten_edge.data.prepared import load_split

    train, val = load_split(data, "train"), load_split(data, "val")
    # the training seed is the split's (prepare.json), as in real_text.py
    seed = json.loads((data / "prepare.json").read_text())["seed"]
    y, classes = np.asarray(train.labels), len(set(train.labels))

    def accuracy(pred) -> float:
        return float(accuracy_score(val.labels, pred))

    x_train, x_val = ngram_features(train.texts, val.texts)
    out = {"ngrams svm": accuracy(LinearSVC(C=1.0).fit(x_train, y).predict(x_val))}
    if "frozen" in fits:
        encoder = Encoder(encoder_dir, classes, seed)
        e_train, e_val = encoder.embed(train.texts), encoder.embed(val.texts)
        out["frozen lr"] = accuracy(LogisticRegression(C=10.0, max_iter=2000).fit(e_train, y).predict(e_val))
        both_train, both_val = hstack([x_train, csr_matrix(0.5 * e_train)]), hstack([x_val, csr_matrix(0.5 * e_val)])
        out["ngrams + frozen svm"] = accuracy(LinearSVC(C=1.0).fit(both_train.tocsr(), y).predict(both_val.tocsr()))
    if "finetune" in fits:
        encoder = Encoder(encoder_dir, classes, seed)
        encoder.finetune(train.texts, y, epochs, seed)
        tuned = encoder.probabilities(val.texts)
        out["finetuned"] = accuracy(tuned.argmax(1))
        linear = LogisticRegression(C=10.0, max_iter=1000).fit(x_train, y).predict_proba(x_val)
        out["finetuned + ngrams lr, mean"] = accuracy((tuned + linear).argmax(1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="+")
    parser.add_argument("--encoder", type=Path, required=True)
    parser.add_argument("--fit", nargs="+", default=["frozen"], choices=["frozen", "finetune"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if not (args.encoder / "config.json").is_file():
        parser.error(f"--encoder {args.encoder}: no config.json there (a local transformers folder is needed)")
    import torch

    from rakuten_edge.machine import cpu

    torch.set_num_threads(args.threads)
    name, flags = cpu()
    print(f"CPU: {name} ({', '.join(flags)})", flush=True)
    for data in args.data:
        for name, value in rows(data, args.encoder, args.fit, args.epochs).items():
            print(f"{data.name}: {name}: accuracy {value:.4f}", flush=True)


if __name__ == "__main__":
    main()
