"""The word rules shared by search and citation checking: word splitting, stopwords and the suffix-stripping stemmer."""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[a-z0-9]+")

# Words that say nothing about what a question or passage is about (BM25, the extractive answerer, the rerank).
STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it its
    me my no not of on or our should so than that the their them then there these they this to was we were what
    when where which who whom why will with would you your about after also any more most other some such""".split()
)
# Citation support scores a sentence by the share of its words found in the passage, so it drops these too:
# prepositions, pronouns and hedges ("between", "many", "often") that would count as support by being common.
SUPPORT_STOPWORDS = STOPWORDS | frozenset(
    """above again against all am because before being below between both doing down during each either etc few
    further having he her here hers herself him himself his however itself just may might must myself nor now off
    once only ours ourselves out over own per same she theirs themselves those through thus too under until up upon
    us very whether while whose within without yours yourself yourselves one ones many much well often eg ie""".split()
)

_SUFFIXES = ("isations", "izations", "isation", "ization", "ations", "ation", "ating", "ated", "ates", "ate",
             "ments", "ment", "ances", "ance", "ences", "ence", "ings", "ing", "ness", "ers", "er", "ed", "ly")


def alnum(text: str) -> str:
    """Letters and digits only, lower-cased: how one text is found inside another however each was re-flowed."""
    return re.sub(r"[\W_]+", "", text.lower())


def split_words(text: str) -> list[str]:
    """The lower-cased runs of letters and digits in `text`, in order."""
    return WORD.findall(text.lower())


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A small suffix stripper, so federation/federated/federate and governance/governed meet."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1] if not word.endswith("ies") else word[:-3] + "y"
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed content words (single letters dropped)."""
    return [stem(w) for w in split_words(text) if len(w) > 1 and w not in STOPWORDS]
