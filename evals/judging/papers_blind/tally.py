"""Verdicts per kind and version, and agreement of the second judge, for the papers judgment (issue #19)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
USABLE = ("as_is", "light_edits")


def _ratings(folder: Path, name: str) -> dict[str, dict]:
    path = folder / name
    return {r["item"]: r for r in map(json.loads, path.read_text().splitlines())} if path.exists() else {}


def main(folder: Path = HERE) -> None:
    """Print the tally of the round in `folder`."""
    key = json.loads((folder / "key.json").read_text())
    first = {**_ratings(folder, "ratings_notes.jsonl"), **_ratings(folder, "ratings_packs.jsonl")}
    for kind in ("note", "pack"):
        for version in ("before", "after"):
            rows = [r for i, r in first.items() if r["kind"] == kind and key[i]["version"] == version]
            counts = Counter(r["verdict"] for r in rows)
            usable = sum(counts[v] for v in USABLE)
            print(f"{kind}s {version}: {usable} of {len(rows)} usable ({dict(counts)})")
    second = _ratings(folder, "ratings_second.jsonl")
    same = sum(second[i]["verdict"] == first[i]["verdict"] for i in second)
    same_usable = sum((second[i]["verdict"] in USABLE) == (first[i]["verdict"] in USABLE) for i in second)
    print(f"second judge: same verdict on {same} of {len(second)}, same usable/not usable on {same_usable}")


if __name__ == "__main__":
    import sys
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
