"""Draft guidance mode: a cited briefing note for commissioners, written section by section from the reports."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import NamedTuple

from assistant.answering.protocol import NOT_COVERED, Answerer
from assistant.answering.citations import MARKER, split_sentences, verify
from assistant.errors import InputError, LLMError
from assistant.answering.guardrails import check_scope, clean_question, salient_terms
from assistant.schema import Chunk, Citation, Passage
from assistant.answering.extractive import OfflineAnswerer
from assistant.ingest.sections import org_word

DATE_NOTE = ("The reports date from 2013 to 2018. Primary care networks arrived in 2019, and clinical commissioning "
             "groups (CCGs) were replaced by integrated care boards (ICBs) in July 2022: read what the reports say "
             "about CCGs as background for ICBs, not as current duties.")
PER_SECTION = 4  # offline sentences per section: enough to brief, short enough to read


def _extractive() -> OfflineAnswerer:
    """The extractive answerer for notes: twice the sentences a section shows, so repeats can be dropped."""
    return OfflineAnswerer(max_sentences=2 * PER_SECTION, passages_used=5)


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

    def to_markdown(self) -> str:
        """The note as Markdown (see assistant.documents.export)."""
        from assistant.documents.export import to_markdown  # export renders every document type; imported late to avoid a cycle

        return to_markdown(self)


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
_FOR_DISCUSSION = ("For local discussion (questions, not findings of the reports):\n"
                   "- How do these 2013–2018 findings apply now that ICBs have replaced CCGs and PCNs exist?\n"
                   "- Which of these points does local evidence support, and which need testing here?")

# Organisations renamed between reports. Modality was the Vitality Partnership: the 2016 report's Table 2 heads its
# column "Modality Partnership (formerly Vitality Partnership)", a line the PDF table extraction does not keep.
ALIASES = {"vitality": "modality"}


class _TemplatePrompts:
    """A PromptLibrary stand-in that serves another template where the answerer asks for 'answer'."""

    def __init__(self, library, template: str, extra: dict[str, str]) -> None:
        self._library, self._template, self._extra = library, template, extra

    def render(self, name: str, /, **values: str) -> str:
        """Render `name`, swapping 'answer' for the template with the extra values filled in."""
        if name == "answer":
            return self._library.render(self._template, **values, **self._extra)
        return self._library.render(name, **values)


def prompted(answerer: Answerer, template: str, **extra: str) -> Answerer:
    """The answerer writing with prompts/<template>.txt if it is prompt-driven (the LLM); otherwise unchanged."""
    library = getattr(answerer, "prompts", None)
    if library is None:
        return answerer
    # A shallow copy keeps the LLM answerer's client, context fitting, error handling and output checks;
    # only the user prompt differs, so the brief gets the same guarantees as `ask`.
    clone = copy.copy(answerer)
    clone.prompts = _TemplatePrompts(library, template, extra)
    return clone


def drop_repeats(raw: str, seen: set[str], limit: int = PER_SECTION) -> str:
    """Extractive text without fragments or sentences already used elsewhere in the document, at most `limit`."""
    kept = []
    for sentence in split_sentences(raw):
        key = re.sub(r"[^a-z0-9]+", " ", MARKER.sub(" ", sentence.lower())).strip()
        # Table debris, bylines and slide fragments ("1 GP cooperative of 19 practices", "GP at Improving Health,
        # Federation of GP practices, Southwark") brief nobody; labelled facts stay.
        words = MARKER.sub("", sentence).split()
        fragment = ":" not in sentence and (len(words) < 8 or sum(w[:1].islower() for w in words) < len(words) / 2)
        if key and not fragment and key not in seen and len(kept) < limit:
            seen.add(key)
            kept.append(sentence)
    return " ".join(kept)


class ReferenceBook:
    """Numbers cited passages once across a document and rewrites each part's local [n] to the global number."""

    def __init__(self) -> None:
        self._refs: dict[str, Citation] = {}

    def add(self, citation: Citation) -> int:
        """The global number of the citation's passage (a new one is appended to the list)."""
        key = citation.passage.chunk.chunk_id
        old = self._refs.get(key)
        if old is None:
            self._refs[key] = replace(citation, n=len(self._refs) + 1)
        elif old.supported and not citation.supported:
            self._refs[key] = replace(old, supported=False, support=min(old.support, citation.support))
        return self._refs[key].n

    def localise(self, text: str, citations: Sequence[Citation]) -> tuple[str, tuple[Citation, ...]]:
        """`text` with its markers renumbered into the list, and its citations carrying the global numbers."""
        mapping = {c.n: self.add(c) for c in citations}
        # One pass with a function: [1]->[3] and [3]->[1] must not interfere.
        text = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping.get(int(m.group(1)), int(m.group(1)))}]", text)
        return text, tuple(replace(c, n=mapping[c.n]) for c in citations)

    def cite(self, passage: Passage, quote: str) -> int:
        """The global number for a quote taken verbatim from a passage (no sentence to verify)."""
        return self.add(Citation(n=0, passage=passage, quote=quote))

    def references(self) -> tuple[Citation, ...]:
        """The numbered list, in order."""
        return tuple(sorted(self._refs.values(), key=lambda c: c.n))


# -- disagreements between reports ----------------------------------------------------------------

class Fact(NamedTuple):
    """A figure a report gives about an organisation: practices, patients, or the year it was founded."""

    org: str
    kind: str
    value: int
    shown: str
    passage: Passage
    quote: str
    label: str = ""  # the case study the figure belongs to, when known ('Tower Hamlets Network 2')


_QUAL = r"(?:(?:more than|over|around|about|approximately|almost|nearly|some|just over|just under)\s+)?"
_NUM = r"(?<![\d–-])(\d{1,3}(?:,\d{3})+|\d+)(?![\d–-]|\.\d|\s*million)"  # ranges and decimals are not counts
_LABEL = re.compile(r"^(Date established|Year founded|Number of practices|Care locations|Registered population|"
                    r"List size)\s*:\s*(.*)", re.I)
_PATTERNS = (
    ("practices", re.compile(rf"({_QUAL}{_NUM}\s+(?:(?:GP|general|member)\s+)?(?:practices|practice sites|sites))\b", re.I)),
    ("patients", re.compile(rf"(?:serv\w*|covering|caring for)\s+({_QUAL}{_NUM}\s+(?:registered\s+)?(?:patients|people))",
                            re.I)),
    ("patients", re.compile(rf"(?:population of|list size of)\s+({_QUAL}{_NUM})", re.I)),
    ("patients", re.compile(rf"({_QUAL}{_NUM}\s+registered\s+patients)", re.I)),
    ("founded", re.compile(r"(?:established|founded|formed|set up|created)\b[^.;:]{0,40}?\b((?:19|20)\d{2})\b", re.I)),
)
# Plans and targets ("to serve more than 120,000 patients by 2016") are not figures about the organisation.
_PLANNED = re.compile(r"\b(plans?|aims?|will|would|targets?|expects?|by 20\d\d)\b", re.I)
_KINDS = {"practices": "number of practices or sites", "patients": "patients served", "founded": "year founded"}


def org_key(name: str) -> str:
    """The distinctive word of an organisation's name ('hurley' for 'The Hurley Group'); '' when it has none."""
    # Four letters at least: a three-letter word ("Kent") of a name is too often an ordinary one in text.
    return org_word(name, min_length=4)


def canonical(key: str) -> str:
    """The key an organisation is compared under (its current name's key when it was renamed)."""
    return ALIASES.get(key, key)


def known_organisations(chunks: Iterable[Chunk]) -> dict[str, str]:
    """Case-study organisations with names distinctive enough to spot in text, by key: {'hurley': 'Hurley Group'}."""
    chunks = list(chunks)
    lower = set(re.findall(r"\b[a-z]+\b", " ".join(c.text for c in chunks)))
    names: dict[str, str] = {}
    for c in chunks:
        key = org_key(c.case_study) if c.case_study else ""
        # A name whose word is also ordinary English ("Improving Health", "City and Hackney") cannot be told
        # from that word in running text; it is still recognised in its own case-study passages.
        if key and key not in lower and len(c.case_study) < len(names.get(key, c.case_study + " ")):
            names[key] = c.case_study  # the shortest name: 'Tower Hamlets', not 'Tower Hamlets GP Care Group'
    return names


def display_name(key: str, orgs: dict[str, str]) -> str:
    """An organisation's name with its former names: 'Modality Partnership (formerly Vitality Partnership)'."""
    former = [orgs[old] for old, new in ALIASES.items() if new == key and old in orgs]
    name = orgs.get(key, key.capitalize())
    return f"{name} (formerly {', '.join(former)})" if former else name


def named_in(text: str, orgs: dict[str, str]) -> list[tuple[int, str]]:
    """(offset, canonical key) of every known organisation a text names, written as a name is (capitalised)."""
    return sorted((m.start(), canonical(k)) for k in orgs for m in re.finditer(rf"\b{k.capitalize()}\b", text))


def _number(text: str) -> int:
    return int(re.search(_NUM, text).group(1).replace(",", ""))


def _label_fact(name: str, rest: str) -> tuple[str, re.Match | None]:
    """(kind, match of the figure) for a case-study table row such as 'Registered population: 51,000.'."""
    if name in ("date established", "year founded"):
        return "founded", re.search(r"\b(?:19|20)\d{2}\b", rest)
    if name in ("registered population", "list size"):
        return "patients", re.match(rf"{_QUAL}{_NUM}", rest, re.I)
    if name == "care locations":
        return "practices", _PATTERNS[0][1].match(rest)
    return "practices", re.match(rf"{_QUAL}{_NUM}", rest, re.I)  # 'Network 2 includes five practices' has no figure


def extract_facts(passage: Passage, orgs: dict[str, str]) -> list[Fact]:
    """Figures the passage gives about named organisations; table rows belong to the passage's case study."""
    chunk, out = passage.chunk, []
    home = canonical(org_key(chunk.case_study)) if chunk.case_study else ""
    for line in chunk.text.splitlines():
        label = _LABEL.match(line)
        if label:
            kind, m = _label_fact(label.group(1).lower(), label.group(2))
            if m and home:
                out.append(Fact(home, kind, _number(m.group(0)), m.group(0).strip(), passage, line.strip(),
                                chunk.case_study))
            continue
        for sentence in split_sentences(line):
            if _PLANNED.search(sentence):
                continue
            names = named_in(sentence, orgs)
            for kind, pattern in _PATTERNS:
                for m in pattern.finditer(sentence):
                    before = [k for at, k in names if at <= m.start()]
                    org = before[-1] if before else (names[0][1] if names else home)
                    if org:
                        out.append(Fact(org, kind, _number(m.group(1)), m.group(1).strip(), passage, sentence,
                                        chunk.case_study if org == home else ""))
    return out


def _same_body(a: Fact, b: Fact) -> bool:
    """Whether two figures can be about one body ('Tower Hamlets' covers 'Tower Hamlets Network 2')."""
    # 'Tower Hamlets Network 2' and 'Tower Hamlets GP Care Group' share a key word but are different organisations.
    x, y = (" ".join(canonical(w) for w in re.findall(r"[a-z0-9]+", f.label.lower())) for f in (a, b))
    return not x or not y or x.startswith(y) or y.startswith(x)


def disagreements(passages: Iterable[Passage], orgs: dict[str, str]) -> list[list[Fact]]:
    """Groups of facts where different reports give different figures for the same organisation and measure."""
    groups: dict[tuple[str, str], dict[tuple[str, int, str], Fact]] = {}
    for passage in passages:
        for f in extract_facts(passage, orgs):
            groups.setdefault((f.org, f.kind), {}).setdefault((f.passage.chunk.doc_id, f.value, f.label), f)
    found = []
    for group in groups.values():
        facts = list(group.values())
        clashing = {i for i, a in enumerate(facts) for j, b in enumerate(facts) if a.value != b.value
                    and a.passage.chunk.doc_id != b.passage.chunk.doc_id and _same_body(a, b)}
        shown: dict[tuple[str, int], Fact] = {}
        for i in sorted(clashing):
            shown.setdefault((facts[i].passage.chunk.doc_id, facts[i].value), facts[i])
        if shown:
            found.append(sorted(shown.values(), key=lambda f: (f.passage.chunk.year or 0, f.value)))
    return found


def disagreement_warning(facts: Sequence[Fact], orgs: dict[str, str], book: ReferenceBook) -> str:
    """A warning that says which report gives which figure, and when, each figure cited."""
    parts = [f"“{f.shown}” in {f.passage.chunk.title} ({f.passage.chunk.year or 'n.d.'}) "
             f"[{book.cite(f.passage, f.quote)}]" for f in facts]
    years = sorted({f.passage.chunk.year for f in facts if f.passage.chunk.year})
    when = (f"The reports are from different years ({', '.join(map(str, years))}), so the difference may reflect "
            "change over time; quote each figure with its report and year." if len(years) > 1 else
            "The reports are from the same year; say which report a figure comes from.")
    return (f"Reports differ on {display_name(facts[0].org, orgs)} ({_KINDS[facts[0].kind]}): "
            + "; ".join(parts) + f". {when}")


# -- building the note ---------------------------------------------------------------------------

def section_queries(topic: str, orgs: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(heading, retrieval query) for each written section; a renamed organisation is searched under both names."""
    other = [(orgs or {}).get(b, b.capitalize()) for a, b in [*ALIASES.items(), *((n, o) for o, n in ALIASES.items())]
             if re.search(rf"\b{a}\b", topic, re.I) and not re.search(rf"\b{b}\b", topic, re.I)]
    extra = f" ({', '.join(other)})" if other else ""
    return [(p.heading, f"{topic}{extra} {p.terms}".strip()) for p in PLAN]


def _write(writer: Answerer, plan: SectionPlan, topic: str, query: str, passages: Sequence[Passage],
           seen: set[str]) -> str:
    """Raw text with [n] markers for one section; LLMError is left to the caller."""
    if isinstance(writer, OfflineAnswerer):
        text = drop_repeats("".join(writer.stream(query, passages)), seen)
        # Extracted sentences come from different passages and do not read as prose: list them, except the background.
        return text if plan is PLAN[0] or not text else "- " + re.sub(r"(\[\d+\]) ", "\\1\n- ", text)
    llm = prompted(writer, "brief", section=plan.heading, instruction=plan.instruction)
    return "".join(llm.stream(topic, passages)).strip()


def _section(writer: Answerer, plan: SectionPlan, topic: str, query: str, passages: Sequence[Passage],
             seen: set[str], book: ReferenceBook, notes: dict[str, list[str]]) -> Section:
    """One section written, verified against its own passages, and renumbered into the note's reference list."""
    try:
        raw = _write(writer, plan, topic, query, passages, seen)
    except LLMError as exc:
        notes["failed"] = [f"The language model failed while writing “{plan.heading}” ({exc}); from there on the "
                           "note is the offline extractive text from the same passages."]
        raw = _write(_extractive(), plan, topic, query, passages, seen)
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
        text = f"{text}\n\n{_FOR_DISCUSSION}"
    return Section(plan.heading, text, citations)


def figure_warnings(assistant, topic: str, cited: Sequence[Passage], book: ReferenceBook) -> list[str]:
    """Warnings where reports' figures differ: library-wide for organisations the topic names, else in cited passages."""
    chunks = assistant.retriever.chunks()
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


def build_briefing(assistant, topic: str, answerer: str = "auto", k: int = 5, today: date | None = None) -> BriefingNote:
    """A briefing note on `topic`: each section retrieved, written, verified, and numbered into one reference list."""
    q = clean_question(topic, assistant.settings.max_question_chars)
    scope = check_scope(q)
    if not scope.in_scope:
        raise InputError(scope.message)
    writer = assistant.answerer(answerer)  # the Assistant's own choice: ConfigError when llm is not configured
    writer = _extractive() if isinstance(writer, OfflineAnswerer) else writer
    orgs = known_organisations(assistant.retriever.chunks())
    found = [(plan, query, assistant.retrieve(query, k)) for plan, (_, query) in zip(PLAN, section_queries(q, orgs))]
    # Covered when the topic's own search clears the similarity floor `ask` uses (the section words would match the
    # library whatever the topic), or when the topic names a case study ("How has the Hurley Group grown?").
    missing = assistant.retriever.missing_terms(salient_terms(q))
    named = any(re.search(rf"\b{key}\b", q, re.I) for key in orgs)
    background = found[0][2]
    if missing or not background.passages or (background.top_similarity < assistant.settings.min_similarity and not named):
        why = f" They never mention {', '.join(missing)}." if missing else ""
        raise InputError(f"{NOT_COVERED}, so no briefing note can be drafted.{why} They cover forming GP "
                         "federations and other at-scale models, their governance and conflicts of interest.")
    book, seen, notes = ReferenceBook(), set(), {}
    sections = [Section("Purpose", f"To brief commissioners on “{q.rstrip('.')}”: what the reports say by way of "
                        "background, key points, options and their trade-offs, governance and conflicts of interest, "
                        "case-study examples and open questions, each point cited to its report.")]
    for plan, query, r in found:
        sections.append(_section(writer, plan, q, query, r.passages, seen, book, notes))
        writer = _extractive() if "failed" in notes else writer  # a failed server is not waited on six times
    warnings = notes.get("failed", [])
    if notes.get("single"):
        warnings.append("These sections rest on a single report; treat them as that report's view: "
                        + "; ".join(notes["single"]) + ".")
    if notes.get("unverified"):
        warnings.append("Some sentences in " + ", ".join(notes["unverified"]) + " are not supported by the passage "
                        "they cite and are marked (unverified).")
    cited = [c.passage for s in sections for c in s.citations]
    warnings += figure_warnings(assistant, q, cited, book)
    return BriefingNote(title=f"Briefing note: {q.rstrip('.?!')}", sections=tuple(sections),
                        references=book.references(), warnings=tuple(warnings), topic=q,
                        answerer=getattr(writer, "name", "offline"), created=today or date.today())
