"""`load(bundle) -> Classifier`: the one path from inputs to answers — decode, encode, run, top-k.

predict, serve, the catalogue (local and Ray), export validation, int8 candidate timing and the bench all call it;
what runs the graph is an engine (engine.py) looked up in tables/engines.py.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..tables import load_object
from ..tables.engines import DEFAULT
from ..tables.formats import FORMATS, Format, bundle_formats
from ..tables.text_kinds import IMAGE, PROBS, get_text_kind
from .answers import API, EMPTY_TEXT, IMAGE_MISSING, Answers, Candidate, Decoded, InputError, Policy, Prediction
from .batching import Feeds, run_batched, step_for
from .engine import Engine, EngineError, EngineOptions, open_engine
from .manifest import BundleError, read_manifest
from .preprocess import ImageLike, blank_image, image_tensor, load_image, product_text
from .tuning import JOBS, Choice, EngineSetting, choose

__all__ = ["Classifier", "Prediction", "load", "manifest_format"]


def manifest_format(bundle: Path, manifest: dict) -> Format:
    """The manifest's format, which must be one the export writes (the runtime loads nothing else)."""
    name = manifest.get("format", bundle_formats()[0].name)  # schema-1 bundles all carry it; hand-made ones may not
    fmt = FORMATS.get(name) if isinstance(name, str) else None
    if fmt is None or not fmt.bundle:
        loadable = ", ".join(f.name for f in bundle_formats())
        raise BundleError(f"{bundle}: format {name!r} is not a bundle format this runtime loads ({loadable})")
    if fmt.artifact not in manifest.get("files", {}):
        raise BundleError(f"{bundle}: the manifest lists no {fmt.artifact}")
    return fmt


class Classifier:
    def __init__(
        self,
        bundle: str | Path,
        providers: list[str] | str | None = None,
        threads: int | None = None,
        spin: bool = True,
        backend: str | None = None,
        precision: str | None = None,
        job: str = "latency",
        *,
        refuse_failed: bool = True,
    ):
        """`backend`/`precision` pin the engine; otherwise the bundle's tuning for this CPU and `job` (latency or
        throughput) chooses, else onnxruntime. `spin=False` stops onnxruntime's threads from busy-waiting between
        calls: right when other work (image decoding, other sessions) shares the cores. A pin that this CPU's tuning
        saw fail its gates is refused, unless `refuse_failed=False` (tune's worker, which measures it again)."""
        self.bundle = Path(bundle)
        self.manifest = read_manifest(self.bundle)
        m = self.manifest
        self.format = manifest_format(self.bundle, m)
        if job not in JOBS:
            raise UserError(f"job must be one of {', '.join(JOBS)}, got {job!r}")
        pinned = EngineSetting(backend or DEFAULT, precision, threads) if backend or precision else None
        default = EngineSetting(DEFAULT, None, threads)
        choice = choose(self.bundle, m, job, pinned, default)
        if choice.refused and refuse_failed:
            raise BundleError(
                f"{self.bundle}: {pinned.label} failed its gates on this CPU ({choice.refused}); "
                "run without --backend/--precision, or `rakuten-edge tune` again"
            )
        if threads and choice.source == "tuned":
            # The caller's thread budget (serve divides the cores among its models) bounds the tuned setting.
            choice = replace(choice, candidate=replace(choice.candidate, threads=threads))
        notes = [choice.note] if choice.note else []
        try:
            self.engine: Engine = self._open(choice.candidate, providers, spin, job)
        except UserError as exc:
            if choice.source != "tuned":
                raise (exc if isinstance(exc, BundleError) else BundleError(f"{self.bundle}: {exc}")) from None
            notes.append(f"the tuned {choice.candidate.label} cannot run here ({exc}); running the default")
            choice = Choice(default, "default")
            self.engine = self._open(default, providers, spin, job)
        self.candidate, self.choice = choice.candidate, choice.source
        notes += [self.engine.note] if self.engine.note else []
        self.provider_note = "; ".join(notes) or None
        if self.provider_note:
            print(f"note: {self.provider_note}", file=sys.stderr)
        self.providers = self.engine.providers
        try:
            self._read(m)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            reason = f"{self.bundle}: manifest field missing or malformed ({type(exc).__name__}: {exc})"
            raise BundleError(reason[:300]) from None
        self._check_graph(m)

    def _open(self, candidate: EngineSetting, providers, spin: bool, job: str) -> Engine:
        options = EngineOptions(
            providers or (self.format.provider or None), candidate.threads, spin, precision=candidate.precision, job=job
        )
        try:
            return open_engine(self.bundle / self.format.artifact, candidate.backend, options)
        except EngineError as exc:
            raise BundleError(f"{self.bundle}: {exc}") from None

    def _check_graph(self, m: dict) -> None:
        """The graph must be the one the manifest describes (names and fixed sizes), or nothing would run: a
        bundle whose model file was swapped for another model's, hashes updated, is refused here."""
        graph = {t.name: t.shape for t in self.engine.inputs()}
        declared = {str(i["name"]): i.get("shape", []) for i in m["inputs"]}
        mismatch = sorted(graph) != sorted(declared)
        for name, shape in graph.items():
            want = declared.get(name, [])
            fixed = [(g, w) for g, w in zip(shape, want) if isinstance(g, int) and isinstance(w, int)]
            mismatch |= len(shape) != len(want) or any(g != w for g, w in fixed)
        outputs = self.engine.outputs()
        width = outputs[0].shape[-1] if outputs and outputs[0].shape else None
        mismatch |= [o.name for o in outputs] != [PROBS] or (isinstance(width, int) and width != len(self.labels))
        if mismatch:
            got = ", ".join(f"{n} {s}" for n, s in graph.items())
            raise BundleError(
                f"{self.bundle}: {self.format.artifact} takes {got}, not what the manifest declares: the graph is "
                "not this bundle's model"
            )

    def _read(self, m: dict) -> None:
        self.input_names = [str(i["name"]) for i in m["inputs"]]
        self.image_size = int(m["preprocessing"]["image"]["size"])
        text = m["preprocessing"]["text"]
        try:
            self.text_kind = get_text_kind(text["kind"])
        except UserError as exc:
            raise BundleError(f"{self.bundle}: {exc}") from None
        encoder = load_object(self.text_kind.encoder)(self.bundle, text)
        names = self.text_kind.text_inputs
        self._encode_text = lambda texts: dict(zip(names, encoder(texts)))
        self.labels = [
            {"prdtypecode": int(x["prdtypecode"]), "name_fr": str(x["name_fr"]), "name_en": str(x["name_en"])}
            for x in m["labels"]
        ]
        # Each output column's prdtypecode, built once: the catalogue and /v2 map every answer through it.
        self.label_codes = np.array([label["prdtypecode"] for label in self.labels], np.int32)
        # Dynamic int8 quantizes activations per batch: a row's answer would depend on its neighbours,
        # so such bundles run row by row unless the caller asks otherwise.
        self.batch_invariant = bool(m.get("batch_invariant", True))

    # --------------------------------------------------------------------------------------- the stages
    def check_top_k(self, top_k: int) -> int:
        """The top-k limit is the bundle's number of labels."""
        if not 1 <= top_k <= len(self.labels):
            raise ValueError(f"top_k must be between 1 and {len(self.labels)}, got {top_k}")
        return top_k

    def decode_one(self, image: ImageLike | None, policy: Policy = API) -> Decoded:
        """Stage 1: one image to pixels. Under a lenient policy a missing or unreadable image becomes a blank one
        with its issue; under a strict one it is an InputError("image", reason)."""
        try:
            if image is None or (isinstance(image, (str, Path)) and not Path(image).is_file()):
                raise InputError("image", IMAGE_MISSING)
            return Decoded(load_image(image, self.image_size))
        except ValueError as exc:  # load_image's one-line reasons, and the missing file above
            if not policy.blank_image:
                raise exc if isinstance(exc, InputError) else InputError("image", str(exc)) from None
            reason = str(exc) if isinstance(exc, InputError) else f"image unreadable ({' '.join(str(exc).split())})"
            return Decoded(blank_image(self.image_size), reason[:200])

    def decode(self, images: Sequence[ImageLike | None], policy: Policy = API) -> list[Decoded]:
        return [self.decode_one(image, policy) for image in images]

    def text_of(self, designation: str | None, description: str | None = None, policy: Policy = API) -> str:
        """The cleaned product text; empty text is an InputError("designation", ...) under a strict policy."""
        text = product_text(designation, description)
        if not text and not policy.empty_text:
            raise InputError("designation", "the product text is empty (designation and description)")
        return text

    def encode(self, pixels: np.ndarray, texts: list[str]) -> Feeds:
        """Stage 2: model feeds from uint8 (N, H, W) pixels and cleaned product texts."""
        feeds = {IMAGE: image_tensor(pixels), **self._encode_text(texts)}
        return {name: feeds[name] for name in self.input_names}

    def run(self, feeds: Feeds, batch_size: int | None = None) -> np.ndarray:
        """Stage 3: probabilities, under the batching rule (row by row where the graph is not batch-invariant)."""
        step = step_for(self.batch_invariant, batch_size)
        return run_batched(self.engine.run, feeds, step, len(self.labels))

    def prediction(self, row: np.ndarray, top_k: int = 3, issues: tuple[str, ...] = ()) -> Prediction:
        """Stage 4: one row of probabilities as a Prediction with its top_k candidates."""
        order = np.argsort(-row, kind="stable")[: max(1, top_k)]
        cands = [
            Candidate(
                int(self.labels[i]["prdtypecode"]), self.labels[i]["name_fr"], self.labels[i]["name_en"], float(row[i])
            )
            for i in order
        ]
        best = cands[0]
        return Prediction(best.prdtypecode, best.category, best.category_en, best.probability, cands, issues)

    def envelope(self) -> dict:
        """Where an answer comes from: every surface's answer starts with these."""
        return {"bundle": str(self.bundle), "provider": self.providers[0]}

    def codes(self, probs: np.ndarray) -> list[int]:
        """Each row's top-1 prdtypecode."""
        return self.label_codes[probs.argmax(1)].tolist() if len(probs) else []

    # ------------------------------------------------------------------------------------- the whole path
    def classify(
        self,
        images: Sequence[ImageLike | None],
        texts: Sequence[str | None],
        descriptions: Sequence[str | None] | None = None,
        policy: Policy = API,
        top_k: int = 3,
        batch_size: int | None = None,
    ) -> Answers:
        """Decode, encode, run and top-k for N items, under `policy`."""
        if texts is None:
            raise ValueError("texts is None: give the product's designation (a string, or a list of them)")
        if len(images) != len(texts):
            raise ValueError(f"{len(images)} images but {len(texts)} texts")
        self.check_top_k(top_k)
        descriptions = list(descriptions) if descriptions else [None] * len(texts)
        decoded = self.decode(images, policy)
        cleaned = [self.text_of(t, d, policy) for t, d in zip(texts, descriptions)]
        pixels = (
            np.stack([d.pixels for d in decoded])
            if decoded
            else np.zeros((0, self.image_size, self.image_size), np.uint8)
        )
        probs = self.run(self.encode(pixels, cleaned), batch_size)
        issues = [tuple(r for r in (d.issue, None if t else EMPTY_TEXT) if r) for d, t in zip(decoded, cleaned)]
        predictions = [self.prediction(row, top_k, i) for row, i in zip(probs, issues)]
        return Answers(probs, predictions, self.envelope())

    def predict_proba(self, images, texts, descriptions=None, batch_size: int | None = None) -> np.ndarray:
        return self.classify(list(images), list(texts), descriptions, batch_size=batch_size).probs

    def predict(self, images, texts, descriptions=None, top_k: int = 3, policy: Policy = API):
        """One item (image, designation[, description]) or lists of them -> Prediction(s)."""
        if texts is None:
            raise ValueError("texts is None: give the product's designation (a string, or a list of them)")
        single = isinstance(texts, str)
        if single:
            images, texts, descriptions = [images], [texts], [descriptions]
        answers = self.classify(list(images), list(texts), descriptions, policy, top_k)
        return answers.predictions[0] if single else answers.predictions


def load(bundle: str | Path, *args, **kwargs) -> Classifier:
    """`Classifier(bundle, providers, threads, spin, backend, precision, job)`: the runtime's entry point."""
    return Classifier(bundle, *args, **kwargs)
