"""Round 4 of the blind answer judgment: round 3's new answers beside the answers after the commits that followed
it, for those of the same 40 questions whose answer changed, shuffled."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.pipeline import Assistant
from assistant.settings import Settings
from evals.judging.answers.round2.make_items import _current, _load, write_round

HERE = Path(__file__).parent
ROUND1, ROUND3 = HERE.parent, HERE.parent / "round3"


def main() -> None:
    """Write items.jsonl (both judges rate them all) and key.json for round 4."""
    rows = {r["id"]: r for name in ("golden", "holdout")
            for r in _load(Path("evals/datasets") / f"{name}.jsonl")}
    key3 = json.loads((ROUND3 / "key.json").read_text())
    items3 = {i["item"]: i for i in _load(ROUND3 / "items.jsonl")}
    previous = {v["qid"]: items3[item] for item, v in key3.items() if v["version"] == "now"}
    assistant = Assistant.from_settings(Settings())
    entries = []
    for qid in json.loads((ROUND1 / "question_ids.json").read_text()):
        old = {k: v for k, v in previous[qid].items() if k != "item"}
        new = _current(assistant, rows[qid])
        if new["answer"] != old["answer"]:  # an unchanged answer would only be rated twice
            entries += [("round3", qid, old), ("final", qid, new)]
    write_round(HERE, entries, prefix="D", seed=2029)


if __name__ == "__main__":
    main()
