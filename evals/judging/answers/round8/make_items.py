"""Round 8 of the blind answer judgment: round 7's "today" answers beside today's, for all 40 questions, shuffled; a
random 24 for a second judge."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import against_previous

HERE = Path(__file__).parent
ROUND7 = HERE.parent / "round7"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 8."""
    against_previous(HERE, ROUND7, "today", prefix="H", seed=2141, second_seed=2142)


if __name__ == "__main__":
    main()
