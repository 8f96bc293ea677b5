"""Round 13 of the papers judgment (issue #19): the same before documents beside today's after documents."""

from __future__ import annotations

from pathlib import Path

from evals.judging.papers_blind.make_items import write_items

if __name__ == "__main__":
    write_items(Path(__file__).parent, seed=2727, prefix="U")
