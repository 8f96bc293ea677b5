"""What every document shares: the outline that export renders, reference labels, one numbered reference list."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Protocol, runtime_checkable

from assistant.answering.citations import renumber
from assistant.errors import InputError
from assistant.collection import Collection
from assistant.schema import Chunk, Citation, Passage

# Bodies the reports name that have since been replaced: (pattern in a document's text, what replaced them and when).
SUCCESSORS = (
    (r"\bCCGs?\b|clinical commissioning groups?", "Clinical commissioning groups (CCGs) were abolished on 1 July 2022; "
     "their commissioning duties passed to integrated care boards (ICBs), so what the reports ask of CCGs now falls "
     "to the ICB and its place-based partnerships."),
    (r"\bPCTs?\b|primary care trusts?", "Primary care trusts (PCTs) were abolished in April 2013; their primary care "
     "commissioning passed to NHS England and CCGs, and is now largely delegated to ICBs."),
    (r"\bnetworks?\b|\bfederat", "Since July 2019 most practices belong to a primary care network (PCN) of about "
     "30,000 to 50,000 patients under the Network Contract DES; federations now often provide services for PCNs "
     "rather than being the only way practices work together."),
    (r"\bSTPs?\b|sustainability and transformation", "Sustainability and transformation partnerships (STPs) became "
     "integrated care systems (ICSs), statutory since July 2022."),
)


def applies_now(text: str) -> list[str]:
    """What has replaced the bodies and arrangements a document's text names (computed from that text)."""
    return [note for pattern, note in SUCCESSORS if re.search(pattern, text, re.I)]


@dataclass
class Outline:
    """What every export shows, whatever the source object: title, dates, warnings, sections, references."""

    title: str
    meta: str
    warnings: list[str] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (heading, text with '- ' bullet lines)
    references: list[str] = field(default_factory=list)  # in order: entry i is reference [i + 1]
    note: str = ""  # the library's dates and what changed since (Collection.date_note)


@runtime_checkable
class Document(Protocol):
    """A briefing note or workshop pack: a title, warnings, one numbered reference list, and its outline."""

    title: str
    warnings: tuple[str, ...]
    references: tuple[Citation, ...]

    def outline(self) -> Outline:
        """The document's title, date line, warnings, sections and reference entries, for export."""
        ...


def prepared(when: date, answerer: str, collection: Collection) -> str:
    """The line under a document's title: when and how it was written, from how large a library of which years."""
    span = collection.span()
    library = f"its library of {collection.count_words()}" + (f" ({span})" if span else "") if collection.documents \
        else "its library"
    return f"Prepared {when.day} {when:%B %Y} by Federation Advisor ({answerer}), from {library}."


def where(chunk: Chunk) -> str:
    """Section, page (or pages) and, for a document added locally, when: 'section “X”, p. 4, added locally on ...'."""
    page = f"pp. {chunk.pages}" if chunk.pages else f"p. {chunk.page}" if chunk.page else ""
    added = f"added locally on {chunk.added}" if chunk.added else ""
    return ", ".join(x for x in (f"section “{chunk.section}”" if chunk.section else "", page, added) if x)


def reference_label(c: Citation) -> str:
    """Report, publisher, year, section, page and provenance of a citation, as a reference list shows them."""
    ch = c.passage.chunk
    place = where(ch)
    return f"{ch.title} ({ch.publisher or 'unknown publisher'}, {ch.year or 'n.d.'})" + (f", {place}" if place else "")


def reference_entry(c: Citation) -> str:
    """One reference in house style: report, publisher, year, section, page, then the supporting quote."""
    flag = " (not verified)" if not c.supported else ""
    return f"{reference_label(c)}. Quote: “{c.quote}”{flag}"


def reference_entries(refs: Sequence[Citation]) -> list[str]:
    """Reference entries; the list is numbered by position, so the numbers must run 1..n without gaps."""
    if [c.n for c in refs] != list(range(1, len(refs) + 1)):
        raise InputError(f"References must be numbered 1..{len(refs)} in order, got {[c.n for c in refs]}.")
    return [reference_entry(c) for c in refs]


class ReferenceBook:
    """Numbers cited passages once across a document and rewrites each part's local [n] to the global number."""

    def __init__(self) -> None:
        self._refs: dict[str, Citation] = {}

    def add(self, citation: Citation) -> int:
        """The global number of the citation's passage (a new one is appended to the list)."""
        key = citation.passage.chunk.chunk_id
        old = self._refs.get(key)
        if old is None:
            self._refs[key] = replace(citation, n=len(self._refs) + 1)
        elif old.supported and not citation.supported:
            self._refs[key] = replace(old, supported=False, support=min(old.support, citation.support))
        return self._refs[key].n

    def localise(self, text: str, citations: Sequence[Citation]) -> tuple[str, tuple[Citation, ...]]:
        """`text` with its markers renumbered into the list, and its citations carrying the global numbers."""
        mapping = {c.n: self.add(c) for c in citations}
        # One pass: [1]->[3] and [3]->[1] must not interfere.
        return renumber(text, mapping), tuple(replace(c, n=mapping[c.n]) for c in citations)

    def cite(self, passage: Passage, quote: str) -> int:
        """The global number for a quote taken verbatim from a passage (no sentence to verify)."""
        return self.add(Citation(n=0, passage=passage, quote=quote))

    def references(self) -> tuple[Citation, ...]:
        """The numbered list, in order."""
        return tuple(sorted(self._refs.values(), key=lambda c: c.n))
