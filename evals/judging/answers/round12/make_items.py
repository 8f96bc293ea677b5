"""Round 12 of the blind answer judgment: round 11's "today" answers beside today's, for all 40 questions, shuffled; a
random 24 for a second judge."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import against_previous

HERE = Path(__file__).parent
ROUND11 = HERE.parent / "round11"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 12."""
    against_previous(HERE, ROUND11, "today", prefix="L", seed=2181, second_seed=2182)


if __name__ == "__main__":
    main()
