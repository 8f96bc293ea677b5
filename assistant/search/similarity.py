"""Meaning-based sentence scores: MaxSim of a question's words over each stored sentence's word-piece vectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.ingest.chunking import window_parts
from assistant.schema import Chunk
from assistant.search.embeddings import dequantise
from assistant.search.store import Records
from assistant.text import STOPWORDS


class SentenceSimilarity:
    """Scores every sentence (and heading) of some chunks against a question, from the vectors stored at ingest.

    The same word-piece vectors the rerank compares whole passages with, read here sentence by sentence, so an
    answerer can tell which sentence of a passage means what a part of the question asks, not only which shares
    its words. Costs one model run for the question (cached) and no model run for the sentences.
    """

    def __init__(self, records: Records, embeddings) -> None:
        self._records, self._emb = records, embeddings

    def __call__(self, question: str, chunks: Sequence[Chunk]) -> dict[str, float]:
        """Sentence text -> MaxSim in [-1, 1], for the sentences of `chunks` that have stored vectors."""
        vectors, pieces = self._emb.query_tokens(question)
        keep = np.array([p.isalnum() and p.lower() not in STOPWORDS for p in pieces], dtype=bool)
        if not keep.size:
            return {}
        if not keep.any():
            keep[:] = True
        query = dequantise(vectors[keep])
        texts = list(dict.fromkeys(p for c in chunks for w in window_parts(c) for p in w))
        stored = self._records.piece_tokens(texts)
        found = [t for t in texts if t in stored and len(stored[t])]
        if not found:
            return {}
        rows = dequantise(np.concatenate([stored[t] for t in found]))
        # einsum without optimize stays out of BLAS (see rerank.py: spinning OpenBLAS threads slowed the next run).
        sims = np.einsum("qd,nd->qn", query, rows, optimize=False)
        starts = np.cumsum([0] + [len(stored[t]) for t in found[:-1]]).astype(np.int64)
        best = np.maximum.reduceat(sims, starts, axis=1).mean(axis=0)
        return {t: round(float(s), 6) for t, s in zip(found, best)}
