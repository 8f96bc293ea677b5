"""Round 5 of the blind answer judgment: the answers as last judged (round 4's for the 6 questions it covered,
round 3's for the rest) beside today's, for all 40 questions, shuffled; a random 24 for a second judge."""

from __future__ import annotations

from pathlib import Path

from assistant.pipeline import Assistant
from assistant.settings import Settings
from evals.judging.answers.round2.make_items import _current, dataset_rows, judged_items, question_ids, write_round

HERE = Path(__file__).parent
ROUND3, ROUND4 = HERE.parent / "round3", HERE.parent / "round4"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 5."""
    rows = dataset_rows()
    previous = {**judged_items(ROUND3, "now"), **judged_items(ROUND4, "final")}
    assistant = Assistant.from_settings(Settings())
    entries = []
    for qid in question_ids():
        entries += [("judged", qid, previous[qid]), ("now", qid, _current(assistant, rows[qid]))]
    write_round(HERE, entries, prefix="E", seed=2030, second_seed=2031)


if __name__ == "__main__":
    main()
