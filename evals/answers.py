"""Answer-level metrics: evidence stated, parts covered, near misses declined, fragments, misattributed sentences.

These read the answer text a user reads, not the passages. The rules for a fragment and for a misattributed
sentence are the judge's, written here independently of the answerer's own selection rules, so that the
metric can catch the answerer out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from assistant.answering.citations import MARKER, split_sentences
from assistant.answering.protocol import is_not_given
from assistant.answering.sentences import DUMMY_IT
from assistant.organisations import named_in
from assistant.schema import Answer
from evals.metrics import NEAR_MISS, evidence_quotes, is_relevant, mean

TWO_PART = "two_part"

# Openings that lean on a sentence before them; unresolved when nothing before them in the same paragraph
# comes from the same passage.
# "It is unclear how CCGs ..." opens on an "it" for what follows (the answerer's own rule, sentences.DUMMY_IT).
_ANAPHORA = re.compile(rf"^(this|these|that|those|it(?! {DUMMY_IT[3:]})|its|they|their|but|however|such|he|she|both|"
                       r"also)\b", re.I)
# "RCGP.1 In", "super-partnership1 and": a footnote number fused to a word.
_SELF = re.compile(r"^(this|these) (\w+ )?(report|reports|paper|document|summary|briefing|study|studies|section|"
                   r"chapter|seminar|seminars|event|slides?|toolkit)\b", re.I)
_FUSED_FOOTNOTE = re.compile(r"[a-z]{3,}[.,]?\d{1,2}(?=\s+[A-Za-z])")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_CAPS_RUN = re.compile(r"[a-z,] [A-Z][a-z]+ (?:[A-Z][a-z]+ )*[a-z]+ [a-z]")
# Sentences the answerer writes itself (not quotes): they carry no marker and are not debris by construction.
_OWN = re.compile(r"^(the reports (don't|do not|in the library)|by comparison|for comparison|in short)", re.I)


def answer_sentences(text: str) -> list[tuple[str, str, str]]:
    """(line, sentence without markers, markers) for each sentence of each line (paragraph or bullet) of an answer."""
    out = []
    for line in text.splitlines():
        body = re.sub(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+", "", line).strip()
        if not body or body.endswith(":") and not MARKER.search(body):
            continue  # a lead-in to a list the answerer wrote ("The reports list these forms:")
        for s in split_sentences(body):
            markers = " ".join(m.group(0) for m in MARKER.finditer(s))
            out.append((line, MARKER.sub("", s).strip(), markers))
    return out


def fragment_reason(sentence: str, *, first_in_line: bool, same_source_before: bool) -> str:
    """Why a cited answer sentence is debris ("" when it reads as a whole sentence)."""
    words = _WORD.findall(sentence)
    core = sentence.rstrip(" .")
    if core.endswith(":"):
        return "ends in a colon"
    if not re.match(r"[A-Z0-9‘“\"(]", sentence):
        return "starts in lower case"
    if len(words) < 4:
        return "too short"
    if _FUSED_FOOTNOTE.search(sentence):
        return "footnote digit fused to a word"
    if _ANAPHORA.match(sentence) and not _SELF.match(sentence) and (first_in_line or not same_source_before):
        return "opens with an unresolved reference"
    caps = [w for w in words[1:] if w[0].isupper()]
    if len(words) >= 6 and len(caps) / (len(words) - 1) > 0.5:
        return "reads as a heading or table row"
    # Cells run into a label: a run of capitalised words just before the colon ("... Transformation Plans Local
    # history and context: GP fundholding"). A name after the colon or far before it is prose ("...: A federation of
    # 21 general practices in North West London with ...", "In the US, cultivating the Patent Centered Medical Home
    # model has been seen as critical ... performance: improving ..."): five such sentences were counted before.
    colon = sentence.find(":")
    if any(0 <= colon - m.end() <= 30 for m in _CAPS_RUN.finditer(sentence)):
        return "table cells run together"
    return ""


def fragments(text: str) -> list[tuple[str, str]]:
    """(sentence, reason) for every cited sentence of the answer that is debris."""
    found = []
    previous_line, previous_markers = None, ""
    for line, sentence, markers in answer_sentences(text):
        first = line is not previous_line
        if markers and not _OWN.match(sentence):
            # A marker closes the run of sentences before it in the same line ("A. This meant B. [1]").
            same = not first and previous_markers in ("", markers)
            reason = fragment_reason(sentence, first_in_line=first, same_source_before=same)
            if reason:
                found.append((sentence, reason))
        previous_line, previous_markers = line, markers
    return found


def misattributed(answer: Answer, organisations: Sequence[str]) -> list[str]:
    """Cited sentences about another organisation than the one the question is about, unlabelled."""
    asked = set(named_in(answer.question, organisations))
    if not asked:
        return []
    by_n = {c.n: c for c in answer.citations}
    bad = []
    for _line, sentence, markers in answer_sentences(answer.text):
        if not markers or re.match(r"(by|for) comparison|in comparison|unlike|elsewhere", sentence, re.I):
            continue
        if set(named_in(sentence, organisations)) & asked:
            continue
        nums = [int(n) for m in MARKER.findall(markers) for n in re.findall(r"\d+", m)]
        about = set()
        for n in nums:
            if n in by_n:
                chunk = by_n[n].passage.chunk
                about |= set(named_in(" ".join((chunk.case_study, chunk.section)), organisations))
        about |= set(named_in(sentence, organisations))
        if about and not about & asked:
            bad.append(sentence)
    return bad


def answer_metrics(row: dict[str, Any], answer: Answer, *, retrieved: bool | None,
                   organisations: Sequence[str]) -> dict[str, Any]:
    """Per-question answer metrics; `retrieved` says whether the evidence was in the top 5 passages."""
    text = MARKER.sub("", answer.text)
    quotes = evidence_quotes(row)
    out: dict[str, Any] = {"evidence_stated": None, "parts_covered": None, "near_miss_declined": None}
    if quotes and retrieved and not answer.refused:
        out["evidence_stated"] = is_relevant(text, quotes)
    if row.get("kind") == TWO_PART:
        # A part the reports answer (it has a quote) is covered only by stating it: "the reports don't give GP
        # Care's legal form" is wrong when they do. Saying so covers only a part they don't answer (no quote).
        quotes_by_part = [row.get("evidence") or "", row.get("evidence_2") or ""]
        not_given = [s for _l, s, _m in answer_sentences(answer.text) if is_not_given(s)]
        out["parts_covered"] = all(is_relevant(text, [q]) if q.strip() else _marked_missing(part, not_given)
                                   for q, part in zip(quotes_by_part, row.get("parts") or ["", ""]))
    if row.get("kind") == NEAR_MISS:
        out["near_miss_declined"] = answer.refused or is_not_given(answer.text)
    frags = fragments(answer.text) if not answer.refused else []
    wrong = misattributed(answer, organisations) if not answer.refused else []
    out.update(fragments=len(frags), fragment_examples=[f"{s} ({r})" for s, r in frags[:3]],
               misattributed=len(wrong), misattributed_examples=wrong[:3])
    return out


# Words any question may hold: a "don't give" sentence sharing only these ("what", "does") is about no part in particular.
_ASKING = frozenset("what which when where whom whose does have been were should could would their there they them "
                    "that this with from about into much many".split())


def _marked_missing(part: str, not_given: Sequence[str]) -> bool:
    """Whether one of the answer's "the reports don't give" sentences is about this part."""
    words = {w.lower() for w in _WORD.findall(part) if len(w) > 3} - _ASKING
    return any(words & {w.lower() for w in _WORD.findall(s)} for s in not_given)


def summarise_answers(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate answer metrics over one arm's records."""
    answered = [r for r in records if not r.get("refused") and r.get("kind") != "out_of_scope"]
    return {
        "evidence_stated": mean(r.get("evidence_stated") for r in records),
        "parts_covered": mean(r.get("parts_covered") for r in records),
        "near_miss_declined": mean(r.get("near_miss_declined") for r in records),
        "fragments": sum(r.get("fragments", 0) for r in answered),
        "misattributed": sum(r.get("misattributed", 0) for r in answered),
    }
