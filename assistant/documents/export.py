"""Export answers, briefing notes and workshop packs as Markdown or Word (DOCX) with a numbered reference list."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from assistant.collection import Collection
from assistant.documents.outline import Document, Outline, prepared, reference_entries
from assistant.errors import InputError
from assistant.schema import Answer

_BULLET = re.compile(r"^\s*[-*•]\s+")


def answer_outline(answer: Answer, today: date | None = None, collection: Collection | None = None) -> Outline:
    """An Answer as a one-section document: the question as title, its notices as warnings, sources in number order;
    the date line and note describe `collection` (the library the answer came from) when it is given."""
    refs = tuple(sorted(answer.citations, key=lambda c: c.n))
    library = collection or Collection()
    return Outline(answer.question, prepared(today or date.today(), answer.answerer, library), list(answer.notices),
                   [("Answer", answer.text)], reference_entries(refs), note=library.date_note())


def outline(obj: Document | Answer, today: date | None = None, collection: Collection | None = None) -> Outline:
    """The common shape of an Answer or a document (a BriefingNote or a WorkshopPack gives its own)."""
    if isinstance(obj, Answer):
        return answer_outline(obj, today, collection)
    if isinstance(obj, Document):
        return obj.outline()
    raise InputError(f"Cannot export a {type(obj).__name__}; export an Answer, a BriefingNote or a WorkshopPack.")


def to_markdown(obj: Document | Answer, today: date | None = None, collection: Collection | None = None) -> str:
    """Markdown: title, date, the library's dates note, warnings, sections, and a numbered reference list."""
    o = outline(obj, today, collection)
    lines = [f"# {o.title}", "", f"*{o.meta}*", ""] + ([f"> **Note:** {o.note}", ""] if o.note else [])
    if o.warnings:
        lines += ["## Warnings", "", *[f"- {w}" for w in o.warnings], ""]
    for heading, text in o.sections:
        lines += [f"## {heading}", "", text.strip(), ""]
    if o.references:
        lines += ["## References", "", *[f"{i}. {r}" for i, r in enumerate(o.references, start=1)], ""]
    return "\n".join(lines)


def to_docx(obj: Document | Answer, path: str | Path, today: date | None = None,
            collection: Collection | None = None) -> Path:
    """Write a Word document: headings, paragraphs, bullets, and the references in 'List Number' style."""
    import docx  # python-docx is only needed when a DOCX is written

    o = outline(obj, today, collection)
    doc = docx.Document()
    doc.core_properties.title = o.title
    doc.core_properties.author = "Federation Advisor"
    doc.add_heading(o.title, level=0)
    doc.add_paragraph(o.meta)
    if o.note:
        doc.add_paragraph().add_run(f"Note: {o.note}").italic = True
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


def write(obj: Document | Answer, path: str | Path) -> Path:
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
