"""Round 5 of the blind answer judgment: the answers as last judged (round 4's for the 6 questions it covered,
round 3's for the rest) beside today's, for all 40 questions, shuffled; a random 24 for a second judge."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import compared, judged_items, write_round

HERE = Path(__file__).parent
ROUND3, ROUND4 = HERE.parent / "round3", HERE.parent / "round4"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 5."""
    entries = compared({**judged_items(ROUND3, "now"), **judged_items(ROUND4, "final")}, "judged", "now")
    write_round(HERE, entries, prefix="E", seed=2030, second_seed=2031)


if __name__ == "__main__":
    main()
