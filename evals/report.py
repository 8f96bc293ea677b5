"""The evaluation report: report.md with side-by-side tables, breakdowns, the worst questions and PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# (summary key, label in the tables); latency and judged metrics are shown separately.
TABLE_METRICS = (
    ("hit@1", "Hit@1"), ("hit@3", "Hit@3"), ("hit@5", "Hit@5"), ("mrr", "MRR"),
    ("mrr_written", "MRR, written quotes only"), ("ndcg@5", "nDCG@5"), ("citation_precision", "Citation precision"), ("evidence_recall", "Evidence recall"),
    ("refusal_accuracy", "Refusal accuracy (out of scope)"), ("false_refusal_rate", "False-refusal rate (answerable)"),
    ("evidence_stated", "Evidence stated in the answer (of retrieved)"), ("parts_covered", "Two-part questions, both parts"),
    ("near_miss_declined", "Near misses declined (fact not in the reports)"), ("fragments", "Fragment sentences (count)"),
    ("misattributed", "Misattributed sentences (count)"),
    ("faithfulness", "Faithfulness (LLM judge)"), ("answer_correctness", "Answer correctness (LLM judge)"),
)
BREAKDOWN_METRICS = (("questions", "n"), ("hit@1", "Hit@1"), ("hit@5", "Hit@5"), ("mrr", "MRR"), ("ndcg@5", "nDCG@5"),
                     ("citation_precision", "Cit. prec."), ("evidence_recall", "Ev. recall"),
                     ("refusal_accuracy", "Refusal acc."), ("false_refusal_rate", "False ref."))
CHART_METRICS = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5", "citation_precision", "evidence_recall")
PLOTS = {"comparison": "comparison.png", "by_kind": "by_kind.png", "latency": "latency.png", "ranks": "ranks.png"}


def fmt(value: Any, digits: int = 3) -> str:
    """A metric for a table: `digits` decimals, integers as they are, n/a for None."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _target(summary: dict[str, Any], name: str) -> str:
    """The issue's target for a metric where it differs from the gate (else the gate is the target)."""
    target = summary.get("targets", {}).get(name) or summary["thresholds"][name]
    return f"{target['op']} {target['value']:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows]


def comparison_table(summary: dict[str, Any]) -> list[str]:
    """Our system and the baselines side by side, one metric per row."""
    arms = summary["arms"]
    labels = summary["labels"]
    rows = [[label] + [fmt(arms[a].get(key)) for a in arms] for key, label in TABLE_METRICS]
    for stage in ("retrieve", "answer", "total"):
        for p in ("p50", "p95"):
            rows.append([f"Latency {stage} {p} (ms)"]
                        + [fmt(arms[a]["latency_ms"][stage][p], 1) for a in arms])
    return _table(["Metric"] + [labels[a] for a in arms], rows)


def breakdown_table(metrics_by_value: dict[str, dict[str, Any]], field: str) -> list[str]:
    """One row per value of a field (kind, persona, topic) with the main metrics."""
    rows = [[value] + [fmt(m.get(key)) for key, _ in BREAKDOWN_METRICS] for value, m in metrics_by_value.items()]
    return _table([field.capitalize()] + [label for _, label in BREAKDOWN_METRICS], rows)


def worst_table(items: list[dict[str, Any]]) -> list[str]:
    """The worst questions with their first relevant rank and refusal outcome."""
    rows = []
    for w in items:
        question = w["question"] if len(w["question"]) <= 90 else w["question"][:89] + "…"
        rows.append([w["id"], w["kind"], w["topic"], question, fmt(w["rank"]) if w["rank"] else "–",
                     fmt(w["rr"]), "yes" if w["refused"] else "no", "WRONG" if w["wrong_refusal"] else "ok",
                     fmt(w["evidence_cited"])])
    return _table(["Id", "Kind", "Topic", "Question", "Rank", "RR", "Refused", "Refusal", "Evidence cited"], rows)


def _plots(summary: dict[str, Any], arm_records: dict[str, list[dict[str, Any]]], out_dir: Path) -> None:
    """Write the PNG charts (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms, labels = summary["arms"], summary["labels"]
    names = list(arms)

    _grouped_bars(plt, out_dir / PLOTS["comparison"], CHART_METRICS, (10, 4.5), "Our system vs baselines",
                  {labels[arm]: [arms[arm].get(m) or 0.0 for m in CHART_METRICS] for arm in names})
    kinds = list(arms[names[0]]["by_kind"])
    _grouped_bars(plt, out_dir / PLOTS["by_kind"], kinds, (9, 4.5), "Hit@5 by question kind (out_of_scope has no evidence)",
                  {labels[arm]: [arms[arm]["by_kind"].get(kd, {}).get("hit@5") or 0.0 for kd in kinds] for arm in names})

    stages = ("retrieve", "answer", "total")
    _grouped_bars(plt, out_dir / PLOTS["latency"], [f"{s} {p}" for s in stages for p in ("p50", "p95")], (9, 4.5),
                  "Latency per stage",
                  {labels[arm]: [arms[arm]["latency_ms"][s][p] or 0.0 for s in stages for p in ("p50", "p95")]
                   for arm in names}, ylabel="ms")

    buckets = ["1", "2", "3", "4", "5", "miss"]
    counts = {}
    for arm in names:
        ranks = [r["rank"] for r in arm_records[arm] if r.get("rr") is not None]
        counts[labels[arm]] = [sum(1 for r in ranks if r == int(b)) for b in buckets[:-1]] + [
            sum(1 for r in ranks if r is None or r > 5)]
    _grouped_bars(plt, out_dir / PLOTS["ranks"], buckets, (9, 4.5), "Where the evidence was retrieved", counts,
                  ylabel="questions", xlabel="rank of the first passage holding the evidence")


def answered_section(summary: dict[str, Any]) -> list[str]:
    """What answered the questions: the model, the offline fallback, or a decline before any answerer; for an LLM
    run, the main metrics over the model-written answers alone beside all answers, each fallback's notice and
    each judge failure's reason."""
    counts = summary.get("answered_by")
    if not counts:
        return []
    lines = ["## What answered (our system)", "",
             f"Written by the model: {counts['model']}; fell back to the offline answerer: {summary['fallbacks']}; "
             f"answered offline: {counts['offline']}; declined before any answerer wrote (guardrail, not covered): "
             f"{counts['declined']}.", ""]
    llm_only = summary.get("llm_only")
    if "llm_only" in summary:
        keys = [(k, label) for k, label in TABLE_METRICS if k not in ("mrr_written",)]
        if llm_only is None:
            lines += ["No answer was written by the model, so there are no LLM-only metrics.", ""]
        else:
            system = summary["arms"]["system"]
            lines += ["LLM-only metrics leave out the fallbacks and the declines: they score what the model wrote.", "",
                      *_table(["Metric", "All answers", f"Model-written only ({counts['model']})"],
                              [[label, fmt(system.get(k)), fmt(llm_only.get(k))] for k, label in keys]), ""]
        if summary.get("fallback_reasons"):
            lines += ["Fallbacks:", "", *_table(["Id", "Notice"], [[f["id"], f["notice"]] for f in summary["fallback_reasons"]]), ""]
    if summary.get("judge_failures"):
        lines += ["Judge failures:", "", *_table(["Id", "Metric", "Reason"], [[f["id"], f["metric"], f["reason"]]
                                                                           for f in summary["judge_failures"]]), ""]
    return lines


def write_report(summary: dict[str, Any], arm_records: dict[str, list[dict[str, Any]]], out_dir: Path) -> Path:
    """Write the plots and report.md into out_dir; return the report's path."""
    out_dir = Path(out_dir)
    _plots(summary, arm_records, out_dir)
    system = summary["arms"]["system"]
    check = summary["check"]
    misses = [r for r in arm_records["system"] if r.get("rr") is not None and r.get("rank") is None]
    lines = [
        "# Federation Advisor evaluation",
        "",
        f"Dataset `{summary['dataset']}`: {summary['questions']} questions; answerer `{summary['answerer']}`"
        + (f" ({summary['answered_by']['model']} answers written by the model, {summary['fallbacks']} fell back to "
           "the offline answerer)" if "llm_only" in summary else "") + "; "
        f"k = {summary['k']}; embeddings `{summary['embedding_model']}`; run {summary['created']} "
        f"in {summary['elapsed_s']:.1f} s.",
        "",
        "## Our system vs baselines",
        "",
        "Baselines: the naive LangChain RAG (RecursiveCharacterTextSplitter 1000/200 over the raw texts, vector-only "
        "top-k from Chroma, same embedding model) and BM25 alone over the same chunks; both answered by the offline "
        "answerer and checked by the same citation verifier. Baselines never refuse, so their refusal accuracy is n/a.",
        "",
        "Relevance: a passage is relevant when it holds the row's evidence quote or one of its `also_evidence` quotes "
        "(other passages judged, blind, to answer the question: see evals/README.md). *MRR, written quotes only* "
        "scores the same rankings by the written quotes alone.",
        "",
        *comparison_table(summary),
        "",
        f"![Our system vs baselines]({PLOTS['comparison']})",
        "",
        *answered_section(summary),
        "## Check (our system)",
        "",
        "All thresholds met." if check["passed"] else "Failed: " + "; ".join(check["failed"]) + ".",
        "",
        *_table(["Metric", "CI gate", "Target (issues #3, #13)", "Value"],
                [[name, f"{t['op']} {t['value']:.2f}", _target(summary, name), fmt(system.get(name))]
                 for name, t in summary["thresholds"].items()]),
        "",
        "## LLM-judged metrics",
        "",
        summary["judge"],
        "",
    ]
    for field in ("kind", "persona", "topic"):
        lines += [f"## Our system by {field}", "", *breakdown_table(system[f"by_{field}"], field), ""]
        if field == "kind":
            lines += [f"![Hit@5 by kind]({PLOTS['by_kind']})", ""]
    lines += ["## The 10 worst questions (our system)", "",
              "Ordered by reciprocal rank of the first evidence passage (a missed refusal counts 0), then wrong refusals.",
              "", *worst_table(system["worst"]), "",
              "## Retrieval misses (our system)", "",
              "Answerable questions whose evidence is in none of the top-k passages:", "",
              *_table(["Id", "Kind", "Question"], [[m["id"], m["kind"], m["question"]] for m in misses]), "",
              "## Latency and ranks", "", f"![Latency per stage]({PLOTS['latency']})", "",
              f"![Rank of the first relevant passage]({PLOTS['ranks']})", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _grouped_bars(plt, path: Path, categories, size: tuple[float, float], title: str,
                  series: dict[str, list[float]], *, ylabel: str = "", xlabel: str = "") -> None:
    """One bar per series in each category, saved to `path`: scores on a 0–1.2 axis, or with `ylabel` counts or
    milliseconds on an axis of their own."""
    import numpy as np

    fig, ax = plt.subplots(figsize=size)
    x = np.arange(len(categories))
    width = 0.8 / max(1, len(series))
    for i, (label, vals) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, vals, width, label=label)
    ax.set_xticks(x, list(categories))
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    else:
        ax.set_ylim(0, 1.2)
    ax.set_title(title)
    if ylabel:
        ax.legend(fontsize=8)
    else:
        ax.legend(loc="upper center", ncol=len(series), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
