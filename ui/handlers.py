"""The Ask and Library tabs' event handlers: the streamed chat, the `ask` API, feedback and adding documents."""

from __future__ import annotations

import json
import time

import gradio as gr

from assistant.audit import AuditLog
from assistant.documents.export import private_folder
from assistant.errors import AssistantError, InputError
from assistant.feedback import FeedbackStore, check_comment
from assistant.ingest.entries import upload_entry
from assistant.schema import Answer, Turn
from assistant.settings import Settings

from . import render
from .access import Access
from .api import parse_history
from .library import stage_label
from .limits import RateLimit, visitor

HELPFUL, NOT_HELPFUL = "👍 Helpful", "👎 Not helpful"
# How the error line under the chat begins when a question could not be answered (nothing is added to the chat).
FAILED = "**Could not answer:**"


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


def chat_messages(answers: list[dict]) -> list[dict]:
    """The conversation as the chat shows it, drawn from the answers kept on the server (not from what a browser sends)."""
    messages: list[dict] = []
    for i, a in enumerate(answers, start=1):
        messages += [{"role": "user", "content": render.md_text(a["question"])},
                     {"role": "assistant", "content": render.answer_markdown(a, i)}]
    return messages


def keep_recent_sources(answers: list[dict], keep: int) -> None:
    """Drop the passages of all but the last `keep` answers (their quotes stay): a session's state stays bounded."""
    for a in answers[:-keep]:
        a.pop("passages", None)


class Chat:
    """Answers for the Ask tab (streamed into the chat) and for the `ask` API (whole, as JSON)."""

    def __init__(self, assistant) -> None:
        self.assistant = assistant
        self.settings: Settings = assistant.settings

    def _refusal(self, question: str, answers: list) -> str:
        """Why a question cannot be taken before anything reads it (too long, or a conversation at its limit), or ''."""
        limit = self.settings.max_question_chars
        if len(question) > limit:
            return f"Your question is {len(question)} characters long; the maximum is {limit}. Please shorten it."
        if 2 * len(answers) >= self.settings.max_history_turns:
            return (f"This conversation has reached {len(answers)} questions, the most one can hold. Choose "
                    "“New conversation” to ask more.")
        return ""

    def respond(self, question, messages, answers, answerer: str | None = None):
        """Stream one answer into the chat (by the chosen answerer, else the configured one), then its sources; the
        chat is drawn from the answers kept here, not from what a browser sends."""
        answers = list(answers or [])
        question = question if isinstance(question, str) else ""
        if refusal := self._refusal(question, answers):
            gr.Warning(refusal)
            yield gr.skip(), gr.skip(), answers, gr.skip(), gr.skip(), f"{FAILED} {render.md_text(refusal)}"
            return
        if not question.strip():
            gr.Warning("Please type a question first.")
            yield gr.skip(), question, answers, gr.skip(), gr.skip(), ""
            return
        messages = chat_messages(answers) + [{"role": "user", "content": render.md_text(question.strip())},
                                             {"role": "assistant", "content": "Searching the reports …"}]
        yield messages, "", answers, gr.skip(), gr.skip(), ""
        written = ""
        try:
            for piece in self.assistant.stream(question, history_turns(answers), answerer=answerer):
                if isinstance(piece, Answer):
                    answers.append(piece.to_json())
                    keep_recent_sources(answers, self.settings.sources_kept)
                    messages[-1] = {"role": "assistant", "content": render.answer_markdown(answers[-1], len(answers))}
                    yield (messages, "", answers, render.sources_html(answers, keep=self.settings.sources_kept),
                           answer_choices(answers), "")
                    return
                written += piece
                messages[-1] = {"role": "assistant", "content": render.streaming_markdown(written)}
                yield messages, "", answers, gr.skip(), gr.skip(), ""
        except AssistantError as exc:
            gr.Warning(str(exc))
            # The failed turn leaves the chat; the question goes back in the box to edit or retry.
            yield (messages[:-2], question, answers, gr.skip(), gr.skip(),
                   f"{FAILED} {render.md_text(str(exc))}")

    def ask(self, question: str, history: str | list[dict] | None = None) -> dict:
        """Answer a question from the reports; history: earlier {role, content} messages, as a list or JSON text."""
        if refusal := self._refusal(question if isinstance(question, str) else "", []):
            raise gr.Error(refusal)
        if isinstance(history, str) and len(history) > self.settings.max_history_json_chars:  # refused unread
            raise gr.Error(f"history is {len(history)} characters long; the conversation may hold at most "
                           f"{self.settings.max_history_chars} characters. Please start a new conversation.")
        try:
            if not isinstance(question, str):
                raise InputError("question must be text: the question to answer.")
            return self.assistant.ask(question, parse_history(history)).to_json()
        except AssistantError as exc:
            raise gr.Error(str(exc))


class Feedback:
    """Ratings and comments on answers (the store redacts personal data), rate-limited per visitor; and their export."""

    def __init__(self, store: FeedbackStore, settings: Settings, *, access: Access, audit: AuditLog) -> None:
        self.store, self.settings, self.access, self.audit = store, settings, access, audit
        self.limit = RateLimit(settings.feedback_per_hour, 3600.0)

    def _allow(self, request) -> None:
        if not self.limit.allow(visitor(request)):
            raise gr.Error(f"You have sent {self.limit.limit} pieces of feedback in the last hour, the most we take; "
                           "please try again later.")

    def save(self, a: dict, vote: str, comment: str) -> int:
        """Store feedback on answer `a` (the store redacts personal data from the question, answer and comment)."""
        return self.store.add(a["question"], a["answer"], json.dumps(a["citations"], ensure_ascii=False), vote, comment)

    def send_feedback(self, answers, index, rating, comment, pending, request: gr.Request | None = None):
        """Save a rating (with optional comment) for the chosen answer."""
        try:
            comment = check_comment(comment)  # its size first, before anything else reads it
        except AssistantError as exc:
            raise gr.Error(str(exc))
        answers = answers or []
        if not answers:
            raise gr.Error("Ask a question first; feedback is about an answer.")
        if rating not in (HELPFUL, NOT_HELPFUL):
            raise gr.Error("Choose 👍 Helpful or 👎 Not helpful.")
        i = int(index or len(answers))
        if not 1 <= i <= len(answers):
            raise gr.Error("Choose which answer your feedback is about.")
        vote = "up" if rating == HELPFUL else "down"
        self._allow(request)
        try:
            if pending and pending.get("answer") == i and pending.get("rating") == vote:
                self.store.set_comment(pending["id"], comment)
                fid = pending["id"]
            else:
                a = answers[i - 1]
                fid = self.save(a, vote, comment)
        except AssistantError as exc:
            raise gr.Error(str(exc))
        return f"Thank you. Your feedback on answer {i} was saved (reference {fid}).", "", None, None

    def like(self, answers, data: gr.LikeData, request: gr.Request | None = None):
        """A thumb on an answer in the chat is saved at once; a comment can follow in the form."""
        idx = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        i = (int(idx) + 1) // 2
        if data.liked not in (True, False) or not answers or not 1 <= i <= len(answers) or int(idx) % 2 == 0:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        vote = "up" if data.liked else "down"
        a = answers[i - 1]
        self._allow(request)
        try:
            fid = self.save(a, vote, "")
        except AssistantError as exc:
            raise gr.Error(str(exc))
        thumb = "👍" if vote == "up" else "👎"
        note = f"Thank you. Your {thumb} on answer {i} was saved. Add a comment below if you wish."
        return note, gr.update(value=i), HELPFUL if vote == "up" else NOT_HELPFUL, {"answer": i, "rating": vote, "id": fid}

    def export_feedback(self, request: gr.Request):
        """Write all feedback to a CSV file for download (administrators only; audited)."""
        user = self.access.admin(request, "export feedback")
        try:
            folder = private_folder(self.settings.exports_dir, keep_s=self.settings.export_keep_s)
            out = folder / f"feedback-{time.strftime('%Y%m%d-%H%M%S')}.csv"
            self.store.export_csv(out)
            count = len(self.store.all())
            self.audit.record(user=user, action="export_feedback", detail=f"{count} entries")
        except AssistantError as exc:
            raise gr.Error(str(exc))
        return gr.update(value=str(out), visible=True), f"{count} feedback entries exported."


class Library:
    """The status line, the list of documents and adding uploaded documents (one ingest at a time)."""

    def __init__(self, assistant, access: Access) -> None:
        self.assistant, self.access = assistant, access

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

    def remove_document(self, filename, request: gr.Request):
        """Take a document added locally out of the library (administrators only; audited): its passages leave the
        index in one commit."""
        user = self.access.admin(request, "remove documents from the library")
        if not filename:
            raise gr.Error("Choose a document added locally first.")
        if filename not in self.removable():
            raise gr.Error(f"{filename} is not a document added here; only those can be removed in the browser.")
        try:
            report = self.assistant.remove(filename)
        except AssistantError as exc:
            raise gr.Error(f"Removing failed: {exc}")
        self.assistant.audit.record(user=user, action="remove", filename=filename,
                                    detail=f"{report.chunks_total} passages remain")
        message = f"Removed {render.md_text(filename)}: {report.chunks_total} passages remain indexed."
        return message, self.library_rows(), self.status_line(), self.removable_choices()

    def add_documents(self, files, title="", publisher="", year="", kind="", request: gr.Request | None = None,
                      progress=gr.Progress()):
        """Check, index and add uploaded documents (administrators only), with the details typed in for a single one,
        reporting each file's fate."""
        user = self.access.admin(request, "add documents to the library")
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
        progress(0, desc="Checking the files")
        try:
            out = self.assistant.add_documents(paths, user=user, entry=entry, progress=lambda stage, done, total: progress(
                (done / total) if total else 1.0, desc=f"{stage_label(stage)}: {done} of {total}"))
        except AssistantError as exc:
            raise gr.Error(f"Indexing failed: {exc}")
        return (render.upload_report_md(out.kept, out.rejected, out.report), self.library_rows(), self.status_line(),
                None)
