"""Round 5 of the blind answer judgment: the answers as last judged (round 4's for the 6 questions it covered,
round 3's for the rest) beside today's, for all 40 questions, shuffled; a random 24 for a second judge."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.pipeline import Assistant
from assistant.settings import Settings
from evals.judging.answers.round2.make_items import _current, _load, write_round

HERE = Path(__file__).parent
ROUND1, ROUND3, ROUND4 = HERE.parent, HERE.parent / "round3", HERE.parent / "round4"


def _judged(folder: Path, version: str) -> dict[str, dict]:
    """The items of one version of an earlier round, by question id."""
    key = json.loads((folder / "key.json").read_text())
    items = {i["item"]: i for i in _load(folder / "items.jsonl")}
    return {v["qid"]: {k: x for k, x in items[item].items() if k != "item"}
            for item, v in key.items() if v["version"] == version}


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 5."""
    rows = {r["id"]: r for name in ("golden", "holdout")
            for r in _load(Path("evals/datasets") / f"{name}.jsonl")}
    previous = {**_judged(ROUND3, "now"), **_judged(ROUND4, "final")}
    assistant = Assistant.from_settings(Settings())
    entries = []
    for qid in json.loads((ROUND1 / "question_ids.json").read_text()):
        entries += [("judged", qid, previous[qid]), ("now", qid, _current(assistant, rows[qid]))]
    write_round(HERE, entries, prefix="E", seed=2030, second_seed=2031)


if __name__ == "__main__":
    main()
