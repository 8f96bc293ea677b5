"""Saved conversations in the Ask tab: whose they are (signed-in user, else this browser), list, reopen, rename, delete."""

from __future__ import annotations

import secrets
import time

import gradio as gr

from assistant.conversations import ConversationStore
from assistant.errors import AssistantError
from assistant.settings import Settings

from . import render
from .handlers import answer_choices
from .turns import messages_of, refresh

# The browser's id lives in localStorage under this key. Gradio encrypts it with this secret, which is sent to the
# page anyway: the random id itself is what keeps one browser's conversations from another's.
STORAGE_KEY, STORAGE_SECRET = "fa-conversations", "federation-advisor-conversations"
NEW = {"id": "", "current": ""}


def owner(request: gr.Request | None, browser: dict | None) -> str:
    """Whose conversations these are: the signed-in user, else the random id kept in this browser."""
    user = getattr(request, "username", None) if request is not None else None
    if user:
        return f"user:{user}"
    bid = (browser or {}).get("id", "")
    return f"browser:{bid}" if bid else ""


def _label(c: dict) -> str:
    return f"{c['title']} ({time.strftime('%d %b %Y %H:%M', time.localtime(c['updated_at']))})"


class Conversations:
    """Events of the saved-conversations panel; every store call is scoped to the caller's owner key."""

    def __init__(self, store: ConversationStore, settings: Settings) -> None:
        self.store, self.settings = store, settings

    def picker(self, who: str, current: str | None):
        """The list of the owner's conversations, the open one chosen."""
        try:
            items = self.store.listed(who) if who else []
        except AssistantError as exc:
            gr.Warning(str(exc))
            items = []
        ids = {c["id"] for c in items}
        return gr.update(choices=[(_label(c), c["id"]) for c in items], value=current if current in ids else None)

    def _show(self, who: str, cid: str, answers: list[dict], browser: dict):
        """Outputs that put a conversation on screen (see `shown` in wire)."""
        state = {**browser, "current": cid}
        return (messages_of(answers), answers, render.sources_html(answers), answer_choices(answers),
                answer_choices(answers), "", None, cid or None, self.picker(who, cid), state)

    def restore(self, browser, request: gr.Request):
        """On page load: give this browser an id if it has none, expire old chats, reopen the one last open here."""
        browser = {**NEW, **(browser or {})}
        if not browser["id"]:
            browser["id"] = secrets.token_urlsafe(16)
        who = owner(request, browser)
        try:
            self.store.expire()
            answers = self.store.load(who, browser["current"]) if browser["current"] else None
        except AssistantError as exc:
            gr.Warning(str(exc))
            answers = None
        if not answers:
            # Nothing to reopen: the chat is left as it is, for a question asked while this page was loading may
            # already be on it (this event can run after that question's answer).
            return (*[gr.skip()] * 8, self.picker(who, None), browser)
        return self._show(who, browser["current"], answers, browser)

    def open(self, cid, browser, request: gr.Request):
        """Reopen one of the owner's saved conversations."""
        browser = {**NEW, **(browser or {})}
        who = owner(request, browser)
        try:
            answers = self.store.load(who, cid or "")
        except AssistantError as exc:
            raise gr.Error(str(exc))
        if answers is None:
            raise gr.Error("That conversation is no longer saved; choose another or start a new one.")
        return self._show(who, cid, answers, browser)

    def after_turn(self, answers, cid, browser, request: gr.Request):
        """After a turn: the tools refreshed (turns.refresh), then the conversation stored (redacted) and listed;
        nothing is stored for an empty chat."""
        browser = {**NEW, **(browser or {})}
        who = owner(request, browser)
        tools = refresh(answers, settings=self.settings)
        if not answers or not who:
            return *tools, gr.skip(), gr.skip(), gr.skip()
        try:
            cid = self.store.save(who, cid or None, list(answers))
        except AssistantError as exc:
            gr.Warning(f"This conversation could not be saved: {exc}")
            return *tools, gr.skip(), gr.skip(), gr.skip()
        return *tools, cid, self.picker(who, cid), {**browser, "current": cid}

    def rename(self, cid, title, browser, request: gr.Request):
        """Rename the open conversation."""
        who = owner(request, browser)
        try:
            self.store.rename(who, cid or "", title if isinstance(title, str) else "")
        except AssistantError as exc:
            raise gr.Error(str(exc))
        return self.picker(who, cid), ""

    def delete(self, cid, browser, request: gr.Request):
        """Delete the open conversation and start a new one."""
        browser = {**NEW, **(browser or {})}
        who = owner(request, browser)
        if not cid:
            raise gr.Error("Open one of your saved conversations first, then delete it.")
        try:
            self.store.delete(who, cid)
        except AssistantError as exc:
            raise gr.Error(str(exc))
        return self._show(who, "", [], browser)

    def detach(self, browser, request: gr.Request):
        """A new conversation: the next question starts a new saved chat."""
        browser = {**NEW, **(browser or {})}
        return None, self.picker(owner(request, browser), None), {**browser, "current": ""}


def panel() -> dict:
    """The saved-conversations panel (folded): the list, a new name, rename and delete; and the states behind it."""
    with gr.Accordion("Your saved conversations", open=False, elem_id="fa-convs"):
        picker = gr.Dropdown(label="Reopen a saved conversation", choices=[], interactive=True, elem_id="fa-conv-pick")
        with gr.Row(elem_classes="fa-downloads"):
            name = gr.Textbox(label="New name for the open conversation", lines=1, max_lines=1, scale=3,
                              elem_id="fa-conv-name", min_width=180)
            rename = gr.Button("Rename", size="sm", elem_id="fa-conv-rename", scale=1, min_width=90)
            delete = gr.Button("Delete the open conversation", size="sm", variant="stop", elem_id="fa-conv-delete",
                               scale=1, min_width=120)
    return dict(picker=picker, name=name, rename=rename, delete=delete, current=gr.State(None),
                browser=gr.BrowserState(dict(NEW), storage_key=STORAGE_KEY, secret=STORAGE_SECRET))
