"""Actions on the turns of a chat: regenerate the last answer, edit and resend a question, copy or download any answer."""

from __future__ import annotations

import gradio as gr

from assistant.documents.outline import reference_label
from assistant.errors import AssistantError
from assistant.settings import Settings

from . import render
from .handlers import FAILED, answer_choices
from .modes import ANSWER_NAME, HIDDEN, answer_from_json, export_files

# On a phone the sources are a drawer over the chat: a button under the chat opens it, one in it goes back.
SOURCES_BUTTON = ('<button type="button" class="fa-drawer-open" aria-controls="fa-sources-col">'
                  "Show the sources of the answers</button>")
SOURCES_HEAD = ('<div class="fa-sources-head"><h2>Sources</h2><button type="button" class="fa-drawer-close">'
                "Back to the answer</button></div>")

# Copies the text the server prepared; falls back to selecting it where the Clipboard API is not allowed.
COPY_JS = """(text) => {
  const done = () => { const box = document.querySelector('#fa-copy-text textarea'); if (box) { box.focus(); box.select(); } };
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(text).then(done, () => { done(); document.execCommand('copy'); }); }
  else { done(); document.execCommand('copy'); }
  return [];
}"""


NOTE, SOURCES = "Note: ", "Sources:"  # how plain_text marks a notice line and begins the list of sources


def plain_text(answer: dict) -> str:
    """An answer as plain text to paste elsewhere: notices, the text with its [n] markers, then numbered sources."""
    a = answer_from_json(answer)
    lines = [f"{NOTE}{n}" for n in a.notices] + [a.text.strip()]
    if a.citations:
        lines += ["", SOURCES]
        for c in sorted(a.citations, key=lambda c: c.n):
            flag = " (not verified)" if not c.supported else ""
            lines.append(f"[{c.n}] {reference_label(c)}. “{c.quote}”{flag}")
    return "\n".join(lines)


def text_of_plain(text: str) -> str:
    """The answer's own text from plain_text's form of it (its notice lines and list of sources left off), as a
    conversation sent back by a client carries it; other text unchanged but for the blank space around it."""
    lines = text.split("\n")
    while len(lines) > 1 and lines[0].startswith(NOTE):
        lines.pop(0)
    if f"\n\n{SOURCES}\n[" in (body := "\n".join(lines)):
        body = body[: body.rindex(f"\n\n{SOURCES}\n[")]
    return body.strip()


def _chosen(answers: list[dict], index) -> int:
    """The 1-based number of the answer chosen in the picker (the latest when none is chosen)."""
    i = int(index) if isinstance(index, (int, float, str)) and str(index).isdigit() else len(answers)
    return i if 1 <= i <= len(answers) else len(answers)


def copy_text(answers, index):
    """The chosen answer with its references as plain text, shown in the copy box (the browser then copies it)."""
    answers = answers or []
    if not answers:
        raise gr.Error("Ask a question first; there is no answer to copy.")
    i = _chosen(answers, index)
    return gr.update(value=plain_text(answers[i - 1]), visible=True,
                     label=f"Answer {i} with its sources, copied as plain text")


def answer_files(answers, index, *, settings: Settings):
    """Markdown and Word files of the chosen answer for the download buttons, named by its number (never by what
    was typed) in a private folder; hidden when there is none."""
    answers = answers or []
    if not answers:
        return gr.update(**HIDDEN), gr.update(**HIDDEN)
    i = _chosen(answers, index)
    a = answers[i - 1]
    try:
        md, docx = export_files(answer_from_json(a), f"{ANSWER_NAME}-{i}", settings)
    except AssistantError as exc:
        gr.Warning(f"The answer could not be prepared for download: {exc}")
        return gr.update(**HIDDEN), gr.update(**HIDDEN)
    return (gr.update(value=md, visible=True, label=f"Download answer {i} (Markdown)"),
            gr.update(value=docx, visible=True, label=f"Download answer {i} (Word DOCX)"))


def refresh(answers, *, settings: Settings):
    """The tools after a turn or a reopened chat: answers to pick (the latest chosen), its downloads, the starter
    questions folded once a conversation has begun, the copy box emptied."""
    answers = answers or []
    md, docx = answer_files(answers, None, settings=settings)
    return (answer_choices(answers), md, docx, gr.update(open=not answers),
            gr.update(value="", visible=False))


def confirmation(result: str) -> str:
    """The feedback form's result repeated under the chat, where the thumb was pressed."""
    return f'<p class="fa-chat-note" role="status">{render.esc(result)}</p>' if result else ""


def messages_of(answers: list[dict]) -> list[dict]:
    """The chat's messages for a list of answers (a reopened conversation): each question, then its answer."""
    messages: list[dict] = []
    for i, a in enumerate(answers, start=1):
        messages += [{"role": "user", "content": render.md_text(str(a.get("question", "")))},
                     {"role": "assistant", "content": render.answer_markdown(a, i)}]
    return messages


class Turns:
    """Regenerate and edit-and-resend, both answered again through the chat's own streamed respond."""

    def __init__(self, chat) -> None:
        self.chat = chat

    def other_answerer(self, last: str) -> str | None:
        """With a language model configured, the answerer that did not write the last answer; else the default."""
        if self.chat.assistant.answerer_name("llm") == "offline":  # no model: the offline answerer again
            return None
        return "offline" if str(last).startswith("llm") else "llm"

    def regenerate(self, messages, answers):
        """Ask the last question again in place of its answer (by the other answerer when a model is configured)."""
        answers = list(answers or [])
        if not answers:
            gr.Warning("There is no answer to regenerate yet.")
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        question = str(answers[-1].get("question", ""))
        last = None
        for last in self.chat.respond(question, messages_of(answers[:-1]), answers[:-1],
                                      self.other_answerer(answers[-1].get("answerer", ""))):
            yield last
        if last is not None and str(last[5]).startswith(FAILED):
            # The new answer failed: the one it was to replace stays, nothing lost; the error line says why.
            yield messages_of(answers), "", answers, gr.skip(), gr.skip(), last[5]

    def edit(self, messages, answers, data: gr.EditData):
        """A question edited in the chat is asked again; the answers after it are dropped."""
        answers = list(answers or [])
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        value = data.value if isinstance(data.value, str) else str((data.value or {}).get("text", ""))
        k = int(index) // 2  # user messages sit at even positions: 0, 2, 4 ...
        if int(index) % 2 or k >= len(answers):
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        yield from self.chat.respond(value, messages_of(answers[:k]), answers[:k])


def tools():
    """Under the chat: which answer, copy it with its sources, download it; the copied text once copied."""
    with gr.Group(elem_id="fa-tools"):
        with gr.Row(elem_classes="fa-downloads"):
            pick = gr.Dropdown(label="Answer to copy or download", choices=[], interactive=True,
                               elem_id="fa-pick", scale=2, min_width=200)
            copy = gr.Button("Copy with sources", size="sm", elem_id="fa-copy", scale=1, min_width=120)
            md = gr.DownloadButton("Download answer (Markdown)", visible=False, size="sm", elem_id="fa-answer-md",
                                   scale=1, min_width=120)
            docx = gr.DownloadButton("Download answer (Word DOCX)", visible=False, size="sm",
                                     elem_id="fa-answer-docx", scale=1, min_width=120)
        copied = gr.Textbox(label="Copied text", visible=False, interactive=False, lines=3, max_lines=8,
                            elem_id="fa-copy-text")
    return pick, copy, md, docx, copied
