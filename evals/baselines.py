"""Baseline arms for the evaluation: the naive LangChain RAG (Chroma vectors) and BM25 alone, over naive chunks."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.answering.citations import verify
from assistant.search.embeddings import embedding_name
from assistant.ingest.loading import load_directory
from assistant.schema import Answer, Chunk, Passage, Turn
from assistant.answering.extractive import OfflineAnswerer
from assistant.text import tokenize
from assistant.settings import Settings

NAIVE_CHUNK_SIZE = 1000
NAIVE_CHUNK_OVERLAP = 200


def naive_chunks(settings: Settings) -> list[Chunk]:
    """The raw knowledge texts split by RecursiveCharacterTextSplitter(1000, 200), as the LangChain tutorial does."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=NAIVE_CHUNK_SIZE, chunk_overlap=NAIVE_CHUNK_OVERLAP)
    docs, _ = load_directory(settings.knowledge_dir)
    chunks: list[Chunk] = []
    for doc in docs:
        m = doc.meta
        for i, text in enumerate(splitter.split_text("\n".join(doc.pages))):
            chunks.append(Chunk(chunk_id=f"{m.doc_id}-naive-{i:04d}", doc_id=m.doc_id, title=m.title, year=m.year,
                                section="", page=None, text=text, publisher=m.publisher, position=i))
    return chunks


class ChromaBaseline:
    """Naive RAG: vector-only top-k from an in-memory Chroma collection built with LangChain's Chroma wrapper."""

    name = "naive_rag"
    label = "Naive LangChain RAG"

    def __init__(self, chunks: Sequence[Chunk], embeddings: Embeddings) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        self._chunks = {c.chunk_id: c for c in chunks}
        self._client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        self._collection = f"naive-baseline-{uuid.uuid4().hex[:12]}"
        self._store = Chroma(collection_name=self._collection, embedding_function=embeddings, client=self._client)
        ids = list(self._chunks)
        self._store.add_texts([self._chunks[i].text for i in ids], metadatas=[{"doc_id": self._chunks[i].doc_id} for i in ids],
                              ids=ids)

    def retrieve(self, question: str, k: int) -> tuple[Passage, ...]:
        """The k nearest chunks by embedding distance, best first."""
        hits = self._store.similarity_search_with_score(question, k=k)
        return tuple(Passage(rank=r + 1, chunk=self._chunks[str(doc.id)], score=-float(dist))
                     for r, (doc, dist) in enumerate(hits))

    def close(self) -> None:
        """Drop the in-memory collection."""
        try:
            self._client.delete_collection(self._collection)
        except Exception:  # noqa: BLE001 - best-effort cleanup of an in-memory collection
            pass


class BM25Baseline:
    """BM25 alone (bm25s, the project's tokenizer) over the same naive chunks."""

    name = "bm25"
    label = "BM25 only"

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self._chunks = list(chunks)
        self._bm25 = bm25s.BM25()
        self._bm25.index([tokenize(c.text) or ["_"] for c in self._chunks], show_progress=False)

    def retrieve(self, question: str, k: int) -> tuple[Passage, ...]:
        """The k best-scoring chunks, best first (chunks with no matching term are left out)."""
        tokens = tokenize(question)
        if not tokens:
            return ()
        scores = self._bm25.get_scores(tokens)
        order = [int(i) for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]
        return tuple(Passage(rank=r + 1, chunk=self._chunks[i], score=float(scores[i])) for r, i in enumerate(order))

    def close(self) -> None:
        """Nothing to release."""


def answer_with(arm, question: str, history: Sequence[Turn], k: int, answerer: OfflineAnswerer) -> Answer:
    """Answer like the naive pipeline: standalone question, retrieve, offline answer, verify; never refuses."""
    t0 = time.perf_counter()
    standalone = answerer.standalone(question, history) if history else question
    passages = arm.retrieve(standalone, k)
    t1 = time.perf_counter()
    raw = "".join(answerer.stream(standalone, passages, history)).strip()
    text, citations, grounded = verify(raw, passages)
    t2 = time.perf_counter()
    timings = {"retrieve": (t1 - t0) * 1000.0, "answer": (t2 - t1) * 1000.0, "total": (t2 - t0) * 1000.0}
    return Answer(question=question, text=text, citations=citations, passages=passages, refused=False,
                  answerer=answerer.name, grounded=grounded, timings_ms=timings, standalone_question=standalone)


class CachedEmbeddings(Embeddings):
    """Document vectors saved under a directory, keyed by model and texts, so re-runs skip re-embedding the baseline."""

    def __init__(self, inner: Embeddings, directory: Path) -> None:
        self._inner, self._dir = inner, directory

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """The vectors of `texts`, from the cache when this exact list was embedded before by this model."""
        digest = hashlib.sha256("\0".join([embedding_name(self._inner), *texts]).encode()).hexdigest()[:20]
        path = self._dir / f"naive-{digest}.npy"
        if path.is_file():
            try:
                vectors = np.load(path)
                if vectors.shape[0] == len(texts):
                    return vectors.tolist()
            except (OSError, ValueError):
                pass
        vectors = np.asarray(self._inner.embed_documents(texts), dtype=np.float32)
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
        except OSError:
            pass  # a read-only data directory only costs the next run its cache
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        """The question's vector, never cached."""
        return self._inner.embed_query(text)


def build_baselines(settings: Settings, embeddings: Embeddings) -> list:
    """Both baseline arms over one set of naive chunks."""
    chunks = naive_chunks(settings)
    cached = CachedEmbeddings(embeddings, settings.data_dir / "eval-cache")
    return [ChromaBaseline(chunks, cached), BM25Baseline(chunks)]
