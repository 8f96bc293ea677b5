"""Blind per-part judgment of two-part answers: each two-part question of both sets with its parts, its reference
answer and the offline answer from an eval run's results (markers left out), shuffled, with the key kept apart."""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
DATASETS = HERE.parents[1] / "datasets"
MARKERS = re.compile(r"\s*\[\d+(?:, ?\d+)*\]")


def main(folder: str, golden_results: str, holdout_results: str, seed: int = 1313) -> None:
    """Write items.jsonl and key.json into `folder` (under this one) from the results.jsonl of a golden and a
    held-out `assistant eval` run."""
    rows = []
    for name, results in (("golden", golden_results), ("holdout", holdout_results)):
        rows_by_id = {r["id"]: r for r in map(json.loads, (DATASETS / f"{name}.jsonl").read_text().splitlines())}
        for line in Path(results).read_text().splitlines():
            got = json.loads(line)
            row = rows_by_id[got["id"]]
            if row["kind"] == "two_part":
                rows.append((row, MARKERS.sub("", got["answer"]), got.get("parts_covered")))
    random.Random(seed).shuffle(rows)
    key, items = {}, []
    for i, (row, answer, metric) in enumerate(rows, start=1):
        item = f"P{i:02d}"
        key[item] = {"qid": row["id"], "metric_both_parts": metric}
        items.append({"item": item, "question": row["question"], "parts": row["parts"], "reference": row["answer"],
                      "answer": answer})
    out = HERE / folder
    out.mkdir(exist_ok=True)
    (out / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    (out / "key.json").write_text(json.dumps(key, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
