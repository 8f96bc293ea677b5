"""Round 9 of the blind answer judgment: round 8's "today" answers beside today's, for all 40 questions, shuffled; a
random 24 for a second judge."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import against_previous

HERE = Path(__file__).parent
ROUND8 = HERE.parent / "round8"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 9."""
    against_previous(HERE, ROUND8, "today", prefix="I", seed=2151, second_seed=2152)


if __name__ == "__main__":
    main()
