"""CamemBERT built offline (no model hub here): a Unigram tokenizer trained on the corpus, random weights."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # ids 0..4: pad 1 is RoBERTa's padding_idx


def train_tokenizer(texts: list[str], vocab_size: int):
    """A CamemBERT-style fast tokenizer (Unigram, <s> text </s>) trained offline on `texts`."""
    from tokenizers import SentencePieceUnigramTokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import CamembertTokenizerFast

    spm = SentencePieceUnigramTokenizer()
    spm.train_from_iterator(
        texts, vocab_size=vocab_size, special_tokens=SPECIALS, unk_token="<unk>", show_progress=False
    )
    backend = spm._tokenizer
    backend.post_processor = RobertaProcessing(("</s>", SPECIALS.index("</s>")), ("<s>", SPECIALS.index("<s>")))
    # additional_special_tokens=[]: otherwise transformers adds CamemBERT's extra tokens past the vocabulary.
    return CamembertTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        additional_special_tokens=[],
    )


def random_encoder(
    tokenizer, vocab_size: int, hidden: int, layers: int, heads: int, intermediate: int, max_length: int, seed: int = 0
):
    """A CamembertModel with random weights (no hub): the tiny test encoder or a base-size bench encoder."""
    import torch
    from transformers import CamembertConfig, CamembertModel

    if hidden % heads or vocab_size < len(tokenizer):
        raise UserError("hidden must be divisible by heads, and the vocabulary must hold the tokenizer's ids")
    torch.manual_seed(seed)
    config = CamembertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=max_length + 2,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return CamembertModel(config, add_pooling_layer=False).eval()


def build_tiny(
    data: Path,
    out: Path,
    vocab_size: int = 4000,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 2,
    max_length: int = 128,
    seed: int = 0,
) -> dict:
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
    return {
        "out": str(out),
        "vocab_size": len(tokenizer),
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }
