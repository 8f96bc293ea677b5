"""Round 7 of the blind answer judgment: round 6's "today" answers beside today's, for all 40 questions, shuffled; a
random 24 for a second judge."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import against_previous

HERE = Path(__file__).parent
ROUND6 = HERE.parent / "round6"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 7."""
    against_previous(HERE, ROUND6, "today", prefix="G", seed=2034, second_seed=2035)


if __name__ == "__main__":
    main()
