"""Late-interaction reranking: each question word piece meets its best match among a passage's word pieces (MaxSim)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.ingest.chunking import window_parts
from assistant.schema import Chunk
from assistant.search.embeddings import dequantise
from assistant.search.store import Records


class LateInteraction:
    """Scores passages by MaxSim of the question's content word pieces over the passage's stored word-piece vectors.

    The window vectors compare a question with a passage as two averages; this compares word by word, so a
    passage that answers the question's particular words ranks above one that is merely on the topic. Word-piece
    vectors come from the ingest's own model run (each heading and sentence read alone) and are kept as int8.
    """

    def __init__(self, records: Records, embeddings, stopwords: frozenset[str]) -> None:
        self._records, self._emb, self._stop = records, embeddings, stopwords

    def scores(self, question: str, chunks: Sequence[Chunk]) -> np.ndarray | None:
        """MaxSim per chunk, or None when any chunk lacks stored word-piece vectors (the ranking is then kept)."""
        vectors, pieces = self._emb.query_tokens(question)
        # Only whole words that are not stopwords speak for the question ("##ing" and punctuation say little).
        keep = np.array([p.isalnum() and p.lower() not in self._stop for p in pieces], dtype=bool)
        if not keep.any():
            keep[:] = True
        query = dequantise(vectors[keep])
        texts = [list(dict.fromkeys(p for w in window_parts(c) for p in w)) for c in chunks]
        stored = self._records.piece_tokens({p for t in texts for p in t})
        if any(p not in stored for t in texts for p in t):
            return None
        # One product for all passages, then each passage's best match per question word (rows are contiguous).
        # einsum without optimize stays out of BLAS: OpenBLAS threads left spinning after a matmul slowed the
        # next question's model run threefold on 2 cores (measured: retrieval p50 6 ms became 14-25 ms).
        lengths = np.array([sum(len(stored[p]) for p in t) for t in texts])
        out = np.zeros(len(chunks))
        filled = lengths > 0  # a passage of no word pieces (say, only combining marks) matches nothing
        if not filled.any():
            return out
        rows = dequantise(np.concatenate([stored[p] for t in texts for p in t]))
        sims = np.einsum("qd,nd->qn", query, rows, optimize=False)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[filled].astype(np.int64)
        out[filled] = np.maximum.reduceat(sims, starts, axis=1).mean(axis=0)
        return out


def blend(fused: np.ndarray, late: np.ndarray, weight: float) -> np.ndarray:
    """(1 - weight) x fused scaled by its best + weight x MaxSim scaled min-max over the same passages."""
    top = fused.max()
    base = fused / top if top > 0 else fused
    spread = late.max() - late.min()
    scaled = (late - late.min()) / spread if spread > 0 else np.zeros_like(late)
    return (1 - weight) * base + weight * scaled
