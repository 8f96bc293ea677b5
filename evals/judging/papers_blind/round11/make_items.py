"""Round 11 of the papers judgment (issue #19): the same documents as round 10, for three more fresh judges."""

from __future__ import annotations

from pathlib import Path

from evals.judging.papers_blind.make_items import write_items

if __name__ == "__main__":
    write_items(Path(__file__).parent, seed=2323, prefix="W")
