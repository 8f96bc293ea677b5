"""Draft guidance mode: a cited briefing note for commissioners, written section by section from the reports."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from assistant.answering.wording import said_of
from assistant.answering.citations import MARKER, split_sentences, verify
from assistant.answering.guardrails import check_scope, clean_question, salient_terms
from assistant.answering.protocol import NOT_COVERED, Answerer
from assistant.collection import Collection
from assistant.documents.figures import disagreement_warning, disagreements, known_organisations, named_in
from assistant.documents.library import Library
from assistant.documents.outline import Outline, ReferenceBook, applies_now, prepared, reference_entries
from assistant.documents.selection import (Candidate, candidates, is_advice, is_example,
                                           is_open_question, is_option, pick, topic_terms)
from assistant.documents.writing import drained, prompted
from assistant.errors import InputError, LLMError
from assistant.organisations import ALIASES, canonical, org_key
from assistant.schema import Citation, Passage
from assistant.search.retrieval import Retrieval

PER_SECTION = 4  # sentences per section at most: enough to brief, short enough to read
SUMMARY_SENTENCES = 3


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
    SectionPlan("Summary", "", "In three or four sentences, answer the topic directly with what the reports found "
                "about it. No background, no recommendations, no bullets."),
    SectionPlan("Key findings", "findings lessons results", "List the four to six most important findings the passages "
                "state on this topic, as bullet points starting with '- '. Findings only, not recommendations."),
    SectionPlan("What the reports recommend", "recommendations lessons should", "List what the reports recommend or "
                "give as lessons on this topic, as bullets starting with '- ', saying to whom (practices, CCGs, "
                "policy-makers) where the passage says. Only recommendations and lessons the passages state."),
    SectionPlan("Options and trade-offs", "options models advantages disadvantages trade-offs",
                "Describe the choices the reports discuss on this topic, each with the consequence or trade-off the "
                "passages report for it. Do not add choices or trade-offs the passages do not state."),
    SectionPlan("Governance and conflicts of interest", "governance conflicts of interest accountability board",
                "Describe the governance arrangements and the conflicts of interest the reports identify, and how "
                "they say these were or should be managed."),
    SectionPlan("Case-study examples", "case study example organisation", "Describe two or three case-study "
                "organisations, one bullet each starting with the organisation's name, and what it did on this topic, "
                "using only passages about that organisation."),
    SectionPlan("Open questions", "challenges risks barriers uncertain evidence unclear", "State the uncertainties, "
                "risks and gaps in evidence the reports themselves raise on this topic, as bullets. Do not invent "
                "questions the passages do not raise."),
)
NONE_STATED = {"Options and trade-offs": "The reports set out no distinct choices on this topic beyond the findings above.",
               "Open questions": "The reports state no open questions on this topic.",
               "Case-study examples": "The reports name no case-study organisation on this topic."}
_GOVERNANCE = re.compile(r"\b(governance|board|conflicts? of interest|accountab\w*|decision[- ]making|executive|"
                         r"shareholders?|members?hip|directors?)\b", re.I)


# -- building the note ---------------------------------------------------------------------------

def section_queries(topic: str, orgs: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(heading, retrieval query) for each written section; a renamed organisation is searched under both names."""
    other = [(orgs or {}).get(b, b.capitalize()) for a, b in [*ALIASES.items(), *((n, o) for o, n in ALIASES.items())]
             if re.search(rf"\b{a}\b", topic, re.I) and not re.search(rf"\b{b}\b", topic, re.I)]
    extra = f" ({', '.join(other)})" if other else ""
    return [(p.heading, f"{topic}{extra} {p.terms}".strip()) for p in PLAN]


def _write(writer: Answerer, plan: SectionPlan, topic: str, passages: Sequence[Passage], notes: dict[str, list[str]],
           last_year: str = "the latest document") -> str:
    """The model's raw text with [n] markers for one section (a section cut off at its token cap or the deadline is
    noted); LLMError is left to the caller."""
    llm = prompted(writer, "brief", section=plan.heading, instruction=plan.instruction, last_year=last_year)
    text, generation = drained(iter(llm.stream(topic, passages)))
    if getattr(generation, "truncated", False):
        notes.setdefault("cut", []).append(f"“{plan.heading}” ({getattr(generation, 'cut_off', 'cut off')})")
    return text.strip()


def _quoted(plan: SectionPlan, chosen: Sequence[Candidate]) -> tuple[str, list[Passage]]:
    """Offline text for one section from its chosen units, with markers into the passages returned."""
    passages = list({c.passage.chunk.chunk_id: c.passage for c in chosen}.values())
    number = {p.chunk.chunk_id: i for i, p in enumerate(passages, start=1)}
    # Each sentence of a unit carries the marker: a leaning pair is two claims from the same passage.
    cited = [" ".join(f"{x} [{number[c.passage.chunk.chunk_id]}]"
                      for x in split_sentences(said_of(c.text, c.unit.case_study, named=bool(c.names),
                                                              context=c.passage.chunk.text)))
             for c in chosen]
    return (" ".join(cited) if plan is PLAN[0] else "\n".join(f"- {x}" for x in cited)), passages


# A statement of what a body must or should do: "Emerging organisations must ...", "Boards and executive teams must ...".
_PRESCRIBES = re.compile(r"^(?:[A-Z][\w’'-]*)(?: [\w’'-]+){0,3} (?:must|should|need to|needs to|ought to)\b")


def offline_roles(library: Library, topic: str, retrieved: Sequence[Passage]) -> dict[str, list[Candidate]]:
    """The note's sentences by section, each chosen from the whole library for its role, none used twice: the
    summary and findings answer the topic, recommendations come from the reports' recommendation and lessons
    sections, an example names its organisation, an option states a choice and its consequence, an open question
    is a stated uncertainty."""
    found = {p.chunk.chunk_id: p for p in retrieved}
    pool = [*found.values(), *(Passage(rank=0, chunk=c, score=0.0) for c in library.chunks() if c.chunk_id not in found)]
    names = sorted({c.case_study for c in library.chunks() if c.case_study})
    every = candidates(topic, pool, names, found=frozenset(found), phrases=2, context=True)
    ranked = [c for c in every if c.score > 0]
    if not ranked:
        return {}
    # Off-topic sentences share a word with the topic but little of its weight: 0.3 of the best kept every quote of
    # tests/test_briefing_findings.py and dropped 'Suffolk GP Federation: Care locations' from the conflicts note.
    on_topic = [c for c in ranked if c.score >= 0.3 * ranked[0].score]
    fit = 0.45 * ranked[0].score  # a role section needs the topic itself
    fitting = [c for c in ranked if c.score >= fit]
    # An open question may come from a passage on it: 'Participants were uncertain how to apply competition rules' is
    # the open question of the paragraph on conflicts of interest, though it never says 'conflict'. Options, examples
    # and governance points from such passages were off the topic ('Modality's acceptance of Vanguard status' in the
    # patient-involvement note).
    strong = {c.passage.chunk.chunk_id for c in fitting}
    nearby = fitting + [c for c in every if c.score < fit and c.passage.chunk.chunk_id in strong]
    # Findings are what the reports conclude; a case study's own account is an example, not a finding.
    prose = [c for c in on_topic if not c.unit.fact and not is_advice(c) and not c.unit.case_study]
    used: set[str] = set()
    roles = {"Summary": pick(prose, used, SUMMARY_SENTENCES, per_passage=1)}
    # Recommendations are few (about 20 sentences in the library): any that touches the topic, best first.
    roles["What the reports recommend"] = pick([c for c in ranked if is_advice(c)], used, PER_SECTION)
    terms = topic_terms(topic)
    examples: dict[str, Candidate] = {}
    for c in (c for c in fitting if is_example(c, terms)):
        if c.names[0] not in examples and len(examples) < 3 and pick([c], used, 1):
            examples[c.names[0]] = c
    roles["Case-study examples"] = list(examples.values())
    roles["Options and trade-offs"] = pick([c for c in fitting if is_option(c)], used, 3)
    roles["Open questions"] = pick([c for c in nearby if is_open_question(c) and not is_advice(c)], used, 3)
    roles["Governance and conflicts of interest"] = pick(
        [c for c in fitting if _GOVERNANCE.search(c.text) and not c.unit.fact and c.score > 0], used, 3)
    # What the reports say bodies must or should do is a finding first ("Emerging organisations must invest the time
    # ... and then develop the simplest governance arrangements possible"), when it is on the topic.
    findings = pick([c for c in prose if _PRESCRIBES.match(c.text) and c.score >= fit], used, 3, per_passage=3)
    # Then the best of what no other section took.
    roles["Key findings"] = findings + pick(prose, used, PER_SECTION + 2 - len(findings), per_passage=3)
    return roles


def _section(plan: SectionPlan, raw: str, passages: Sequence[Passage], book: ReferenceBook,
             notes: dict[str, list[str]]) -> Section:
    """One section verified against its own passages and renumbered into the note's reference list."""
    text, citations, grounded = verify(raw, passages) if raw else ("", (), 1.0)
    if not citations or text.startswith(NOT_COVERED):
        return Section(plan.heading, NONE_STATED.get(plan.heading, "The reports say nothing on this topic that fits "
                                                                   "this section."))
    if grounded < 1.0:
        notes.setdefault("unverified", []).append(f"“{plan.heading}”")
    text, citations = book.localise(text, citations)
    if len({c.passage.chunk.doc_id for c in citations}) == 1 and len(citations) > 1:
        ch = citations[0].passage.chunk
        notes.setdefault("single", []).append(f"“{plan.heading}” ({ch.title}, {ch.year or 'n.d.'})")
    return Section(plan.heading, text, citations)


def _written(library: Library, writer: Answerer, topic: str, found: Sequence[tuple[SectionPlan, str, Retrieval]],
             book: ReferenceBook, notes: dict[str, list[str]], *, last_year: str = "the latest document") -> list[Section]:
    """Every planned section: by the model from its section's passages, else (or after a failure) offline."""
    roles: dict[str, list[Candidate]] | None = None
    sections = []
    for plan, _, r in found:
        passages: Sequence[Passage] = r.passages
        if not writer.extractive and "failed" not in notes:
            try:
                sections.append(_section(plan, _write(writer, plan, topic, passages, notes, last_year), passages, book,
                                         notes))
                continue
            except LLMError as exc:
                # The model's own message says what failed and how often it was tried: one notice, not one inside
                # another ("The language model failed ... (The language model answered ...)").
                notes["failed"] = [f"While writing “{plan.heading}”: {exc} From there on the note is the offline "
                                   "extractive text from the same library."]
        if roles is None:
            roles = offline_roles(library, topic, [p for _, _, x in found for p in x.passages])
        sections.append(_section(plan, *_quoted(plan, roles.get(plan.heading, [])), book, notes))
    return sections


def _gathered(sections: list[Section]) -> list[Section]:
    """Sections with nothing cited, beyond the summary and recommendations, said once at the end instead of one
    empty heading each: round 3's commissioner found "five of seven sections are empty" unusable."""
    empty = [s for s in sections if not s.citations and s.heading not in ("Summary", "What the reports recommend")]
    if len(empty) < 2:
        return sections
    named = ", ".join(s.heading.lower() for s in empty)
    return [s for s in sections if s not in empty] + [Section("Not in the reports", f"The reports give nothing on "
                                                              f"this topic for these sections: {named}.")]


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


# A note citing fewer passages than this says the reports say little on its topic.
THIN_NOTE = 8


def build_briefing(library: Library, topic: str, answerer: str = "auto", k: int = 5,
                   today: date | None = None) -> BriefingNote:
    """A briefing note on `topic`: each section retrieved, written, verified, and numbered into one reference list."""
    q = clean_question(topic, library.settings.max_question_chars)
    collection = library.collection()
    scope = check_scope(q, collection)
    if not scope.in_scope:
        raise InputError(scope.message)
    writer = library.answerer(answerer)  # the Assistant's own choice: ConfigError when llm is not configured
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
    book, notes = ReferenceBook(), dict[str, list[str]]()
    sections = _gathered(_written(library, writer, q, found, book, notes,
                                  last_year=collection.prompt_values()["last_year"]))
    now = applies_now(" ".join(MARKER.sub("", s.text) for s in sections))
    if now:  # computed from what the note says: only bodies it names
        sections.append(Section("How this applies now", "\n".join(f"- {x}" for x in now)))
    warnings = notes.get("failed", [])
    if notes.get("single"):
        warnings.append("These sections rest on a single report; treat them as that report's view: "
                        + "; ".join(notes["single"]) + ".")
    if notes.get("cut"):
        warnings.append("The language model's text was cut off in " + "; ".join(notes["cut"]) + " (its token cap is "
                        "ASSISTANT_LLM_BRIEF_TOKENS); what came was checked against its passages.")
    if notes.get("unverified"):
        warnings.append("Some sentences in " + ", ".join(notes["unverified"]) + " are not supported by the passage "
                        "they cite and are marked (unverified).")
    cited = [c.passage for s in sections for c in s.citations]
    warnings += figure_warnings(library, q, cited, book)
    refs = book.references()
    if 0 < len(refs) < THIN_NOTE:  # extended access rests on 4 passages, back-office sharing on 6; the rest on 8-22
        reports = len({c.passage.chunk.doc_id for c in refs})
        warnings.append(f"The reports say little on this topic: this note rests on {len(refs)} passages from {reports} "
                        f"of the {len(collection.documents)} documents. Use it as a pointer to what they say, not as a "
                        "full brief; a board paper will need local evidence as well.")
    return BriefingNote(title=f"Briefing note: {q.rstrip('.?!')}", sections=tuple(sections),
                        references=book.references(), warnings=tuple(warnings), topic=q,
                        answerer=writer.name, created=today or date.today(), library=collection)
