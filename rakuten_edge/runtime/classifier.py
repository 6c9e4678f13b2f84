"""`load(bundle) -> Classifier`: preprocessing + onnxruntime, nothing else."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..export.formats import FORMATS, Format, bundle_formats
from .batching import Feeds, run_batched, step_for
from .manifest import BundleError, inside, read_manifest
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
        return {
            "prdtypecode": self.prdtypecode,
            "category": self.category,
            "category_en": self.category_en,
            "probability": self.probability,
            "top_k": [c.__dict__ for c in self.top_k],
        }


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
            notes.append(
                f"{full} requested but not available in this onnxruntime ({', '.join(available)})"
                + ("; install onnxruntime-gpu and a CUDA driver to use the GPU" if "CUDA" in full else "")
            )
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen, ("; ".join(notes) + "; running on CPU") if notes else None


def manifest_format(bundle: Path, manifest: dict) -> Format:
    """The manifest's format, which must be one the export writes (the runtime loads nothing else)."""
    name = manifest.get("format", "onnx-fp32")  # schema-1 bundles all carry it; the default is for hand-made ones
    fmt = FORMATS.get(name) if isinstance(name, str) else None
    if fmt is None or not fmt.bundle:
        loadable = ", ".join(f.name for f in bundle_formats())
        raise BundleError(f"{bundle}: format {name!r} is not a bundle format this runtime loads ({loadable})")
    if fmt.artifact not in manifest.get("files", {}):
        raise BundleError(f"{bundle}: the manifest lists no {fmt.artifact}")
    return fmt


def _keras_vectorizer(bundle: Path, text: dict):
    vectorizer = TextVectorizer.load(inside(bundle, text["vocabulary"]), int(text["sequence_length"]))
    return lambda texts: {"tokens": vectorizer(texts)}


def _hf_tokenizer(bundle: Path, text: dict):
    return TransformerTextEncoder(
        inside(bundle, text["tokenizer"]), int(text["max_length"]), int(text["pad_id"]), str(text["pad_token"])
    )


# The manifest's preprocessing.text.kind -> a builder of texts -> feeds (one entry per kind of text input).
TEXT_PREPROCESSING = {"keras-vectorizer": _keras_vectorizer, "hf-tokenizer": _hf_tokenizer}


class Classifier:
    def __init__(
        self,
        bundle: str | Path,
        providers: list[str] | str | None = None,
        threads: int | None = None,
        spin: bool = True,
    ):
        """`spin=False` stops onnxruntime's threads from busy-waiting between calls: right when other work (image
        decoding, other sessions) shares the cores, at the price of a little latency when the session runs alone."""
        self.bundle = Path(bundle)
        self.manifest = read_manifest(self.bundle)
        m = self.manifest
        self.format = manifest_format(self.bundle, m)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        if not spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        chosen, self.provider_note = _providers(providers or (self.format.provider or None))
        if self.provider_note:
            print(f"note: {self.provider_note}", file=sys.stderr)
        artifact = self.format.artifact
        try:
            self.session = ort.InferenceSession(str(self.bundle / artifact), options, providers=chosen)
        except Exception as exc:  # onnxruntime raises its own exception types for corrupt models
            raise BundleError(f"{self.bundle}: onnxruntime cannot load {artifact}: {exc}") from None
        self.providers = self.session.get_providers()
        try:
            self._read(m)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            reason = f"{self.bundle}: manifest field missing or malformed ({type(exc).__name__}: {exc})"
            raise BundleError(reason[:300]) from None
        self._check_graph(m, artifact)

    def _check_graph(self, m: dict, artifact: str) -> None:
        """The graph must be the one the manifest describes (names and fixed sizes), or nothing would run: a
        bundle whose model file was swapped for another model's, hashes updated, is refused here."""
        graph = {i.name: i.shape for i in self.session.get_inputs()}
        declared = {str(i["name"]): i.get("shape", []) for i in m["inputs"]}
        mismatch = sorted(graph) != sorted(declared)
        for name, shape in graph.items():
            want = declared.get(name, [])
            fixed = [(g, w) for g, w in zip(shape, want) if isinstance(g, int) and isinstance(w, int)]
            mismatch |= len(shape) != len(want) or any(g != w for g, w in fixed)
        outputs = self.session.get_outputs()
        width = outputs[0].shape[-1] if outputs and outputs[0].shape else None
        mismatch |= [o.name for o in outputs] != ["probs"] or (isinstance(width, int) and width != len(self.labels))
        if mismatch:
            got = ", ".join(f"{n} {s}" for n, s in graph.items())
            raise BundleError(
                f"{self.bundle}: {artifact} takes {got}, not what the manifest declares: the graph is "
                "not this bundle's model"
            )

    def _read(self, m: dict) -> None:
        self.input_names = [str(i["name"]) for i in m["inputs"]]
        self.image_size = int(m["preprocessing"]["image"]["size"])
        text = m["preprocessing"]["text"]
        if text["kind"] not in TEXT_PREPROCESSING:
            raise BundleError(f"{self.bundle}: unknown text preprocessing {text['kind']!r}")
        self.text_inputs = TEXT_PREPROCESSING[text["kind"]](self.bundle, text)
        self.labels = [
            {"prdtypecode": int(x["prdtypecode"]), "name_fr": str(x["name_fr"]), "name_en": str(x["name_en"])}
            for x in m["labels"]
        ]
        # Dynamic int8 quantizes activations per batch: a row's answer would depend on its neighbours,
        # so such bundles run row by row unless the caller asks otherwise.
        self.batch_invariant = bool(m.get("batch_invariant", True))

    # ------------------------------------------------------------------------------------ preprocessing
    def inputs(self, pixels: np.ndarray, texts: list[str]) -> dict[str, np.ndarray]:
        """Model feeds from uint8 (N, H, W) pixels and cleaned product texts."""
        feeds = {"image": image_tensor(pixels), **self.text_inputs(texts)}
        return {name: feeds[name] for name in self.input_names}

    # ---------------------------------------------------------------------------------------- inference
    def run(self, feeds: Feeds, batch_size: int | None = None) -> np.ndarray:
        step = step_for(self.batch_invariant, batch_size)
        return run_batched(lambda chunk: self.session.run(["probs"], chunk)[0], feeds, step, len(self.labels))

    def predict_proba(
        self,
        images: list[ImageLike],
        texts: list[str],
        descriptions: list[str | None] | None = None,
        batch_size: int | None = None,
    ) -> np.ndarray:
        if len(images) != len(texts):
            raise ValueError(f"{len(images)} images but {len(texts)} texts")
        descriptions = descriptions or [None] * len(texts)
        pixels = (
            np.stack([load_image(img, self.image_size) for img in images])
            if images
            else np.zeros((0, self.image_size, self.image_size), np.uint8)
        )
        cleaned = [product_text(t, d) for t, d in zip(texts, descriptions)]
        return self.run(self.inputs(pixels, cleaned), batch_size)

    def predict(self, images, texts, descriptions=None, top_k: int = 3):
        """One item (image, designation[, description]) or lists of them -> Prediction(s)."""
        if texts is None:
            raise ValueError("texts is None: give the product's designation (a string, or a list of them)")
        single = isinstance(texts, str)
        if single:
            images, texts, descriptions = [images], [texts], [descriptions]
        probs = self.predict_proba(list(images), list(texts), list(descriptions) if descriptions else None)
        results = [self.prediction(row, top_k) for row in probs]
        return results[0] if single else results

    def prediction(self, row: np.ndarray, top_k: int = 3) -> Prediction:
        """One row of probabilities as a Prediction with its top_k candidates."""
        order = np.argsort(-row, kind="stable")[: max(1, top_k)]
        cands = [
            Candidate(
                int(self.labels[i]["prdtypecode"]), self.labels[i]["name_fr"], self.labels[i]["name_en"], float(row[i])
            )
            for i in order
        ]
        best = cands[0]
        return Prediction(best.prdtypecode, best.category, best.category_en, best.probability, cands)


def load(
    bundle: str | Path, providers: list[str] | str | None = None, threads: int | None = None, spin: bool = True
) -> Classifier:
    return Classifier(bundle, providers, threads, spin)
