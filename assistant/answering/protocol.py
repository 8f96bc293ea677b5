"""The Answerer interface: turn a question and numbered passages into text with [n] citation markers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from assistant.schema import Passage, Turn

# The phrase every answerer uses when the passages do not answer the question; the pipeline
# treats an answer that starts with it as a refusal.
NOT_COVERED = "The reports in the library do not cover this"
# How every decline opens: NOT_COVERED from an answerer, "I can't ..." from the scope guardrail.
DECLINE_OPENINGS = (NOT_COVERED, "I can't", "I cannot")


# How an answer says that the reports discuss its subject but not the fact asked; the rest of it may still answer.
NOT_GIVEN = "The reports don't give"


def is_not_given(text: str) -> bool:
    """Whether an answer says, for some part of the question, that the reports don't give it."""
    return NOT_GIVEN.lower() in text.lower()


def is_decline(text: str) -> bool:
    """Whether a reply declines (not covered, or out of scope) rather than answers."""
    return text.lstrip().startswith(DECLINE_OPENINGS)


@runtime_checkable
class Answerer(Protocol):
    """One job: write an answer from passages numbered [1]..[n] in the order given."""

    name: str
    # True when the answer is sentences quoted from the passages (the offline answerer), False when it is written
    # (a language model): documents list quoted sentences and drop repeats, and prompt a writer with their own brief.
    extractive: bool

    def stream(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Iterator[str]:
        """Yield the answer text in pieces; markers [n] refer to passages[n-1]."""
        ...

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """Rewrite a follow-up into a question that makes sense without the conversation."""
        ...
