"""Tolerant matching of evidence quotes against PDF-extracted report text.

The reports in ``knowledge/`` keep their PDF-extraction artefacts: hard line
wraps, words hyphenated at line ends (sometimes already joined without the
hyphen, as in "out-ofhours"), lone bullets, Markdown markup, curly quotes and
footnote markers. These helpers decide whether a quote really occurs in such a
text, and how much of it does, without being thrown by those artefacts.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

__all__ = ["normalise", "contains_evidence", "best_overlap"]

# Characters that carry no text: soft hyphen, zero-width marks, BOM, and the
# replacement character left by broken ligatures ("�reat" for "Threat").
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\ufffd"), None)
# Superscript digits are footnote markers in these reports ("2003.¹² In ...").
_SUPERSCRIPTS = dict.fromkeys(map(ord, "\u00b9\u00b2\u00b3\u2070\u2074\u2075\u2076\u2077\u2078\u2079"), None)
_PUNCT_MAP = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u2022": " ", "\u25aa": " ", "\u25cf": " ", "\uf0b7": " ", "\u00a0": " ",
        "*": " ", "`": " ",
    }
)
_LINE_END_HYPHEN = re.compile(r"(\w)-[ \t]*\r?\n\s*(\w)")
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.;:!?)\]])")
_SPACE_AFTER_OPEN = re.compile(r"([(\[]) +")
_NON_ALNUM = re.compile(r"[\W_]+")
_WORD = re.compile(r"\w+(?:-\w+)*")


def normalise(text: str) -> str:
    """Lower-case, join line-end hyphenation, drop invisible/odd chars and collapse whitespace and punctuation spacing."""
    text = text.translate(_INVISIBLE).translate(_SUPERSCRIPTS)
    text = unicodedata.normalize("NFKC", text).translate(_PUNCT_MAP)
    text = _LINE_END_HYPHEN.sub(r"\1\2", text)
    text = _SPACE.sub(" ", text.lower())
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return _SPACE_AFTER_OPEN.sub(r"\1", text).strip()


def _alnum_key(text: str) -> str:
    """Return the normalised text reduced to its letters and digits only."""
    return _NON_ALNUM.sub("", normalise(text))


def contains_evidence(text: str, quote: str) -> bool:
    """True when `quote` occurs in `text` ignoring case, whitespace, punctuation, bullets, markup and line-end hyphenation."""
    needle = _alnum_key(quote)
    return bool(needle) and needle in _alnum_key(text)


def _tokens(text: str) -> list[str]:
    """Split normalised text into word tokens, closing up intra-word hyphens ("peer-review" -> "peerreview")."""
    return [w.replace("-", "") for w in _WORD.findall(normalise(text).replace("_", " "))]


def _lcs_length(seq: list[str], other: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (bit-parallel, linear in `other`)."""
    if not seq or not other:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(seq):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(seq)) - 1
    v = full
    for tok in other:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(seq) - bin(v).count("1")


def best_overlap(text: str, quote: str, ordered: bool = True) -> float:
    """Fraction (0..1) of the quote's word tokens found in `text`: in order (longest common subsequence) or, with ordered=False, at all."""
    if contains_evidence(text, quote):
        return 1.0
    q_tokens = _tokens(quote)
    if not q_tokens:
        return 0.0
    t_tokens = _tokens(text)
    if ordered:
        found = _lcs_length(q_tokens, t_tokens)
    else:
        available = Counter(t_tokens)
        found = sum(min(n, available[tok]) for tok, n in Counter(q_tokens).items())
    return found / len(q_tokens)
