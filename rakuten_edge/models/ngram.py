"""The sixth model's text branch: a bag of hashed word and character n-grams, TF-IDF weighted, then the text head
(none in the seed preset: the logits are linear in the bag, registry.py says why).

Why this design (benchmarks/README, "Real text"): on 8,000 real product texts a linear model over TF-IDF n-grams beats
the seed's sequence branches by 12-14 points, because it needs no word order and learns a weight per n-gram from a
handful of rows. Hashing keeps the vocabulary out of the bundle (a 1 MB IDF table instead) and gives unseen words
their character n-grams. Measured here with logistic regression on those rows (AMD EPYC, split seed 42): TF-IDF
word 1-2 grams 0.6606; these features, 65,536 buckets, 1,024 kept per text 0.6725; 256 kept 0.6694; 262,144 buckets
0.6756. At 20,000 rows, 262,144 buckets against 65,536: +0.10 on each split (benchmarks/hashed_lr.py, AMD EPYC with
AVX-512); the whole model gained +0.25, so the preset hashes into 262,144 and keeps its tables at 32 columns. The
graph holds an EmbeddingBag (gather, then the weighted sum), so the runtime only hashes and counts.
"""

from __future__ import annotations

from ..runtime.ngrams import NgramSpec
from ..tables.text_kinds import TEXT_KINDS
from .config import ModelConfig, TextBranch


def spec_of(config: ModelConfig) -> NgramSpec:
    """The n-gram rule of a config: buckets = text.max_tokens, features kept per text = text.sequence_length."""
    text = config.text
    return NgramSpec(buckets=text.max_tokens, max_features=text.sequence_length, norm=text.ngram_norm)


def ngram_input(config: ModelConfig, cls_dim: int | None = None) -> tuple:
    """hashed-ngrams: ids and weights, the feature axis dynamic (the runtime pads to the batch's longest row)."""
    import keras

    ids, weights = TEXT_KINDS["hashed-ngrams"].text_inputs
    return keras.Input((None,), dtype="int32", name=ids), keras.Input((None,), dtype="float32", name=weights)


def ngram_branch(inputs: tuple, cfg: TextBranch, momentum: float = 0.99):
    """sum_f weight_f * E[id_f] (an EmbeddingBag: padding has weight 0), then the text head every branch ends with.

    With cfg.bags > 1, that many independent bags over the same n-grams, each with its own embedding, dropout masks and
    (in the fusion) softmax head; a tuple of their features. Why (benchmarks/README, "Real text"): text-only scratch
    models, 3 bags against 1 with the same settings, one training seed per split (Intel Xeon with AMX): 20,000 rows
    0.7445 against the single bags' 0.7405, 8,000 rows 0.6985 against 0.6910. Averaging heads trained apart cancels
    part of each one's fit to its own noise; one bag three times as wide is one model and does not."""
    from keras import layers

    from .keras_builders import text_head

    ids, weights = inputs
    suffixes = [""] if cfg.bags == 1 else [f"_{k}" for k in range(1, cfg.bags + 1)]
    features = []
    for s in suffixes:
        bag = layers.Embedding(cfg.max_tokens, cfg.embedding_dim, name=f"txt_embedding{s}")(ids)
        x = layers.Dot(axes=1, name=f"txt_bag{s}")([weights, bag])
        x = layers.Dropout(cfg.dropout, name=f"txt_bag_drop{s}")(x)
        features.append(text_head(x, cfg, momentum, suffix=s))
    return features[0] if cfg.bags == 1 else tuple(features)
