"""Repair PDF-extraction artefacts in report text and split it into paragraphs under their headings."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate

from assistant.schema import Block
from assistant.ingest.sections import LABEL_RE, assign_sections_and_cases, classify_headings, is_terminal
from assistant.ingest.units import Line, Unit

MIN_WORDS, MAX_WORDS = 30, 300  # natural block size; shorter units are merged with their neighbours

_CHARMAP = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                          "\ufb05": "ft", "\ufb06": "st", "\r": "\n", "\v": "\n", "\f": "\n\f",
                          **dict.fromkeys("\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")})
# Words a lost ligature or "Th" glyph (shown as U+FFFD) most often came from, for when the document lacks them.
_COMMON = set("threat threats qualified influence first find field final financial flow flexible office effect "
              "effective efficient difficult benefit benefits specific profit identified significant conflict "
              "affect staff offer the this that there these those three through other health further".split())
# A hyphen at a line end after one of these words is part of a real compound ("peer-\nreview").
_KEEP_HYPHEN = set("peer self out large small multi co non well super long short high low loss day to in cross "
                   "full part half one two three four sub pre post anti ex semi face year week time".split())
# Row labels of the flattened case-study tables; each starts a readable "Label: value." line.
_FIELD_RE = re.compile(r"(Date established|Legal status|Main drivers|Local levers|Number of partners|Number of "
                       r"practices|Number of employees|Registered population|Care locations|Service portfolio|"
                       r"Identified benefits|Year founded|List size|Contract types|Main purpose)\b[\s:]*(.*)", re.I)
_DOT = "[\u2022\u25aa\u25cf\u25e6\u25a0\u2023\u2043]"  # bullet glyphs
_BULLET_RE = re.compile(rf"(?:{_DOT}|[-*](?=\s)|\u2013(?=\s+[A-Z0-9]))\s*(.*)")
_LONE_MARK_RE = re.compile(rf"{_DOT}|[*-]|\d{{1,2}}[.)]")
_CAPTION_RE = re.compile(r"(figure|fig\.|table|chart|source|notes?|graph|diagram|image)\b", re.I)
_DROP_RE = re.compile(r"(\d{1,2}\s+)?<?(https?://|www\.)\S+>?|(section|chapter|part)\s+(\d+|one|two|three|four|five|"
                      r"six|seven|eight|nine|ten)|(table of )?contents", re.I)  # bare links, part numbers, contents
_STOP = set("a an and or of to in for with by the from at on as is are be that which".split())  # never end a heading
_PARA_NUMBER_RE = re.compile(r"\d{1,2}(?:\.\d{1,2})+\.?\s+[A-Z]")  # "1.3. An objective", "3.2 Managing"
_NUMBERED_RE = re.compile(r"(box|design principle|chapter|section|appendix)\s+\d", re.I)


def clean_text(raw: str, page_numbers: Sequence[int] | None = None) -> list[Block]:
    """Repair extraction artefacts and split a document into paragraphs under their headings.

    With `page_numbers`, `raw` is a paged document's pages joined by form feeds (running headers and footers
    already removed, see pages.py), and page k's lines are on page `page_numbers[k]`."""
    if not isinstance(raw, str) or not raw.strip():
        return []
    text = _normalise(raw)
    vocab = Counter(w.lower() for w in re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", text))
    if "\ufffd" in text:  # split on whitespace rather than scanning with a regex: long lines stay linear
        parts = re.split(r"(\s+)", text)
        text = "".join(_repair_word(p, vocab, k == 0 or "\n" in parts[k - 1]) if "\ufffd" in p else p
                       for k, p in enumerate(parts))
    lines = _prepare_lines(text, page_numbers)
    if page_numbers is None:
        _assign_pages(lines)
    # The most frequent hyphenated spelling of each word, to restore hyphens lost at line ends.
    hyphened = {w.replace("-", ""): (w, n) for w, n in sorted(vocab.items(), key=lambda x: x[1]) if "-" in w}
    units = _segment(lines, paged=page_numbers is not None)
    for u in units:
        u.text = _render(u, vocab, hyphened)
    units = [u for u in units if u.text]
    slides = classify_headings(units)
    assign_sections_and_cases(units)
    for u in units if slides else []:  # a slide's title is part of what the slide says
        u.kind = "para" if u.kind == "heading" else u.kind
    return _build_blocks(units)


def _normalise(raw: str) -> str:
    """Unify newlines and characters; drop controls, superscript footnote marks and Markdown markup."""
    # Private-use glyphs in these PDFs are bullets; other controls, format and unassigned characters go.
    cats = {"Co": "\u2022", "Zs": " ", "Zl": "\n", "Zp": "\n"}
    text = "".join(ch if ch in "\n\t\f" or (c := unicodedata.category(ch))[0] not in "CZ" else cats.get(c, "")
                   for ch in raw.replace("\r\n", "\n").translate(_CHARMAP))
    # A Markdown heading ("## About the federation") stands alone between blank lines, where headings are found.
    text = re.sub(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", r"\n\1\n", text)
    text = re.sub(r"\*\*([^*\n]+(?:\n[^*\n]+)?)\*\*", r"\1", text)  # **bold**, possibly wrapped once
    text = re.sub(r"(?<![\w*])\*([^*\n]+?)\*(?![\w*])", r"\1", text)  # *italic*
    text = re.sub(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)", r"\1 (\2)", text)
    return re.sub(r"<((?:https?|ftp)://[^>\s]+)>", r"\1", text).replace("**", "")


def _repair_word(word: str, vocab: Counter, line_start: bool) -> str:
    """Replace U+FFFD with the letters that make a known word ("�reat" -> "Threat"), else drop it."""
    core = re.sub(r"^[^\w\ufffd]+|[^\w\ufffd]+$", "", word)
    for cand in ("fi", "fl", "ff", "ffi", "ffl", "ft", "th") if word.count("\ufffd") == 1 else ():
        fixed = core.replace("\ufffd", cand)
        if fixed.lower() in vocab or fixed.lower() in _COMMON:
            if core.startswith("\ufffd") and (line_start or word[0] != "\ufffd"):
                fixed = fixed[0].upper() + fixed[1:]  # a glyph opening a line is a capital ("Th")
            return word.replace(core, fixed)
    return word.replace("\ufffd", "")


def _head_candidates(t: str) -> list[tuple[str, int]]:
    """(lowercased text, page number or 0) readings of a line that may be a running header or footer."""
    if not t or len(t) > 120 or not re.search(r"[^\W\d]{3}", t):
        return []
    m = re.fullmatch(r"(\d{1,3})\s+(.+)", t) or re.fullmatch(r"(.+?)\s+(\d{1,3})", t)
    if not m:
        return [(t.lower(), 0)]
    num, rest = (m.group(1), m.group(2)) if m.group(1).isdigit() else (m.group(2), m.group(1))
    return [(t.lower(), 0), (rest.lower(), int(num))]


def _prepare_lines(text: str, page_numbers: Sequence[int] | None = None) -> list[Line]:
    """Drop running heads, page numbers, contents lines, separators and lone bullets; mark gaps and breaks."""
    raw, parts, part = [], [], 0
    for line in text.split("\n"):
        part += line.count("\f")
        parts.append(part)
        brk = line.startswith("\f") or (line.startswith(" ") and not line.startswith("  ") and line.strip() != "")
        if "\t" in line and re.fullmatch(r"[^\t]*\t\s*\d*\s*", line):
            line = ""  # table of contents entry: text TAB page
        raw.append((" ".join(line.replace("\f", "").split()), brk))
    number = lambda j: int(raw[j][0]) if 0 <= j < len(raw) and re.fullmatch(r"\d{1,3}", raw[j][0]) else 0
    # Running heads: short lines repeated on several pages, at least once next to a page number.
    seen, numbered = Counter[str](), set[str]()
    for i, (t, _) in enumerate(raw):
        for cand, num in _head_candidates(t):
            seen[cand] += 1
            if num or any(number(j) for j in (i - 2, i - 1, i + 1, i + 2)):
                numbered.add(cand)
    titles = {c for c in numbered if seen[c] >= 2 and 3 <= len(c.split()) <= 15}
    page_of, drop = {}, set()
    for i, (t, _) in enumerate(raw):
        for cand, num in _head_candidates(t):
            if cand in titles:
                drop.add(i)
                j = next((j for j in (i - 1, i - 2, i + 1, i + 2) if number(j)), None)
                if num or j is not None:
                    page_of[i] = num or number(j)
                if j is not None:
                    drop.add(j)
    out, gap, bullets, anchor, last = [], False, 0, None, 0
    for i, (t, brk) in enumerate(raw):
        if page_of.get(i, 0) > last:
            anchor = last = page_of[i]
        if i in drop or not t:
            gap = gap or not t
            continue
        if re.fullmatch(r"\d{1,3}", t):
            isolated = (i == 0 or not raw[i - 1][0]) and (i + 1 == len(raw) or not raw[i + 1][0])
            if isolated and last < int(t) <= last + 60 and int(t) >= 2:
                anchor = last = int(t)  # a page-number-only line; otherwise a footnote marker
        elif _LONE_MARK_RE.fullmatch(t):
            bullets += 1
        elif not re.search(r"\w", t) or _DROP_RE.fullmatch(t):
            gap = gap or not re.search(r"\w", t)
        else:
            page = page_numbers[min(parts[i], len(page_numbers) - 1)] if page_numbers else None
            out.append(Line(t, brk, gap, bullets, anchor, page))
            gap, bullets, anchor = False, 0, None
    return out


def _assign_pages(lines: list[Line]) -> None:
    """Give every line a page: printed numbers anchor the count of page breaks between them."""
    anchors = [(i, ln.anchor) for i, ln in enumerate(lines) if ln.anchor]
    events = list(accumulate(int(ln.brk or ln.anchor is not None) for ln in lines))
    for i, ln in enumerate(lines if anchors else []):
        n = bisect.bisect_right(anchors, (i, float("inf")))  # anchors at or before line i
        if not n:
            j, page = anchors[0]
            ln.page = max(1, page - (events[j] - events[i]))
            continue
        j, page = anchors[n - 1]
        k = events[i] - events[j]
        if n < len(anchors):
            j2, page2 = anchors[n]
            n = events[j2] - events[j]
            k = k if n <= page2 - page else k * (page2 - page) // n  # more breaks than pages: spread them
        ln.page = page + k


def _starts_lower(t: str) -> bool:
    """Whether a line opens in lower case (past quotes and brackets): it continues a sentence."""
    return t.lstrip("‘'\"“([")[:1].islower()


def _fits(prev: str, t: str, width: int) -> bool:
    """True when the next line's first word would have fitted: the line was broken on purpose."""
    return len(prev) + 1 + len(t.split()[0]) <= width


def _heading_shape(t: str) -> bool:
    """Whether a line looks like a heading on its own: short, capitalised, unpunctuated, mostly letters."""
    words = t.split()
    if not 1 <= len(words) <= 14 or len(t) > 110 or t[-1] in ".,;:-" or not (t[0].isupper() or t[0].isdigit()):
        return False
    if (t[0].isdigit() and not re.match(r"\d{1,2}(?:\.\d{1,2})*\.?\s+[A-Z]", t)) or _CAPTION_RE.match(t) or LABEL_RE.match(t):
        return False
    if re.search(r"[@/]|www\.|\. [A-Z]", t[3:]) or t.count(",") >= 2 or re.search(r"\b(19|20)\d\d$", t):
        return False  # addresses, sentences, name lists and attributions ("King's Fund, 2016")
    return sum(c.isalpha() for c in t) >= 0.6 * len(t.replace(" ", ""))


def _heading_lines(lines: list[Line], i: int, width: int) -> int:
    """How many lines (0, 1 or 2) form a heading starting at line i, judged by shape and what follows."""
    t = lines[i].text
    nxt, after = (lines[i + 1] if i + 1 < len(lines) else None), (lines[i + 2] if i + 2 < len(lines) else None)
    # A heading neither ends on a function word nor leaves a bracket open.
    closed = lambda s: s.split()[-1].lower() not in _STOP and s.count("(") == s.count(")") and len(s.split()) <= 12
    if nxt is None or not _heading_shape(t):
        return 0
    if _starts_lower(nxt.text):  # a heading wrapped onto a second line
        both = t + " " + nxt.text
        ok = not nxt.gap and len(nxt.text.split()) <= 6 and _heading_shape(both) and closed(both)
        ok = ok and (_fits(t, nxt.text, width) or not after or after.gap)
        return 2 if ok and not (after and not after.gap and _starts_lower(after.text)) else 0
    short = len(t) <= 0.8 * width or bool(_NUMBERED_RE.match(t))  # not the first line of a wrapped paragraph
    return int(closed(t) and (nxt.gap or (_fits(t, nxt.text, width) and short)))


def _continues(cur: Unit, ln: Line, lines: list[Line], i: int, width: int, in_fields: bool, paged: bool) -> bool:
    """Whether line i carries on the current unit (a wrapped line) rather than starting a new one."""
    prev, t = (cur.lines[-1] if cur.lines else cur.label), ln.text
    if len(cur.lines) == 1 and _CAPTION_RE.match(prev) and ":" in prev:
        return _starts_lower(t)  # a caption stands alone
    if ln.gap and ln.brk:  # after a blank line a page-start line is a lost bullet, unless a footnote cut a sentence
        return not is_terminal(prev) and not in_fields and not _starts_lower(t) and not _heading_shape(t)
    if ln.gap:  # a bullet's text may run on after a blank line
        return not is_terminal(prev) and (_starts_lower(t) or in_fields or (
            cur.kind == "item" and not _heading_shape(t) and not _CAPTION_RE.match(t)))
    if (prev.endswith("-") and not prev.endswith(" -")) or _starts_lower(t):
        return True
    if not is_terminal(prev):  # a wrapped line, unless a page opens with a title
        return not (ln.brk and (in_fields or _heading_lines(lines, i, width)))
    if paged and (_PARA_NUMBER_RE.match(t) or _heading_lines(lines, i, width)):
        # After a full stop, a numbered paragraph ("1.3. An objective ...") or a heading starts afresh: PDF text
        # has no blank lines between paragraphs. Paged sources only: on the seed reports' text it would re-cut
        # 5 chunks of one report (finding its heading "Learning from past experience"), and they are kept as indexed.
        return False
    return not ln.brk and not _fits(prev, t, width)


def _segment(lines: list[Line], paged: bool = False) -> list[Unit]:
    """Re-flow lines into units: headings, paragraphs, list items, table cells and case-study fields."""
    widths = [max(len(ln.text) for ln in lines[max(0, i - 4): i + 5]) for i in range(len(lines))]
    wide = sorted(len(ln.text) for ln in lines)[int(len(lines) * 0.9)] if lines else 0
    units: list[Unit] = []
    cur: Unit | None = None
    in_fields = skip = appendix = cells = False
    forced: dict[int, bool] = {}
    for i, ln in enumerate(lines):
        t, width = ln.text, widths[i]
        if skip:  # the second line of a two-line heading
            skip = False
            continue
        if not cells and ln.bullets and (not cur or cur.kind in ("heading", "item") or is_terminal((cur.lines or [":"])[-1])):
            forced.update(_list_items(lines, i, widths, wide))
        # A table flattened into blank-separated cells gives one unit per cell; announced list items are forced.
        new = (ln.gap or ln.brk or not cur or cur.kind != "cell") if cells else forced.get(i, None)
        if new is not None:
            if new or not cur:
                cur = Unit("cell" if cells else "item", [t], ln)
                units.append(cur)
            else:
                cur.lines.append(t)
                cur.end = ln.page
            continue
        bullet = _BULLET_RE.fullmatch(t)
        fieldm = _FIELD_RE.fullmatch(t) if appendix else None  # case-study tables live in appendices
        if cur and cur.kind != "heading" and not bullet and not fieldm and _continues(cur, ln, lines, i, width, in_fields, paged):
            cur.lines.append(t)
            cur.end = ln.page
            continue
        take = 0 if bullet or fieldm or (in_fields and ":" not in t) else _heading_lines(lines, i, width)
        if take and units and units[-1].text.startswith(("“", '"', "‘")) and not re.match(r"\d{1,2}(\.\d{1,2})*\.?\s", t):
            take = 0  # the attribution line under a quotation (a numbered heading is none)
        if bullet and bullet.group(1):
            cur = Unit("item", [bullet.group(1)], ln)
        elif fieldm:
            cur = Unit("field", [fieldm.group(2)] if fieldm.group(2) else [], ln, label=fieldm.group(1).capitalize())
            in_fields = True
        elif take:
            cur = Unit("heading", [t] + ([lines[i + 1].text] if take == 2 else []), ln)
            in_fields, skip = False, take == 2
            appendix = appendix or t.lower().startswith("appendix")
            # A table follows when three short lines stand alone, like column headers.
            rest = lines[i + take:i + take + 4] + [Line("x", gap=True)]
            cells = t.lower().startswith("appendix") and len(rest) > 3 and all(
                len(a.text.split()) <= 5 and not is_terminal(a.text) and (b.gap or b.brk) for a, b in zip(rest[:3], rest[1:4]))
        else:
            cur = Unit("item" if in_fields else "para", [t], ln)
        cur.text = cur.lines[0][:3] if cur.lines else ""  # enough for the attribution check; rendered later
        units.append(cur)
    return units


def _list_items(lines: list[Line], i: int, widths: list[int], wide: int) -> dict[int, bool]:
    """Split the lines after k lone bullets into k items, breaking where the next word would have fitted."""
    j = i + 1
    while j < len(lines) and not (lines[j].gap or lines[j].brk or lines[j].bullets):
        j += 1
    slack = sorted(((max(widths[m], wide) - len(lines[m].text) - 1 - len(lines[m + 1].text.split()[0]), m + 1)
                    for m in range(i, j - 1)), reverse=True)
    starts = {m for s, m in slack[:lines[i].bullets - 1] if s >= 0}
    return {m: m == i or m in starts for m in range(i, j)}


def _join(a: str, b: str, vocab: Counter) -> str:
    """Join two wrapped lines, undoing line-end hyphenation unless the hyphen belongs to a compound."""
    if not a or not (a.endswith("-") and len(a) > 1 and a[-2].isalpha()):
        return f"{a} {b}" if a else b
    first = re.split(r"[\s\-–]", a[:-1])[-1].lower()
    letters = re.match(r"[^\W\d_]*", b)  # '*' matches, perhaps nothing, at the start of any text
    second = letters.group().lower() if letters else ""
    if not b[:1].islower() or f"{first}-{second}" in vocab or (first + second not in vocab and first in _KEEP_HYPHEN):
        return a + b
    return a[:-1] + b


def _render(u: Unit, vocab: Counter, hyphened: dict[str, tuple[str, int]]) -> str:
    """A unit's text: lines joined, glued footnote numbers dropped, lost hyphens restored, a field labelled."""
    text = ""
    for line in u.lines:
        text = _join(text, line, vocab)
    # Footnote numbers glued to words or closing punctuation: "super-partnership1", "Trust.1", "2013)1".
    text = re.sub(r"(?:(?<=[a-z]{3})|(?<=[a-z][.,;:’”)])|(?<=\d\)))\d{1,2}(?=[\s,.;:)’”]|$)", "", text)

    def rehyphen(m: re.Match) -> str:  # words that lost a hyphen at a line end: "out-ofhours", "highquality"
        w = m.group()
        variant, n = hyphened.get(w.lower().replace("-", ""), ("", 0))
        ok = len(w) >= 8 and variant.count("-") > w.count("-") and n >= 2 * vocab[w.lower()]
        return w[0] + variant[1:] if ok else w

    text = " ".join(re.sub(r"[^\W\d_]+(?:-[^\W\d_]+)*", rehyphen, text).split())
    # Bullets left inside a line come from flattened table cells: they separate values.
    text = re.sub(rf"^(?:{_DOT}\s*)+|(?:\s*{_DOT})+$", "", re.sub(rf"(?:\s*{_DOT})+\s+(?=\S)", "; ", text))
    if u.kind == "field":
        text = f"{u.label}: {text}" if text else u.label
        text += "" if is_terminal(text) or text.endswith((";", ",")) else "."
    return text


def _build_blocks(units: list[Unit]) -> list[Block]:
    """Merge short units of one section and case study into blocks of natural size."""
    blocks: list[list] = []  # [texts, section, page, case, words, last page]
    for u in units:
        if u.kind == "heading" or not u.text:
            continue
        w, last = len(u.text.split()), (blocks[-1] if blocks else None)
        if (last and (last[1], last[3]) == (u.section, u.case) and last[4] + w <= MAX_WORDS
                and (last[0][-1].endswith(":") or last[4] < MIN_WORDS or w < MIN_WORDS)):
            last[0].append(u.text)
            last[4] += w
            last[5] = max(last[5], u.end or u.first.page or 0)
        else:
            blocks.append([[u.text], u.section, u.first.page, u.case, w, u.end or u.first.page or 0])
    return [Block(text="\n".join(b[0]), section=b[1], page=b[2], case_study=b[3],
                  last_page=b[5] if b[2] is not None and b[5] > b[2] else None) for b in blocks]
