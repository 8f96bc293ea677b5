"""The Ask and Library tabs' event handlers: the streamed chat, the `ask` API, feedback and adding documents."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr

from assistant.answering.guardrails import redact
from assistant.errors import AssistantError, InputError
from assistant.ingest.entries import upload_entry
from assistant.feedback import FeedbackStore
from assistant.schema import Answer, Turn
from assistant.settings import Settings

from . import render
from .library import add_files, stage_label

HELPFUL, NOT_HELPFUL = "👍 Helpful", "👎 Not helpful"


def history_turns(answers: list[dict]) -> list[Turn]:
    """The conversation so far, as the Assistant takes it."""
    turns: list[Turn] = []
    for a in answers:
        turns += [Turn("user", a["question"]), Turn("assistant", a["answer"])]
    return turns


def answer_choices(answers: list[dict]):
    """The feedback form's list of answers so far, the latest chosen."""
    choices = [(f"Answer {i}: {a['question'][:70]}", i) for i, a in enumerate(answers, start=1)]
    return gr.update(choices=choices, value=len(answers) if answers else None)


def new_conversation():
    """Empty the chat, the answers kept, the sources, the feedback form's choices, the error line, a pending thumb."""
    return [], [], render.sources_html([]), answer_choices([]), "", None


class Chat:
    """Answers for the Ask tab (streamed into the chat) and for the `ask` API (whole, as JSON)."""

    def __init__(self, assistant) -> None:
        self.assistant = assistant

    def respond(self, question, messages, answers):
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
            for piece in self.assistant.stream(question, history_turns(answers)):
                if isinstance(piece, Answer):
                    answers.append(piece.to_json())
                    messages[-1] = {"role": "assistant", "content": render.answer_markdown(answers[-1], len(answers))}
                    yield (messages, "", answers, render.sources_html(answers), answer_choices(answers), "")
                    return
                written += piece
                messages[-1] = {"role": "assistant", "content": render.streaming_markdown(written)}
                yield messages, "", answers, gr.skip(), gr.skip(), ""
        except AssistantError as exc:
            gr.Warning(str(exc))
            # The failed turn leaves the chat; the question goes back in the box to edit or retry.
            yield (messages[:-2], question, answers, gr.skip(), gr.skip(),
                   f"**Could not answer:** {render.md_text(str(exc))}")

    def ask(self, question: str, history: str = "") -> dict:
        """Answer a question from the reports; history is an optional JSON list of {role, content} turns."""
        try:
            turns = [Turn(str(t["role"]), str(t["content"])) for t in json.loads(history)] if history.strip() else []
        except (ValueError, TypeError, KeyError) as exc:
            raise gr.Error(f"history must be a JSON list of {{role, content}} objects ({exc}).")
        try:
            return self.assistant.ask(question, turns).to_json()
        except AssistantError as exc:
            raise gr.Error(str(exc))


class Feedback:
    """Ratings and comments on answers, stored with personal data redacted, and their CSV export."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    def save(self, a: dict, vote: str, comment: str) -> int:
        """Store feedback on answer `a` with personal data redacted from the question, answer and comment."""
        return self.store.add(redact(a["question"]), redact(a["answer"]),
                              json.dumps(a["citations"], ensure_ascii=False), vote, redact(comment or ""))

    def send_feedback(self, answers, index, rating, comment, pending):
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
                self.store.set_comment(pending["id"], redact(comment or ""))
                fid = pending["id"]
            else:
                a = answers[i - 1]
                fid = self.save(a, vote, comment)
        except AssistantError as exc:
            raise gr.Error(str(exc))
        return f"Thank you. Your feedback on answer {i} was saved (reference {fid}).", "", None, None

    def like(self, answers, data: gr.LikeData):
        """A thumb on an answer in the chat is saved at once; a comment can follow in the form."""
        idx = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        i = (int(idx) + 1) // 2
        if data.liked not in (True, False) or not answers or not 1 <= i <= len(answers) or int(idx) % 2 == 0:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        vote = "up" if data.liked else "down"
        a = answers[i - 1]
        try:
            fid = self.save(a, vote, "")
        except AssistantError as exc:
            raise gr.Error(str(exc))
        thumb = "👍" if vote == "up" else "👎"
        note = f"Thank you. Your {thumb} on answer {i} was saved. Add a comment below if you wish."
        return note, gr.update(value=i), HELPFUL if vote == "up" else NOT_HELPFUL, {"answer": i, "rating": vote, "id": fid}

    def export_feedback(self):
        """Write all feedback to a CSV file for download."""
        try:
            out = Path(tempfile.mkdtemp(prefix="fa-feedback-")) / f"feedback-{time.strftime('%Y%m%d-%H%M%S')}.csv"
            self.store.export_csv(out)
            count = len(self.store.all())
        except AssistantError as exc:
            raise gr.Error(str(exc))
        return gr.update(value=str(out), visible=True), f"{count} feedback entries exported."


class Library:
    """The status line, the list of documents and adding uploaded documents (one ingest at a time)."""

    def __init__(self, assistant, settings: Settings) -> None:
        self.assistant, self.settings = assistant, settings
        self._ingest_lock = threading.Lock()

    def status_line(self) -> str:
        """The status line's HTML: answerer, documents, passages, or why it is unavailable."""
        try:
            return render.status_html(self.assistant.status())
        except AssistantError as exc:
            return f'<p class="fa-status" role="status">Status unavailable: {render.esc(exc)}</p>'

    def library_rows(self):
        """Rows of the Library tab's table of documents; none, with a warning, when the index cannot be read."""
        try:
            return render.documents_rows(self.assistant.documents())
        except AssistantError as exc:
            gr.Warning(str(exc))
            return []

    def removable(self) -> list[str]:
        """File names of the documents added locally (the published reports cannot be removed here)."""
        try:
            return [d["filename"] for d in self.assistant.documents() if d.get("added")]
        except AssistantError:
            return []

    def removable_choices(self):
        """The remove list refreshed, nothing chosen."""
        return gr.update(choices=self.removable(), value=None)

    def remove_document(self, filename):
        """Take a document added locally out of the library: its passages leave the index in one commit."""
        if not filename:
            raise gr.Error("Choose a document added locally first.")
        if filename not in self.removable():
            raise gr.Error(f"{filename} is not a document added here; only those can be removed in the browser.")
        try:
            with self._ingest_lock:
                report = self.assistant.remove(filename)
        except AssistantError as exc:
            raise gr.Error(f"Removing failed: {exc}")
        message = f"Removed {render.md_text(filename)}: {report.chunks_total} passages remain indexed."
        return message, self.library_rows(), self.status_line(), self.removable_choices()

    def add_documents(self, files, title="", publisher="", year="", kind="", progress=gr.Progress()):
        """Validate, copy and index uploaded documents (with the details typed in for one), reporting each file's fate."""
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if not paths:
            raise gr.Error("Choose one or more PDF, DOCX, TXT or MD files first.")
        try:
            entry = upload_entry(title=title, publisher=publisher, year=year, kind=kind) \
                if any(str(x or "").strip() for x in (title, publisher, year, kind)) else None
        except InputError as exc:
            raise gr.Error(str(exc))
        if entry and len(paths) > 1:
            raise gr.Error("Title, publisher, year and kind describe one document: add a file with details on its own.")

        def ingest():
            progress(0, desc="Starting to index")
            return self.assistant.ingest(lambda stage, done, total: progress(
                (done / total) if total else 1.0, desc=f"{stage_label(stage)}: {done} of {total}"))

        try:
            with self._ingest_lock:
                kept, rejected, report = add_files(paths, self.settings.knowledge_dir, self.assistant.documents(),
                                                   ingest, entry)
        except AssistantError as exc:
            raise gr.Error(f"Indexing failed: {exc}")
        return render.upload_report_md(kept, rejected, report), self.library_rows(), self.status_line(), None
