"""Export answers, briefing notes and workshop packs as Markdown or Word (DOCX) with a numbered reference list."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from assistant.answering.sentences import strip_footnotes
from assistant.collection import Collection
from assistant.documents.outline import Document, Outline, prepared, reference_entries
from assistant.errors import InputError
from assistant.schema import Answer

_BULLET = re.compile(r"^\s*[-*•]\s+")
_RAW_HTML = re.compile(r"<(?=[A-Za-z/!?])")  # the start of a tag, comment or processing instruction
# "Legal form: Community interest company [1]": a card line's label and value.
_LABELLED = re.compile(r"^([A-Z][\w ’'-]{1,40}?):\s+(.+)$", re.S)
CARD = "Case-study card"


def answer_outline(answer: Answer, today: date | None = None, collection: Collection | None = None) -> Outline:
    """An Answer as a one-section document: the question as title, its notices as warnings, sources in number order;
    the date line and note describe `collection` (the library the answer came from) when it is given."""
    refs = tuple(sorted(answer.citations, key=lambda c: c.n))
    library = collection or Collection()
    return Outline(answer.question, prepared(today or date.today(), answer.answerer, library), list(answer.notices),
                   [("Answer", answer.text)], reference_entries(refs), note=library.date_note())


def outline(obj: Document | Answer, today: date | None = None, collection: Collection | None = None) -> Outline:
    """The common shape of an Answer or a document (a BriefingNote or a WorkshopPack gives its own), with footnote
    digits taken out of the quoted text."""
    if isinstance(obj, Answer):
        o = answer_outline(obj, today, collection)
    elif isinstance(obj, Document):
        o = obj.outline()
    else:
        raise InputError(f"Cannot export a {type(obj).__name__}; export an Answer, a BriefingNote or a WorkshopPack.")
    return Outline(o.title, o.meta, [strip_footnotes(w) for w in o.warnings],
                   [(h, strip_footnotes(t)) for h, t in o.sections], [strip_footnotes(r) for r in o.references],
                   note=o.note)


def no_html(text: str) -> str:
    """Text for Markdown with any raw HTML shown as text (`\\<script>`), not run by a viewer."""
    return _RAW_HTML.sub(r"\\<", text or "")


def to_markdown(obj: Document | Answer, today: date | None = None, collection: Collection | None = None) -> str:
    """Markdown: title, date, the library's dates note, warnings, sections, and a numbered reference list; raw HTML
    from a question or a document is escaped."""
    o = outline(obj, today, collection)
    lines = [f"# {no_html(o.title)}", "", f"*{no_html(o.meta)}*", ""] + \
        ([f"> **Note:** {no_html(o.note)}", ""] if o.note else [])
    if o.warnings:
        lines += ["## Warnings", "", *[f"- {no_html(w)}" for w in o.warnings], ""]
    for heading, text in o.sections:
        lines += [f"## {no_html(heading)}", "", no_html(text.strip()), ""]
    if o.references:
        lines += ["## References", "", *[f"{i}. {no_html(r)}" for i, r in enumerate(o.references, start=1)], ""]
    return "\n".join(lines)


def private_folder(root: Path, *, keep_s: float) -> Path:
    """A fresh folder only this user can read (0700) under `root` (also 0700), for files to download; folders
    there older than `keep_s` seconds are removed first, so exports do not outlive their download for long."""
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)
        cutoff = time.time() - keep_s
        for old in root.iterdir():
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(dir=root))  # mkdtemp makes it 0700 with an unguessable name
    except OSError as exc:
        raise InputError(f"Cannot prepare a download folder in {root} ({exc.strerror or exc}); check that the data "
                         "directory is writable.") from exc


def to_docx(obj: Document | Answer, path: str | Path, today: date | None = None,
            collection: Collection | None = None) -> Path:
    """Write a board-ready Word file: A4, title and date in the header, page numbers, the date note as a callout,
    case cards as tables, and the references as the document's one numbered list."""
    import docx  # python-docx is only needed when a DOCX is written

    from assistant.documents import docx_layout as layout

    o = outline(obj, today, collection)
    when = getattr(obj, "created", None) or today or date.today()
    doc = docx.Document()
    doc.core_properties.title = o.title
    doc.core_properties.author = "Federation Advisor"
    layout.a4(doc)
    layout.header_and_footer(doc, title=o.title, when=f"{when.day} {when:%B %Y}")
    doc.add_heading(o.title, level=0)
    doc.add_paragraph(o.meta)
    if o.note:
        layout.callout(doc, "Note:", o.note)
    if o.warnings:
        doc.add_heading("Warnings", level=1)
        for w in o.warnings:
            doc.add_paragraph(w, style="List Bullet")
    for heading, text in o.sections:
        doc.add_heading(heading, level=1)
        rows = _card_rows(text) if heading.startswith(CARD) else None
        if rows:
            layout.card_table(doc, rows)
            continue
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


def _card_rows(text: str) -> list[tuple[str, str]] | None:
    """(label, value) rows of a case-study card's lines ("- Legal form: ..."); None when a line has no label."""
    rows = []
    for block in _blocks(text):
        m = _LABELLED.match(_BULLET.sub("", block))
        if not m:
            return None
        rows.append((m.group(1).strip(), m.group(2).strip()))
    return rows or None


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
