"""CamemBERT with transformers (PyTorch): loading by name or path, a tiny offline model, [CLS] embeddings."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..progress import progress_bar
from ..runtime.preprocess import TransformerTextEncoder

TOKENIZER_JSON = "tokenizer.json"
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # ids 0..4: pad 1 is RoBERTa's padding_idx


def load_encoder(name_or_path: str):
    """(CamembertModel, tokenizer) from a local folder or a hub name; one clear error when unreachable."""
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
    raise UserError(
        f"cannot load CamemBERT {name_or_path!r} ({type(last).__name__}): no model hub is reachable here. "
        "Point --camembert at a local folder holding config.json, the weights and tokenizer.json "
        "(`rakuten-edge camembert tiny` writes an offline one to models/camembert-tiny)")


def check_max_length(encoder, max_length: int) -> None:
    # RoBERTa-style position ids start after the padding index: two positions are not usable.
    limit = encoder.config.max_position_embeddings - 2
    if not 2 < max_length <= limit:
        raise UserError(f"--max-length {max_length} is outside what this encoder supports (3..{limit})")


def text_encoder(tokenizer, folder: Path, max_length: int) -> TransformerTextEncoder:
    """Save the fast tokenizer as tokenizer.json in `folder` and wrap it like the runtime does."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.backend_tokenizer.save(str(folder / TOKENIZER_JSON))
    return TransformerTextEncoder(folder / TOKENIZER_JSON, max_length, tokenizer.pad_token_id, tokenizer.pad_token)


def fingerprint(model, tokenizer_json: Path, max_length: int) -> str:
    """Identity of (weights, tokenizer, max_length): the embedding cache's key."""
    h = hashlib.sha256(f"{max_length}|".encode())
    h.update(Path(tokenizer_json).read_bytes())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def cls_embeddings(model, encoder: TransformerTextEncoder, texts: list[str], batch_size: int, cache_dir: Path,
                   model_id: str, label: str = "embedding") -> np.ndarray:
    """Last layer [CLS] vectors, cached on disk per (model, text): a rerun only embeds texts it has not seen."""
    import torch

    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_file = cache_dir / f"cls-{model_id}.npz"
    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    cached: dict[str, np.ndarray] = {}
    if cache_file.is_file():
        with np.load(cache_file) as z:
            cached = dict(zip(z["keys"].tolist(), z["vectors"]))
    missing = sorted({k: i for i, k in enumerate(keys) if k not in cached}.values())
    hits = len(texts) - len(missing)
    if missing:
        with progress_bar() as bar, torch.inference_mode():
            task = bar.add_task(f"{label} ({hits} cached)", total=len(missing))
            for start in range(0, len(missing), batch_size):
                rows = missing[start : start + batch_size]
                feeds = {k: torch.from_numpy(v) for k, v in encoder([texts[i] for i in rows]).items()}
                vectors = model(**feeds).last_hidden_state[:, 0].float().numpy()
                for i, v in zip(rows, vectors):
                    cached[keys[i]] = v
                bar.advance(task, len(rows))
        tmp = cache_file.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(cached)), vectors=np.stack(list(cached.values())))
        tmp.replace(cache_file)
    cls_embeddings.last_hits = hits  # read by the tests and the run's metrics
    return np.stack([cached[k] for k in keys]).astype(np.float32)


def train_tokenizer(texts: list[str], vocab_size: int):
    """A CamemBERT-style fast tokenizer (Unigram, <s> text </s>) trained offline on `texts`."""
    from tokenizers import SentencePieceUnigramTokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import CamembertTokenizerFast

    spm = SentencePieceUnigramTokenizer()
    spm.train_from_iterator(texts, vocab_size=vocab_size, special_tokens=SPECIALS, unk_token="<unk>", show_progress=False)
    backend = spm._tokenizer
    backend.post_processor = RobertaProcessing(("</s>", SPECIALS.index("</s>")), ("<s>", SPECIALS.index("<s>")))
    # additional_special_tokens=[]: otherwise transformers adds CamemBERT's extra tokens past the vocabulary.
    return CamembertTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                  cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                  additional_special_tokens=[])


def random_encoder(tokenizer, vocab_size: int, hidden: int, layers: int, heads: int, intermediate: int,
                   max_length: int, seed: int = 0):
    """A CamembertModel with random weights (no hub): the tiny test encoder or a base-size bench encoder."""
    import torch
    from transformers import CamembertConfig, CamembertModel

    if hidden % heads or vocab_size < len(tokenizer):
        raise UserError("hidden must be divisible by heads, and the vocabulary must hold the tokenizer's ids")
    torch.manual_seed(seed)
    config = CamembertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                             num_attention_heads=heads, intermediate_size=intermediate,
                             max_position_embeddings=max_length + 2, pad_token_id=tokenizer.pad_token_id,
                             bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    return CamembertModel(config, add_pooling_layer=False).eval()


def build_tiny(data: Path, out: Path, vocab_size: int = 4000, hidden: int = 64, layers: int = 2, heads: int = 2,
               max_length: int = 128, seed: int = 0) -> dict:
    """A small CamemBERT built offline: random weights, a Unigram tokenizer trained on the prepared corpus."""
    from ..atomic import staged_dir
    from ..data.prepared import load_split

    if vocab_size < 100:
        raise UserError("vocab_size must be at least 100")
    tokenizer = train_tokenizer(load_split(data, "train").texts, vocab_size)
    # vocab_size from the tokenizer itself: the Unigram trainer may stop short of the size asked for.
    model = random_encoder(tokenizer, len(tokenizer), hidden, layers, heads, hidden * 4, max_length, seed)
    with staged_dir(Path(out)) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return {"out": str(out), "vocab_size": len(tokenizer), "hidden": hidden, "layers": layers, "heads": heads,
            "parameters": int(sum(p.numel() for p in model.parameters()))}
