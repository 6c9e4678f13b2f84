"""The long tail of real catalogue text: brands, model references, sizes, titles, typos, accentless spellings.

Real rows measured (issue 13): 1,699 X_train rows hold 144,770 Keras tokens and 20,538 distinct ones, 142 per
1,000 tokens, 54% of them seen once, and the count keeps growing with the corpus (Heaps' law). A closed word list
cannot do that, so tail words are drawn from an unbounded procedural pool with Zipf-distributed ranks: a few
ranks recur (a brand, a series), most are drawn once, and a bigger corpus keeps meeting new ones.
"""

from __future__ import annotations

import unicodedata

import numpy as np

_ONSETS = ("b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "ch", "br", "tr", "gr", "pl", "")
_VOWELS = ("a", "e", "i", "o", "u", "é", "ou", "ai", "eau", "on", "an", "in", "y", "è")
_CODAS = ("", "", "", "r", "n", "s", "l", "x", "t", "ck", "rd")
_SYLLABLES = tuple(o + v for o in _ONSETS for v in _VOWELS)
_UNITS = ("cm", "mm", "ml", "l", "g", "kg", "w", "v", "mah", "go", "to", "m", "pcs", "ans", "mois", "x")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Ranks follow Zipf's law truncated to a pool (exponent, size). An untruncated Zipf (numpy's, exponent > 1) makes
# 80-95% of the distinct words hapaxes; real text has 54%. A shared pool every class draws from, and one per class,
# whose head words recur inside the class like a brand or a series does.
SHARED_POOL, CLASS_POOL = (0.6, 12_000), (0.6, 1_500)
P_OWN = 0.25  # share of tail words drawn from the class's own pool
_CDF: dict[tuple[float, int], np.ndarray] = {}


def zipf_rank(rng: np.random.Generator, pool: tuple[float, int]) -> int:
    if pool not in _CDF:
        exponent, size = pool
        cdf = np.cumsum(np.arange(1, size + 1, dtype=np.float64) ** -exponent)
        _CDF[pool] = cdf / cdf[-1]
    return int(np.searchsorted(_CDF[pool], rng.random()))


def pseudo_word(rank: int, salt: int) -> str:
    """The rank-th word of pool `salt`: 2-4 French-looking syllables, fixed for a given (rank, salt)."""
    h = (rank * 2_654_435_761 + salt * 40_503 + 97) % 2**61
    n = 2 + h % 3
    h //= 3
    parts = []
    for _ in range(n):
        parts.append(_SYLLABLES[h % len(_SYLLABLES)])
        h //= len(_SYLLABLES)
    return "".join(parts) + _CODAS[h % len(_CODAS)]


def tail_word(rng: np.random.Generator, code: int) -> str:
    """A word of the shared pool (salt 0) or of class `code`'s own pool, capitalised like a name half the time."""
    own = rng.random() < P_OWN
    word = pseudo_word(zipf_rank(rng, CLASS_POOL if own else SHARED_POOL), code if own else 0)
    return word.capitalize() if rng.random() < 0.5 else word


def reference(rng: np.random.Generator) -> str:
    """A model reference or size as sellers write them: 57495np, 229x229x56, c16, 12v, xl-4012."""
    kind = rng.integers(6)
    if kind == 0:
        return f"{rng.integers(100, 99_999)}{''.join(rng.choice(list(_LETTERS), rng.integers(1, 3)))}"
    if kind == 1:
        return "x".join(str(v) for v in rng.integers(5, 300, rng.integers(2, 4)))
    if kind == 2:
        return f"{_LETTERS[rng.integers(26)]}{rng.integers(1, 999)}"
    if kind == 3:
        return f"{rng.integers(1, 5000)}{_UNITS[rng.integers(len(_UNITS))]}"
    if kind == 4:
        return f"{''.join(rng.choice(list(_LETTERS), 2)).upper()}-{rng.integers(100, 9999)}"
    return f"{rng.integers(1, 100)},{rng.integers(0, 99)}"


def strip_accents(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))


def typo(rng: np.random.Generator, word: str) -> str:
    """One keyboard slip: a letter dropped, doubled, swapped with its neighbour or replaced."""
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 1))
    kind = rng.integers(4)
    if kind == 0:
        return word[:i] + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    return word[:i] + _LETTERS[rng.integers(26)] + word[i + 1 :]


def roughen(rng: np.random.Generator, words: list[str], p_typo: float, p_plain: float) -> list[str]:
    """Sellers' spelling: some words lose their accents, a few get a typo."""
    out = []
    for word in words:
        r = rng.random()
        out.append(typo(rng, word) if r < p_typo else strip_accents(word) if r < p_typo + p_plain else word)
    return out
