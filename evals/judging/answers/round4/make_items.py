"""Round 4 of the blind answer judgment: round 3's new answers beside the answers after the commits that followed
it, for those of the same 40 questions whose answer changed, shuffled."""

from __future__ import annotations

from pathlib import Path

from assistant.pipeline import Assistant
from assistant.settings import Settings
from evals.judging.answers.round2.make_items import _current, dataset_rows, judged_items, question_ids, write_round

HERE = Path(__file__).parent
ROUND3 = HERE.parent / "round3"


def main() -> None:
    """Write items.jsonl (both judges rate them all) and key.json for round 4."""
    rows, previous = dataset_rows(), judged_items(ROUND3, "now")
    assistant = Assistant.from_settings(Settings())
    entries = []
    for qid in question_ids():
        old, new = previous[qid], _current(assistant, rows[qid])
        if new["answer"] != old["answer"]:  # an unchanged answer would only be rated twice
            entries += [("round3", qid, old), ("final", qid, new)]
    write_round(HERE, entries, prefix="D", seed=2029)


if __name__ == "__main__":
    main()
