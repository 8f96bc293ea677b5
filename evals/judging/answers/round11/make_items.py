"""Round 11 of the blind answer judgment: round 10's "today" answers beside today's, for all 40 questions, shuffled; a
random 24 for a second judge."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import against_previous

HERE = Path(__file__).parent
ROUND10 = HERE.parent / "round10"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 11."""
    against_previous(HERE, ROUND10, "today", prefix="K", seed=2171, second_seed=2172)


if __name__ == "__main__":
    main()
