"""Citation checking: drop [n] markers that point nowhere, renumber the rest, and score each cited sentence.

Support is lexical: the share of a sentence's content words (lower-cased, stopwords removed, stemmed by the
word rules of assistant.text) that occur in the cited passage. A sentence that needs support but has no
citation scoring at least the threshold is flagged by appending UNVERIFIED after its markers (before its
full stop when the markers come first), e.g. "Federations share staff [1] (unverified)." Grouped markers such
as [1, 3] are rewritten as [1][3]. Everything here is pure and deterministic. MARKER is the one definition
of a marker: read one with `numbers_in`, a text's with `marker_numbers`, change them with `renumber`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.protocol import NOT_COVERED, NOT_GIVEN
from assistant.schema import Citation, Passage
from assistant.text import SUPPORT_STOPWORDS, split_words, stem

DEFAULT_THRESHOLD = 0.5
UNVERIFIED = " (unverified)"
QUOTE_CHARS = 400

# [3], [1, 2], [1;2], [2-4] (a range); [n][m] is simply two markers.
MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*)\s*\]")
# Anything bracketed that is made of digits and separators: what verify rewrites, or removes when MARKER finds no
# number in it. (A sentence boundary below takes only those that start with a digit: "[1,]" but not "[,]".)
_MARKER_LIKE = r"\[[\d\s,;–-]+\]"
# A run of adjacent markers with the space before it, rewritten as one: "x [3][1]" -> "x [1]", "x [9]" -> "x".
_MARKER_RUN = re.compile(rf"([ \t]*)({_MARKER_LIKE}(?:[ \t]*{_MARKER_LIKE})*)")

# A sentence ends at . ! or ? (plus closing quotes/brackets and any markers placed after the stop),
# followed by space and something that can start a sentence.
_BOUNDARY = re.compile(
    r"[.!?]+[\"'”’)\]]*(?:\s*\[\s*\d[\d\s,;–-]*\])*(?P<ws>[ \t]+)(?=[A-Z0-9\"'“‘(*_])"
)
_ABBREVIATIONS = frozenset(
    "e.g i.e cf dr mr mrs ms prof st vs approx al inc ltd co jan feb mar apr jun jul aug sep sept "
    "oct nov dec rev hon dept".split()
)
# Abbreviations only when a number follows: "No. 5", "p. 12"; otherwise "no." may end a sentence.
_NUMBERED = frozenset("no nos p pp para paras fig figs vol ch sec".split())
_INITIALS = re.compile(r"^(?:[a-z]\.)*[a-z]$")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s|\*\*[^*]+\*\*:?\s*$|__[^_]+__:?\s*$)")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


def content_words(text: str) -> set[str]:
    """Stemmed content words of `text`: lower-cased, markers and stopwords removed."""
    text = MARKER.sub(" ", text.lower().replace("’", "'"))
    text = re.sub(r"'s\b", "", text)
    return {stem(w) for w in split_words(text) if w not in SUPPORT_STOPWORDS and (len(w) > 1 or w.isdigit())}


def _is_abbreviation(before: str, after: str) -> bool:
    """Whether the word ending just before a full stop is an abbreviation or an initial."""
    word = before.rsplit(None, 1)[-1] if before.strip() else ""
    word = word.lstrip("(\"'“‘").lower()
    if word in _NUMBERED:
        return after[:1].isdigit()
    return word in _ABBREVIATIONS or bool(_INITIALS.match(word))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text`; lines are split first, so bullets stand alone."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        start = 0
        for m in _BOUNDARY.finditer(body):
            stop = body[start : m.start()]
            if body[m.start()] == "." and _is_abbreviation(stop, body[m.end() :]):
                continue
            end = m.start("ws")
            if body[start:end].strip():
                spans.append((pos + start, pos + end))
            start = m.end()
        if body[start:].strip():
            spans.append((pos + start, pos + len(body.rstrip())))
        pos += len(line)
    # Trim leading spaces so spans start on the first character of the sentence.
    return [(s + (len(text[s:e]) - len(text[s:e].lstrip())), e) for s, e in spans]


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, stripped; robust to abbreviations (e.g., Dr.) and decimals (2.5)."""
    return [text[s:e].strip() for s, e in sentence_spans(text)]


def numbers_in(marker: re.Match[str]) -> list[int]:
    """The numbers one MARKER match cites, ranges expanded: "[1, 3-4]" gives [1, 3, 4]."""
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", marker.group(1).strip()):
        bounds = re.split(r"\s*[–-]\s*", part)
        if len(bounds) == 2 and bounds[0] and bounds[1] and int(bounds[1]) - int(bounds[0]) in range(0, 20):
            out.extend(range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            out.extend(int(b) for b in bounds if b)
    return out


def marker_numbers(text: str) -> list[int]:
    """Every number the [n] markers of `text` cite, in order of appearance (repeats kept, ranges expanded)."""
    return [n for m in MARKER.finditer(text) for n in numbers_in(m)]


def renumber(text: str, mapping: dict[int, int]) -> str:
    """`text` with each marker written as [a][b]..., every number n as mapping[n] (unmapped numbers kept)."""
    return MARKER.sub(lambda m: "".join(f"[{mapping.get(n, n)}]" for n in numbers_in(m)), text)


def needs_support(sentence: str) -> bool:
    """Whether a sentence is a claim that should carry a citation (not a heading, lead-in or empty)."""
    if _HEADING.match(sentence):
        return False
    body = _BULLET.sub("", MARKER.sub("", sentence)).strip()
    if not body or not re.search(r"[A-Za-z]", body) or body.endswith(":") or body.startswith(NOT_GIVEN):
        return False  # a lead-in, or the answer saying what the reports don't give (a claim about absence)
    short = len(body.split()) <= 6 and not re.search(r"[.!?]$", body)
    if short and not _BULLET.match(sentence) and not MARKER.search(sentence):
        return False  # a short line without a full stop or marker: a heading
    return bool(content_words(body))


def support(sentence: str, passage: Passage) -> tuple[float, str]:
    """(share of the sentence's content words found in the passage, best-matching passage sentence)."""
    words = content_words(sentence)
    c = passage.chunk
    evidence = content_words(" ".join([c.index_text(), c.publisher, str(c.year or "")]))
    score = len(words & evidence) / len(words) if words else 1.0
    best, best_hits = "", -1
    # In a case box every line is about the organisation: its name's words pick no line ("Suffolk GP Federation is a
    # community interest company" is quoted from "Legal status: Community interest company", not "Federation: ...").
    telling = (words - content_words(c.case_study)) or words
    for candidate in split_sentences(c.text) or [c.text]:
        hits = len(telling & content_words(candidate))
        if hits > best_hits:
            best, best_hits = candidate, hits
    best = best.strip()
    if len(best) > QUOTE_CHARS:
        best = best[: QUOTE_CHARS - 1].rstrip() + "…"
    return score, best


def _flag_at(sentence: str) -> int:
    """Where UNVERIFIED goes: after trailing markers, else before the final punctuation."""
    markers = list(MARKER.finditer(sentence))
    if markers and re.fullmatch(r"[\s.!?\"'”’)]*", sentence[markers[-1].end() :]):
        return markers[-1].end()
    m = re.search(r"[.!?]+[\"'”’)]*\s*$", sentence)
    return m.start() if m else len(sentence.rstrip())


def _numbering(text: str, count: int) -> dict[int, int]:
    """Passage number -> citation number, 1..m in order of first use; numbers with no passage left out."""
    mapping: dict[int, int] = {}
    for n in marker_numbers(text):
        if 1 <= n <= count and n not in mapping:
            mapping[n] = len(mapping) + 1
    return mapping


def _rewrite_markers(original: str, mapping: dict[int, int]) -> tuple[str, list[int]]:
    """A sentence with each run of markers written as [a][b] in citation numbers (dead and repeated ones dropped),
    and the citation numbers it uses, in order."""
    cited: list[int] = []

    def rewrite(m: re.Match[str]) -> str:
        fresh: list[int] = []
        for n in marker_numbers(m.group(2)):
            if n in mapping and mapping[n] not in cited and mapping[n] not in fresh:
                fresh.append(mapping[n])
        cited.extend(fresh)
        return m.group(1) + "".join(f"[{n}]" for n in fresh) if fresh else ""

    sentence = _MARKER_RUN.sub(rewrite, original)
    if sentence[:1].isspace() and not original[:1].isspace():
        sentence = sentence.lstrip()
    return sentence, cited


def verify(
    text: str, passages: Sequence[Passage], threshold: float = DEFAULT_THRESHOLD
) -> tuple[str, tuple[Citation, ...], float]:
    """Check every [n] marker; return (cleaned text, citations renumbered 1..m by first use, grounded score)."""
    mapping = _numbering(text, len(passages))
    source = {new: passages[old - 1] for old, new in mapping.items()}  # citation number -> passage
    refusal = text.strip().startswith(NOT_COVERED)

    scores: dict[int, list[float]] = {}  # citation number -> support of each sentence citing it
    quotes: dict[int, str] = {}
    out: list[str] = []
    needing = grounded_count = 0
    last = 0
    for start, end in sentence_spans(text):
        out.append(text[last:start])
        last = end
        original = text[start:end]
        sentence, cited = _rewrite_markers(original, mapping)
        best = 0.0
        for new in cited:
            score, quote = support(original, source[new])
            scores.setdefault(new, []).append(score)
            quotes.setdefault(new, quote)
            best = max(best, score)
        if not refusal and needs_support(sentence):
            needing += 1
            if cited and best >= threshold:
                grounded_count += 1
            else:
                at = _flag_at(sentence)
                sentence = sentence[:at] + UNVERIFIED + sentence[at:]
        out.append(sentence)
    out.append(text[last:])

    citations = tuple(
        Citation(n=new, passage=source[new], quote=quotes[new], supported=all(s >= threshold for s in scores[new]),
                 support=min(scores[new]))
        for new in sorted(scores)
    )
    grounded = grounded_count / needing if needing else 1.0
    return "".join(out), citations, grounded
