"""The `assistant` command: ingest, ask, retrieve, serve; AssistantError becomes a clear message and exit code 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from assistant.documents.outline import reference_label
from assistant.errors import AssistantError, InputError
from assistant.schema import Answer, Restart, Turn

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Federation Advisor: cited answers from NHS reports.")


def _assistant():
    from assistant.pipeline import Assistant
    from assistant.settings import Settings

    return Assistant.from_settings(Settings())


def _fail(exc: AssistantError) -> None:
    typer.secho(f"Error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def format_sources(answer: Answer) -> str:
    """The numbered source list printed under an answer."""
    lines = []
    for c in answer.citations:
        flag = "" if c.supported else " (not verified)"
        lines.append(f"[{c.n}] {reference_label(c)}{flag}\n    “{c.quote}”")
    return "\n".join(lines)


@app.command()
def ingest(rebuild: bool = typer.Option(False, help="Forget the index and embed everything again.")) -> None:
    """Index the knowledge directory: only new or changed documents are embedded."""
    try:
        assistant = _assistant()
        with typer.progressbar(length=100, label="Indexing", file=sys.stderr) as bar:
            last = {"embed": 0}

            def progress(stage: str, done: int, total: int) -> None:
                if stage == "embed" and total:
                    target = int(100 * done / total)
                    bar.update(max(0, target - last["embed"]))
                    last["embed"] = target

            report = assistant.ingest(progress, rebuild=rebuild)
            bar.update(100 - last["embed"])
    except AssistantError as exc:
        _fail(exc)
    for name, items in (("Added", report.added), ("Updated", report.updated), ("Removed", report.removed)):
        for item in items:
            typer.echo(f"{name}: {item}")
    for skipped in report.skipped:
        typer.secho(f"Skipped: {skipped.filename}: {skipped.reason}", fg=typer.colors.YELLOW)
    typer.echo(report.summary())


@app.command()
def remove(file: str = typer.Argument(..., help="The document's file name in the knowledge directory.")) -> None:
    """Take a document out of the library: its passages leave the index in one commit, then its file goes."""
    try:
        report = _assistant().remove(Path(file).name)
    except AssistantError as exc:
        _fail(exc)
    typer.echo(f"Removed: {file}")
    typer.echo(report.summary())


def _history(path: Optional[Path]) -> list[Turn]:
    """Earlier turns from a JSON file; one larger than the longest conversation allowed is refused unread."""
    from assistant.settings import Settings

    if path is None:
        return []
    settings = Settings()
    try:
        if path.stat().st_size > settings.max_history_json_chars:
            raise typer.BadParameter(f"--history is {path.stat().st_size} bytes; a conversation may hold at most "
                                     f"{settings.max_history_chars} characters in {settings.max_history_turns} turns")
        return [Turn(m["role"], m["content"]) for m in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise typer.BadParameter(f"--history must be a JSON list of {{role, content}} messages ({exc})")


def _questions(path: Path) -> list[tuple[str, list[Turn]]]:
    """(question, history) per line of a JSON-lines file of {question, history?} objects (extra fields ignored)."""
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [(str(r["question"]), [Turn(m["role"], m["content"]) for m in r.get("history") or []]) for r in rows]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise typer.BadParameter(f"--questions must be JSON lines of {{question, history}} objects ({exc})")


@app.command()
def ask(
    question: Optional[str] = typer.Argument(None, help="Your question, in quotes."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    answerer: str = typer.Option("auto", help="offline, llm, or auto (the LLM when configured)."),
    k: int = typer.Option(5, "-k", help="Passages to retrieve."),
    history: Optional[Path] = typer.Option(None, help="JSON file with the previous turns [{role, content}]."),
    questions: Optional[Path] = typer.Option(
        None, "--questions", help="Instead of one question: a JSON-lines file of {question, history} objects (an "
        "evaluation dataset works); with --json, prints one JSON answer (or {question, error}) a line, in one process."),
) -> None:
    """Answer a question from the reports, with numbered sources."""
    if answerer not in ("auto", "offline", "llm"):
        raise typer.BadParameter("--answerer must be offline, llm or auto")
    if (question is None) == (questions is None) or (questions and (history or not as_json)):
        raise typer.BadParameter("give a question, or --questions FILE with --json (each line has its own history)")
    turns = _history(history)
    batch = _questions(questions) if questions else []
    try:
        assistant = _assistant()
        for q, h in batch:
            try:
                out = assistant.ask(q, h, k, answerer).to_json()
            except InputError as exc:  # one unusable question (empty, too long) is reported on its line
                out = {"question": q, "error": str(exc)}
            typer.echo(json.dumps(out, ensure_ascii=False))
        if questions:
            return
        if as_json:
            typer.echo(json.dumps(assistant.ask(question, turns, k, answerer).to_json(), ensure_ascii=False, indent=2))
            return
        final = None
        streamed: list[str] = []
        live = assistant.answerer_name(answerer) != "offline"
        for piece in assistant.stream(question, turns, k, answerer):
            if isinstance(piece, Answer):
                final = piece
            elif isinstance(piece, Restart):
                # The model failed midway: what it wrote is withdrawn, and the offline answer is printed once, below.
                if streamed:
                    typer.secho("\n\n[The language model stopped in the middle of its answer; the text above is "
                                "discarded. The offline answer follows.]", fg=typer.colors.YELLOW)
                live, streamed = False, []
            elif live:
                streamed.append(piece)
                typer.echo(piece, nl=False)  # live tokens from the model
    except AssistantError as exc:
        _fail(exc)
    assert final is not None
    if streamed:
        typer.echo("\n")
    for notice in final.notices:
        typer.secho(f"Note: {notice}", fg=typer.colors.YELLOW)
    # After streaming, the checked text is printed again only where checking changed it.
    if not streamed or final.text.strip() != "".join(streamed).strip():
        typer.echo(("Checked answer:\n" if streamed else "") + final.text)
    if final.citations:
        typer.echo("\nSources:\n" + format_sources(final))


@app.command()
def retrieve(
    question: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    k: int = typer.Option(5, "-k", min=0, help="Passages to show (0: the configured top_k)."),
) -> None:
    """Show the ranked passages for a question, without answering."""
    from assistant.search.langchain_retriever import to_passage

    try:
        passages = [to_passage(d) for d in _assistant().as_retriever(k).invoke(question)]
    except AssistantError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([p.to_json() for p in passages], ensure_ascii=False, indent=2))
        return
    for p in passages:
        c = p.chunk
        typer.echo(f"{p.rank}. [{p.score:.4f}] {c.title} ({c.year}) — {c.section or '-'} p.{c.page or '-'}\n   {c.text[:300]}")


@app.command()
def status() -> None:
    """Which answerer serves and what is indexed."""
    try:
        typer.echo(json.dumps(_assistant().status(), indent=2))
    except AssistantError as exc:
        _fail(exc)


@app.command("eval")
def eval_(
    dataset: Path = typer.Option(..., "--dataset", help="JSON-lines evaluation dataset."),
    out: Path = typer.Option(..., "--out", help="Directory for results.jsonl, summary.json, report.md and plots."),
    answerer: str = typer.Option("offline", help="offline or llm."),
    k: int = typer.Option(5, "-k", help="Passages to retrieve."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Also run the naive RAG and BM25 arms."),
    check: bool = typer.Option(False, "--check", help="Exit 1 when our system misses a threshold."),
) -> None:
    """Evaluate retrieval, citations and refusals on a dataset, against baselines; write a report."""
    from evals.runner import run_evaluation
    from assistant.settings import Settings

    if answerer not in ("offline", "llm"):
        raise typer.BadParameter("--answerer must be offline or llm")
    try:
        with typer.progressbar(length=100, label="Evaluating", file=sys.stderr) as bar:
            state = {"arm": "", "shown": 0}

            def progress(arm: str, done: int, total: int) -> None:
                if arm != state["arm"]:
                    state.update(arm=arm, shown=0)
                    bar.label = f"Evaluating {arm}"
                    bar.pos = 0
                target = int(100 * done / total)
                bar.update(max(0, target - state["shown"]))
                state["shown"] = target

            summary = run_evaluation(Settings(), dataset, out, answerer, k, baselines, progress)
    except AssistantError as exc:
        _fail(exc)
    labels = summary["labels"]
    names = list(summary["arms"])
    keys = ("hit@1", "hit@5", "mrr", "ndcg@5", "citation_precision", "evidence_recall", "refusal_accuracy",
            "false_refusal_rate")
    typer.echo(f"{'metric':<22}" + "".join(f"{labels[a][:26]:>28}" for a in names))
    for key in keys:
        vals = [summary["arms"][a].get(key) for a in names]
        typer.echo(f"{key:<22}" + "".join(f"{'n/a' if v is None else f'{v:.3f}':>28}" for v in vals))
    typer.echo(f"\n{summary['questions']} questions in {summary['elapsed_s']:.1f} s; report: {out / 'report.md'}")
    if check:
        if summary["check"]["passed"]:
            typer.secho("Check passed: every threshold met.", fg=typer.colors.GREEN)
        else:
            for line in summary["check"]["failed"]:
                typer.secho(f"Check failed: {line}", fg=typer.colors.RED, err=True)
            raise typer.Exit(1)


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="Address to listen on (default 127.0.0.1, this computer only)."),
    port: Optional[int] = typer.Option(None, help="Port to listen on (default 7860)."),
) -> None:
    """Serve the chat in the browser (indexes the reports first if there is no index yet)."""
    from assistant.settings import Settings

    try:
        from ui.app import serve as serve_ui

        overrides = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
        serve_ui(Settings(**overrides))
    except AssistantError as exc:
        _fail(exc)


def _publish(document, out: Optional[Path]) -> None:
    """Write a brief or pack to --out (.md or .docx), or print its Markdown."""
    from assistant.documents.export import to_markdown, write

    if out is None:
        typer.echo(to_markdown(document))  # the warnings are part of the Markdown
        return
    typer.echo(f"Wrote {write(document, out)}")
    for warning in document.warnings:
        typer.secho(f"Warning: {warning}", fg=typer.colors.YELLOW, err=True)


def _check_answerer(answerer: str) -> None:
    if answerer not in ("auto", "offline", "llm"):
        raise typer.BadParameter("--answerer must be offline, llm or auto")


@app.command()
def brief(
    topic: str = typer.Argument(..., help="The topic or question, in quotes."),
    answerer: str = typer.Option("auto", help="offline, llm, or auto (the LLM when configured)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write FILE.md or FILE.docx instead of printing Markdown."),
    k: int = typer.Option(5, "-k", help="Passages retrieved per section."),
) -> None:
    """Draft a cited briefing note for commissioners on a topic."""
    from assistant.documents.briefing import build_briefing

    _check_answerer(answerer)
    try:
        _publish(build_briefing(_assistant(), topic, answerer, k), out)
    except AssistantError as exc:
        _fail(exc)


@app.command()
def workshop(
    case: Optional[str] = typer.Option(None, "--case", help="A case study, e.g. \"Suffolk GP Federation\"."),
    theme: Optional[str] = typer.Option(None, "--theme", help="A theme, e.g. \"conflicts of interest\"."),
    answerer: str = typer.Option("auto", help="offline, llm, or auto (the LLM when configured)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write FILE.md or FILE.docx instead of printing Markdown."),
    k: int = typer.Option(5, "-k", help="Passages retrieved per search."),
) -> None:
    """Make a workshop pack for trainers: case-study card, discussion questions, quiz and facilitator's note."""
    from assistant.documents.workshop import build_workshop

    _check_answerer(answerer)
    if bool(case) == bool(theme):
        raise typer.BadParameter("give exactly one of --case or --theme")
    try:
        _publish(build_workshop(_assistant(), case=case, theme=theme, answerer=answerer, k=k), out)
    except AssistantError as exc:
        _fail(exc)


if __name__ == "__main__":  # pragma: no cover
    app()
