"""Round 3 of the blind answer judgment: round 2's "today" answers beside this session's, for the same 40 questions,
shuffled."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import against_previous

HERE = Path(__file__).parent
ROUND2 = HERE.parent / "round2"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 3."""
    against_previous(HERE, ROUND2, "today", prefix="C", seed=2028, second_seed=8, old="round2", new="now")


if __name__ == "__main__":
    main()
