"""Preprocessing shared by training and the edge runtime.

Only numpy and pillow here: training imports these functions, so the tensors the runtime builds are the
tensors the models were trained on, bit for bit.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_SIZE = 128
# Larger images are refused from their header, before any decoding: real product photos are 500x500 and phone
# cameras stay under 50 MP, while PIL itself only refuses above 2 x 89 MP (and warns in between).
MAX_PIXELS = 64_000_000
# Pixels at or above this grey level count as the white padding around the product.
WHITE_THRESHOLD = 245
# Bumped whenever a function below changes its output: prepared caches keyed on it are rebuilt.
PREPROCESS_VERSION = 1

# ----------------------------------------------------------------------------------------------- text

_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")
# UTF-8 bytes read as cp1252 or latin-1: a lead byte 0xC2-0xF4 then continuation bytes 0x80-0xBF, each
# shown as the character that byte means in cp1252 ("Ã©" for "é", "â€™" for "’") or in latin-1.
_CONTINUATION = "".join(sorted({bytes([b]).decode("cp1252", "ignore") for b in range(0x80, 0xC0)} - {""}))
_MOJIBAKE = re.compile("[\u00c2-\u00f4][" + re.escape(_CONTINUATION) + "\u0080-\u00bf]{1,3}")


def _redecode(match: re.Match) -> str:
    run = match.group(0)
    for codec in ("cp1252", "latin-1"):
        try:
            return run.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return run


def _fix_mojibake(text: str) -> str:
    # Repaired run by run, so one odd sequence does not stop the rest of the text from being fixed.
    return _MOJIBAKE.sub(_redecode, text)


def clean_text(text: str | None) -> str:
    """HTML-unescape, strip tags, repair cheap mojibake and collapse whitespace."""
    if text is None:
        return ""
    text = str(text)
    if text.lower() in ("nan", "none"):
        return ""
    # Real rows carry double-escaped entities ("&amp;eacute;"), hence two passes.
    text = html.unescape(html.unescape(text))
    text = _TAG.sub(" ", text)
    text = _fix_mojibake(text)
    return _SPACES.sub(" ", text).strip()


def product_text(designation: str | None, description: str | None = None) -> str:
    """The seed's model text: designation + " " + description, both cleaned."""
    return " ".join(part for part in (clean_text(designation), clean_text(description)) if part)


# Keras' DEFAULT_STRIP_REGEX, character for character (",-." is a range that covers ",", "-", ".").
_KERAS_PUNCT = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
# tf.strings.lower without an encoding lowercases ASCII only ("É" stays "É"), and tf.strings.split
# splits on ASCII whitespace only (a no-break space stays inside a token): both copied on purpose.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ASCII_SPACE = re.compile(r"[ \t\n\r\x0b\x0c]+")
PAD, OOV = "", "[UNK]"


def keras_tokens(text: str) -> list[str]:
    """Keras TextVectorization's `lower_and_strip_punctuation` + whitespace split."""
    text = _KERAS_PUNCT.sub("", text.translate(_ASCII_LOWER))
    return [tok for tok in _ASCII_SPACE.split(text) if tok]


class TextVectorizer:
    """Token ids identical to `keras.layers.TextVectorization(output_mode="int")`.

    Index 0 is padding, 1 the OOV token; the vocabulary is ordered like Keras' `adapt`: count descending,
    ties broken by the token's UTF-8 bytes descending.
    """

    def __init__(self, vocabulary: list[str], sequence_length: int):
        if len(vocabulary) < 2 or vocabulary[0] != PAD or vocabulary[1] != OOV:
            raise ValueError("vocabulary must start with the padding '' and OOV '[UNK]' entries")
        if sequence_length < 1:
            raise ValueError(f"sequence_length must be positive, got {sequence_length}")
        self.vocabulary = list(vocabulary)
        self.sequence_length = int(sequence_length)
        self._index = {tok: i for i, tok in enumerate(self.vocabulary)}

    @classmethod
    def adapt(cls, texts: Iterable[str], max_tokens: int, sequence_length: int) -> TextVectorizer:
        if max_tokens < 3:
            raise ValueError(f"max_tokens must be at least 3, got {max_tokens}")
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(keras_tokens(text))
        counts.pop(PAD, None)
        counts.pop(OOV, None)
        ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0].encode("utf-8")), reverse=True)
        return cls([PAD, OOV] + [tok for tok, _ in ranked[: max_tokens - 2]], sequence_length)

    def __call__(self, texts: Iterable[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.sequence_length), dtype=np.int32)
        index = self._index
        for row, text in enumerate(texts):
            ids = [index.get(tok, 1) for tok in keras_tokens(text)[: self.sequence_length]]
            out[row, : len(ids)] = ids
        return out

    def save(self, path: str | Path) -> None:
        # One token per line, like Keras' vocabulary files; tokens never contain "\n" (it splits them).
        Path(path).write_text("\n".join(self.vocabulary) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, sequence_length: int) -> TextVectorizer:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls(lines, sequence_length)


# ---------------------------------------------------------------------------------------------- image

ImageLike = str | Path | bytes | Image.Image | np.ndarray


def _open(image: ImageLike, size: int) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, np.ndarray):
        array = image
        if (
            array.size == 0
            or not np.issubdtype(array.dtype, np.number)
            or np.issubdtype(array.dtype, np.complexfloating)
        ):
            raise ValueError(f"image array must be a non-empty real numeric array, got {array.dtype} {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError("image array contains NaN or infinite values")
        if array.dtype != np.uint8:
            if float(array.max()) <= 1.0:
                array = array * 255.0
            array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
        if array.ndim == 3 and array.shape[-1] == 1:
            array = array[..., 0]
        if array.ndim not in (2, 3):
            raise ValueError(f"image array must be HxW or HxWxC, got shape {array.shape}")
        return Image.fromarray(array)
    source = io.BytesIO(image) if isinstance(image, (bytes, bytearray)) else image
    img = Image.open(source)
    # JPEG draft mode decodes at 1/2, 1/4 or 1/8 scale straight from the DCT: most of the decoding
    # cost disappears; PIL keeps the decoded image at least as large as the target.
    img.draft("L", (size, size))
    return img


def load_image(image: ImageLike, size: int = IMAGE_SIZE) -> np.ndarray:
    """Grayscale, white border cropped, square-padded, resized: uint8 array of shape (size, size)."""
    try:
        img = _open(image, size)
        if img.width * img.height > MAX_PIXELS:
            raise ValueError(f"image of {img.width}x{img.height} pixels is over the limit of {MAX_PIXELS:,} pixels")
        img.load()
        # A phone photo's EXIF orientation says how it is shown; challenge images carry none (a no-op for them).
        img = ImageOps.exif_transpose(img) if "exif" in img.info or img.getexif() else img
    except (OSError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        # PIL reports unreadable files as OSError/SyntaxError, truncated ones sometimes as EOFError, and a header
        # claiming more than Image.MAX_IMAGE_PIXELS x 2 pixels as DecompressionBombError (nothing is decoded then).
        reason = " ".join(str(exc).split())
        if isinstance(exc, UnidentifiedImageError):  # its text names a BytesIO object: say what it means instead
            reason = "not an image format Pillow can read"
        raise ValueError(f"cannot read image: {reason}"[:300]) from None
    gray = np.asarray(img.convert("L"))
    content = np.argwhere(gray < WHITE_THRESHOLD)
    if len(content):
        (top, left), (bottom, right) = content.min(0), content.max(0) + 1
        gray = gray[top:bottom, left:right]
    # Pad to a square with white so that the product keeps its aspect ratio.
    h, w = gray.shape
    side = max(h, w)
    square = np.full((side, side), 255, dtype=np.uint8)
    square[(side - h) // 2 : (side - h) // 2 + h, (side - w) // 2 : (side - w) // 2 + w] = gray
    resized = Image.fromarray(square).resize((size, size), Image.Resampling.BILINEAR, reducing_gap=None)
    return np.asarray(resized, dtype=np.uint8)


def blank_image(size: int = IMAGE_SIZE) -> np.ndarray:
    """What load_image gives for an all-white picture: the stand-in for a missing image."""
    return np.full((size, size), 255, np.uint8)


def image_tensor(pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) pixels -> the models' float32 (N, H, W, 1) input in [0, 1]."""
    return (pixels.astype(np.float32) / np.float32(255.0))[..., None]


class TransformerTextEncoder:
    """CamemBERT ids from a `tokenizers` tokenizer.json: the one object used by training and the runtime,
    padded to max_length so a row's ids never depend on the other rows of its batch."""

    def __init__(self, tokenizer_json: str | Path, max_length: int, pad_id: int, pad_token: str):
        from tokenizers import Tokenizer

        self.max_length, self.pad_id, self.pad_token = int(max_length), int(pad_id), pad_token
        self.tokenizer = Tokenizer.from_file(str(tokenizer_json))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.enable_padding(pad_id=self.pad_id, pad_token=pad_token, length=self.max_length)

    def arrays(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, attention_mask), int64 (N, max_length): the hf-tokenizer kind's text inputs, in order."""
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64).reshape(-1, self.max_length)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64).reshape(-1, self.max_length)
        return ids, mask

    def __call__(self, texts: list[str]) -> dict[str, np.ndarray]:
        from ..tables.text_kinds import TEXT_KINDS

        return dict(zip(TEXT_KINDS["hf-tokenizer"].text_inputs, self.arrays(texts)))
