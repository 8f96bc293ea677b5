"""Document-level cleaning of paged sources: running headers and footers found across all pages, printed numbers."""

from __future__ import annotations

import re
from collections import Counter

ZONE = 3  # lines at the top and at the bottom of a page where running headers and footers sit
_PAGE_OF = re.compile(r"\bpage\s+(\d{1,4})(?:\s*(?:of|/)\s*(\d{1,4}))?\b", re.I)
_FRACTION_END = re.compile(r"(?<![\d/])(\d{1,4})\s*/\s*(\d{1,4})$")  # a browser's "2/3" at the end of a footer
_LONE_NUMBER = re.compile(r"[-–—\s]*(\d{1,3})[-–—\s]*")  # not 4 digits: a year alone on a title page stays
# A browser's print header opens with the date and time of printing: "12/1/26, 4:11 AM".
_STAMP = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4},?\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp]\.?[Mm]\.?)?")
_URL_LINE = re.compile(r"(file:///|https?://|www\.)\S+(\s+\d{1,4}\s*/\s*\d{1,4})?")
_FORM_FEED_PAGES = re.compile(r"\f")
_TEXT_FOOTER = re.compile(r"^[^\n]{0,80}\bpage\s+\d{1,4}\s+of\s+\d{1,4}[^\n]{0,80}$", re.I | re.M)


def split_pages(text: str) -> list[str]:
    """A text file's pages: split at form feeds, or after each "Page N of M" footer; one page when it has neither."""
    if "\f" in text:
        return _FORM_FEED_PAGES.split(text)
    ends = [m.end() for m in _TEXT_FOOTER.finditer(text)]
    if len(ends) < 2:
        return [text]
    starts = [0, *ends]
    return [text[a:b] for a, b in zip(starts, [*ends, len(text)]) if text[a:b].strip()]


def _shape(line: str) -> str:
    """A line with its numbers blanked and its spacing and case made uniform, to compare it across pages."""
    return re.sub(r"\d+", "#", " ".join(line.lower().split()))


def _page_line(line: str) -> bool:
    """Whether a header or footer line is page furniture wherever it stands: a page number, a print stamp, a URL."""
    t = " ".join(line.split())
    return bool(_LONE_NUMBER.fullmatch(t) or _PAGE_OF.fullmatch(t) or _STAMP.match(t) or _URL_LINE.fullmatch(t)
                or re.fullmatch(r"\d{1,4}\s*/\s*\d{1,4}", t))


def _printed_number(line: str, varying: bool) -> int | None:
    """The page number a header or footer line prints, if any ("Page 3 of 9", "file:///x.html 3/9", "12", "Title 12")."""
    t = " ".join(line.split())
    if m := _PAGE_OF.search(t):
        return int(m.group(1))
    if (m := _FRACTION_END.search(t)) and int(m.group(1)) <= int(m.group(2)) and not _STAMP.fullmatch(t):
        return int(m.group(1))
    if m := _LONE_NUMBER.fullmatch(t):
        return int(m.group(1))
    m = re.fullmatch(r"(\d{1,4})\s+\D.*|.*\D\s+(\d{1,4})", t) if varying else None
    return int(m.group(1) or m.group(2)) if m else None


def _zones(lines: list[str]) -> dict[int, list[tuple[str, int]]]:
    """The first and last few non-blank lines of a page: index -> its places, ('top', 0) for the first line,
    ('bottom', 0) for the last ..."""
    filled = [i for i, ln in enumerate(lines) if ln.strip()]
    places: dict[int, list[tuple[str, int]]] = {}
    for rank, i in enumerate(filled[:ZONE]):
        places.setdefault(i, []).append(("top", rank))
    for rank, i in enumerate(reversed(filled[-ZONE:])):
        places.setdefault(i, []).append(("bottom", rank))
    return places


def strip_running_lines(pages: list[str]) -> tuple[list[str], list[int]]:
    """Pages without their running headers and footers, and the page number printed on each (else its position).

    A line at the top or bottom of a page is running when the same line (numbers aside) stands in the same place
    (say, second from the top) on at least half of the pages, or when it is page furniture wherever it stands (a
    page number, "Page N of M", "N/M", a browser's print stamp or file address). The place matters: a title that
    opens the title page, the contents and a chapter is not a running header."""
    split = [p.split("\n") for p in pages]
    zones = [_zones(lines) for lines in split]
    seen = Counter((place, _shape(lines[i])) for lines, zone in zip(split, zones) for i in zone for place in zone[i])
    need = max(2, (len(pages) + 1) // 2)
    numbers: list[int | None] = []
    out = []
    for lines, zone in zip(split, zones):
        keep, printed = [], None
        for i, line in enumerate(lines):
            shape = _shape(line)
            repeated = len(pages) > 1 and len(shape) <= 160 and any(seen[(place, shape)] >= need for place in zone.get(i, ()))
            running = i in zone and (_page_line(line) or repeated)
            if not running:
                keep.append(line)
            elif printed is None:
                printed = _printed_number(line, "#" in shape)
        numbers.append(printed)
        out.append("\n".join(keep))
    return out, _consistent(numbers)


def _consistent(printed: list[int | None]) -> list[int]:
    """Printed page numbers filled in between the pages that show one; positions (1, 2, ...) when they disagree."""
    known = [(i, n) for i, n in enumerate(printed) if n is not None]
    if not known or any(b - a != j - i for (i, a), (j, b) in zip(known, known[1:])):
        return list(range(1, len(printed) + 1))
    i, n = known[0]
    return [max(1, n + k - i) for k in range(len(printed))]
