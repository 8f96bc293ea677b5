"""Export answers, briefing notes and workshop packs as Markdown or Word (DOCX) with a numbered reference list."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from assistant.documents.briefing import DATE_NOTE, BriefingNote
from assistant.errors import InputError
from assistant.schema import Answer, Citation
from assistant.documents.workshop import WorkshopPack, pack_sections

_BULLET = re.compile(r"^\s*[-*•]\s+")


@dataclass
class Outline:
    """What every export shows, whatever the source object: title, dates, warnings, sections, references."""

    title: str
    meta: str
    warnings: list[str] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)  # (heading, text with '- ' bullet lines)
    references: list[str] = field(default_factory=list)  # in order: entry i is reference [i + 1]


def reference_label(c: Citation) -> str:
    """Report, publisher, year, section and page of a citation, as a reference list shows them."""
    ch = c.passage.chunk
    where = ", ".join(x for x in (f"section “{ch.section}”" if ch.section else "", f"p. {ch.page}" if ch.page else "") if x)
    return f"{ch.title} ({ch.publisher or 'unknown publisher'}, {ch.year or 'n.d.'})" + (f", {where}" if where else "")


def reference_entry(c: Citation) -> str:
    """One reference: report, publisher, year, section, page, the supporting quote and the passage id."""
    flag = " (not verified)" if not c.supported else ""
    return f"{reference_label(c)}. Quote: “{c.quote}” [passage {c.passage.chunk.chunk_id}]{flag}"


def _checked(refs: tuple[Citation, ...]) -> list[str]:
    """Reference entries; the list is numbered by position, so the numbers must run 1..n without gaps."""
    if [c.n for c in refs] != list(range(1, len(refs) + 1)):
        raise InputError(f"References must be numbered 1..{len(refs)} in order, got {[c.n for c in refs]}.")
    return [reference_entry(c) for c in refs]


def outline(obj: Answer | BriefingNote | WorkshopPack, today: date | None = None) -> Outline:
    """The common shape of an Answer, a BriefingNote or a WorkshopPack."""
    if isinstance(obj, BriefingNote):
        return Outline(obj.title, _meta(obj.created, obj.answerer), list(obj.warnings),
                       [(s.heading, s.text) for s in obj.sections], _checked(obj.references))
    if isinstance(obj, WorkshopPack):
        return Outline(obj.title, _meta(obj.created, obj.answerer), list(obj.warnings), pack_sections(obj),
                       _checked(obj.references))
    if isinstance(obj, Answer):
        refs = tuple(sorted(obj.citations, key=lambda c: c.n))
        return Outline(obj.question, _meta(today or date.today(), obj.answerer), list(obj.notices),
                       [("Answer", obj.text)], _checked(refs))
    raise InputError(f"Cannot export a {type(obj).__name__}; export an Answer, a BriefingNote or a WorkshopPack.")


def _meta(when: date, answerer: str) -> str:
    return f"Prepared {when.day} {when:%B %Y} by Federation Advisor ({answerer}), from five NHS-related reports."


def to_markdown(obj: Answer | BriefingNote | WorkshopPack, today: date | None = None) -> str:
    """Markdown: title, date, the 2013–2018 note, warnings, sections, and a numbered reference list."""
    o = outline(obj, today)
    lines = [f"# {o.title}", "", f"*{o.meta}*", "", f"> **Note:** {DATE_NOTE}", ""]
    if o.warnings:
        lines += ["## Warnings", "", *[f"- {w}" for w in o.warnings], ""]
    for heading, text in o.sections:
        lines += [f"## {heading}", "", text.strip(), ""]
    if o.references:
        lines += ["## References", "", *[f"{i}. {r}" for i, r in enumerate(o.references, start=1)], ""]
    return "\n".join(lines)


def to_docx(obj: Answer | BriefingNote | WorkshopPack, path: str | Path, today: date | None = None) -> Path:
    """Write a Word document: headings, paragraphs, bullets, and the references in 'List Number' style."""
    from docx import Document  # python-docx is only needed when a DOCX is written

    o = outline(obj, today)
    doc = Document()
    doc.core_properties.title = o.title
    doc.core_properties.author = "Federation Advisor"
    doc.add_heading(o.title, level=0)
    doc.add_paragraph(o.meta)
    doc.add_paragraph().add_run(f"Note: {DATE_NOTE}").italic = True
    if o.warnings:
        doc.add_heading("Warnings", level=1)
        for w in o.warnings:
            doc.add_paragraph(w, style="List Bullet")
    for heading, text in o.sections:
        doc.add_heading(heading, level=1)
        for block in _blocks(text):
            if _BULLET.match(block):
                doc.add_paragraph(_BULLET.sub("", block), style="List Bullet")
            else:
                doc.add_paragraph(block)
    if o.references:
        doc.add_heading("References", level=1)
        # The only numbered list in the document, so Word's numbering starts at 1 and matches the [n] markers.
        for entry in o.references:
            doc.add_paragraph(entry, style="List Number")
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        doc.save(str(target))
    except OSError as exc:
        raise InputError(f"Cannot write {target}: {exc}. Choose another --out path.") from exc
    return target


def _blocks(text: str) -> list[str]:
    """Paragraphs of a section: each bullet line alone, other lines joined up to a blank line."""
    blocks: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if not line.strip() or _BULLET.match(line):
            if current:
                blocks.append(" ".join(current))
                current = []
            if line.strip():
                blocks.append(line.strip())
        else:
            current.append(line.strip())
    if current:
        blocks.append(" ".join(current))
    return blocks


def write(obj: Answer | BriefingNote | WorkshopPack, path: str | Path) -> Path:
    """Write Markdown (.md) or Word (.docx) according to the file's suffix."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".docx":
        return to_docx(obj, target)
    if suffix in (".md", ".markdown"):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(to_markdown(obj), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"Cannot write {target}: {exc}. Choose another --out path.") from exc
        return target
    raise InputError(f"Cannot tell the format of {target.name}: use a .md or .docx file name.")
