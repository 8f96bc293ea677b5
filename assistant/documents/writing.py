"""How the generators write: extractive with a document's own limits, or a prompted model; no sentence twice."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from assistant.answering.citations import MARKER, split_sentences
from assistant.answering.prompts import Prompts
from assistant.answering.protocol import Answerer
from assistant.documents.library import Library


@runtime_checkable
class Limitable(Protocol):
    """An extractive answerer that can quote to a document's own limits with the same sentence selection."""

    def with_limits(self, *, max_sentences: int, passages_used: int | None, lists: bool) -> Answerer:
        """The same answerer quoting up to `max_sentences` sentences from the first `passages_used` passages."""
        ...


def extractive_writer(library: Library, *, max_sentences: int, passages_used: int) -> Answerer:
    """The library's extractive answerer (the same sentence selection as a chat answer: parts, subject, meaning),
    quoting up to `max_sentences` sentences from the first `passages_used` passages, as running text."""
    offline = library.answerer("offline")
    if not isinstance(offline, Limitable):
        raise TypeError(f"The offline answerer {offline.name!r} cannot quote to a document's limits.")
    return offline.with_limits(max_sentences=max_sentences, passages_used=passages_used, lists=False)


@runtime_checkable
class PromptDriven(Answerer, Protocol):
    """An answerer that writes from prompt templates (the LLM), so a document can give it its own brief."""

    prompts: Prompts
    use: str  # which token cap (Settings.llm_max_tokens) its requests carry: 'answer', 'brief', 'workshop'


class _TemplatePrompts:
    """A PromptLibrary stand-in that serves another template where the answerer asks for 'answer'."""

    def __init__(self, library: Prompts, template: str, extra: dict[str, str]) -> None:
        self._library, self._template, self._extra = library, template, extra

    def render(self, name: str, /, **values: str) -> str:
        """Render `name`, swapping 'answer' for the template with the extra values filled in."""
        if name == "answer":
            # A document's template is its own brief: the guide to a chat question's parts does not apply.
            values = {k: v for k, v in values.items() if k != "guide"}
            return self._library.render(self._template, **values, **self._extra)
        return self._library.render(name, **values)


def prompted(answerer: Answerer, template: str, **extra: str) -> Answerer:
    """The answerer writing with prompts/<template>.txt, capped at that use's max_tokens, if it is prompt-driven
    (the LLM); otherwise unchanged."""
    if not isinstance(answerer, PromptDriven):
        return answerer
    # A shallow copy keeps the LLM answerer's client, context fitting, error handling and output checks;
    # only the user prompt differs, so the brief gets the same guarantees as `ask`.
    clone = copy.copy(answerer)
    clone.prompts = _TemplatePrompts(answerer.prompts, template, extra)
    clone.use = template  # a brief's section and a workshop's items have their own max_tokens
    return clone


def drop_repeats(raw: str, seen: set[str], limit: int) -> str:
    """Extractive text without fragments or sentences already used elsewhere in the document, at most `limit`."""
    kept: list[str] = []
    for sentence in split_sentences(raw):
        key = re.sub(r"[^a-z0-9]+", " ", MARKER.sub(" ", sentence.lower())).strip()
        # Table debris, bylines and slide fragments ("1 GP cooperative of 19 practices", "GP at Improving Health,
        # Federation of GP practices, Southwark") brief nobody; labelled facts stay.
        words = MARKER.sub("", sentence).split()
        fragment = ":" not in sentence and (len(words) < 8 or sum(w[:1].islower() for w in words) < len(words) / 2)
        if key and not fragment and key not in seen and len(kept) < limit:
            seen.add(key)
            kept.append(sentence)
    return " ".join(kept)


def drained(stream: Iterator[str]) -> tuple[str, object]:
    """All the text of an answerer's stream, and what the stream returned (the LLM's Generation: finish reason,
    tokens; None offline)."""
    parts: list[str] = []
    while True:
        try:
            parts.append(next(stream))
        except StopIteration as stop:
            return "".join(parts), stop.value
