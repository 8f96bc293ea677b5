"""Round 2 of the blind answer judgment: round 1's "after" answers beside today's, for the same 40 questions, shuffled."""

from __future__ import annotations

import json
import random
from pathlib import Path

from assistant.pipeline import Assistant
from assistant.settings import Settings
from evals.runner import history_of

HERE = Path(__file__).parent
ROUND1 = HERE.parent


def _load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def dataset_rows() -> dict[str, dict]:
    """The golden and held-out rows, by question id."""
    return {r["id"]: r for name in ("golden", "holdout") for r in _load(Path("evals/datasets") / f"{name}.jsonl")}


def judged_items(folder: Path, version: str) -> dict[str, dict]:
    """The items of one version of an earlier round, by question id, without their item ids."""
    key = json.loads((folder / "key.json").read_text())
    items = {i["item"]: i for i in _load(folder / "items.jsonl")}
    return {v["qid"]: {k: x for k, x in items[item].items() if k != "item"}
            for item, v in key.items() if v["version"] == version}


def question_ids() -> list[str]:
    """The 40 questions every round judges."""
    return json.loads((ROUND1 / "question_ids.json").read_text())


def compared(previous: dict[str, dict], old: str, new: str, *, changed_only: bool = False) -> list[tuple[str, str, dict]]:
    """(version, question id, item) entries: each question's judged answer as `old` beside today's as `new`; with
    `changed_only`, only the questions whose answer changed (an unchanged answer would only be rated twice)."""
    rows, assistant = dataset_rows(), Assistant.from_settings(Settings())
    entries = []
    for qid in question_ids():
        now = _current(assistant, rows[qid])
        if not changed_only or now["answer"] != previous[qid]["answer"]:
            entries += [(old, qid, previous[qid]), (new, qid, now)]
    return entries


def _current(assistant: Assistant, row: dict) -> dict:
    """Today's answer to a dataset row, with its cited sources as round 1 showed them."""
    answer = assistant.ask(row["question"], history_of(row))
    # The answer's [n] are its citations' numbers (renumbered in order of use), not the passages' ranks.
    numbered = {c.n: c.passage.chunk for c in answer.citations}
    sources = [{"n": n, "title": c.title, "year": c.year, "section": c.section, "passage": c.text}
               for n, c in sorted(numbered.items())]
    return {"question": row["question"], "conversation_before": row.get("history") or [], "answer": answer.text,
            "sources": sources}


def main() -> None:
    """Write items.jsonl, items_second.jsonl and key.json for round 2."""
    entries = compared(judged_items(ROUND1, "new"), "round1", "today")
    write_round(HERE, entries, prefix="B", seed=2027, second_seed=7)


def against_previous(folder: Path, previous: Path, version: str, *, prefix: str, seed: int,
                     second_seed: int | None = None, old: str = "judged", new: str = "today",
                     changed_only: bool = False) -> None:
    """A later round in `folder`: the `version` answers judged in the `previous` round's folder beside today's."""
    entries = compared(judged_items(previous, version), old, new, changed_only=changed_only)
    write_round(folder, entries, prefix=prefix, seed=seed, second_seed=second_seed)


def write_round(folder: Path, entries: list[tuple[str, str, dict]], *, prefix: str, seed: int,
                second_seed: int | None = None) -> None:
    """Shuffle (version, question id, item) entries with `seed`, number them `prefix`01.., and write items.jsonl,
    key.json and, with `second_seed`, a random 24 for a second judge (items_second.jsonl)."""
    random.Random(seed).shuffle(entries)
    key, items = {}, []
    for n, (version, qid, item) in enumerate(entries, start=1):
        key[f"{prefix}{n:02d}"] = {"version": version, "qid": qid}
        items.append({"item": f"{prefix}{n:02d}", **item})
    (folder / "items.jsonl").write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items))
    if second_seed is not None:
        second = random.Random(second_seed).sample(items, 24)
        (folder / "items_second.jsonl").write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in second))
    (folder / "key.json").write_text(json.dumps(key, indent=0))


if __name__ == "__main__":
    main()
