"""`rakuten-edge predict`: one product through a bundle (runtime only, no training framework)."""

from __future__ import annotations

from pathlib import Path

from . import paths
from .bundles import best_bundle
from .errors import UserError


def predict(
    image: str | Path,
    text: str,
    description: str | None = None,
    bundle: Path | None = None,
    top_k: int = 3,
    providers: list[str] | None = None,
    backend: str | None = None,
    precision: str | None = None,
) -> dict:
    from .runtime import STRICT, load

    image = Path(image)
    if not image.is_file():
        raise UserError(f"image not found: {image}")
    chosen = Path(bundle) if bundle else best_bundle(paths.BUNDLES)
    classifier = load(chosen, providers=providers, backend=backend, precision=precision)
    try:
        answers = classifier.classify([image], [text], [description], STRICT, top_k)
    except ValueError as exc:  # an InputError (empty text, unreadable image) or a top_k out of range
        field = getattr(exc, "field", None)
        raise UserError(f"{image}: {exc}" if field == "image" else str(exc)) from None
    return answers.to_dict()
