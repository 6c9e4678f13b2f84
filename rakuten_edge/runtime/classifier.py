"""`load(bundle) -> Classifier`: preprocessing + onnxruntime, nothing else."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .manifest import MODEL, BundleError, read_manifest
from .preprocess import ImageLike, TextVectorizer, TransformerTextEncoder, image_tensor, load_image, product_text

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


@dataclass(frozen=True)
class Candidate:
    prdtypecode: int
    category: str
    category_en: str
    probability: float


@dataclass(frozen=True)
class Prediction:
    prdtypecode: int
    category: str
    category_en: str
    probability: float
    top_k: list[Candidate] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"prdtypecode": self.prdtypecode, "category": self.category, "category_en": self.category_en,
                "probability": self.probability, "top_k": [c.__dict__ for c in self.top_k]}


def _providers(requested: list[str] | str | None) -> tuple[list[str], str | None]:
    """Map cpu/cuda (or full provider names) to what this onnxruntime has; say plainly what is missing."""
    if requested is None:
        return ["CPUExecutionProvider"], None
    names = [requested] if isinstance(requested, str) else list(requested)
    available = ort.get_available_providers()
    chosen, notes = [], []
    for name in names:
        full = PROVIDERS.get(name.lower(), name)
        if full in available:
            chosen.append(full)
        else:
            notes.append(f"{full} requested but not available in this onnxruntime ({', '.join(available)})"
                         + ("; install onnxruntime-gpu and a CUDA driver to use the GPU" if "CUDA" in full else ""))
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen, ("; ".join(notes) + "; running on CPU") if notes else None


class Classifier:
    def __init__(self, bundle: str | Path, providers: list[str] | str | None = None, threads: int | None = None):
        self.bundle = Path(bundle)
        self.manifest = read_manifest(self.bundle)
        m = self.manifest
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        chosen, self.provider_note = _providers(providers)
        if self.provider_note:
            print(f"note: {self.provider_note}", file=sys.stderr)
        try:
            self.session = ort.InferenceSession(str(self.bundle / MODEL), options, providers=chosen)
        except Exception as exc:  # onnxruntime raises its own exception types for corrupt models
            raise BundleError(f"{self.bundle}: onnxruntime cannot load {MODEL}: {exc}") from None
        self.providers = self.session.get_providers()
        self.input_names = [i["name"] for i in m["inputs"]]
        self.image_size = int(m["preprocessing"]["image"]["size"])
        text = m["preprocessing"]["text"]
        self.text_kind = text["kind"]
        if self.text_kind == "keras-vectorizer":
            self.vectorizer = TextVectorizer.load(self.bundle / text["vocabulary"], int(text["sequence_length"]))
        elif self.text_kind == "hf-tokenizer":
            self.encoder = TransformerTextEncoder(self.bundle / text["tokenizer"], text["max_length"], text["pad_id"],
                                                  text["pad_token"])
        else:
            raise BundleError(f"{self.bundle}: unknown text preprocessing {self.text_kind!r}")
        self.labels = m["labels"]
        # Dynamic int8 quantizes activations per batch: a row's answer would depend on its neighbours,
        # so such bundles run row by row unless the caller asks otherwise.
        self.batch_invariant = bool(m.get("batch_invariant", True))

    # ------------------------------------------------------------------------------------ preprocessing
    def text_inputs(self, texts: list[str]) -> dict[str, np.ndarray]:
        if self.text_kind == "keras-vectorizer":
            return {"tokens": self.vectorizer(texts)}
        return self.encoder(texts)

    def inputs(self, pixels: np.ndarray, texts: list[str]) -> dict[str, np.ndarray]:
        """Model feeds from uint8 (N, H, W) pixels and cleaned product texts."""
        feeds = {"image": image_tensor(pixels), **self.text_inputs(texts)}
        return {name: feeds[name] for name in self.input_names}

    # ---------------------------------------------------------------------------------------- inference
    def run(self, feeds: dict[str, np.ndarray], batch_size: int | None = None) -> np.ndarray:
        n = len(next(iter(feeds.values())))
        step = batch_size or (64 if self.batch_invariant else 1)
        out = [self.session.run(["probs"], {k: v[i : i + step] for k, v in feeds.items()})[0] for i in range(0, n, step)]
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)

    def predict_proba(self, images: list[ImageLike], texts: list[str], descriptions: list[str | None] | None = None,
                      batch_size: int | None = None) -> np.ndarray:
        if len(images) != len(texts):
            raise ValueError(f"{len(images)} images but {len(texts)} texts")
        descriptions = descriptions or [None] * len(texts)
        pixels = np.stack([load_image(img, self.image_size) for img in images]) if images else np.zeros((0, self.image_size, self.image_size), np.uint8)
        cleaned = [product_text(t, d) for t, d in zip(texts, descriptions)]
        return self.run(self.inputs(pixels, cleaned), batch_size)

    def predict(self, images, texts, descriptions=None, top_k: int = 3):
        """One item (image, designation[, description]) or lists of them -> Prediction(s)."""
        single = isinstance(texts, str)
        if single:
            images, texts, descriptions = [images], [texts], [descriptions]
        probs = self.predict_proba(list(images), list(texts), list(descriptions) if descriptions else None)
        results = [self._decode(row, top_k) for row in probs]
        return results[0] if single else results

    def _decode(self, row: np.ndarray, top_k: int) -> Prediction:
        order = np.argsort(-row, kind="stable")[: max(1, top_k)]
        cands = [Candidate(int(self.labels[i]["prdtypecode"]), self.labels[i]["name_fr"], self.labels[i]["name_en"],
                           float(row[i])) for i in order]
        best = cands[0]
        return Prediction(best.prdtypecode, best.category, best.category_en, best.probability, cands)


def load(bundle: str | Path, providers: list[str] | str | None = None, threads: int | None = None) -> Classifier:
    return Classifier(bundle, providers, threads)
