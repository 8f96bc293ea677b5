"""The Briefing note and Workshop pack tabs, and the exports they and the Ask tab share (via assistant.documents.export)."""

from __future__ import annotations

import time

import gradio as gr

from assistant.documents.briefing import build_briefing
from assistant.errors import AssistantError
from assistant.documents.export import private_folder, write
from assistant.schema import Answer, Chunk, Citation, Passage
from assistant.documents.cards import organisations
from assistant.documents.workshop import build_workshop, case_studies, table_rows
from assistant.settings import Settings

from . import render

HIDDEN = {"value": None, "visible": False}
BRIEF_EMPTY = ('<p class="fa-doc-empty">Type a topic and choose “Write briefing note”. The note appears here, '
               "with numbered references you can check, and can be downloaded for Word.</p>")
PACK_EMPTY = ('<p class="fa-doc-empty">Choose a case study (or type a theme) and “Make workshop pack”. The pack '
              "appears here: a case-study card, discussion questions, a quiz and a facilitator’s note.</p>")
ROUTE = dict(api_visibility="private", concurrency_id="answer", concurrency_limit=2)  # = app.ANSWER_CONCURRENCY


# Download names say what a file is, never what was typed: a question can hold a name or an NHS number.
ANSWER_NAME, BRIEFING_NAME, PACK_NAME = "federation-advisor-answer", "federation-advisor-briefing-note", \
    "federation-advisor-workshop-pack"


def export_files(obj, stem: str, settings: Settings) -> tuple[str, str]:
    """Markdown and Word files of an Answer, BriefingNote or WorkshopPack, in a fresh private (0700) folder under the
    data directory's exports, where folders older than settings.export_keep_s are removed."""
    # A folder per export: two people downloading at once never overwrite each other's file.
    folder = private_folder(settings.exports_dir, keep_s=settings.export_keep_s)
    return str(write(obj, folder / f"{stem}.md")), str(write(obj, folder / f"{stem}.docx"))


def answer_from_json(data: dict) -> Answer:
    """An Answer rebuilt from Answer.to_json() (what the chat keeps), with what export needs: text and citations."""
    texts = {p["chunk_id"]: p.get("text", "") for p in data.get("passages", [])}

    def chunk(d: dict) -> Chunk:
        return Chunk(d["chunk_id"], d.get("doc_id", ""), d.get("title", ""), d.get("year"), d.get("section", ""),
                     d.get("page"), texts.get(d["chunk_id"], d.get("text", "")), "", d.get("publisher", ""))

    citations = tuple(Citation(c["n"], Passage(c["n"], chunk(c), 0.0), c.get("quote", ""), c.get("supported", True),
                               c.get("support", 1.0)) for c in data.get("citations", []))
    passages = tuple(Passage(p.get("rank", 0), chunk(p), p.get("score", 0.0)) for p in data.get("passages", []))
    return Answer(question=data.get("question", ""), text=data.get("answer", ""), citations=citations,
                  passages=passages, refused=data.get("refused", False), answerer=data.get("answerer", "offline"),
                  notices=tuple(data.get("notices", [])))


def answerer_choices(assistant) -> list[tuple[str, str]]:
    """How a document can be written; the language model is offered only when one is configured."""
    llm = assistant.answerer_name("llm")
    if llm == "offline":
        return [("Automatic (offline: no language model is set up)", "auto"),
                ("Offline: sentences quoted from the reports", "offline")]
    return [(f"Automatic (language model {llm.removeprefix('llm:')}, offline if it fails)", "auto"),
            ("Offline: sentences quoted from the reports", "offline"),
            (f"Language model only ({llm.removeprefix('llm:')})", "llm")]


def case_choices(assistant) -> list[tuple[str, str]]:
    """One entry per organisation with a case study (its case studies and former names together): those with a
    table of facts (a full card) first, then the rest."""
    try:
        cases = case_studies(assistant)
    except AssistantError:
        return []
    groups = organisations(cases)
    tabled = sorted(h for h, names in groups.items()
                    if any(r[0] == "Legal form" for n in names for p in cases[n] for r in table_rows(p)))
    rest = sorted(h for h in groups if h not in tabled)
    return [(n, n) for n in tabled] + [(f"{n} (no table of facts)", n) for n in rest]


def _produce(build, show, noun: str, progress, empty: str, *, stem: str, settings: Settings):
    """Yield (status, document, Markdown file, Word file): a busy line, then the document or a plain error."""
    yield (render.doc_status_html(f"Writing the {noun} … This takes seconds offline and can take a minute or "
                                  "two with a language model."), gr.skip(), gr.update(**HIDDEN), gr.update(**HIDDEN))
    progress(None, desc=f"Searching the reports and writing the {noun} …")  # no steps to count
    start = time.perf_counter()
    try:
        obj = build()
        progress(None, desc="Preparing the downloads …")
        md, docx = export_files(obj, stem, settings)
    except AssistantError as exc:
        gr.Warning(str(exc))
        # The old document goes, so it cannot be mistaken for one on the new request.
        yield render.doc_status_html(str(exc), error=True), empty, gr.update(**HIDDEN), gr.update(**HIDDEN)
        return
    refs, warns = len(obj.references), len(obj.warnings)
    done = (f"The {noun} is ready ({time.perf_counter() - start:.1f} seconds, {refs} reference{'s' * (refs != 1)}, "
            f"{warns} warning{'s' * (warns != 1)}). Download it with the buttons below, or read it here.")
    yield render.doc_status_html(done), show(obj), gr.update(value=md, visible=True), gr.update(value=docx, visible=True)


def _missing(message: str):
    """Outputs for a request with nothing to work on: a warning, the document left as it was."""
    gr.Warning(message)
    return render.doc_status_html(message, error=True), gr.skip(), gr.skip(), gr.skip()


def _outputs(prefix: str, empty: str):
    """The status line, the two download buttons and the document area of a tab."""
    status = gr.HTML("", elem_id=f"fa-{prefix}-status", js_on_load=None)
    with gr.Row(elem_classes="fa-downloads"):
        md = gr.DownloadButton("Download Markdown", visible=False, elem_id=f"fa-{prefix}-md")
        docx = gr.DownloadButton("Download Word (DOCX)", visible=False, elem_id=f"fa-{prefix}-docx")
    doc = gr.HTML(empty, elem_id=f"fa-{prefix}", js_on_load=None)
    return [status, doc, md, docx]


def briefing_tab(assistant) -> None:
    """The Briefing note tab: a topic in, a cited note for commissioners out, with downloads."""
    with gr.Tab("Briefing note", id="briefing"):
        gr.Markdown("## Briefing note for commissioners\nA note on a topic in sections (background, key points, "
                    "options and trade-offs, governance and conflicts of interest, case-study examples, open "
                    "questions), every point numbered to the report it comes from.")
        topic = gr.Textbox(label="Topic of the note (press Enter to write it)", lines=1, max_lines=4,
                           elem_id="fa-brief-topic",
                           placeholder="For example: conflicts of interest when a federation bids for services")
        who = gr.Radio(answerer_choices(assistant), value="auto", label="How should it be written?",
                       elem_id="fa-brief-answerer")
        write_btn = gr.Button("Write briefing note", variant="primary", elem_id="fa-brief-write")
        outputs = _outputs("brief", BRIEF_EMPTY)

    def write_note(text, answerer, progress=gr.Progress()):
        """Write the note on the topic, show it and offer it as files."""
        text = text if isinstance(text, str) else ""
        if not text.strip():
            yield _missing("Please type a topic for the briefing note first.")
            return
        yield from _produce(lambda: build_briefing(assistant, text, answerer=answerer or "auto"),
                            render.briefing_html, "briefing note", progress, BRIEF_EMPTY, stem=BRIEFING_NAME,
                            settings=assistant.settings)

    # The spinner covers only the document, so the status line above it stays readable.
    write_btn.click(write_note, [topic, who], outputs, show_progress_on=outputs[1], **ROUTE)
    topic.submit(write_note, [topic, who], outputs, show_progress_on=outputs[1], **ROUTE)


def workshop_tab(assistant, app: gr.Blocks) -> None:
    """The Workshop pack tab: a case study or a theme in, a trainer's pack out, with downloads."""
    with gr.Tab("Workshop pack", id="workshop"):
        gr.Markdown("## Workshop pack for trainers\nA case-study card, discussion questions, a short quiz with "
                    "answers and a facilitator’s note, every point numbered to the report it comes from.")
        basis = gr.Radio([("A case study from the reports", "case"), ("A theme", "theme")], value="case",
                         label="Build the pack around", elem_id="fa-pack-basis")
        case = gr.Dropdown(case_choices(assistant), value=None, label="Case study",
                           info="Case studies with a table of facts give the fullest card and come first.",
                           elem_id="fa-pack-case")
        theme = gr.Textbox(label="Theme (press Enter to make the pack)", visible=False, lines=1, max_lines=3,
                           elem_id="fa-pack-theme", placeholder="For example: conflicts of interest")
        who = gr.Radio(answerer_choices(assistant), value="auto", label="How should it be written?",
                       elem_id="fa-pack-answerer")
        make_btn = gr.Button("Make workshop pack", variant="primary", elem_id="fa-pack-make")
        outputs = _outputs("pack", PACK_EMPTY)

    def make_pack(based_on, name, text, answerer, progress=gr.Progress()):
        """Make the pack on the chosen case study or the typed theme, show it and offer it as files."""
        by_theme = based_on == "theme"
        wanted = (text if isinstance(text, str) else "") if by_theme else (name if isinstance(name, str) else "")
        if not wanted.strip():
            yield _missing("Please type a theme first." if by_theme else "Please choose a case study first.")
            return
        args = {"theme": wanted} if by_theme else {"case": wanted}
        yield from _produce(lambda: build_workshop(assistant, answerer=answerer or "auto", **args),
                            render.workshop_html, "workshop pack", progress, PACK_EMPTY, stem=PACK_NAME,
                            settings=assistant.settings)

    basis.change(lambda b: (gr.update(visible=b != "theme"), gr.update(visible=b == "theme")), basis, [case, theme],
                 api_visibility="private")
    make_btn.click(make_pack, [basis, case, theme, who], outputs, show_progress_on=outputs[1], **ROUTE)
    theme.submit(make_pack, [basis, case, theme, who], outputs, show_progress_on=outputs[1], **ROUTE)
    # Documents added in the Library can bring new case studies; a fresh page lists them.
    app.load(lambda: gr.update(choices=case_choices(assistant)), None, case, api_visibility="private")
