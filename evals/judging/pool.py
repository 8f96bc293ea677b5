"""Pool the top-5 passages of every arm of an eval run, per answerable question, for blind relevance judging.

    python evals/judging/pool.py evals/datasets/golden.jsonl RUN_DIR POOL.jsonl

RUN_DIR is an `assistant eval --out` folder. Candidates are shuffled (seeded by question id), carry no arm
or rank, and leave out passages that already contain one of the row's evidence quotes.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

from assistant.eval_metrics import evidence_quotes, is_relevant

ARMS = ("results.jsonl", "results_naive_rag.jsonl", "results_bm25.jsonl")


def main(dataset: str, run_dir: str, out: str) -> None:
    """Write one line per answerable question: the question, its reference answer and the pooled candidates."""
    rows = [json.loads(line) for line in Path(dataset).read_text(encoding="utf-8").splitlines() if line.strip()]
    results: dict[str, list[dict]] = {}
    for arm in ARMS:
        for line in (Path(run_dir) / arm).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            results.setdefault(record["id"], []).append(record)
    with open(out, "w", encoding="utf-8") as f:
        for row in rows:
            quotes = evidence_quotes(row)
            if not quotes:
                continue
            seen: dict[str, dict] = {}
            for record in results[row["id"]]:
                for p in record["passages"][:5]:
                    text, head = p["text"].strip(), (p.get("section") or "").strip()
                    key = " ".join(text.split())
                    if key in seen or is_relevant(f"{head}\n{text}", quotes):
                        continue
                    seen[key] = {"doc": p["doc_id"], "source_title": p["title"], "year": p["year"], "heading": head,
                                 "text": text}
            candidates = list(seen.values())
            random.Random(int(hashlib.sha1(row["id"].encode()).hexdigest(), 16)).shuffle(candidates)
            for i, c in enumerate(candidates, start=1):
                c["cid"] = f"{row['id']}-c{i}"
            f.write(json.dumps({"id": row["id"], "question": row["question"], "history": row["history"],
                                "reference_answer": row["answer"], "known_evidence": quotes,
                                "candidates": candidates}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
