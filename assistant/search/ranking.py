"""Ranking ties: scores compared at a fixed precision, ties broken by a stable key, the same in every process."""

from __future__ import annotations

import numpy as np

# Scores are compared at this many decimals, so float noise in the last bits (a sum taken in another order) cannot
# reorder near-ties between processes (issue #21); ties then go to a stable key (reading order, or an id).
SCORE_DECIMALS = 6


def score_key(score: float) -> float:
    """A score as ranking compares it: rounded to SCORE_DECIMALS."""
    return round(float(score), SCORE_DECIMALS)


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` highest scores at SCORE_DECIMALS, best first, ties by index, without sorting them all."""
    keys = np.round(np.asarray(scores, dtype=np.float64), SCORE_DECIMALS)
    if k <= 0 or k >= len(keys):
        return np.argsort(-keys, kind="stable")[: max(k, 0)]
    kth = np.partition(keys, len(keys) - k)[len(keys) - k]
    idx = np.flatnonzero(keys >= kth)
    return idx[np.lexsort((idx, -keys[idx]))][:k]
