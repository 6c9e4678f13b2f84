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
) -> dict:
    from .runtime import load

    if top_k < 1 or top_k > 27:
        raise UserError(f"top_k must be between 1 and 27, got {top_k}")
    if not (text or "").strip() and not (description or "").strip():
        raise UserError("the product text is empty: give a designation (and optionally a description)")
    image = Path(image)
    if not image.is_file():
        raise UserError(f"image not found: {image}")
    chosen = Path(bundle) if bundle else best_bundle(paths.BUNDLES)
    classifier = load(chosen, providers=providers)
    try:
        result = classifier.predict(image, text, description, top_k=top_k)
    except ValueError as exc:
        raise UserError(f"{image}: {exc}") from None
    return {"bundle": str(chosen), "provider": classifier.providers[0], **result.to_dict()}
