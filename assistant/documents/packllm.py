"""A workshop pack's discussion, quiz and note written by a language model from prompts/workshop.txt, each item kept
only when the passage it cites supports it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.citations import MARKER, split_sentences, verify
from assistant.answering.protocol import Answerer
from assistant.documents.cards import CaseCard
from assistant.documents.exercises import QuizItem
from assistant.documents.outline import ReferenceBook
from assistant.documents.writing import prompted
from assistant.schema import Passage


def _parse_llm(text: str) -> dict[str, list[str]]:
    """The DISCUSSION / QUIZ / NOTE parts of a model's pack, as lists of non-empty lines without list markup."""
    parts: dict[str, list[str]] = {"DISCUSSION": [], "QUIZ": [], "NOTE": []}
    current = None
    for line in text.splitlines():
        head = re.sub(r"[^A-Z]", "", line.upper())
        # Models decorate headings ("## Discussion questions", "**Facilitator's note:**"); short lines only.
        found = next((k for k in parts if head.startswith(k) or (k == "NOTE" and head.startswith("FACILITATOR"))), None)
        if found and len(line.strip()) <= 40:
            current = found
        elif current and line.strip():
            parts[current].append(re.sub(r"^(?:[-*•]\s+|\d+[.)]\s+)", "", line.strip()).replace("**", "").strip())
    return parts


def _checked(statement: str, passages: Sequence[Passage], book: ReferenceBook) -> str | None:
    """The statement with global markers when every claim in it is supported by the passage it cites; else None."""
    claims = " ".join(s for s in split_sentences(statement) if not MARKER.sub("", s).rstrip().endswith("?"))
    questions = " ".join(MARKER.sub("", s).strip() for s in split_sentences(statement)
                         if MARKER.sub("", s).rstrip().endswith("?"))
    text, citations, grounded = verify(claims, passages)
    if not citations or grounded < 1.0:
        return None
    return f"{book.localise(text, citations)[0]} {questions}".strip()


def llm_parts(writer: Answerer, subject: str, card: CaseCard, passages: Sequence[Passage], book: ReferenceBook,
              dated: str):
    """Discussion, quiz and note written by the model from `passages`; items that fail checking are left out."""
    refs = {c.n: c for c in book.references()}
    local = {p.chunk.chunk_id: i for i, p in enumerate(passages, start=1)}
    card_lines = "\n".join(f"{f.label}: {f.value} [{local.get(refs[f.n].passage.chunk.chunk_id, '?')}]" for f in card.facts)
    raw = "".join(prompted(writer, "workshop", card=card_lines, dated=dated).stream(subject, passages))
    parts = _parse_llm(raw)
    discussion = [x for x in (_checked(ln, passages, book) for ln in parts["DISCUSSION"]) if x]
    quiz, question = [], ""
    for line in parts["QUIZ"]:
        if q := re.match(r"^(?:Q|Question)\s*\d*\s*[:.]\s*(.*)", line):
            question = q.group(1)
        elif (a := re.match(r"^(?:A|Answer)\s*\d*\s*[:.]\s*(.*)", line)) and question:
            answer = _checked(a.group(1), passages, book)
            if answer:
                quiz.append(QuizItem(MARKER.sub("", question).strip(), answer))
            question = ""
    text, citations, _ = verify(" ".join(parts["NOTE"]), passages)
    note = book.localise(text, citations)[0] if citations else ""
    return discussion, quiz, note
