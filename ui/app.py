"""The browser chat, a thin Gradio layer over the Assistant: its tabs laid out, their events wired to handlers.py."""

from __future__ import annotations

import os
import weakref
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
from starlette.middleware import Middleware
from starlette.routing import Mount

from assistant.conversations import ConversationStore
from assistant.errors import ConfigError
from assistant.feedback import FeedbackStore
from assistant.ingest.entries import KINDS
from assistant.ingest.loading import SUPPORTED
from assistant.settings import Settings

from . import conversations, modes, render, turns
from .access import Access
from .conversations import Conversations
from .handlers import HELPFUL, NOT_HELPFUL, Chat, Feedback, Library, new_conversation
from .limits import ClientAddress, LoginThrottle
from .openai_api import openai_app
from .turns import Turns

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
# Upload batches at once: each file is read in its own worker process, so two batches cost two workers' memory
# (ASSISTANT_UPLOAD_WORKER_MEMORY_MB each) at most; indexing itself is one at a time (Assistant's ingest lock).
UPLOAD_CONCURRENCY = 2
SESSION_TTL_S = 6 * 3600
# The OpenAI-compatible API (/v1) of each app built here, served by launch beside it (tests and benchmarks included).
_OPENAI: weakref.WeakKeyDictionary[gr.Blocks, Mount] = weakref.WeakKeyDictionary()
HEADER = ('<header class="fa-header"><h1>Federation Advisor</h1>'
          "<p>Answers with sources on GP federations, working at scale, governance and conflicts of "
          "interest, from a library of NHS-related reports and any documents you add.</p></header>")


def theme() -> gr.themes.Base:
    """An NHS-style theme: NHS blue accents, Arial, no web fonts fetched."""
    return gr.themes.Default(
        primary_hue=NHS_BLUE, secondary_hue=NHS_BLUE, neutral_hue="slate",
        font=("Arial", "Helvetica", "sans-serif"), font_mono=("ui-monospace", "Consolas", "monospace"),
    ).set(
        button_primary_background_fill="#005eb8", button_primary_background_fill_hover="#003087",
        button_primary_text_color="#ffffff", link_text_color="#005eb8", link_text_color_hover="#003087",
        color_accent="#005eb8", color_accent_soft="#e8f1fa",
        # Hints and "- or -" in Gradio's grey #94a3b8 are 2.56:1 on white; NHS mid grey is 6.2:1 (WCAG AA).
        body_text_color_subdued="#4c6272", block_info_text_color="#4c6272",
        # "Delete": NHS red #d5281b under white text is 4.9:1 (Gradio's #ef4444 is 3.8:1).
        button_cancel_background_fill="#d5281b", button_cancel_background_fill_hover="#aa2016",
        button_cancel_text_color="#ffffff", button_cancel_text_color_hover="#ffffff",
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


def build_app(assistant, settings: Settings) -> gr.Blocks:
    """The Gradio app over an Assistant: Ask, Briefing note, Workshop pack and Library tabs, and the `ask` API."""
    access = Access(settings)
    chat, library = Chat(assistant), Library(assistant, access)
    feedback = Feedback(FeedbackStore(settings.feedback_db), settings, access=access, audit=assistant.audit)
    # Gradio's copies of downloads and uploads are deleted within the hour (checked every 10 minutes).
    with gr.Blocks(title="Federation Advisor", analytics_enabled=False, delete_cache=(600, 3600)) as app:
        # A session idle for SESSION_TTL_S gives its memory back (the answers are also capped per conversation).
        answers = gr.State([], time_to_live=SESSION_TTL_S)
        pending = gr.State(None, time_to_live=SESSION_TTL_S)
        gr.HTML(HEADER, js_on_load=None)
        status = gr.HTML(library.status_line(), elem_id="fa-status", js_on_load=None)
        with gr.Tabs():
            ask = _ask_tab()
            modes.briefing_tab(assistant)
            modes.workshop_tab(assistant, app)
            lib = _library_tab(library, access)
        _chat_events(app, chat, Conversations(ConversationStore(settings.conversations_db,
                                                                settings.conversation_retention_days), settings),
                     ask, answers, pending)
        _feedback_events(feedback, ask, answers, pending)
        _library_events(app, library, feedback, lib, status, access)
        gr.api(chat.ask, api_name="ask", concurrency_id="answer", concurrency_limit=ANSWER_CONCURRENCY)
    _OPENAI[app] = openai_app(assistant, settings, concurrency=ANSWER_CONCURRENCY)
    return app


def _ask_tab() -> SimpleNamespace:
    """The Ask tab: conversation, question box, answer tools, starter questions, feedback form, and sources beside."""
    with gr.Tab("Ask", id="ask"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                gr.HTML('<h2 class="fa-h2" id="fa-chat-h">Conversation</h2>', js_on_load=None)
                saved = conversations.panel()
                chatbot = gr.Chatbot(
                    label="Conversation", show_label=False, elem_id="fa-chat", height=520, sanitize_html=True,
                    render_markdown=True, latex_delimiters=[], buttons=[], editable="user",
                    feedback_options=("Like", "Dislike"), allow_tags=False,
                    placeholder="Answers appear here, with numbered sources. "
                                "Choose a starter question below or type your own.")
                # Where a thumb in the chat is confirmed (the feedback form is folded away below).
                note = gr.HTML("", elem_id="fa-chat-note", js_on_load=None)
                gr.HTML(turns.SOURCES_BUTTON, js_on_load=None)
                question = gr.Textbox(label="Your question (press Enter to ask)", elem_id="fa-question", lines=1, max_lines=6,
                                      placeholder="For example: how should a federation manage conflicts of interest?")
                with gr.Row():
                    ask_btn = gr.Button("Ask", variant="primary", elem_id="fa-ask", scale=2)
                    regen_btn = gr.Button("Regenerate the last answer", variant="secondary", elem_id="fa-regen",
                                          scale=1)
                    clear_btn = gr.Button("New conversation", variant="secondary", scale=1)
                error_line = gr.Markdown("", elem_id="fa-error")
                pick, copy_btn, md, docx, copied = turns.tools()
                gr.Markdown("Answers come only from the reports in the library. This is not clinical or "
                            "legal advice. Please do not type patient details.", elem_classes="fa-warning-line")
                starters_box, starters = _starters()
                form = _feedback_form()
            with gr.Column(scale=2, min_width=300, elem_id="fa-sources-col"):
                gr.HTML(turns.SOURCES_HEAD, js_on_load=None)
                sources = gr.HTML(render.sources_html([]), elem_id="fa-sources", js_on_load=None)
    return SimpleNamespace(chatbot=chatbot, question=question, ask_btn=ask_btn, clear_btn=clear_btn,
                           error_line=error_line, answer_dl=[md, docx], starters=starters, form=form, sources=sources,
                           regen_btn=regen_btn, pick=pick, copy_btn=copy_btn, copied=copied, note=note,
                           starters_box=starters_box, saved=SimpleNamespace(**saved))


def _starters() -> tuple[gr.Accordion, list[gr.Button]]:
    """The starter questions, a button each, under their topics (folded once a conversation has begun)."""
    with gr.Accordion("Starter questions", open=True, elem_classes="fa-starters", elem_id="fa-starters") as box:
        starters = []
        for topic, items in STARTERS.items():
            gr.HTML(f"<h3>{render.esc(topic)}</h3>", js_on_load=None)
            starters += [gr.Button(q, size="sm", variant="secondary") for q in items]
    return box, starters


def _feedback_form() -> SimpleNamespace:
    """The form for feedback on an answer: which answer, the rating, a comment, send, and the result."""
    with gr.Accordion("Give feedback on an answer", open=False, elem_id="fa-feedback"):
        answer = gr.Dropdown(label="Which answer?", choices=[], interactive=True, elem_id="fa-fb-answer")
        rating = gr.Radio([HELPFUL, NOT_HELPFUL], label="Was this answer helpful?", elem_id="fa-fb-rating")
        comment = gr.Textbox(label="Comment (optional)", lines=2, elem_id="fa-fb-comment",
                             placeholder="What was good, missing or wrong?")
        send = gr.Button("Send feedback", variant="primary", elem_id="fa-fb-send")
        result = gr.Markdown("", elem_id="fa-fb-result")
    return SimpleNamespace(answer=answer, rating=rating, comment=comment, send=send, result=result)


def _library_tab(library: Library, access: Access) -> SimpleNamespace:
    """The Library tab: the documents indexed, who may change them, adding documents, and the feedback export."""
    with gr.Tab("Library", id="library"):
        gr.Markdown("## Documents in the library\nThe advisor answers only from these documents.")
        docs = gr.Dataframe(headers=["Title", "Publisher", "Year", "Passages", "File", "Added"],
                            value=library.library_rows(), interactive=False, wrap=True,
                            column_widths=["34%", "24%", "7%", "8%", "13%", "14%"], max_height=900,
                            label="Documents in the library", elem_id="fa-docs")
        gr.Markdown("## Add documents\nPDF, Word (.docx), text (.txt) or Markdown (.md) files. "
                    "Each file is checked; readable ones are added to the library and indexed. "
                    "An upload never replaces one of the library's own reports.")
        gr.Markdown(access.describe(), elem_id="fa-access")
        upload = gr.File(label="Documents to add", file_count="multiple", type="filepath",
                         file_types=list(SUPPORTED), elem_id="fa-upload")
        with gr.Accordion("Details of the document (optional, one file at a time)", open=False):
            gr.Markdown("Left empty, the title and year come from the file's own properties or its front page.")
            with gr.Row():
                title = gr.Textbox(label="Title", max_lines=2, elem_id="fa-up-title")
                publisher = gr.Textbox(label="Publisher", max_lines=1, elem_id="fa-up-publisher")
            with gr.Row():
                year = gr.Textbox(label="Year published", max_lines=1, placeholder="e.g. 2020", elem_id="fa-up-year")
                kind = gr.Dropdown(choices=list(KINDS), value=None, allow_custom_value=True, label="Kind",
                                   elem_id="fa-up-kind")
        add_btn = gr.Button("Add to library", variant="primary", elem_id="fa-add")
        upload_result = gr.Markdown("", elem_id="fa-upload-result")
        gr.Markdown("## Remove a document\nA document added here can be taken out again: its passages leave the "
                    "index at once, and later answers never cite it. The published reports stay.")
        # The handler, not the list's choices, decides (the list is as old as the page): it checks the user and
        # that the file is one an upload added, whatever name is sent.
        removable = gr.Dropdown(choices=library.removable(), value=None, label="Document added locally",
                                elem_id="fa-remove-choice", allow_custom_value=True)
        remove_btn = gr.Button("Remove from library", variant="stop", elem_id="fa-remove")
        remove_result = gr.Markdown("", elem_id="fa-remove-result")
        gr.Markdown("## Feedback received")
        export_btn = gr.Button("Export feedback as CSV", elem_id="fa-export")
        export_file = gr.File(label="Feedback CSV", interactive=False, visible=False, elem_id="fa-export-file")
        export_note = gr.Markdown("")
    return SimpleNamespace(docs=docs, upload=upload, details=[title, publisher, year, kind], add_btn=add_btn,
                           upload_result=upload_result,
                           removable=removable, remove_btn=remove_btn, remove_result=remove_result,
                           export_btn=export_btn, export_file=export_file, export_note=export_note)


def _chat_events(app: gr.Blocks, chat: Chat, saved: Conversations, ask: SimpleNamespace, answers: gr.State,
                 pending: gr.State) -> None:
    """Questions (typed, a starter, regenerated or edited) stream answers into the chat; each finished turn is saved
    and refreshes the answer tools; a new conversation empties the chat."""
    chat_out = [ask.chatbot, ask.question, answers, ask.sources, ask.form.answer, ask.error_line]
    opts = dict(api_visibility="private", concurrency_id="answer", concurrency_limit=ANSWER_CONCURRENCY)
    s = ask.saved
    tools = [ask.pick, *ask.answer_dl, ask.starters_box, ask.copied]
    after = dict(fn=saved.after_turn, inputs=[answers, s.current, s.browser],
                 outputs=[*tools, s.current, s.picker, s.browser], api_visibility="private")
    settings = chat.assistant.settings
    shown_tools = dict(fn=partial(turns.refresh, settings=settings), inputs=[answers], outputs=tools,
                       api_visibility="private")
    respond, redo = chat.respond, Turns(chat)
    ask.question.submit(respond, [ask.question, ask.chatbot, answers], chat_out, **opts).then(**after)
    ask.ask_btn.click(respond, [ask.question, ask.chatbot, answers], chat_out, **opts).then(**after)
    for btn in ask.starters:
        btn.click(respond, [btn, ask.chatbot, answers], chat_out, **opts).then(**after)
    ask.regen_btn.click(redo.regenerate, [ask.chatbot, answers], chat_out, **opts).then(**after)
    ask.chatbot.retry(redo.regenerate, [ask.chatbot, answers], chat_out, **opts).then(**after)
    ask.chatbot.edit(redo.edit, [ask.chatbot, answers], chat_out, **opts).then(**after)
    reset = [ask.chatbot, answers, ask.sources, ask.form.answer, ask.error_line, pending]
    fresh = dict(fn=saved.detach, inputs=[s.browser], outputs=[s.current, s.picker, s.browser], api_visibility="private")
    ask.clear_btn.click(new_conversation, None, reset, api_visibility="private").then(**shown_tools).then(**fresh)
    ask.chatbot.clear(new_conversation, None, reset, api_visibility="private").then(**shown_tools).then(**fresh)
    private = dict(api_visibility="private")
    ask.pick.input(partial(turns.answer_files, settings=settings), [answers, ask.pick], ask.answer_dl, **private)
    ask.copy_btn.click(turns.copy_text, [answers, ask.pick], ask.copied, **private).then(
        None, [ask.copied], None, js=turns.COPY_JS, **private)
    # A saved conversation reopened, deleted, renamed; and the one last open in this browser restored on load.
    shown = [ask.chatbot, answers, ask.sources, ask.form.answer, ask.pick, ask.error_line, pending, s.current,
             s.picker, s.browser]
    s.picker.input(saved.open, [s.picker, s.browser], shown, **private).then(**shown_tools)
    s.delete.click(saved.delete, [s.current, s.browser], shown, **private).then(**shown_tools)
    s.rename.click(saved.rename, [s.current, s.name, s.browser], [s.picker, s.name], **private)
    app.load(saved.restore, [s.browser], shown, **private).then(**shown_tools)


def _feedback_events(feedback: Feedback, ask: SimpleNamespace, answers: gr.State, pending: gr.State) -> None:
    """A thumb in the chat is saved at once; the form sends a rating and comment (the comment can follow a thumb)."""
    form = ask.form
    ask.chatbot.like(feedback.like, [answers], [form.result, form.answer, form.rating, pending],
                     api_visibility="private").then(turns.confirmation, [form.result], [ask.note],
                                                    api_visibility="private")
    form.send.click(feedback.send_feedback, [answers, form.answer, form.rating, form.comment, pending],
                    [form.result, form.comment, form.rating, pending], api_visibility="private")


def _library_events(app: gr.Blocks, library: Library, feedback: Feedback, lib: SimpleNamespace,
                    status: gr.HTML, access: Access) -> None:
    """Uploads (administrators only, checked in the handler) are read in workers, two batches at once, and indexed
    one at a time, in their own queue beside the answers'; removing a document added locally is for administrators
    too; feedback exports to CSV; a fresh page shows the status, and the buttons that change the library or export
    feedback only to those allowed to use them."""
    lib.add_btn.click(library.add_documents, [lib.upload, *lib.details], [lib.upload_result, lib.docs, status, lib.upload],
                      api_visibility="private", concurrency_id="ingest", concurrency_limit=UPLOAD_CONCURRENCY).then(
        library.removable_choices, None, lib.removable, api_visibility="private").success(
        lambda: ("", "", "", None), None, lib.details, api_visibility="private")  # details belong to that one file
    lib.remove_btn.click(library.remove_document, [lib.removable], [lib.remove_result, lib.docs, status, lib.removable],
                         api_visibility="private", concurrency_id="ingest", concurrency_limit=1)
    lib.export_btn.click(feedback.export_feedback, None, [lib.export_file, lib.export_note], api_visibility="private")

    def on_load(request: gr.Request):
        allowed = gr.update(interactive=access.allows(request))
        return library.status_line(), library.library_rows(), library.removable_choices(), allowed, allowed, allowed

    app.load(on_load, None, [status, lib.docs, lib.removable, lib.add_btn, lib.export_btn, lib.remove_btn],
             api_visibility="private")


def launch(app: gr.Blocks, settings: Settings, *, port: int | None = None, prevent_thread_lock: bool = False,
           quiet: bool = True):
    """Start the server on settings.host (127.0.0.1 unless told) with the theme, styles, optional login and the
    OpenAI-compatible API at /v1."""
    app.queue(default_concurrency_limit=ANSWER_CONCURRENCY)
    logins = parse_auth(settings.auth)
    # Failed sign-ins make the next ones wait, per user and per address (the middleware tells the check the address).
    auth = LoginThrottle(logins, free=settings.login_free_failures, max_wait_s=settings.login_max_wait_s) \
        if logins else None
    try:
        return app.launch(
            server_name=settings.host, server_port=port or settings.port, auth=auth,
            # The OpenAI-compatible API is routed before Gradio's own routes, with its own bearer-key login.
            app_kwargs={"middleware": [Middleware(ClientAddress)], "routes": [m for m in [_OPENAI.get(app)] if m]},
            allowed_paths=[str(settings.exports_dir)],
            auth_message="Federation Advisor: please sign in.", prevent_thread_lock=prevent_thread_lock,
            quiet=quiet, show_error=False, footer_links=["api"], max_file_size=settings.upload_max_bytes, ssr_mode=False, pwa=False,
            mcp_server=False, enable_monitoring=False, theme=theme(), css_paths=[HERE / "theme.css"],
            head_paths=[HERE / "head.html"], run_history=False,
        )
    except OSError as exc:
        raise ConfigError(f"Cannot start the server on {settings.host}:{port or settings.port} ({exc}); "
                          "choose another --port.") from exc


def serve(settings: Settings) -> None:
    """Build the Assistant (indexing the reports first if needed), print the address and serve the chat."""
    from assistant.pipeline import Assistant

    # Gradio's own copies of downloads and uploads go to a folder only this user can read, not the shared temp dir.
    private = settings.data_dir / "gradio"
    private.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("GRADIO_TEMP_DIR", str(private.resolve()))
    assistant = Assistant.from_settings(settings)
    if assistant.status()["documents"] == 0:
        print(f"No index yet: indexing {settings.knowledge_dir} (a minute or so) …", flush=True)
        print(assistant.ingest().summary(), flush=True)
    # At 100x the corpus the BM25 indexes take seconds to build: do it before the first visitor asks.
    assistant.warm()
    app = build_app(assistant, settings)
    print(f"Federation Advisor is at http://{settings.host}:{settings.port}  (Ctrl+C to stop)", flush=True)
    launch(app, settings)

