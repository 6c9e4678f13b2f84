"""CamemBERT with transformers (PyTorch): loading by name or path, the runtime's text encoder, identity."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ..errors import UserError
from ..run import Run
from ..runtime.preprocess import TransformerTextEncoder


def _unreachable(name_or_path: str, why: str) -> UserError:
    return UserError(
        f"cannot load CamemBERT {name_or_path!r} ({why}): no model hub is reachable here. "
        "Point the camembert option at a local folder holding config.json, the weights and tokenizer.json "
        "(`rakuten-edge camembert tiny` writes an offline one to models/camembert-tiny)"
    )


def check_encoder_source(name_or_path: str) -> None:
    """Fail before anything loads when the encoder cannot be found: a path that is no folder, or a hub name that the
    local cache lacks while HF_HUB_OFFLINE=1. Transformers, torch and the data took 15-20 s to reach that error
    (AMD EPYC, 2 cores). Other hub names are left to `load_encoder` (a hub may be reachable)."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return
    if path.is_absolute() or name_or_path.startswith((".", "~")) or name_or_path.count("/") > 1:
        raise _unreachable(name_or_path, "no such folder")
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(name_or_path, "config.json"), str):
            raise _unreachable(name_or_path, "not in the local cache and HF_HUB_OFFLINE=1")


def load_encoder(name_or_path: str):
    """(CamembertModel, tokenizer) from a local folder or a hub name; one clear error when unreachable."""
    check_encoder_source(name_or_path)  # before transformers loads
    from transformers import AutoModel, AutoTokenizer

    local = Path(name_or_path).is_dir()
    attempts = [True] if local or os.environ.get("HF_HUB_OFFLINE") == "1" else [True, False]
    last = None
    for local_only in attempts:  # the local cache first: a hub miss costs ~25 s of retries here
        try:
            tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=local_only)
            model = AutoModel.from_pretrained(name_or_path, local_files_only=local_only, add_pooling_layer=False)
            if not getattr(tokenizer, "is_fast", False):
                raise UserError(f"{name_or_path}: a fast tokenizer (tokenizer.json) is needed for the edge runtime")
            return model.eval(), tokenizer
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - transformers raises OSError, ValueError, HTTP errors...
            last = exc
    raise _unreachable(name_or_path, type(last).__name__)


def check_max_length(encoder, max_length: int) -> None:
    # RoBERTa-style position ids start after the padding index: two positions are not usable.
    limit = encoder.config.max_position_embeddings - 2
    if not 2 < max_length <= limit:
        raise UserError(f"max_length {max_length} is outside what this encoder supports (3..{limit})")


def text_encoder(tokenizer, folder: Path, max_length: int) -> TransformerTextEncoder:
    """Save the fast tokenizer as tokenizer.json in `folder` and wrap it like the runtime does."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.backend_tokenizer.save(str(folder / Run.TOKENIZER))
    return TransformerTextEncoder(folder / Run.TOKENIZER, max_length, tokenizer.pad_token_id, tokenizer.pad_token)


def fingerprint(model, tokenizer_json: Path, max_length: int) -> str:
    """Identity of (weights, tokenizer, max_length): the embedding cache's key."""
    h = hashlib.sha256(f"{max_length}|".encode())
    h.update(Path(tokenizer_json).read_bytes())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:20]
