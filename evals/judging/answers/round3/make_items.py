"""Round 3 of the blind answer judgment: round 2's "today" answers beside this session's, for the same 40 questions,
shuffled."""

from __future__ import annotations

from pathlib import Path

from assistant.pipeline import Assistant
from assistant.settings import Settings
from evals.judging.answers.round2.make_items import _current, dataset_rows, judged_items, question_ids, write_round

HERE = Path(__file__).parent
ROUND2 = HERE.parent / "round2"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 3."""
    rows, previous = dataset_rows(), judged_items(ROUND2, "today")
    assistant = Assistant.from_settings(Settings())
    entries = []
    for qid in question_ids():
        entries += [("round2", qid, previous[qid]), ("now", qid, _current(assistant, rows[qid]))]
    write_round(HERE, entries, prefix="C", seed=2028, second_seed=8)


if __name__ == "__main__":
    main()
