"""Blind judgment of briefing notes and workshop packs (issue #19): before and after versions shuffled under ids."""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).parent
PAPERS = HERE.parent / "papers"


def main() -> None:
    """Round 1: notes.jsonl, packs.jsonl, second.jsonl and key.json here."""
    write_items(HERE, seed=1919, prefix="P")


def write_items(folder: Path, *, seed: int, prefix: str) -> None:
    """Write notes.jsonl and packs.jsonl (every document, shuffled), second.jsonl (a sample) and key.json."""
    key: dict[str, dict[str, str]] = {}
    files = {"note": [], "pack": []}
    for version in ("before", "after"):
        for path in sorted((PAPERS / version).glob("*.md")):
            kind = "note" if path.stem.startswith("note") else "pack"
            files[kind].append((version, path.stem, path.read_text()))
    rng = random.Random(seed)
    n = 0
    second = []
    for kind, docs in files.items():
        rng.shuffle(docs)
        items = []
        for version, stem, text in docs:
            n += 1
            item = f"{prefix}{n:02d}"
            key[item] = {"version": version, "document": stem}
            items.append({"item": item, "kind": kind, "document": text})
        (folder / f"{kind}s.jsonl").write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items))
        second += rng.sample(items, min(6, len(items)))
    (folder / "second.jsonl").write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in second))
    (folder / "key.json").write_text(json.dumps(key, indent=0))


if __name__ == "__main__":
    main()
