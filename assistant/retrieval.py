"""Hybrid retrieval: BM25 (bm25s) and Chroma vectors fused by reciprocal rank, with NHS abbreviation expansion."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import bm25s
import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .errors import IndexError_
from .models import Chunk, Passage
from .store import Records, VectorStore

ABBREVIATIONS = {
    "CCG": "clinical commissioning group",
    "PMS": "personal medical services",
    "GMS": "general medical services",
    "APMS": "alternative provider medical services",
    "CIC": "community interest company",
    "LLP": "limited liability partnership",
    "PCN": "primary care network",
    "ICB": "integrated care board",
    "ICS": "integrated care system",
    "STP": "sustainability and transformation partnership",
    "MCP": "multispecialty community provider",
    "PACS": "primary and acute care system",
    "QOF": "quality and outcomes framework",
    "CQC": "care quality commission",
    "LMC": "local medical committee",
    "GP": "general practice",
    "SCF": "strategic commissioning framework",
    "A&E": "accident and emergency",
}

STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it its
    me my no not of on or our should so than that the their them then there these they this to was we were what
    when where which who whom why will with would you your about after also any more most other some such""".split()
)
_WORD = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    """A light suffix stripper, enough to match federation/federations and practice/practices."""
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed content words."""
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def expand_query(query: str) -> str:
    """Add the spelled-out form of NHS abbreviations (and the abbreviation of spelled-out forms) to a query."""
    extra = []
    lowered = query.lower()
    for abbr, full in ABBREVIATIONS.items():
        if re.search(rf"(?<![A-Za-z]){re.escape(abbr)}s?(?![A-Za-z])", query) and full not in lowered:
            extra.append(full)
        elif full in lowered and abbr.lower() not in lowered.split():
            extra.append(abbr)
    return f"{query} ({'; '.join(extra)})" if extra else query


@dataclass(frozen=True)
class Retrieval:
    """Ranked passages plus the raw signals used to judge whether the reports cover a question."""

    passages: tuple[Passage, ...]
    top_similarity: float  # best cosine similarity of any passage to the question
    top_bm25: float
    expanded_query: str


class HybridRetriever:
    """Fuses BM25 and vector rankings; the BM25 index is rebuilt only when the record changes."""

    def __init__(self, records: Records, store: VectorStore, embeddings: Embeddings,
                 candidates: int = 30, rrf_k: int = 60, vector_weight: float = 1.0, bm25_weight: float = 1.0) -> None:
        self._records, self._store, self._emb = records, store, embeddings
        self._candidates, self._rrf_k = candidates, rrf_k
        self._wv, self._wb = vector_weight, bm25_weight
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._chunks: list[Chunk] = []
        self._by_id: dict[str, int] = {}
        self._bm25: bm25s.BM25 | None = None

    def _ensure_index(self) -> None:
        generation = self._records.get_meta("generation")
        if generation is None:
            raise IndexError_("No index yet: run `assistant ingest` (or `make run`) to build it.")
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            chunks = self._records.chunks()
            bm25 = bm25s.BM25()
            if chunks:
                bm25.index([tokenize(c.index_text()) or ["_"] for c in chunks], show_progress=False)
            self._chunks, self._bm25 = chunks, bm25
            self._by_id = {c.chunk_id: i for i, c in enumerate(chunks)}
            self._generation = generation

    def chunks(self) -> list[Chunk]:
        """All active chunks (warming the BM25 index on first call)."""
        self._ensure_index()
        return self._chunks

    def retrieve(self, question: str, k: int = 5) -> Retrieval:
        """The `k` best passages for `question`, best first, with fused scores."""
        self._ensure_index()
        query = expand_query(question)
        if not self._chunks:
            return Retrieval((), 0.0, 0.0, query)
        n = min(self._candidates, len(self._chunks))
        # Vectors: ask for extra so stale vectors from an interrupted ingest can be filtered out.
        vector_hits = [(self._by_id[i], s) for i, s in self._store.query(self._emb.embed_query(query), n + 10) if i in self._by_id][:n]
        tokens = tokenize(query)
        bm25_scores = self._bm25.get_scores(tokens) if tokens else np.zeros(len(self._chunks))
        bm25_order = [int(i) for i in np.argsort(-bm25_scores, kind="stable")[:n] if bm25_scores[i] > 0]
        fused: dict[int, float] = {}
        for rank, (idx, _) in enumerate(vector_hits):
            fused[idx] = fused.get(idx, 0.0) + self._wv / (self._rrf_k + rank + 1)
        for rank, idx in enumerate(bm25_order):
            fused[idx] = fused.get(idx, 0.0) + self._wb / (self._rrf_k + rank + 1)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], self._chunks[kv[0]].chunk_id))[:k]
        passages = tuple(Passage(rank=r + 1, chunk=self._chunks[i], score=s) for r, (i, s) in enumerate(ranked))
        top_sim = max((s for _, s in vector_hits), default=0.0)
        top_bm25 = float(bm25_scores.max()) if len(bm25_scores) else 0.0
        return Retrieval(passages, top_sim, top_bm25, query)


class PassageRetriever(BaseRetriever):
    """LangChain retriever over the hybrid search, for use in chains."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    hybrid: HybridRetriever
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [
            Document(page_content=p.chunk.text, id=p.chunk.chunk_id, metadata={**p.to_json(), "text": None})
            for p in self.hybrid.retrieve(query, self.k).passages
        ]
