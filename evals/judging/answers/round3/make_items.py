"""Round 3 of the blind answer judgment: round 2's "today" answers beside this session's, for the same 40 questions,
shuffled."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.pipeline import Assistant
from assistant.settings import Settings
from evals.judging.answers.round2.make_items import _current, _load, write_round

HERE = Path(__file__).parent
ROUND1, ROUND2 = HERE.parent, HERE.parent / "round2"


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 3."""
    rows = {r["id"]: r for name in ("golden", "holdout")
            for r in _load(Path("evals/datasets") / f"{name}.jsonl")}
    key2 = json.loads((ROUND2 / "key.json").read_text())
    items2 = {i["item"]: i for i in _load(ROUND2 / "items.jsonl")}
    previous = {v["qid"]: items2[item] for item, v in key2.items() if v["version"] == "today"}
    assistant = Assistant.from_settings(Settings())
    entries = []
    for qid in json.loads((ROUND1 / "question_ids.json").read_text()):
        old = {k: v for k, v in previous[qid].items() if k != "item"}
        entries += [("round2", qid, old), ("now", qid, _current(assistant, rows[qid]))]
    write_round(HERE, entries, prefix="C", seed=2028, second_seed=8)


if __name__ == "__main__":
    main()
