"""Round 6 of the blind answer judgment: round 5's "now" answers beside today's, for all 40 questions, shuffled; a
random 24 for a second judge."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import against_previous

HERE = Path(__file__).parent
ROUND5 = HERE.parent / "round5"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 6."""
    against_previous(HERE, ROUND5, "now", prefix="F", seed=2032, second_seed=2033)


if __name__ == "__main__":
    main()
