"""Pool the top-5 passages of every arm of an eval run, per answerable question, for blind relevance judging.

    python evals/judging/pool.py DATASET RUN_DIR NEW_POOL.jsonl [EARLIER_POOL.jsonl ...]

RUN_DIR is an `assistant eval --out` folder. Candidates are shuffled (seeded by question id), carry no arm
or rank, and leave out passages that already hold one of the row's evidence quotes or that an earlier pool
already holds; new candidates are numbered after the earlier ones, so ids never collide.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

from evals.metrics import evidence_quotes, is_relevant

ARMS = ("results.jsonl", "results_naive_rag.jsonl", "results_bm25.jsonl")


def _lines(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def main(dataset: str, run_dir: str, out: str, *earlier: str) -> None:
    """Write one line per answerable question with new candidates: the question, its reference answer, the pool."""
    seen_before: dict[str, set[str]] = {}
    numbered: dict[str, int] = {}
    for pool in earlier:
        for question in _lines(pool):
            for c in question["candidates"]:
                seen_before.setdefault(question["id"], set()).add(" ".join(c["text"].split()))
                numbered[question["id"]] = max(numbered.get(question["id"], 0), int(c["cid"].rsplit("-c", 1)[1]))
    results: dict[str, list[dict]] = {}
    for arm in ARMS:
        for record in _lines(Path(run_dir) / arm):
            results.setdefault(record["id"], []).append(record)
    with open(out, "w", encoding="utf-8") as f:
        for row in _lines(dataset):
            quotes = evidence_quotes(row)
            if not quotes or row["id"] not in results:
                continue
            seen: dict[str, dict] = {}
            for record in results[row["id"]]:
                for p in record["passages"][:5]:
                    text, head = p["text"].strip(), (p.get("section") or "").strip()
                    key = " ".join(text.split())
                    if key in seen or key in seen_before.get(row["id"], ()) or is_relevant(f"{head}\n{text}", quotes):
                        continue
                    seen[key] = {"doc": p["doc_id"], "source_title": p["title"], "year": p["year"], "heading": head,
                                 "text": text}
            candidates = list(seen.values())
            if not candidates:
                continue
            random.Random(int(hashlib.sha1(row["id"].encode()).hexdigest(), 16)).shuffle(candidates)
            for i, c in enumerate(candidates, start=numbered.get(row["id"], 0) + 1):
                c["cid"] = f"{row['id']}-c{i}"
            f.write(json.dumps({"id": row["id"], "question": row["question"], "history": row["history"],
                                "reference_answer": row["answer"], "known_evidence": quotes,
                                "candidates": candidates}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
