"""The evaluation runner: answers a dataset with our system and the baselines, scores, judges and writes the results."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError, InputError
from evals.answers import answer_metrics, summarise_answers
from evals.metrics import breakdown, score_question, summarise, worst
from assistant.schema import Answer, Turn
from assistant.settings import Settings
from evals.llm_judge import Judge

# The CI gate (`assistant eval --check`): issue #3's targets, issue #13's answer-level targets (TARGETS) where met,
# and floors under those not met yet, so that a change that makes answers worse fails while the gap stays in the
# report.
THRESHOLDS: dict[str, tuple[str, float]] = {
    "hit@5": (">=", 0.90),
    "mrr": (">=", 0.75),
    "refusal_accuracy": (">=", 0.90),
    "false_refusal_rate": ("<=", 0.05),
    "citation_precision": (">=", 0.95),
    # Issue #13's targets, which the golden set meets (evidence stated 0.904, both parts 0.833 since 2026-12-02, near
    # misses 1.000, no fragment or misattributed sentence; held-out 0.853, 0.833, 1.000, none). One two-part question
    # more or less moves parts covered by 0.083: one lost fails the gate.
    "evidence_stated": (">=", 0.85),
    "parts_covered": (">=", 0.80),
    "near_miss_declined": (">=", 0.90),
    "fragments": ("<=", 0),
    "misattributed": ("<=", 0),
}
# What issue #13 asks of the answers, shown beside the gate in the report.
TARGETS: dict[str, tuple[str, float]] = {
    "evidence_stated": (">=", 0.85),
    "parts_covered": (">=", 0.80),
    "near_miss_declined": (">=", 0.90),
    "fragments": ("<=", 0),
    "misattributed": ("<=", 0),
}
REQUIRED_FIELDS = ("id", "question", "history", "answer", "evidence", "source", "kind", "persona", "topic")
SYSTEM = "system"
ARM_LABELS = {SYSTEM: "Federation Advisor (ours)", "naive_rag": "Naive LangChain RAG", "bm25": "BM25 only"}
JUDGE_SKIPPED = ("LLM-judged faithfulness and answer correctness were skipped: they need `--answerer llm` "
                 "and a configured LLM (OPENAI_API_KEY, and OPENAI_BASE_URL for a local server).")

Progress = Callable[[str, int, int], None]


def load_dataset(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines evaluation dataset; InputError naming the line when one is malformed."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the dataset {path} ({exc}); pass an existing UTF-8 JSON-lines file.") from exc
    rows = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}, line {n}: not valid JSON ({exc}).") from exc
        missing = [f for f in REQUIRED_FIELDS if not isinstance(row, dict) or f not in row]
        if missing:
            raise InputError(f"{path}, line {n}: missing field(s) {', '.join(missing)}.")
        if not isinstance(row["history"], list):
            raise InputError(f"{path}, line {n}: history must be a list of {{role, content}} messages.")
        rows.append(row)
    if not rows:
        raise InputError(f"The dataset {path} has no rows.")
    return rows


def history_of(row: dict[str, Any]) -> list[Turn]:
    """The row's conversation as Turns."""
    try:
        return [Turn(str(m["role"]), str(m["content"])) for m in row["history"]]
    except (KeyError, TypeError) as exc:
        raise InputError(f"Question {row.get('id')}: history messages need role and content ({exc}).") from exc


def answered_by(answer: Answer, answerer: str) -> str:
    """What wrote an answer: 'model', 'fallback' (the model failed; the offline answerer wrote it), 'offline', or
    'declined' (the guardrail or retrieval declined before any answerer wrote)."""
    if answer.generation is not None:
        return "model"
    if answer.answerer == "offline":
        return "fallback" if answerer == "llm" else "offline"
    return "declined"


def score_answer(row: dict[str, Any], answer: Answer, *, organisations: Sequence[str],
                 answerer: str = "offline") -> dict[str, Any]:
    """One results.jsonl record: the answer's JSON (citations with their `supported` flags), the row's labels, what
    answered it and the per-question metrics."""
    record = answer.to_json()
    record.update({f: row.get(f) for f in ("id", "kind", "persona", "topic")})
    record["answered_by"] = answered_by(answer, answerer)
    # Headings count as passage text: the cleaner lifts slide lines and lead-ins into section titles.
    cited = [(c.passage.chunk.index_text(), c.supported) for c in answer.citations]
    record.update(score_question(row, [p.chunk.index_text() for p in answer.passages], cited, answer.refused))
    record.update(answer_metrics(row, answer, retrieved=record.get("hit@5"), organisations=organisations))
    return record


def check_thresholds(metrics: dict[str, Any], thresholds: dict[str, tuple[str, float]] = THRESHOLDS) -> list[str]:
    """The failed checks of one arm's metrics, each as a readable line; empty when all pass."""
    failed = []
    for name, (op, limit) in thresholds.items():
        value = metrics.get(name)
        ok = value is not None and (value >= limit if op == ">=" else value <= limit)
        if not ok:
            shown = "n/a" if value is None else f"{value:.3f}"
            failed.append(f"{name} = {shown} (needs {op} {limit:.2f})")
    return failed


def _arm_summary(records: list[dict[str, Any]], refuses: bool) -> dict[str, Any]:
    summary = summarise(records, refuses)
    summary.update(summarise_answers(records))
    for field in ("kind", "persona", "topic"):
        summary[f"by_{field}"] = breakdown(records, field, refuses)
    summary["worst"] = worst(records, 10)
    return summary


def _write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def _answer_all(assistant, rows: Sequence[dict[str, Any]], *, k: int, answerer: str, judge: Judge | None,
                tick: Progress) -> list[dict[str, Any]]:
    """Our system's scored (and, with a judge, judged) record for every row."""
    records = []
    for i, row in enumerate(rows):
        answer = assistant.ask(row["question"], history_of(row), k, answerer)
        record = score_answer(row, answer, organisations=assistant.organisations(), answerer=answerer)
        if judge is not None:
            record["faithfulness"] = judge.faithfulness(answer, row["id"])
            record["answer_correctness"] = judge.correctness(row["question"], answer, row["answer"], row["id"])
        records.append(record)
        tick(SYSTEM, i + 1, len(rows))
    return records


def _run_baselines(settings: Settings, rows: Sequence[dict[str, Any]], *, k: int, out_dir: Path, tick: Progress,
                   arms: dict[str, Any], arm_records: dict[str, list[dict[str, Any]]],
                   organisations: Sequence[str]) -> None:
    """Answer every row with each baseline, write its results file, and add its summary and records to the arms."""
    from assistant.answering.extractive import OfflineAnswerer
    from assistant.search.embeddings import make_embeddings
    from evals.baselines import answer_with, build_baselines

    offline = OfflineAnswerer(organisations=lambda: organisations)  # the same answerer, without meaning scores
    arm_started = time.perf_counter()
    for arm in build_baselines(settings, make_embeddings(settings)):
        try:
            recs = []
            for i, row in enumerate(rows):
                recs.append(score_answer(row, answer_with(arm, row["question"], history_of(row), k, offline),
                                         organisations=organisations))
                tick(arm.name, i + 1, len(rows))
        finally:
            arm.close()
        _write_jsonl(out_dir / f"results_{arm.name}.jsonl", recs)
        arms[arm.name] = _arm_summary(recs, refuses=False)
        arms[arm.name]["elapsed_s"] = round(time.perf_counter() - arm_started, 2)  # the first includes the build
        arm_started = time.perf_counter()
        arm_records[arm.name] = recs


def answered(records: Sequence[dict[str, Any]], answerer: str) -> dict[str, Any]:
    """What answered our system's questions: counts by writer, the fallbacks with their notices and, for an LLM run,
    the metrics over the model-written answers alone (fallbacks and declines left out)."""
    counts = {by: sum(1 for r in records if r.get("answered_by") == by) for by in ("model", "fallback", "offline", "declined")}
    out: dict[str, Any] = {"answered_by": counts, "fallbacks": counts["fallback"]}
    if answerer == "llm":
        out["fallback_reasons"] = [{"id": r.get("id"), "notice": (r.get("notices") or [""])[-1]}
                                   for r in records if r.get("answered_by") == "fallback"]
        written = [r for r in records if r.get("answered_by") == "model"]
        out["llm_only"] = _arm_summary(written, refuses=True) if written else None
    return out


def _summary(dataset: Path, rows: Sequence[dict[str, Any]], *, assistant, answerer: str, k: int, settings: Settings,
             started: float, judge: Judge | None, arms: dict[str, Any], records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """summary.json's content: the run's settings, the arms' summaries and the check against THRESHOLDS."""
    failed = check_thresholds(arms[SYSTEM])
    return {
        "dataset": str(dataset),
        "questions": len(rows),
        "answerer": assistant.answerer_name(answerer),
        "k": k,
        "embedding_model": settings.embedding_model,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "elapsed_s": round(time.perf_counter() - started, 2),
        "labels": {name: ARM_LABELS.get(name, name) for name in arms},
        "judge": ("judged by " + assistant.answerer_name("llm") + (f"; {len(judge.failures)} judge call(s) failed"
                                                                   if judge.failures else "")) if judge else JUDGE_SKIPPED,
        "judge_failures": judge.failures if judge else [],
        **answered(records, answerer),
        "thresholds": {name: {"op": op, "value": v} for name, (op, v) in THRESHOLDS.items()},
        "targets": {name: {"op": op, "value": v} for name, (op, v) in TARGETS.items()},
        "check": {"passed": not failed, "failed": failed},
        "arms": arms,
    }


def run_evaluation(settings: Settings, dataset: Path, out_dir: Path, answerer: str = "offline", k: int = 5,
                   baselines: bool = True, progress: Progress | None = None) -> dict[str, Any]:
    """Run the dataset through our system (and the baselines), write results, summary and report; return the summary."""
    from assistant.pipeline import Assistant
    from evals.report import write_report

    if answerer not in ("offline", "llm"):
        raise ConfigError(f"--answerer must be offline or llm, not {answerer!r}.")
    if answerer == "llm" and not settings.llm_configured:
        raise ConfigError("--answerer llm needs OPENAI_API_KEY (and OPENAI_BASE_URL for a local server); "
                          "or use --answerer offline.")
    rows = load_dataset(dataset)
    settings = settings.model_copy(update={"log_questions": False})  # evaluation questions stay out of the log
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tick = progress or (lambda stage, done, total: None)

    assistant = Assistant.from_settings(settings)
    judge = Judge(settings, assistant.answerer("llm")) if answerer == "llm" else None
    arm_started = time.perf_counter()
    records = _answer_all(assistant, rows, k=k, answerer=answerer, judge=judge, tick=tick)
    _write_jsonl(out_dir / "results.jsonl", records)
    arms = {SYSTEM: _arm_summary(records, refuses=True)}
    arms[SYSTEM]["elapsed_s"] = round(time.perf_counter() - arm_started, 2)
    arm_records = {SYSTEM: records}
    if baselines:
        _run_baselines(settings, rows, k=k, out_dir=out_dir, tick=tick, arms=arms, arm_records=arm_records,
                       organisations=assistant.organisations())

    summary = _summary(dataset, rows, assistant=assistant, answerer=answerer, k=k, settings=settings, started=started,
                       judge=judge, arms=arms, records=records)
    write_report(summary, arm_records, out_dir)
    summary["elapsed_s"] = round(time.perf_counter() - started, 2)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary
