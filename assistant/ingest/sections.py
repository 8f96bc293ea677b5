"""Section headings and case-study labels for the units of a cleaned document (see cleaning.py)."""

from __future__ import annotations

import re

from assistant.ingest.units import Unit
from assistant.organisations import org_word

LABEL_RE = re.compile(r"the (vital statistics|challenges?|solutions?|results?|vision|lessons[\w ]*|question|"
                       r"exploration|answer)\s*:", re.I)
_ORG_ITEM_RE = re.compile(r"([A-Z][\w&'’ ]{1,40}?)\s+(?:Ltd|LLP|Limited|plc|CIC)\b[^:]{0,20}:")
_MAJOR_RE = re.compile(r"(box|figure|table|appendix|design principle|\d)", re.I)


def is_terminal(t: str) -> bool:
    """Whether a line ends a sentence (a trailing web address counts: footnote and link lines end there)."""
    return t.rstrip("’”\"')]*").endswith((".", "!", "?", ":")) or bool(re.search(r"(www\.|https?://)\S*$", t))


def classify_headings(units: list[Unit]) -> bool:
    """Demote heading-shaped lines that are really bylines, name lists or slide bullets; True for slide decks."""
    heads = [u for u in units if u.kind == "heading"]
    slides = len(units) >= 8 and len(heads) > 0.35 * len(units)
    if slides:
        for u in heads[1:]:  # slide-like: only titles at the top of a page are headings
            u.kind = "heading" if u.first.brk else "para"
    i = 0
    while i < len(units):
        j = i
        while j < len(units) and units[j].kind == "heading":
            j += 1
        if j - i >= 3:
            for u in units[i:j - 1]:
                u.kind = "para"
        elif j - i == 2 and "," in units[i + 1].text and not units[i + 1].first.brk:
            units[i + 1].kind = "para"  # "Dr Arvind Madan, GP Partner and CEO" under a heading
        i = max(j, i + 1)
    return slides


def _clean_name(s: str) -> str:
    """An organisation's name without place, legal suffix or leading "The" ("Modality Partnership")."""
    name = re.sub(r"\s+(Ltd|LLP|Limited|plc|CIC)\.?$", "", re.split(r",| [–—-] | \(", s)[0].strip())
    return re.sub(r"^The\s+", "", name).strip(" .:")


def assign_sections_and_cases(units: list[Unit]) -> None:
    """Carry the nearest heading down as the section, and name the case study a unit belongs to."""
    section, appendix, names = "", False, {}
    for u in units:
        entry = re.fullmatch(r"([A-Z][\w -]{2,40}):\s*(.{3,80})", u.text) if len(u.lines) == 1 else None
        if appendix and entry and u.kind in ("heading", "para", "item") and not is_terminal(u.text):
            u.kind, u.case = "entry", _clean_name(entry.group(2))  # "Federation: Suffolk GP Federation"
            names[org_word(u.case)] = u.case
        elif u.kind == "heading":
            section = u.text.rstrip(":")
            appendix = bool(re.search(r"appendix", section, re.I) and re.search(r"case stud", section, re.I))
        u.section = section
    _appendix_table(units, names)
    case = ""
    for k, u in enumerate(units):
        if u.kind == "heading":
            nxt = units[k + 1] if k + 1 < len(units) else None
            proper = all(w[0].isupper() for w in u.text.split() if len(w) > 3)
            if nxt and (re.match(r"the vital statistics", nxt.text, re.I) or (proper and len(u.text.split()) >= 2
                        and nxt.text.lower().startswith(" ".join(u.text.lower().split()[:2])))):
                box = _clean_name(u.text)  # a case box: its name, then "The vital statistics:"
                names.setdefault(org_word(box), box)
                # It runs to the last "The ...:" label before the next heading, and what that label introduces.
                end = next((j for j in range(k + 1, len(units)) if units[j].kind == "heading"), len(units))
                labels = [j for j in range(k + 1, end) if LABEL_RE.match(units[j].text)]
                stop = labels[-1] + 1 + bool(LABEL_RE.fullmatch(units[labels[-1]].text)) if labels else end
                while labels and stop < end and units[stop].kind == "item":
                    stop += 1
                for v in units[k + 1:min(stop, end)]:
                    v.case = box
                case = ""
                continue
            words = set(re.findall(r"[^\W\d_]+", u.text.lower()))
            hit = next((n for t, n in names.items() if t and t in words), "")
            major = u.first.gap or u.first.brk or _MAJOR_RE.match(u.text)  # closes the open case study
            case = hit or ("" if major else case)
        elif u.kind == "entry":
            case = u.case
        elif not u.case:
            m = _ORG_ITEM_RE.match(u.text) if u.kind == "item" and not case else None
            u.case = _clean_name(m.group(1)) if m else case  # "AT Medics Ltd: a multi-site provider ..."


def _appendix_table(units: list[Unit], names: dict[str, str]) -> None:
    """Rebuild an appendix table flattened into cells (type, example, purpose, details) as labelled facts."""
    cells, header = [u for u in units if u.kind == "cell"], []
    for u in cells:
        if len(u.lines) > 1 or len(u.text.split()) > 5 or is_terminal(u.text) or u.text in header:
            break
        header.append(u.text)
    body = [u for u in cells if u.text not in header]
    for u in cells:
        u.kind, u.text = "para", "" if u.text in header else u.text
    short = lambda c, n: c is not None and len(c.text.split()) <= n and not is_terminal(c.text)
    row, case = 0, ""
    for idx, u in enumerate(body):
        nxt = body[idx + 1] if idx + 1 < len(body) else None
        # A row opens: type, then the example's name.
        if short(u, 6) and nxt is not None and short(nxt, 8) and len(header) >= 2:
            case = _clean_name(nxt.text)
            names[org_word(case)] = case
            u.text, nxt.text, row = f"{header[0]}: {u.text}. {header[1]}: {nxt.text}.", "", 1
        elif row == 3 and len(header) >= 3:
            u.text = f"{header[2]}: {u.text}"
        row = row + 1 if row else 0
        u.case = case
