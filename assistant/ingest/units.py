"""The working types of cleaning: a line of extracted text, and a unit (heading, paragraph, list item ...) of lines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Line:
    """One line of a document's text, with what its layout says about it."""

    text: str
    brk: bool = False        # a page starts here (leading single space or form feed)
    gap: bool = False        # blank line(s) before it
    bullets: int = 0         # lone bullet markers just before it: that many list items follow
    anchor: int | None = None  # page number printed for the page this line starts
    page: int | None = None


@dataclass
class Unit:
    """Lines that belong together (cleaning.py segments them; sections.py names their section and case study)."""

    kind: str                # heading | para | item | field | cell | entry
    lines: list[str]
    first: Line
    label: str = ""
    text: str = ""
    section: str = ""
    case: str = ""
    end: int | None = None   # the page of its last line, when it runs on from its first
