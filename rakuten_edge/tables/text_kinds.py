"""The one table of text kinds: how a model reads its text, keyed by the manifest's `preprocessing.text.kind`.

Each entry carries its ONNX input names, the runtime's encoder, the Keras builder of its text input and whether the
browser page mirrors its preprocessing. A registry entry names its kind; the exporter writes the key into the
manifest; the runtime, the page and the Keras builders read the entry. Nothing else spells a kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError

# Every model's first input and only output.
IMAGE = "image"
PROBS = "probs"

ENCODERS = "rakuten_edge.runtime.text_encoders"
KERAS = "rakuten_edge.models.keras_builders"
WEB = "rakuten_edge.web.text_assets"


@dataclass(frozen=True)
class TextKind:
    name: str  # the manifest's preprocessing.text.kind
    text_inputs: tuple[str, ...]  # ONNX inputs after the image, in order
    encoder: str  # "module:function" (bundle, manifest text section) -> texts -> feeds, in the runtime
    branches: tuple[str, ...]  # the TextBranch kinds that read this text
    keras_input: str = ""  # "module:function" (config, cls_dim) -> the Keras text Inputs, a tuple ("" = none)
    keras_branch: str = ""  # "module:function" (inputs, TextBranch, momentum) -> the text features
    keras_branches: tuple[str, ...] = ()  # the branches the Keras builders build for it
    web: bool = False  # the page's preprocess.js reproduces it exactly
    web_assets: str = ""  # "module:function" (bundle, manifest text) -> (page parameters, {file name: bytes})
    text_dtypes: tuple[str, ...] = ("int32",)  # element type of each text input, in order
    fixed_length: bool = True  # the sequence axis is fixed in the graph (else dynamic, padded by the runtime)
    length_key: str = "sequence_length"  # the manifest text field giving the sequence axis' (largest) length
    description: str = ""

    @property
    def inputs(self) -> tuple[str, ...]:
        return (IMAGE, *self.text_inputs)

    def specs(self, image_size: int, length: int) -> list[dict]:
        """The manifest's `inputs`: [{"name", "shape", "dtype"}], the image first, batch axes dynamic."""
        sequence = length if self.fixed_length else "sequence"
        image = {"name": IMAGE, "shape": ["batch", image_size, image_size, 1], "dtype": "float32"}
        texts = zip(self.text_inputs, self.text_dtypes, strict=True)
        return [image, *({"name": n, "shape": ["batch", sequence], "dtype": d} for n, d in texts)]


TEXT_KINDS: dict[str, TextKind] = {}


def register_text_kind(kind: TextKind) -> TextKind:
    TEXT_KINDS[kind.name] = kind
    return kind


def get_text_kind(name: object) -> TextKind:
    if not isinstance(name, str) or name not in TEXT_KINDS:
        raise UserError(f"unknown text preprocessing {name!r} (known: {', '.join(TEXT_KINDS)})")
    return TEXT_KINDS[name]


def kind_of_branch(branch: str) -> TextKind:
    """The text kind a TextBranch kind (bilstm, cls-dense, ...) reads."""
    for kind in TEXT_KINDS.values():
        if branch in kind.branches:
            return kind
    raise UserError(f"no text kind reads the text branch {branch!r} (known: {', '.join(TEXT_KINDS)})")


def sequence_length(text: dict) -> int:
    """The sequence axis' (largest) length of a manifest's text section, read through its kind's entry."""
    return int(text[get_text_kind(text.get("kind")).length_key])


def web_kinds() -> list[TextKind]:
    return [k for k in TEXT_KINDS.values() if k.web]


register_text_kind(
    TextKind(
        "keras-vectorizer",
        ("tokens",),
        f"{ENCODERS}:keras_vectorizer",
        branches=("bilstm", "conv1d"),
        keras_input=f"{KERAS}:token_input",
        keras_branch=f"{KERAS}:text_branch",
        keras_branches=("bilstm", "conv1d"),
        web=True,
        web_assets=f"{WEB}:keras_vectorizer",
        description="Keras TextVectorization ids (lower_and_strip_punctuation, whitespace split), int32",
    )
)
# The page leaves hf-tokenizer out on purpose: a SentencePiece tokenizer in JS is its own parity project, and
# base-size CamemBERT (443 MB fp32, 111 MB int8) is not a page download.
register_text_kind(
    TextKind(
        "hf-tokenizer",
        ("input_ids", "attention_mask"),
        f"{ENCODERS}:hf_tokenizer",
        branches=("cls-conv1d", "cls-dense"),
        keras_input=f"{KERAS}:cls_input",
        keras_branch=f"{KERAS}:text_branch",
        keras_branches=("cls-conv1d",),
        text_dtypes=("int64", "int64"),
        fixed_length=False,
        length_key="max_length",
        description="a `tokenizers` tokenizer.json, padded to max_length: input_ids and attention_mask, int64",
    )
)
# The sixth model's text: runtime/ngrams.py writes its rule out in full, and the page mirrors it (CRC-32 included).
register_text_kind(
    TextKind(
        "hashed-ngrams",
        ("ngram_ids", "ngram_weights"),
        f"{ENCODERS}:hashed_ngrams",
        branches=("ngram-bag",),
        keras_input="rakuten_edge.models.ngram:ngram_input",
        keras_branch="rakuten_edge.models.ngram:ngram_branch",
        keras_branches=("ngram-bag",),
        web=True,
        web_assets=f"{WEB}:hashed_ngrams",
        text_dtypes=("int32", "float32"),
        fixed_length=False,
        length_key="max_features",
        description="CRC-32-hashed word 1-2 and char 3-5 grams, sublinear TF-IDF, L2: ids int32 + weights float32",
    )
)
