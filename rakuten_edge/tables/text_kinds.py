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


@dataclass(frozen=True)
class TextKind:
    name: str  # the manifest's preprocessing.text.kind
    text_inputs: tuple[str, ...]  # ONNX inputs after the image, in order
    encoder: str  # "module:function" (bundle, manifest text section) -> texts -> feeds, in the runtime
    branches: tuple[str, ...]  # the TextBranch kinds that read this text
    keras_input: str = ""  # "module:function" (config, cls_dim) -> the Keras text Input ("" = not a Keras input)
    keras_branches: tuple[str, ...] = ()  # the branches the Keras builders build for it
    web: bool = False  # the page's preprocess.js reproduces it exactly
    text_dtype: str = "int32"  # element type of every text input
    fixed_length: bool = True  # the sequence axis is fixed in the graph (else dynamic, padded by the runtime)
    description: str = ""

    @property
    def inputs(self) -> tuple[str, ...]:
        return (IMAGE, *self.text_inputs)

    def specs(self, image_size: int, length: int) -> list[dict]:
        """The manifest's `inputs`: [{"name", "shape", "dtype"}], the image first, batch axes dynamic."""
        sequence = length if self.fixed_length else "sequence"
        image = {"name": IMAGE, "shape": ["batch", image_size, image_size, 1], "dtype": "float32"}
        return [image, *({"name": n, "shape": ["batch", sequence], "dtype": self.text_dtype} for n in self.text_inputs)]


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


def web_kinds() -> list[TextKind]:
    return [k for k in TEXT_KINDS.values() if k.web]


register_text_kind(
    TextKind(
        "keras-vectorizer",
        ("tokens",),
        f"{ENCODERS}:keras_vectorizer",
        branches=("bilstm", "conv1d"),
        keras_input=f"{KERAS}:token_input",
        keras_branches=("bilstm", "conv1d"),
        web=True,
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
        keras_branches=("cls-conv1d",),
        text_dtype="int64",
        fixed_length=False,
        description="a `tokenizers` tokenizer.json, padded to max_length: input_ids and attention_mask, int64",
    )
)
