"""Round 10 of the blind answer judgment: round 9's "today" answers beside today's, for all 40 questions, shuffled; a
random 24 for a second judge."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import against_previous

HERE = Path(__file__).parent
ROUND9 = HERE.parent / "round9"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 10."""
    against_previous(HERE, ROUND9, "today", prefix="J", seed=2161, second_seed=2162)


if __name__ == "__main__":
    main()
