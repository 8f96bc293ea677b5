"""Front matter: reader boxes, title pages, contents pages and document-control tables kept out of the text, with
their useful facts (title, publisher, date, gateway reference) kept as the document's metadata."""

from __future__ import annotations

import re

FRONT_PAGES = 4  # front matter is looked for on the first pages of a paged document ...
FRONT_LINES = 200  # ... or in the first lines of an unpaged one
# The fields of an NHS England "information reader box" (as printed 2013-2018), lower case.
_READER_FIELDS = ("information reader box", "publications gateway reference", "document purpose", "document name",
                  "publication date", "target audience", "additional circulation list", "cross reference",
                  "superseded doc", "action required", "timing / deadlines", "timing/deadlines",
                  "contact details for further information", "document status", "directorate")
_READER_END = re.compile(r"accessed from the intranet|controlled copy|printed copies of this document", re.I)
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE = re.compile(rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?(?:{_MONTHS})\s+((?:19|20)\d\d)\b")
# "Label: value" lines of publication details; the value is kept under the label's name.
_DETAIL = re.compile(r"(publications? gateway (?:reference|ref\.?)(?: (?:number|no\.?))?|publishing approval "
                     r"(?:number|reference)|gateway reference|version(?: number)?|first published|published|"
                     r"publication date|updated|prepared by|classification|document name|author)\s*:\s*(\S.{0,150})",
                     re.I)
# NHS England's accessibility notice under the publication details, up to the sentence that ends it.
_FORMATS = re.compile(r"this information can be made available in", re.I)
_CONTENTS = re.compile(r"(table of )?contents", re.I)
_ENTRY = re.compile(r".*?(?:\.{3,}|…{2,}|\s)\s*\d{1,3}")  # "1. Introduction ........ 3", "Purpose 6"
_CONTROL = re.compile(r"(document|version|change) control|(revision|version|amendment|change|document) history", re.I)
_PUBLISHER = re.compile(r"\b(NHS England(?: and NHS Improvement)?|NHS Improvement|Department of Health(?: and Social "
                        r"Care)?|Healthy London Partnership|The King's Fund|Nuffield Trust)\b")


def _reader_box(lines: list[str]) -> tuple[int, int] | None:
    """The first and last line (exclusive) of an information reader box among `lines`, or None."""
    hits = [i for i, ln in enumerate(lines) if any(f in ln.lower() for f in _READER_FIELDS)]
    fields = {f for ln in (lines[i] for i in hits) for f in _READER_FIELDS if f in ln.lower()}
    if len(fields) < 4:
        return None
    end = hits[-1] + 1
    for j in range(end, min(len(lines), end + 12)):  # the "Document Status" paragraph that closes the box
        if _READER_END.search(lines[j]):
            end = j + 1
    return hits[0], end


def _contents(lines: list[str]) -> tuple[int, int] | None:
    """The lines of a contents list (its heading and entries), or None."""
    start = next((i for i, ln in enumerate(lines) if _CONTENTS.fullmatch(ln.strip())), None)
    if start is None:
        return None
    end, pending = start + 1, 0
    for j in range(start + 1, len(lines)):
        t = lines[j].strip()
        if not t:
            continue
        if _ENTRY.fullmatch(t) and len(t.split()) <= 20:
            end, pending = j + 1, 0
        elif len(t.split()) <= 12 and not t.endswith(".") and pending < 2:
            pending += 1  # an entry's title wrapped before its page number
        else:
            break
    return (start, end) if end - start > 2 else None


def _formats(lines: list[str]) -> tuple[int, int] | None:
    """NHS England's "can be made available in alternative formats" notice, to the line that ends it, or None."""
    start = next((i for i, ln in enumerate(lines) if _FORMATS.match(ln.strip())), None)
    if start is None:
        return None
    ends = [j + 1 for j in range(start, min(len(lines), start + 8))
            if lines[j].rstrip().endswith(".") and re.search(r"request|@|contact", lines[j], re.I)]
    return start, max(ends, default=start + 1)


def _control(lines: list[str]) -> tuple[int, int] | None:
    """A document-control or version-history table: its title and the short cells that follow, or None."""
    start = next((i for i, ln in enumerate(lines) if _CONTROL.fullmatch(ln.strip())), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and end - start < 60 and (not lines[end].strip() or (
            len(lines[end].split()) <= 12 and not lines[end].strip().endswith("."))):
        end += 1
    return start, end


def _facts_of(lines: list[str], facts: dict[str, str]) -> set[int]:
    """Publication details ("First published: 31 March 2020") added to `facts`; the indexes of their lines."""
    found: set[int] = set()
    for i, ln in enumerate(lines):
        m = _DETAIL.match(ln.strip())
        if m:
            value, j = m.group(2), i + 1
            # A value wrapped onto a short line of its own ("Prepared by: Primary Care Strategy and NHS / Contracts Group").
            while j < len(lines) and 0 < len(lines[j].split()) <= 4 and not _DETAIL.match(lines[j].strip()) \
                    and not lines[j].strip().endswith((".", ":")) and j - i <= 2:
                value, j = f"{value} {lines[j]}", j + 1
            facts.setdefault(m.group(1).strip().capitalize(), " ".join(value.split()))
            found.update(range(i, j))
        elif m := re.search(r"gateway (?:reference|ref\.?)(?: (?:number|no\.?))?\s*:?\s*(\d{5,6})", ln, re.I):
            facts.setdefault("Publications gateway reference", m.group(1))
    return found


def _title_page(page: str) -> bool:
    """Whether a first page is a title page: a few short lines and no sentence."""
    lines = [ln.strip() for ln in page.split("\n") if ln.strip()]
    return 0 < len(lines) <= 12 and len(page.split()) <= 60 and not any(ln.endswith(".") for ln in lines)


def _title_facts(page: str, facts: dict[str, str]) -> None:
    """Title (its first lines up to a date or publisher line), date and publisher of a title page."""
    title: list[str] = []
    for ln in (ln.strip() for ln in page.split("\n") if ln.strip()):
        if _DATE.search(ln) or _PUBLISHER.search(ln):
            break
        title.append(ln)
    if title:
        facts.setdefault("Title", " ".join(" ".join(title).split()))
    if m := _DATE.search(page):
        facts.setdefault("Date", m.group(0))
    if m := _PUBLISHER.search(page):
        facts.setdefault("Publisher", m.group(1))


def front_matter(pages: list[str], *, paged: bool) -> tuple[list[str], dict[str, str]]:
    """The pages without reader box, title page, contents and document-control table, and the facts they gave."""
    facts: dict[str, str] = {}
    out = list(pages)
    if paged and len(out) > 1 and _title_page(out[0]):
        _title_facts(out[0], facts)
        out[0] = ""
    for k in range(min(len(out), FRONT_PAGES if paged else 1)):
        lines = out[k].split("\n")
        head, rest = (lines, []) if paged else (lines[:FRONT_LINES], lines[FRONT_LINES:])
        drop = _facts_of(head, facts) if paged or _reader_box(head) else set()
        if drop and paged and min(drop) <= 8:  # the title repeated just above the publication details
            first = min(drop)
            drop.update(i for i in range(first) if len(head[i].split()) <= 12 and not head[i].strip().endswith("."))
        for find in (_reader_box, _contents, _control, _formats):
            span = find(head)
            if span and (paged or find is not _control):
                drop.update(range(*span))
        box = _reader_box(head)
        if box:
            _facts_of(head[box[0]:box[1]], facts)
            if m := _DATE.search(" ".join(head[box[0]:box[1]])):
                facts.setdefault("Date", m.group(0))
            facts.setdefault("Publisher", "NHS England")
        out[k] = "\n".join([ln for i, ln in enumerate(head) if i not in drop] + rest)
    return out, facts


def year_of(facts: dict[str, str]) -> int | None:
    """The publication year the front matter gives (first published, publication date, or the title page's date)."""
    for key in ("First published", "Publication date", "Published", "Date"):
        if key in facts and (m := re.search(r"\b(19|20)\d\d\b", facts[key])):
            return int(m.group(0))
    return None
