"""Tally the blind per-part judgments of two-part answers beside the quote-based "both parts" metric."""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _lines(path: Path) -> dict[str, dict]:
    return {r["item"]: r for r in map(json.loads, path.read_text().splitlines()) if r}


def main(folder: str) -> None:
    """Print, per set, both parts judged stated (or rightly said missing) by each judge, and the metric's count, for
    one pass (`folder` under this one)."""
    here = HERE / folder
    key = json.loads((here / "key.json").read_text())
    items, judges = _lines(here / "items.jsonl"), [_lines(here / f"part_judge{n}.jsonl") for n in (1, 2)]
    # A part the reference answers is covered only when stated; "said missing" counts only where the reference
    # itself says the reports lack it (none of these 18 references does).
    lacks = {i: any(w in items[i]["reference"] for w in ("don’t", "don't", "do not")) for i in items}
    agree = sum(j1[p] == j2[p] for j1, j2 in [(judges[0][i], judges[1][i]) for i in key] for p in ("part1", "part2"))
    for name, prefix in (("golden", "q"), ("held-out", "h")):
        ids = [i for i, k in key.items() if k["qid"].startswith(prefix)]
        metric = sum(bool(key[i]["metric_both_parts"]) for i in ids)
        judged = [sum(all(j[i][p] == "stated" or (j[i][p] == "said_missing" and lacks[i]) for p in ("part1", "part2"))
                      for i in ids) for j in judges]
        print(f"{name}: {len(ids)} questions; metric {metric}/{len(ids)}; judge 1 {judged[0]}/{len(ids)}; "
              f"judge 2 {judged[1]}/{len(ids)}")
    print(f"judges agree on {agree} of {2 * len(key)} parts")


if __name__ == "__main__":
    main(sys.argv[1])
