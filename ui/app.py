"""The browser chat: a thin Gradio layer over the Assistant (cited answers, documents, library, feedback, HTTP API)."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr

from assistant.errors import AssistantError, ConfigError
from assistant.feedback import FeedbackStore
from assistant.answering.guardrails import redact
from assistant.schema import Answer, Turn
from assistant.settings import Settings

from . import modes, render
from .library import add_files, stage_label

HERE = Path(__file__).resolve().parent
NHS_BLUE = gr.themes.Color(c50="#e8f1fa", c100="#cfe1f3", c200="#9fc3e7", c300="#6fa5db", c400="#2f7bc9",
                           c500="#005eb8", c600="#00519f", c700="#003f7d", c800="#003087", c900="#002060",
                           c950="#001a4d", name="nhs_blue")

STARTERS: dict[str, list[str]] = {
    "Forming a federation": [
        "What are the first steps in forming a GP federation?",
        "What legal forms can a GP federation take?",
        "Why should practices work together at scale?",
    ],
    "Governance": [
        "How should the board of a GP federation be set up?",
        "How can member practices hold a federation to account?",
    ],
    "Conflicts of interest": [
        "How should conflicts of interest be managed when GPs both commission and provide services?",
        "What conflicts of interest arise when a federation bids for contracts?",
    ],
    "Case studies": [
        "What did Tower Hamlets Network 2 achieve?",
        "How is the Vitality Partnership organised?",
        "What is Modality Partnership?",
    ],
}
# Answers at once per replica: measured by bench/load_test.py (20 sessions x 10 questions, 2 cores):
# 0 errors at 1, 2 and 4; 2 gave the best p95 without slowing each answer, and lets a slow LLM
# stream not block everyone else.
ANSWER_CONCURRENCY = 2
HELPFUL, NOT_HELPFUL = "👍 Helpful", "👎 Not helpful"


def theme() -> gr.themes.Base:
    """An NHS-style theme: NHS blue accents, Arial, no web fonts fetched."""
    return gr.themes.Default(
        primary_hue=NHS_BLUE, secondary_hue=NHS_BLUE, neutral_hue="slate",
        font=("Arial", "Helvetica", "sans-serif"), font_mono=("ui-monospace", "Consolas", "monospace"),
    ).set(
        button_primary_background_fill="#005eb8", button_primary_background_fill_hover="#003087",
        button_primary_text_color="#ffffff", link_text_color="#005eb8", link_text_color_hover="#003087",
        color_accent="#005eb8", color_accent_soft="#e8f1fa",
    )


def parse_auth(spec: str | None) -> list[tuple[str, str]] | None:
    """Logins from "user:password,user2:password2"; None when unset; ConfigError when malformed."""
    if not spec or not spec.strip():
        return None
    pairs = []
    for item in spec.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError("ASSISTANT_AUTH must look like user:password,user2:password2.")
        pairs.append((user.strip(), password))
    return pairs


def history_turns(answers: list[dict]) -> list[Turn]:
    """The conversation so far, as the Assistant takes it."""
    turns: list[Turn] = []
    for a in answers:
        turns += [Turn("user", a["question"]), Turn("assistant", a["answer"])]
    return turns


def _answer_choices(answers: list[dict]):
    choices = [(f"Answer {i}: {a['question'][:70]}", i) for i, a in enumerate(answers, start=1)]
    return gr.update(choices=choices, value=len(answers) if answers else None)


def build_app(assistant, settings: Settings) -> gr.Blocks:
    """The Gradio app over an Assistant: Ask, Briefing note, Workshop pack and Library tabs, and the `ask` API."""
    feedback = FeedbackStore(settings.feedback_db)
    ingest_lock = threading.Lock()

    def status_line() -> str:
        try:
            return render.status_html(assistant.status())
        except AssistantError as exc:
            return f'<p class="fa-status" role="status">Status unavailable: {render.esc(exc)}</p>'

    def respond(question, messages, answers):
        """Stream one answer into the chat, then show its sources."""
        messages, answers = list(messages or []), list(answers or [])
        question = question if isinstance(question, str) else ""
        if not question.strip():
            gr.Warning("Please type a question first.")
            yield messages, question, answers, gr.skip(), gr.skip(), ""
            return
        messages += [{"role": "user", "content": render.md_text(question.strip())},
                     {"role": "assistant", "content": "Searching the reports …"}]
        yield messages, "", answers, gr.skip(), gr.skip(), ""
        written = ""
        try:
            for piece in assistant.stream(question, history_turns(answers)):
                if isinstance(piece, Answer):
                    answers.append(piece.to_json())
                    messages[-1] = {"role": "assistant", "content": render.answer_markdown(answers[-1], len(answers))}
                    yield (messages, "", answers, render.sources_html(answers), _answer_choices(answers), "")
                    return
                written += piece
                messages[-1] = {"role": "assistant", "content": render.streaming_markdown(written)}
                yield messages, "", answers, gr.skip(), gr.skip(), ""
        except AssistantError as exc:
            gr.Warning(str(exc))
            # The failed turn leaves the chat; the question goes back in the box to edit or retry.
            yield (messages[:-2], question, answers, gr.skip(), gr.skip(),
                   f"**Could not answer:** {render.md_text(str(exc))}")

    def new_conversation():
        return [], [], render.sources_html([]), _answer_choices([]), "", None

    def save_feedback(a: dict, vote: str, comment: str) -> int:
        """Store feedback on answer `a` with personal data redacted from the question, answer and comment."""
        return feedback.add(redact(a["question"]), redact(a["answer"]), json.dumps(a["citations"], ensure_ascii=False),
                            vote, redact(comment or ""))

    def send_feedback(answers, index, rating, comment, pending):
        """Save a rating (with optional comment) for the chosen answer."""
        answers = answers or []
        if not answers:
            raise gr.Error("Ask a question first; feedback is about an answer.")
        if rating not in (HELPFUL, NOT_HELPFUL):
            raise gr.Error("Choose 👍 Helpful or 👎 Not helpful.")
        i = int(index or len(answers))
        if not 1 <= i <= len(answers):
            raise gr.Error("Choose which answer your feedback is about.")
        vote = "up" if rating == HELPFUL else "down"
        try:
            if pending and pending.get("answer") == i and pending.get("rating") == vote:
                feedback.set_comment(pending["id"], redact(comment or ""))
                fid = pending["id"]
            else:
                a = answers[i - 1]
                fid = save_feedback(a, vote, comment)
        except AssistantError as exc:
            raise gr.Error(str(exc))
        return f"Thank you. Your feedback on answer {i} was saved (reference {fid}).", "", None, None

    def like(answers, data: gr.LikeData):
        """A thumb on an answer in the chat is saved at once; a comment can follow in the form."""
        idx = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        i = (int(idx) + 1) // 2
        if data.liked not in (True, False) or not answers or not 1 <= i <= len(answers) or int(idx) % 2 == 0:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        vote = "up" if data.liked else "down"
        a = answers[i - 1]
        try:
            fid = save_feedback(a, vote, "")
        except AssistantError as exc:
            raise gr.Error(str(exc))
        thumb = "👍" if vote == "up" else "👎"
        note = f"Thank you. Your {thumb} on answer {i} was saved. Add a comment below if you wish."
        return note, gr.update(value=i), HELPFUL if vote == "up" else NOT_HELPFUL, {"answer": i, "rating": vote, "id": fid}

    def export_feedback():
        """Write all feedback to a CSV file for download."""
        try:
            out = Path(tempfile.mkdtemp(prefix="fa-feedback-")) / f"feedback-{time.strftime('%Y%m%d-%H%M%S')}.csv"
            feedback.export_csv(out)
            count = len(feedback.all())
        except AssistantError as exc:
            raise gr.Error(str(exc))
        return gr.update(value=str(out), visible=True), f"{count} feedback entries exported."

    def library_rows():
        try:
            return render.documents_rows(assistant.documents())
        except AssistantError as exc:
            gr.Warning(str(exc))
            return []

    def add_documents(files, progress=gr.Progress()):
        """Validate, copy and index uploaded documents, reporting each file's fate."""
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if not paths:
            raise gr.Error("Choose one or more PDF, DOCX, TXT or MD files first.")

        def ingest():
            progress(0, desc="Starting to index")
            return assistant.ingest(lambda stage, done, total: progress(
                (done / total) if total else 1.0, desc=f"{stage_label(stage)}: {done} of {total}"))

        try:
            with ingest_lock:
                kept, rejected, report = add_files(paths, settings.knowledge_dir, assistant.documents(), ingest)
        except AssistantError as exc:
            raise gr.Error(f"Indexing failed: {exc}")
        return render.upload_report_md(kept, rejected, report), library_rows(), status_line(), None

    with gr.Blocks(title="Federation Advisor", analytics_enabled=False) as app:
        answers = gr.State([])
        pending = gr.State(None)
        gr.HTML('<header class="fa-header"><h1>Federation Advisor</h1>'
                "<p>Answers with sources on GP federations, working at scale, governance and conflicts of "
                "interest, from a library of NHS-related reports (2013 to 2018) and any documents you add.</p></header>", js_on_load=None)
        status = gr.HTML(status_line(), elem_id="fa-status", js_on_load=None)
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=320):
                        chatbot = gr.Chatbot(
                            label="Conversation", elem_id="fa-chat", height=520, sanitize_html=True,
                            render_markdown=True, latex_delimiters=[], buttons=[],
                            feedback_options=("Like", "Dislike"), allow_tags=False,
                            placeholder="Answers appear here, with numbered sources. "
                                        "Choose a starter question below or type your own.")
                        question = gr.Textbox(label="Your question (press Enter to ask)", elem_id="fa-question", lines=1, max_lines=6,
                                              placeholder="For example: how should a federation manage conflicts of interest?")
                        with gr.Row():
                            ask_btn = gr.Button("Ask", variant="primary", elem_id="fa-ask", scale=2)
                            clear_btn = gr.Button("New conversation", variant="secondary", scale=1)
                        error_line = gr.Markdown("", elem_id="fa-error")
                        answer_dl = modes.answer_downloads()
                        gr.Markdown("Answers come only from the reports in the library. This is not clinical or "
                                    "legal advice. Please do not type patient details.", elem_classes="fa-warning-line")
                        with gr.Accordion("Starter questions", open=True, elem_classes="fa-starters"):
                            starters = []
                            for topic, items in STARTERS.items():
                                gr.HTML(f"<h3>{render.esc(topic)}</h3>", js_on_load=None)
                                starters += [gr.Button(q, size="sm", variant="secondary") for q in items]
                        with gr.Accordion("Give feedback on an answer", open=False, elem_id="fa-feedback"):
                            fb_answer = gr.Dropdown(label="Which answer?", choices=[], interactive=True,
                                                    elem_id="fa-fb-answer")
                            fb_rating = gr.Radio([HELPFUL, NOT_HELPFUL], label="Was this answer helpful?",
                                                 elem_id="fa-fb-rating")
                            fb_comment = gr.Textbox(label="Comment (optional)", lines=2, elem_id="fa-fb-comment",
                                                    placeholder="What was good, missing or wrong?")
                            fb_send = gr.Button("Send feedback", variant="primary", elem_id="fa-fb-send")
                            fb_result = gr.Markdown("", elem_id="fa-fb-result")
                    with gr.Column(scale=2, min_width=300):
                        gr.Markdown("## Sources")
                        sources = gr.HTML(render.sources_html([]), elem_id="fa-sources", js_on_load=None)
            modes.briefing_tab(assistant)
            modes.workshop_tab(assistant, app)
            with gr.Tab("Library", id="library"):
                gr.Markdown("## Documents in the library\nThe advisor answers only from these documents.")
                docs = gr.Dataframe(headers=["Title", "Publisher", "Year", "Passages", "File"],
                                    value=library_rows(), interactive=False, wrap=True,
                                    column_widths=["40%", "30%", "8%", "9%", "13%"], max_height=900,
                                    label="Documents in the library", elem_id="fa-docs")
                gr.Markdown("## Add documents\nPDF, Word (.docx), text (.txt) or Markdown (.md) files. "
                            "Each file is checked; readable ones are added to the library and indexed.")
                upload = gr.File(label="Documents to add", file_count="multiple", type="filepath",
                                 file_types=[".pdf", ".docx", ".txt", ".md"], elem_id="fa-upload")
                add_btn = gr.Button("Add to library", variant="primary", elem_id="fa-add")
                upload_result = gr.Markdown("", elem_id="fa-upload-result")
                gr.Markdown("## Feedback received")
                export_btn = gr.Button("Export feedback as CSV", elem_id="fa-export")
                export_file = gr.File(label="Feedback CSV", interactive=False, visible=False, elem_id="fa-export-file")
                export_note = gr.Markdown("")

        chat_out = [chatbot, question, answers, sources, fb_answer, error_line]
        opts = dict(api_visibility="private", concurrency_id="answer", concurrency_limit=ANSWER_CONCURRENCY)
        # Each finished (or failed) turn refreshes the download buttons from the answers kept in state.
        files = dict(fn=modes.answer_files, inputs=[answers], outputs=answer_dl, api_visibility="private")
        question.submit(respond, [question, chatbot, answers], chat_out, **opts).then(**files)
        ask_btn.click(respond, [question, chatbot, answers], chat_out, **opts).then(**files)
        for btn in starters:
            btn.click(respond, [btn, chatbot, answers], chat_out, **opts).then(**files)
        reset = [chatbot, answers, sources, fb_answer, error_line, pending]
        clear_btn.click(new_conversation, None, reset, api_visibility="private").then(**files)
        chatbot.clear(new_conversation, None, reset, api_visibility="private").then(**files)
        chatbot.like(like, [answers], [fb_result, fb_answer, fb_rating, pending], api_visibility="private")
        fb_send.click(send_feedback, [answers, fb_answer, fb_rating, fb_comment, pending],
                      [fb_result, fb_comment, fb_rating, pending], api_visibility="private")
        add_btn.click(add_documents, [upload], [upload_result, docs, status, upload], api_visibility="private",
                      concurrency_id="ingest", concurrency_limit=1)
        export_btn.click(export_feedback, None, [export_file, export_note], api_visibility="private")
        app.load(lambda: (status_line(), library_rows()), None, [status, docs], api_visibility="private")

        def ask(question: str, history: str = "") -> dict:
            """Answer a question from the reports; history is an optional JSON list of {role, content} turns."""
            try:
                turns = [Turn(str(t["role"]), str(t["content"])) for t in json.loads(history)] if history.strip() else []
            except (ValueError, TypeError, KeyError) as exc:
                raise gr.Error(f"history must be a JSON list of {{role, content}} objects ({exc}).")
            try:
                return assistant.ask(question, turns).to_json()
            except AssistantError as exc:
                raise gr.Error(str(exc))

        gr.api(ask, api_name="ask", concurrency_id="answer", concurrency_limit=ANSWER_CONCURRENCY)
    return app


def launch(app: gr.Blocks, settings: Settings, *, port: int | None = None, prevent_thread_lock: bool = False,
           quiet: bool = True):
    """Start the server on settings.host (127.0.0.1 unless told) with the theme, styles and optional login."""
    app.queue(default_concurrency_limit=ANSWER_CONCURRENCY)
    try:
        return app.launch(
            server_name=settings.host, server_port=port or settings.port, auth=parse_auth(settings.auth),
            auth_message="Federation Advisor: please sign in.", prevent_thread_lock=prevent_thread_lock,
            quiet=quiet, show_error=False, footer_links=["api"], max_file_size="50mb", ssr_mode=False, pwa=False,
            mcp_server=False, enable_monitoring=False, theme=theme(), css_paths=[HERE / "theme.css"],
            head_paths=[HERE / "head.html"], run_history=False,
        )
    except OSError as exc:
        raise ConfigError(f"Cannot start the server on {settings.host}:{port or settings.port} ({exc}); "
                          "choose another --port.") from exc


def serve(settings: Settings) -> None:
    """Build the Assistant (indexing the reports first if needed), print the address and serve the chat."""
    from assistant.pipeline import Assistant

    assistant = Assistant.from_settings(settings)
    if assistant.status()["documents"] == 0:
        print(f"No index yet: indexing {settings.knowledge_dir} (a minute or so) …", flush=True)
        print(assistant.ingest().summary(), flush=True)
    # At 100x the corpus the BM25 indexes take seconds to build: do it before the first visitor asks.
    assistant.warm()
    app = build_app(assistant, settings)
    print(f"Federation Advisor is at http://{settings.host}:{settings.port}  (Ctrl+C to stop)", flush=True)
    launch(app, settings)

