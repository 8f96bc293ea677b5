"""Evaluation metrics: evidence relevance, hit@k, MRR, nDCG, citation and refusal scores, latency percentiles, breakdowns."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from evals.evidence import best_overlap, contains_evidence

# A passage holding at least this share of an evidence quote's words, in order, counts as relevant
# (so a quote split across two overlapping chunks still counts).
RELEVANCE_OVERLAP = 0.8
HIT_KS = (1, 3, 5)
NDCG_K = 5
STAGES = ("retrieve", "answer", "total")
OUT_OF_SCOPE = "out_of_scope"
NEAR_MISS = "near_miss"
# Every arm's summary carries these keys (None where a metric does not apply or was not measured).
METRIC_KEYS = (
    "questions", "answerable", "out_of_scope", "hit@1", "hit@3", "hit@5", "mrr", "mrr_written", "ndcg@5",
    "citation_precision", "evidence_recall", "refusal_accuracy", "false_refusal_rate",
    "faithfulness", "answer_correctness", "latency_ms",
)


def written_quotes(row: dict[str, Any]) -> list[str]:
    """The row's own evidence quotes (evidence, then evidence_2): a synthesis question needs each of them."""
    return [q for q in (row.get("evidence") or "", row.get("evidence_2") or "") if q.strip()]


def evidence_quotes(row: dict[str, Any]) -> list[str]:
    """Every quote that makes a passage relevant: the written ones, then `also_evidence` (other passages judged to answer)."""
    also = [a.get("quote") or "" for a in row.get("also_evidence") or ()]
    return written_quotes(row) + [q for q in also if q.strip()]


def is_relevant(text: str, quotes: Sequence[str]) -> bool:
    """Whether a passage text contains any quote, tolerant of re-flowed text, or most of one in order."""
    return any(contains_evidence(text, q) or best_overlap(text, q) >= RELEVANCE_OVERLAP for q in quotes)


def first_relevant_rank(flags: Sequence[bool]) -> int | None:
    """1-based rank of the first relevant passage, or None when none is."""
    return next((i for i, f in enumerate(flags, start=1) if f), None)


def hit_at(rank: int | None, k: int) -> bool:
    """Whether the first relevant passage sits within the top k."""
    return rank is not None and rank <= k


def reciprocal_rank(rank: int | None) -> float:
    """1/rank of the first relevant passage, 0 when none was retrieved."""
    return 1.0 / rank if rank else 0.0


def ndcg_at(flags: Sequence[bool], k: int = NDCG_K, expected: int = 1) -> float:
    """Binary-relevance nDCG@k; the ideal ranking holds max(expected, relevant found) relevant passages on top."""
    gains = [1.0 if f else 0.0 for f in list(flags)[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal_n = min(k, max(expected, int(sum(gains))))
    idcg = sum(1.0 / math.log2(i + 2) for i in range(ideal_n))
    return dcg / idcg if idcg else 0.0


def percentile(values: Iterable[float], p: float) -> float | None:
    """The p-th percentile (0-100) with linear interpolation between order statistics; None when empty."""
    xs = sorted(float(v) for v in values)
    if not xs:
        return None
    pos = (len(xs) - 1) * p / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the non-None values; None when there are none."""
    xs = [float(v) for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def score_question(row: dict[str, Any], passage_texts: Sequence[str], cited: Sequence[tuple[str, bool]],
                   refused: bool) -> dict[str, Any]:
    """Per-question metrics from the retrieved passage texts (best first) and (cited text, supported) pairs."""
    quotes = evidence_quotes(row)
    out_of_scope = row.get("kind") == OUT_OF_SCOPE
    metrics: dict[str, Any] = {"rank": None, "rr": None, "rr_written": None, "ndcg@5": None, "evidence_cited": None}
    metrics.update({f"hit@{k}": None for k in HIT_KS})
    if quotes:
        flags = [is_relevant(t, quotes) for t in passage_texts]
        rank = first_relevant_rank(flags)
        metrics.update({f"hit@{k}": hit_at(rank, k) for k in HIT_KS})
        written = written_quotes(row)
        # An alternative passage stands in for a written quote, it does not add one: the ideal count is the written ones.
        metrics.update(rank=rank, rr=reciprocal_rank(rank), **{"ndcg@5": ndcg_at(flags, NDCG_K, len(written))})
        # The same rank judged by the written quotes alone, so the effect of the added judgments stays visible.
        metrics["rr_written"] = reciprocal_rank(first_relevant_rank([is_relevant(t, written) for t in passage_texts]))
        metrics["evidence_cited"] = (not refused) and any(is_relevant(t, quotes) for t, _ in cited)
    metrics.update(
        refused=refused,
        correct_refusal=refused == out_of_scope,
        wrong_refusal=refused != out_of_scope,
        citations_count=len(cited) if not refused else 0,  # beside the answer's own `citations` list, kept whole
        citations_supported=sum(1 for _, ok in cited if ok) if not refused else 0,
    )
    return metrics


def latency(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """p50 and p95 in milliseconds per stage, over the questions that went through that stage."""
    out = {}
    for stage in STAGES:
        xs = [r["timings_ms"][stage] for r in records if stage in (r.get("timings_ms") or {})]
        out[stage] = {"p50": percentile(xs, 50), "p95": percentile(xs, 95), "n": len(xs)}
    return out


def summarise(records: Sequence[dict[str, Any]], refuses: bool = True) -> dict[str, Any]:
    """Aggregate metrics of one arm over per-question records (rows merged with score_question output)."""
    scored = [r for r in records if r.get("rr") is not None]  # rows with evidence
    answerable = [r for r in records if r.get("kind") != OUT_OF_SCOPE]
    # A near miss asks a fact the reports don't give: declining it is right, so it is no false refusal.
    should_answer = [r for r in answerable if r.get("kind") != NEAR_MISS]
    oos = [r for r in records if r.get("kind") == OUT_OF_SCOPE]
    answered = [r for r in records if not r.get("refused")]
    n_cit = sum(r.get("citations_count", 0) for r in answered)
    summary: dict[str, Any] = {"questions": len(records), "answerable": len(answerable), "out_of_scope": len(oos)}
    summary.update({f"hit@{k}": mean(r[f"hit@{k}"] for r in scored) for k in HIT_KS})
    summary["mrr"] = mean(r["rr"] for r in scored)
    summary["mrr_written"] = mean(r.get("rr_written") for r in scored)
    summary["ndcg@5"] = mean(r["ndcg@5"] for r in scored)
    summary["citation_precision"] = sum(r.get("citations_supported", 0) for r in answered) / n_cit if n_cit else None
    summary["evidence_recall"] = mean(bool(r.get("evidence_cited")) for r in scored)
    summary["refusal_accuracy"] = mean(r["refused"] for r in oos) if refuses else None
    summary["false_refusal_rate"] = mean(r["refused"] for r in should_answer)
    summary["faithfulness"] = mean(r.get("faithfulness") for r in records)
    summary["answer_correctness"] = mean(r.get("answer_correctness") for r in records)
    summary["latency_ms"] = latency(records)
    return summary


def breakdown(records: Sequence[dict[str, Any]], field: str, refuses: bool = True) -> dict[str, dict[str, Any]]:
    """summarise() per value of `field` (kind, persona, topic), values in sorted order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(str(r.get(field, "")), []).append(r)
    return {value: summarise(groups[value], refuses) for value in sorted(groups)}


def badness(record: dict[str, Any]) -> tuple:
    """Sort key, worst first: reciprocal rank (a missed refusal counts 0), wrong refusal, evidence not cited."""
    if record.get("rr") is not None:
        rr = record["rr"]
    else:
        rr = 0.0 if record.get("wrong_refusal") else 1.0
    return (rr, not record.get("wrong_refusal"), record.get("evidence_cited") is not False, str(record.get("id", "")))


def worst(records: Sequence[dict[str, Any]], n: int = 10, key: Callable[[dict], tuple] = badness) -> list[dict[str, Any]]:
    """The n worst questions with the facts that explain them."""
    fields = ("id", "kind", "persona", "topic", "question", "rank", "rr", "refused", "wrong_refusal", "evidence_cited")
    return [{f: r.get(f) for f in fields} for r in sorted(records, key=key)[:n]]
