"""Draft guidance mode: a cited briefing note for commissioners, written section by section from the reports."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from assistant.answering.citations import MARKER, verify
from assistant.answering.guardrails import check_scope, clean_question, salient_terms
from assistant.answering.protocol import NOT_COVERED, Answerer
from assistant.collection import Collection
from assistant.documents.figures import disagreement_warning, disagreements, known_organisations, named_in
from assistant.documents.library import Library
from assistant.documents.outline import Outline, ReferenceBook, prepared, reference_entries
from assistant.documents.writing import drop_repeats, extractive_writer, prompted
from assistant.errors import InputError, LLMError
from assistant.organisations import ALIASES, canonical, org_key
from assistant.schema import Citation, Passage

PER_SECTION = 4  # offline sentences per section: enough to brief, short enough to read


def _extractive(library: Library) -> Answerer:
    """The extractive writer for notes: twice the sentences a section shows, so repeats can be dropped."""
    return extractive_writer(library, max_sentences=2 * PER_SECTION, passages_used=5)


class Section(NamedTuple):
    """One part of a note: heading, text with global [n] markers, and the citations those markers name."""

    heading: str
    text: str
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True)
class BriefingNote:
    """A briefing note: sections whose [n] markers all point into one numbered reference list."""

    title: str
    sections: tuple[Section, ...]
    references: tuple[Citation, ...]
    warnings: tuple[str, ...] = ()
    topic: str = ""
    answerer: str = "offline"
    created: date = field(default_factory=date.today)
    library: Collection = field(default_factory=Collection)  # the documents it was written from

    def outline(self) -> Outline:
        """Title, date line, warnings, the sections in order, the reference entries and the library's dates note."""
        return Outline(self.title, prepared(self.created, self.answerer, self.library), list(self.warnings),
                       [(s.heading, s.text) for s in self.sections], reference_entries(self.references),
                       note=self.library.date_note())


@dataclass(frozen=True)
class SectionPlan:
    """How one section is found and written: words added to the topic for retrieval, and the model's brief."""

    heading: str
    terms: str
    instruction: str


PLAN = (
    SectionPlan("Background", "", "Summarise the context: what the reports say about the topic and why it matters "
                "to commissioners. Two or three short paragraphs."),
    SectionPlan("Key points", "lessons learned benefits results", "List the three to five most important findings as "
                "bullet points starting with '- '."),
    SectionPlan("Options and trade-offs", "options models trade-offs advantages disadvantages strengths weaknesses",
                "Describe the options or models the reports discuss and the advantages and disadvantages they report "
                "for each. Do not add trade-offs the passages do not state."),
    SectionPlan("Governance and conflicts of interest", "governance conflicts of interest accountability board",
                "Describe the governance arrangements and the conflicts of interest the reports identify, and how "
                "they say these were or should be managed."),
    SectionPlan("Case-study examples", "case study example organisation", "Describe two or three case-study "
                "organisations from the passages, naming each, and what they did on this topic."),
    SectionPlan("Open questions", "challenges risks barriers uncertain evidence unclear", "State the uncertainties, "
                "risks, barriers and gaps in evidence the reports raise on this topic."),
)
def for_discussion(collection: Collection) -> str:
    """The closing questions for local discussion; the first asks how findings of the library's years apply now."""
    span, since = collection.span(), collection.since()
    findings = f"these {span} findings" if span else "these findings"
    now = " now that ICBs have replaced CCGs and PCNs exist" if since else " locally now"
    return ("For local discussion (questions, not findings of the reports):\n"
            f"- How do {findings} apply{now}?\n"
            "- Which of these points does local evidence support, and which need testing here?")


# -- building the note ---------------------------------------------------------------------------

def section_queries(topic: str, orgs: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(heading, retrieval query) for each written section; a renamed organisation is searched under both names."""
    other = [(orgs or {}).get(b, b.capitalize()) for a, b in [*ALIASES.items(), *((n, o) for o, n in ALIASES.items())]
             if re.search(rf"\b{a}\b", topic, re.I) and not re.search(rf"\b{b}\b", topic, re.I)]
    extra = f" ({', '.join(other)})" if other else ""
    return [(p.heading, f"{topic}{extra} {p.terms}".strip()) for p in PLAN]


def _write(writer: Answerer, plan: SectionPlan, topic: str, query: str, passages: Sequence[Passage],
           seen: set[str], last_year: str = "the latest document") -> str:
    """Raw text with [n] markers for one section; LLMError is left to the caller."""
    if writer.extractive:
        text = drop_repeats("".join(writer.stream(query, passages)), seen, PER_SECTION)
        # Extracted sentences come from different passages and do not read as prose: list them, except the background.
        return text if plan is PLAN[0] or not text else "- " + re.sub(rf"({MARKER.pattern}) ", r"\1\n- ", text)
    llm = prompted(writer, "brief", section=plan.heading, instruction=plan.instruction, last_year=last_year)
    return "".join(llm.stream(topic, passages)).strip()


def _section(writer: Answerer, plan: SectionPlan, topic: str, query: str, passages: Sequence[Passage],
             seen: set[str], book: ReferenceBook, notes: dict[str, list[str]], *, fallback: Answerer,
             closing: str = "", last_year: str = "the latest document") -> Section:
    """One section written, verified against its own passages, and renumbered into the note's reference list."""
    try:
        raw = _write(writer, plan, topic, query, passages, seen, last_year)
    except LLMError as exc:
        notes["failed"] = [f"The language model failed while writing “{plan.heading}” ({exc}); from there on the "
                           "note is the offline extractive text from the same passages."]
        raw = _write(fallback, plan, topic, query, passages, seen, last_year)
    text, citations, grounded = verify(raw, passages)
    if not citations or text.startswith(NOT_COVERED):
        text, citations = "The passages retrieved for this section do not address it directly.", ()
    elif grounded < 1.0:
        notes.setdefault("unverified", []).append(f"“{plan.heading}”")
    text, citations = book.localise(text, citations)
    if len({c.passage.chunk.doc_id for c in citations}) == 1:
        ch = citations[0].passage.chunk
        notes.setdefault("single", []).append(f"“{plan.heading}” ({ch.title}, {ch.year or 'n.d.'})")
    if plan.heading == "Open questions":
        text = f"{text}\n\n{closing}"
    return Section(plan.heading, text, citations)


def figure_warnings(library: Library, topic: str, cited: Sequence[Passage], book: ReferenceBook) -> list[str]:
    """Warnings where reports' figures differ: library-wide for organisations the topic names, else in cited passages."""
    chunks = library.chunks()
    orgs = known_organisations(chunks)
    focus = {canonical(key) for key in orgs if re.search(rf"\b{key}\b", topic, re.I)}
    scanned = {p.chunk.chunk_id: p for p in cited}
    cited_ids = set(scanned)
    for c in chunks:
        named = {k for _, k in named_in(c.text, orgs)} | ({canonical(org_key(c.case_study))} if c.case_study else set())
        if named & focus:
            scanned.setdefault(c.chunk_id, Passage(rank=0, chunk=c, score=0.0))
    return [disagreement_warning(facts, orgs, book) for facts in disagreements(scanned.values(), orgs)
            if facts[0].org in focus or all(f.passage.chunk.chunk_id in cited_ids for f in facts)]


def build_briefing(library: Library, topic: str, answerer: str = "auto", k: int = 5,
                   today: date | None = None) -> BriefingNote:
    """A briefing note on `topic`: each section retrieved, written, verified, and numbered into one reference list."""
    q = clean_question(topic, library.settings.max_question_chars)
    collection = library.collection()
    scope = check_scope(q, collection)
    if not scope.in_scope:
        raise InputError(scope.message)
    writer = library.answerer(answerer)  # the Assistant's own choice: ConfigError when llm is not configured
    writer = _extractive(library) if writer.extractive else writer
    orgs = known_organisations(library.chunks())
    found = [(plan, query, library.retrieve(query, k)) for plan, (_, query) in zip(PLAN, section_queries(q, orgs))]
    # Covered when the topic's own search clears the similarity floor `ask` uses (the section words would match the
    # library whatever the topic), or when the topic names a case study ("How has the Hurley Group grown?").
    missing = library.missing_terms(salient_terms(q))
    named = any(re.search(rf"\b{key}\b", q, re.I) for key in orgs)
    background = found[0][2]
    if missing or not background.passages or (background.top_similarity < library.settings.min_similarity and not named):
        why = f" They never mention {', '.join(missing)}." if missing else ""
        raise InputError(f"{NOT_COVERED}, so no briefing note can be drafted.{why} They cover forming GP "
                         "federations and other at-scale models, their governance and conflicts of interest.")
    book, seen, notes = ReferenceBook(), set[str](), dict[str, list[str]]()
    sections = [Section("Purpose", f"To brief commissioners on “{q.rstrip('.')}”: what the reports say by way of "
                        "background, key points, options and their trade-offs, governance and conflicts of interest, "
                        "case-study examples and open questions, each point cited to its report.")]
    for plan, query, r in found:
        sections.append(_section(writer, plan, q, query, r.passages, seen, book, notes, fallback=_extractive(library),
                                 closing=for_discussion(collection),
                                 last_year=collection.prompt_values()["last_year"]))
        writer = _extractive(library) if "failed" in notes else writer  # a failed server is not waited on six times
    warnings = notes.get("failed", [])
    if notes.get("single"):
        warnings.append("These sections rest on a single report; treat them as that report's view: "
                        + "; ".join(notes["single"]) + ".")
    if notes.get("unverified"):
        warnings.append("Some sentences in " + ", ".join(notes["unverified"]) + " are not supported by the passage "
                        "they cite and are marked (unverified).")
    cited = [c.passage for s in sections for c in s.citations]
    warnings += figure_warnings(library, q, cited, book)
    return BriefingNote(title=f"Briefing note: {q.rstrip('.?!')}", sections=tuple(sections),
                        references=book.references(), warnings=tuple(warnings), topic=q,
                        answerer=writer.name, created=today or date.today(), library=collection)
