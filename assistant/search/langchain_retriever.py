"""LangChain's retriever interface over the hybrid search: a thin adapter, as langchain-chroma's is over Chroma."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field

from assistant.schema import Chunk, Passage
from assistant.search.retrieval import Retrieval

# The chunk's facts a citation needs (all but its text, which is the page content), plus rank and score.
_CHUNK_FACTS = tuple(f.name for f in fields(Chunk) if f.name != "text")
# Keywords `invoke(query, **kwargs)` passes on: `k`, and `verbose`, which `invoke` itself reads for its callbacks.
ACCEPTED_KEYWORDS = ("k",)
_IGNORED_KEYWORDS = ("verbose",)


def to_document(passage: Passage) -> Document:
    """A passage as a LangChain Document: the chunk's text, its id, and every fact a citation needs in metadata."""
    chunk = passage.chunk
    metadata = {name: getattr(chunk, name) for name in _CHUNK_FACTS}
    return Document(page_content=chunk.text, id=chunk.chunk_id,
                    metadata={**metadata, "rank": passage.rank, "score": passage.score})


def to_passage(document: Document) -> Passage:
    """The passage a Document made by :func:`to_document` stands for (exactly)."""
    meta = document.metadata
    chunk = Chunk(text=document.page_content, **{name: meta[name] for name in _CHUNK_FACTS})
    return Passage(rank=meta["rank"], chunk=chunk, score=meta["score"])


def _check_k(k: Any) -> int:
    """`k` if it is a whole number of at least 1; ValueError otherwise."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number of at least 1, not {k!r}.")
    return k


class PassageRetriever(BaseRetriever):
    """The `k` best passages for a query as Documents, best first; `invoke(query, k=n)` overrides the default `k`.

    `search(question, k)` is the hybrid search: `Assistant.retrieve` (which also checks the question and the
    index) or `HybridRetriever.retrieve`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)
    search: Callable[[str, int], Retrieval]
    k: int = Field(default=5, ge=1)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        unknown = sorted(set(kwargs) - set(ACCEPTED_KEYWORDS) - set(_IGNORED_KEYWORDS))
        if unknown:
            raise TypeError(f"{type(self).__name__}.invoke() got unexpected keyword argument(s) "
                            f"{', '.join(unknown)}; it accepts: {', '.join(ACCEPTED_KEYWORDS)}.")
        k = _check_k(kwargs.get("k", self.k))
        return [to_document(p) for p in self.search(query, k).passages]

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
                                       **kwargs: Any) -> list[Document]:
        # The search is CPU-bound and synchronous: it runs in LangChain's executor, as BaseRetriever's default does.
        return await run_in_executor(None, self._get_relevant_documents, query,
                                     run_manager=run_manager.get_sync(), **kwargs)
