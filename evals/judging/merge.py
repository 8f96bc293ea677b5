"""Write the passages judged relevant into a dataset's `also_evidence`, each quote checked against its source file.

    python evals/judging/merge.py evals/datasets/golden.jsonl POOL.jsonl evals/judging/judgments.jsonl \
        evals/judging/second_judgments.jsonl

The first file must judge every candidate of the pool; a candidate is relevant only when every file that
judged it says so (the second judge re-judged a sample). A quote not found in its source stops the merge.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant.evidence import contains_evidence

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


def main(dataset: str, pool: str, judgments: str, *rejudged: str) -> None:
    """Replace each row's also_evidence with the relevant judgments of its pooled candidates."""
    file_of = {m["doc_id"]: name for name, m in json.loads((KNOWLEDGE / "metadata.json").read_text()).items()}
    candidates = {c["cid"]: c for line in Path(pool).read_text(encoding="utf-8").splitlines()
                  for c in json.loads(line)["candidates"]}
    judged = {j["cid"]: j for j in map(json.loads, Path(judgments).read_text(encoding="utf-8").splitlines())}
    vetoed = {j["cid"] for path in rejudged for j in map(json.loads, Path(path).read_text(encoding="utf-8").splitlines())
              if not j["relevant"]}
    unjudged = sorted(set(candidates) - set(judged))
    if unjudged:
        sys.exit(f"{len(unjudged)} candidates not judged, e.g. {unjudged[:3]}")
    also: dict[str, list[dict]] = {}
    for cid in candidates:
        if judged[cid]["relevant"] and cid not in vetoed:
            source, quote = file_of[candidates[cid]["doc"]], judged[cid]["quote"]
            if not contains_evidence((KNOWLEDGE / source).read_text(encoding="utf-8"), quote):
                sys.exit(f"{cid}: quote not found in {source}: {quote[:80]!r}")
            entry = {"quote": quote, "source": source}
            if entry not in also.setdefault(cid.rsplit("-c", 1)[0], []):
                also[cid.rsplit("-c", 1)[0]].append(entry)
    rows = [json.loads(line) for line in Path(dataset).read_text(encoding="utf-8").splitlines() if line.strip()]
    with open(dataset, "w", encoding="utf-8") as f:
        for row in rows:
            row.pop("also_evidence", None)
            if row["id"] in also:
                row["also_evidence"] = also[row["id"]]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{dataset}: {sum(map(len, also.values()))} alternative quotes on {len(also)} questions")


if __name__ == "__main__":
    main(*sys.argv[1:])
