"""Case-study cards: the facts of an organisation's table in the reports, every item, each cited, and its former names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from assistant.documents.library import Library
from assistant.organisations import ALIASES, canonical, org_key, same_organisation
from assistant.schema import Passage

# Rows of the reports' case-study tables (as assistant.ingest.cleaning renders them: "Legal status: Partnership.")
# and the card line each one fills. An organisation's first row ("Federation: Suffolk GP Federation") is its model.
CARD_ROWS = {"organisational type": "Model", "legal status": "Legal form", "date established": "Established",
             "year founded": "Established", "number of practices": "Practices", "care locations": "Care locations",
             "registered population": "Registered population", "list size": "Registered population",
             "number of partners": "Partners", "number of employees": "Employees", "service portfolio": "Services",
             "main drivers": "Why it formed", "the vital statistics": "In brief", "identified benefits": "Benefits"}
SHOWN = ("Model", "Legal form", "Established", "Practices", "Care locations", "Registered population", "Partners",
         "Employees", "Services", "Why it formed", "Benefits", "In brief")
COMPARISON = "Comparison"  # the label of another organisation's material in a case pack
ROW = re.compile(r"^([A-Z][A-Za-z -]{2,45}?)\s*:\s*(.*)$")
# Two table cells the PDF text ran together: "18 general practices Five urgent care centres".
_TWO_CELLS = re.compile(r"(?<=[a-z]) (?=(?:One|Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten|Eleven|Twelve) [a-z])")


class CardFact(NamedTuple):
    """One line of a case-study card, taken from a report's table, and its reference numbers (a row that runs
    over two passages cites both)."""

    label: str
    value: str
    n: int
    also: tuple[int, ...] = ()

    @property
    def markers(self) -> str:
        """The fact's citation markers: '[3]' or '[3][4]'."""
        return "".join(f"[{m}]" for m in (self.n, *self.also))


@dataclass(frozen=True)
class CaseCard:
    """The case-study card: facts from the reports' tables, then what the organisation did and learned (cited)."""

    organisation: str
    facts: tuple[CardFact, ...]
    did: str
    learned: str
    formerly: tuple[str, ...] = ()  # the organisation's names in earlier reports ('Vitality Partnership')

    def fact(self, label: str) -> CardFact | None:
        """The card's fact with this label, if the reports give one."""
        return next((f for f in self.facts if f.label == label), None)


class Row(NamedTuple):
    """A table row: its card label, its items, and (passage, verbatim lines) for each passage it is printed in."""

    label: str
    items: tuple[str, ...]
    sources: tuple[tuple[Passage, str], ...]


def case_studies(library: Library) -> dict[str, list[Passage]]:
    """Every case study the index labels, by name, with its passages in report order (oldest first)."""
    chunks = sorted(library.chunks(), key=lambda c: (c.year or 0, c.doc_id, c.position))
    found: dict[str, list[Passage]] = {}
    for c in chunks:
        if c.case_study:
            found.setdefault(c.case_study, []).append(Passage(rank=len(found.get(c.case_study, [])) + 1, chunk=c, score=0.0))
    return found


def organisations(cases: dict[str, list[Passage]]) -> dict[str, list[str]]:
    """Case studies grouped by organisation, under the shortest name ('Tower Hamlets' for its three case studies;
    'Modality Partnership' for it and the Vitality Partnership, its former name)."""
    groups: dict[str, list[str]] = {}
    for name in sorted(cases, key=lambda n: (len(n), n)):
        key = canonical(org_key(name))
        home = next((g for g in groups if same_organisation(g, name) or (key and canonical(org_key(g)) == key)), None)
        groups.setdefault(home or name, []).append(name)
    # A renamed body is listed under its current name ('Modality Partnership', not 'Vitality Partnership').
    return {next((n for n in names if org_key(n) not in ALIASES), head): names for head, names in groups.items()}


def _items(label: str, parts: Sequence[str]) -> list[str]:
    """A row's cells as items: 'Includes:' dropped, cells the text ran together split, full stops trimmed."""
    items: list[str] = []
    for part in parts:
        part = re.sub(r"^Includes:?\s*", "", part.strip()).strip()
        if label != "In brief":
            part = part.split(". Example:")[0]
        for cell in _TWO_CELLS.split(part) if label != "In brief" else [part]:
            cell = cell.strip().rstrip(".;").strip()
            if cell and cell.lower() not in ("includes", "including"):
                items.append(cell)
    return items


def _merged_lines(passages: Sequence[Passage]) -> list[tuple[str, int]]:
    """The lines of consecutive passages of one report, each once (chunks overlap), with the passage it came from."""
    merged: list[tuple[str, int]] = []
    for k, p in enumerate(passages):
        lines = [ln.strip() for ln in p.chunk.text.splitlines()]
        tail = [t for t, _ in merged]
        overlap = next((o for o in range(min(len(lines), len(tail)), 0, -1) if tail[-o:] == lines[:o]), 0)
        merged += [(ln, k) for ln in lines[overlap:]]
    return merged


def table(passages: Sequence[Passage]) -> list[Row]:
    """The case-study table rows of a case's passages in report order, a row continued across passages joined."""
    rows: list[Row] = []
    by_doc: dict[str, list[Passage]] = {}
    for p in passages:
        by_doc.setdefault(p.chunk.doc_id, []).append(p)
    for doc in by_doc.values():
        doc.sort(key=lambda p: p.chunk.position)
        lines = _merged_lines(doc)
        i = 0
        while i < len(lines):
            m = ROW.match(lines[i][0])
            label = CARD_ROWS.get(m.group(1).lower()) if m else None
            model = bool(m and not label and len(lines[i][0].split()) <= 10
                         and same_organisation(m.group(2), doc[0].chunk.case_study))
            j = i + 1
            while label and j < len(lines) and j - i < 25 and not ROW.match(lines[j][0]):
                j += 1  # a row's list continues on the lines below it, into the next passage if need be
            if m and (label or model):
                kind = "Model" if model else str(label)
                parts = [m.group(1) if model else m.group(2), *(ln for ln, _ in lines[i + 1:j])]
                sources = tuple((doc[k], "\n".join(ln for ln, s in lines[i:j] if s == k))
                                for k in dict.fromkeys(s for _, s in lines[i:j]))
                rows.append(Row(kind, tuple(_items(kind, parts)), sources))
            i = max(j, i + 1)
    return rows


def joined(items: Sequence[str]) -> str:
    """A row's items as one value: '; ' between items, a space after a lead-in ('Improving quality demonstrated by:')."""
    return "".join(f"{x}{' ' if x.endswith(':') else '; '}" for x in items).rstrip("; ")


def table_rows(passage: Passage) -> list[tuple[str, str, str]]:
    """(card label, value, verbatim quote) for each case-study table row in one passage."""
    return [(r.label, joined(r.items), r.sources[0][1]) for r in table([passage])]


def former_names(organisation: str, case_names: Sequence[str]) -> list[str]:
    """Names a case study of this organisation had in earlier reports ('Vitality Partnership' for Modality)."""
    key = canonical(org_key(organisation))
    return [n for n in case_names if org_key(n) in ALIASES and ALIASES[org_key(n)] == key]
