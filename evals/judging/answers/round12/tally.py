"""Means per version and criterion, agreement between the judges, and per-question wins for round 12."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.tally import tally

if __name__ == "__main__":
    tally(Path(__file__).parent, "judged", "today")
