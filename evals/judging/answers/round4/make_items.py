"""Round 4 of the blind answer judgment: round 3's new answers beside the answers after the commits that followed
it, for those of the same 40 questions whose answer changed, shuffled."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import compared, judged_items, write_round

HERE = Path(__file__).parent
ROUND3 = HERE.parent / "round3"


def main() -> None:
    """Write items.jsonl (both judges rate them all) and key.json for round 4."""
    entries = compared(judged_items(ROUND3, "now"), "round3", "final", changed_only=True)
    write_round(HERE, entries, prefix="D", seed=2029)


if __name__ == "__main__":
    main()
