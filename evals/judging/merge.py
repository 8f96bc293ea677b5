"""Write the passages judged relevant into a dataset's `also_evidence`, each quote checked against its source file.

    python evals/judging/merge.py DATASET --pools P.jsonl [...] --judged J.jsonl [...] [--vetoes V.jsonl ...]

`also_evidence` is rebuilt from every pool and judgment given, so pass them all (earlier rounds too). The
judged files together must cover every candidate; a candidate is relevant when judged so and not rejected
in a veto file (a second judge's re-judging). A quote not found in its source file stops the merge.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evals.evidence import contains_evidence

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


def _lines(paths: list[str]) -> list[dict]:
    return [json.loads(line) for path in paths for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]


def main(dataset: str, pools: list[str], judged_files: list[str], veto_files: list[str]) -> None:
    """Replace each row's also_evidence with the accepted judgments of its pooled candidates."""
    file_of = {m["doc_id"]: name for name, m in json.loads((KNOWLEDGE / "metadata.json").read_text()).items()}
    candidates = {c["cid"]: c for question in _lines(pools) for c in question["candidates"]}
    judged = {j["cid"]: j for j in _lines(judged_files)}
    vetoed = {j["cid"] for j in _lines(veto_files) if not j["relevant"]}
    unjudged = sorted(set(candidates) - set(judged))
    if unjudged:
        raise SystemExit(f"{len(unjudged)} candidates not judged, e.g. {unjudged[:3]}")
    also: dict[str, list[dict]] = {}
    for cid, candidate in candidates.items():
        if judged[cid]["relevant"] and cid not in vetoed:
            source, quote = file_of[candidate["doc"]], judged[cid]["quote"]
            if not contains_evidence((KNOWLEDGE / source).read_text(encoding="utf-8"), quote):
                raise SystemExit(f"{cid}: quote not found in {source}: {quote[:80]!r}")
            entries = also.setdefault(cid.rsplit("-c", 1)[0], [])
            if {"quote": quote, "source": source} not in entries:
                entries.append({"quote": quote, "source": source})
    rows = _lines([dataset])
    with open(dataset, "w", encoding="utf-8") as f:
        for row in rows:
            row.pop("also_evidence", None)
            if row["id"] in also:
                row["also_evidence"] = also[row["id"]]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{dataset}: {sum(map(len, also.values()))} alternative quotes on {len(also)} questions")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--pools", nargs="+", required=True)
    parser.add_argument("--judged", nargs="+", required=True)
    parser.add_argument("--vetoes", nargs="*", default=[])
    args = parser.parse_args()
    main(args.dataset, args.pools, args.judged, args.vetoes)
