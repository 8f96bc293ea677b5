"""Means per version and criterion, agreement between the judges, and per-question wins for round 2 (and, through
`tally`, for any round laid out the same way)."""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean

HERE = Path(__file__).parent
CRITERIA = ("answers", "complete", "correct", "readable")


def _ratings(folder: Path, name: str) -> dict[str, dict]:
    return {r["item"]: r for r in map(json.loads, (folder / name).read_text().splitlines())}


def tally(folder: Path, old: str, new: str) -> None:
    """Print the tally of a round whose key.json names versions `old` and `new`."""
    key = json.loads((folder / "key.json").read_text())
    judges = {"judge 1": _ratings(folder, "ratings_judge1.jsonl"), "judge 2": _ratings(folder, "ratings_judge2.jsonl")}
    for judge, ratings in judges.items():
        for version in (old, new):
            rows = [r for i, r in ratings.items() if key[i]["version"] == version]
            print(judge, version, len(rows), " ".join(f"{c}={mean(r[c] for r in rows):.2f}" for c in CRITERIA))
    one, two = judges["judge 1"], judges["judge 2"]
    for c in CRITERIA:
        gaps = [abs(one[i][c] - two[i][c]) for i in two]
        print(c, "within one point", sum(g <= 1 for g in gaps), "of", len(gaps), "exact", sum(g == 0 for g in gaps))
    totals: dict[str, dict[str, int]] = {}
    for i, r in one.items():
        totals.setdefault(key[i]["qid"], {})[key[i]["version"]] = sum(r[c] for c in CRITERIA)
    better = sum(t[new] > t[old] for t in totals.values())
    worse = sum(t[new] < t[old] for t in totals.values())
    print(new, "better on", better, "worse on", worse, "equal on", len(totals) - better - worse)


def main() -> None:
    """Print round 2's tally."""
    tally(HERE, "round1", "today")


if __name__ == "__main__":
    main()
