"""Round 4 of the blind answer judgment: round 3's new answers beside the answers after the commits that followed
it, for those of the same 40 questions whose answer changed, shuffled."""

from __future__ import annotations

from pathlib import Path

from evals.judging.answers.round2.make_items import against_previous

HERE = Path(__file__).parent
ROUND3 = HERE.parent / "round3"


def main() -> None:
    """Write items.jsonl (both judges rate them all) and key.json for round 4."""
    against_previous(HERE, ROUND3, "now", prefix="D", seed=2029, old="round3", new="final", changed_only=True)


if __name__ == "__main__":
    main()
