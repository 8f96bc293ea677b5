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


def is_decline(text: str) -> bool:
    """Whether a reply declines (not covered, or out of scope) rather than answers."""
    return text.lstrip().startswith(DECLINE_OPENINGS)


@runtime_checkable
class Answerer(Protocol):
    """One job: write an answer from passages numbered [1]..[n] in the order given."""

    name: str

    def stream(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Iterator[str]:
        """Yield the answer text in pieces; markers [n] refer to passages[n-1]."""
        ...

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """Rewrite a follow-up into a question that makes sense without the conversation."""
        ...
