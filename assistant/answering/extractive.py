"""The offline answerer: for each part of the question, the best whole sentences of the passages, each cited."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from assistant.answering.citations import MARKER
from assistant.answering.compose import FOLLOW_UP_WORDS, Similarity, compose
from assistant.answering.protocol import NOT_COVERED, is_decline
from assistant.answering.question import FOLLOWING, analyse, without_subject
from assistant.organisations import named_in
from assistant.text import tokenize
from assistant.schema import Passage, Turn

# Words that mark a question as leaning on the previous turn ("And what legal form did they choose?").
_FOLLOW_UP = re.compile(
    r"^\s*(and|but|so|also|what about|how about|then)\b|\b(they|them|their|it|its|this|that|those|these|he|she|the same)\b",
    re.IGNORECASE,
)


# Words that point into the conversation rather than at the organisation a question names ("its chair" does not).
_POINTS_BACK = re.compile(r"\b(that|this|those|these|them|they|the same|then|there|above|last)\b", re.I)

# How much of the previous answer a follow-up carries into retrieval (40 and 80 scored alike, 20 lower).
FOLLOW_UP_ANSWER_WORDS = 40

def is_follow_up(question: str) -> bool:
    """A short question with a pronoun or a leading conjunction probably continues the conversation."""
    return len(question.split()) <= 14 and bool(_FOLLOW_UP.search(question))


class OfflineAnswerer:
    """Extractive answers, deterministic: the question's parts, subject and kind decide which sentences are quoted."""

    name = "offline"
    extractive = True

    def __init__(self, max_sentences: int = 4, per_passage: int = 2, passages_used: int | None = None, *,
                 organisations: Callable[[], Sequence[str]] | None = None,
                 similarity: Similarity | None = None, lists: bool = True) -> None:
        """`organisations` lists the library's case-study names (else the passages' own); `similarity` scores
        sentences by meaning from stored vectors (else words alone); `lists` lets several items show as bullets
        (documents that quote sentences one by one turn it off)."""
        self._max, self._per, self._used, self._lists = max_sentences, per_passage, passages_used, lists
        self.organisations, self._similarity = organisations, similarity

    def with_limits(self, *, max_sentences: int, passages_used: int | None, lists: bool) -> OfflineAnswerer:
        """The same answerer (organisations, meaning scores) quoting to other limits: how documents write."""
        return OfflineAnswerer(max_sentences, self._per, passages_used, organisations=self.organisations,
                               similarity=self._similarity, lists=lists)

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """Follow-ups are joined to the last user question and the start of the cited answer to it; others pass unchanged."""
        previous = next((t.content for t in reversed(history) if t.role == "user" and t.content.strip()), "")
        if not (previous and is_follow_up(question)) or self._asks_anew(question):
            return question
        # "The last one" or "they" usually points into the previous answer, not only its question.
        # A decline carries no report text and would pull retrieval towards its own words.
        reply = next((t.content for t in reversed(history) if t.role == "assistant" and t.content.strip()), "")
        words = [] if is_decline(reply) else MARKER.sub("", reply).split()[:FOLLOW_UP_ANSWER_WORDS]
        return f"{question}{FOLLOWING}{' '.join([previous, *words])})"

    def _asks_anew(self, question: str) -> bool:
        """Whether a question names its organisation and asks something of its own without pointing back ("What does
        the Hurley Group do to train its staff?", "Which practices make up Tower Hamlets Network 2, according to its
        chair?"), unlike "And how did Suffolk do it?" or "How did the Hurley Group handle that?"."""
        names = self.organisations() if self.organisations else ()
        subject = named_in(question, names)
        if not subject or _POINTS_BACK.search(question):
            return False
        return len(set(tokenize(without_subject(question, subject))) - FOLLOW_UP_WORDS) >= 2

    def stream(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Iterator[str]:
        """Yield the answer: a paragraph or list per part of the question, each sentence followed by its [n] marker."""
        used = passages[: self._used] if self._used else passages
        names = self.organisations() if self.organisations else ()
        organisations = sorted({*names, *(p.chunk.case_study for p in used if p.chunk.case_study)})
        asked = analyse(question, organisations=organisations, history=history)
        text = compose(asked, used, organisations=organisations, similarity=self._similarity,
                       max_sentences=self._max, per_passage=self._per, lists=self._lists)
        if not MARKER.search(text) and not asked.subject:
            yield f"{NOT_COVERED}."  # nothing in the passages speaks to any part of it
            return
        yield text
