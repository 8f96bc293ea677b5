"""The small interface the document generators use to reach the index and the answerers (the Assistant provides it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from assistant.answering.protocol import Answerer
from assistant.collection import Collection
from assistant.schema import Chunk
from assistant.search.retrieval import Retrieval
from assistant.settings import Settings


class Library(Protocol):
    """Settings, every indexed passage, search, and the answerer a choice resolves to (assistant.pipeline.Assistant)."""

    settings: Settings

    def collection(self) -> Collection:
        """The indexed documents and the facts about them (their number, their years)."""
        ...

    def chunks(self) -> Sequence[Chunk]:
        """Every indexed passage."""
        ...

    def missing_terms(self, terms: list[str]) -> list[str]:
        """Those of `terms` that no indexed passage mentions."""
        ...

    def retrieve(self, question: str, k: int | None = None) -> Retrieval:
        """The best `k` passages for a question."""
        ...

    def answerer(self, choice: str) -> Answerer:
        """The answerer 'offline', 'llm' or 'auto' resolves to; ConfigError when the LLM is asked for but not set up."""
        ...
