"""The offline answerer: the most relevant sentences of the top passages, each cited, deterministic."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence

from assistant.answering.protocol import NOT_COVERED, is_decline
from assistant.answering.citations import MARKER, split_sentences
from assistant.schema import Passage, Turn
from assistant.search.retrieval import expand_query, query_terms
from assistant.text import tokenize

# Words that mark a question as leaning on the previous turn ("And what legal form did they choose?").
_FOLLOW_UP = re.compile(
    r"^\s*(and|but|so|also|what about|how about|then)\b|\b(they|them|their|it|its|this|that|those|these|he|she|the same)\b",
    re.IGNORECASE,
)


# How much of the previous answer a follow-up carries into retrieval (40 and 80 scored alike, 20 lower).
FOLLOW_UP_ANSWER_WORDS = 40

_FACT = re.compile(r"^[A-Z][A-Za-z /()&'-]{2,40}: \S")


def is_follow_up(question: str) -> bool:
    """A short question with a pronoun or a leading conjunction probably continues the conversation."""
    return len(question.split()) <= 14 and bool(_FOLLOW_UP.search(question))


class OfflineAnswerer:
    """Extractive answers: picks sentences that share the most weighted terms with the question."""

    name = "offline"
    extractive = True

    def __init__(self, max_sentences: int = 4, per_passage: int = 2, passages_used: int = 4) -> None:
        self._max, self._per, self._used = max_sentences, per_passage, passages_used

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """Follow-ups are joined to the last user question and the start of the cited answer to it; others pass unchanged."""
        previous = next((t.content for t in reversed(history) if t.role == "user" and t.content.strip()), "")
        if not (previous and is_follow_up(question)):
            return question
        # "The last one" or "they" usually points into the previous answer, not only its question.
        # A decline carries no report text and would pull retrieval towards its own words.
        reply = next((t.content for t in reversed(history) if t.role == "assistant" and t.content.strip()), "")
        words = [] if is_decline(reply) else MARKER.sub("", reply).split()[:FOLLOW_UP_ANSWER_WORDS]
        return f"{question} (following: {' '.join([previous, *words])})"

    def _candidates(self, question: str, passages: Sequence[Passage]) -> list[tuple[float, int, int, str]]:
        terms = query_terms(expand_query(question))
        if not terms:
            return []
        # Rarer question words weigh more: weight by how few of the passages contain them.
        docs = [set(tokenize(p.chunk.text)) for p in passages]
        weight = {t: 1.0 + math.log((1 + len(docs)) / (1 + sum(t in d for d in docs))) for t in set(terms)}
        found = []
        for n, passage in enumerate(passages[: self._used], start=1):
            case = passage.chunk.case_study
            # A document's own "[2]" is not one of our markers: strip it before quoting.
            units = [MARKER.sub("", u).strip() for line in passage.chunk.text.splitlines() for u in split_sentences(line)]
            for pos, sentence in enumerate(units):
                words = sentence.split()
                fact = _FACT.match(sentence)
                # Fragments cut by chunk overlap or table debris make poor answers; labelled facts
                # from case-study tables ("Legal status: Community interest company.") are kept.
                if not re.match(r"[A-Z0-9‘“\"(]", sentence) or (len(words) < 6 and not (fact and len(words) >= 3)):
                    continue
                if fact and case and case.lower() in sentence.lower() and len(words) <= 5:
                    continue  # "Federation: Suffolk GP Federation" names the box; it answers nothing
                if not sentence.rstrip().endswith((".", "?", "!")):
                    sentence = sentence.rstrip() + "."  # so the marker closes a sentence
                toks = set(tokenize(sentence))
                if fact and case and case.lower() not in sentence.lower():
                    sentence = f"{case}: {sentence}"  # a table fact means little without its organisation
                hit = sum(weight[t] for t in set(terms) if t in toks)
                if hit <= 0:
                    continue
                score = hit / math.sqrt(len(toks) + 4) + 0.3 / n
                found.append((score, n, pos, sentence.strip()))
        return found

    def stream(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Iterator[str]:
        """Yield the answer: chosen sentences in passage order, each followed by its [n] marker."""
        found = self._candidates(question, passages)
        chosen: list[tuple[float, int, int, str]] = []
        per: dict[int, int] = {}
        said: set[str] = set()
        for cand in sorted(found, key=lambda c: (-c[0], c[1], c[2])):
            if len(chosen) >= self._max:
                break
            key = " ".join(tokenize(cand[3]))
            # Overlapping chunks share sentences: say each once.
            if per.get(cand[1], 0) >= self._per or key in said:
                continue
            said.add(key)
            per[cand[1]] = per.get(cand[1], 0) + 1
            chosen.append(cand)
        if not chosen:
            yield f"{NOT_COVERED}."
            return
        chosen.sort(key=lambda c: (c[1], c[2]))
        yield " ".join(f"{s} [{n}]" for _, n, _, s in chosen)
