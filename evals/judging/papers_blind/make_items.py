"""Blind judgment of briefing notes and workshop packs (issue #19): before and after versions shuffled under ids."""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent
PAPERS = HERE.parent / "papers"


def main() -> None:
    """Write notes.jsonl and packs.jsonl (every document, shuffled), second.jsonl (a sample) and key.json."""
    key: dict[str, dict[str, str]] = {}
    files = {"note": [], "pack": []}
    for version in ("before", "after"):
        for path in sorted((PAPERS / version).glob("*.md")):
            kind = "note" if path.stem.startswith("note") else "pack"
            files[kind].append((version, path.stem, path.read_text()))
    rng = random.Random(1919)
    n = 0
    second = []
    for kind, docs in files.items():
        rng.shuffle(docs)
        items = []
        for version, stem, text in docs:
            n += 1
            item = f"P{n:02d}"
            key[item] = {"version": version, "document": stem}
            items.append({"item": item, "kind": kind, "document": text})
        (HERE / f"{kind}s.jsonl").write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items))
        second += rng.sample(items, min(6, len(items)))
    (HERE / "second.jsonl").write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in second))
    (HERE / "key.json").write_text(json.dumps(key, indent=0))


if __name__ == "__main__":
    main()
