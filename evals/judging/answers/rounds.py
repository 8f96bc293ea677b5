"""Later rounds of the blind answer judgment, from one table: `python -m evals.judging.answers.rounds items 13` writes
round 13's items (the previous round's "today" answers beside today's, all 40 questions, shuffled; a random 24 for a
second judge), `... rounds tally 13` prints its means, agreement and wins. Rounds 6 to 12 keep the entry scripts their
READMEs name; each is one row of this table."""

from __future__ import annotations

import sys
from pathlib import Path

from evals.judging.answers.round2.make_items import against_previous
from evals.judging.answers.round2.tally import tally

HERE = Path(__file__).parent
# round: (previous round's folder, item prefix, shuffle seed, second judge's seed)
ROUNDS = {
    13: ("round12", "M", 2191, 2192),
}


def main(argv: list[str]) -> None:
    """`items N` or `tally N` for a round of the table."""
    action, number = argv[1], int(argv[2])
    previous, prefix, seed, second_seed = ROUNDS[number]
    folder = HERE / f"round{number}"
    if action == "items":
        against_previous(folder, HERE / previous, "today", prefix=prefix, seed=seed, second_seed=second_seed)
    elif action == "tally":
        tally(folder, "judged", "today")
    else:
        raise SystemExit("usage: python -m evals.judging.answers.rounds items|tally N")


if __name__ == "__main__":
    main(sys.argv)
