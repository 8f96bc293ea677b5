"""Workshop mode: a trainer's pack (case-study card, discussion questions, quiz, facilitator's note), all cited."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from assistant.answering.citations import MARKER, marker_numbers, split_sentences, verify
from assistant.answering.guardrails import check_scope, clean_question
from assistant.answering.protocol import NOT_COVERED, Answerer
from assistant.documents.figures import disagreement_warning, disagreements, display_name, known_organisations
from assistant.documents.library import Library
from assistant.collection import Collection
from assistant.documents.outline import Outline, ReferenceBook, prepared, reference_entries
from assistant.documents.writing import drop_repeats, extractive_writer, prompted
from assistant.errors import InputError, LLMError
from assistant.organisations import canonical, org_key, same_organisation
from assistant.schema import Citation, Passage
from assistant.search.ranking import score_key


class CardFact(NamedTuple):
    """One line of a case-study card, taken from a report's table, and its reference number."""

    label: str
    value: str
    n: int


@dataclass(frozen=True)
class CaseCard:
    """The case-study card: facts from the reports' tables, then what the organisation did and learned (cited)."""

    organisation: str
    facts: tuple[CardFact, ...]
    did: str
    learned: str

    def fact(self, label: str) -> CardFact | None:
        """The card's fact with this label, if the reports give one."""
        return next((f for f in self.facts if f.label == label), None)


class QuizItem(NamedTuple):
    """A quiz question and its answer; the answer carries the [n] of the passage that states it."""

    question: str
    answer: str


@dataclass(frozen=True)
class WorkshopPack:
    """A workshop pack whose [n] markers all point into one numbered reference list."""

    title: str
    subject: str
    card: CaseCard
    discussion: tuple[str, ...]
    quiz: tuple[QuizItem, ...]
    facilitator_note: str
    references: tuple[Citation, ...]
    warnings: tuple[str, ...] = ()
    answerer: str = "offline"
    created: date = field(default_factory=date.today)
    library: Collection = field(default_factory=Collection)  # the documents it was written from

    def outline(self) -> Outline:
        """Title, date line, warnings, the trainer's parts in order, the reference entries and the dates note."""
        return Outline(self.title, prepared(self.created, self.answerer, self.library), list(self.warnings),
                       pack_sections(self), reference_entries(self.references), note=self.library.date_note())


# Rows of the reports' case-study tables (as assistant.ingest.cleaning renders them: "Legal status: Partnership.")
# and the card line each one fills. An organisation's first row ("Federation: Suffolk GP Federation") is its model.
CARD_ROWS = {"organisational type": "Model", "legal status": "Legal form", "date established": "Established",
             "year founded": "Established", "number of practices": "Practices", "care locations": "Care locations",
             "registered population": "Registered population", "list size": "Registered population",
             "number of partners": "Partners", "number of employees": "Employees", "service portfolio": "Services",
             "main drivers": "Why it formed", "the vital statistics": "In brief", "identified benefits": "Benefits"}
SHOWN = ("Model", "Legal form", "Established", "Practices", "Care locations", "Registered population", "Partners",
         "Employees", "Services", "Why it formed", "In brief")
_ROW = re.compile(r"^([A-Z][A-Za-z -]{2,45}?)\s*:\s*(.*)$")
_QUIZ = (("Legal form", "What legal form did {org} take"), ("Established", "When was {org} established"),
         ("Practices", "How many practices did {org} have"),
         ("Registered population", "What registered population did {org} serve"),
         ("Model", "Which model of at-scale general practice does {org} illustrate"),
         ("Services", "Which services were in {org}'s portfolio"), ("Employees", "How many employees did {org} have"),
         ("Care locations", "Where did {org} provide care"))
# (words added to the subject to find a statement, the open question asked after it): broad enough to follow
# whatever statement the search finds.
_DISCUSSION = (
    ("benefits achieved improved quality", "How far does this match local experience, and how would you know it had worked?"),
    ("challenges barriers difficulties", "What would need to be true locally for this to work, and who would need to act?"),
    ("governance board decision making", "What governance arrangements would this call for, and who should be involved?"),
    ("conflicts of interest commissioners",
     "How should conflicts of interest arising here be declared and managed now that ICBs have replaced CCGs?"),
    ("patients staff engagement", "How would you explain this to patients and staff, and involve them?"),
    ("lessons learned", "Which lesson matters most for your organisation, and why?"),
    ("options models advantages", "Which option fits local circumstances best, and what would you give up?"),
)
TIMING = ("Suggested use (about 60 minutes): 10 minutes on the card, 25 on the discussion questions in small groups, "
          "10 on the quiz, and 15 on what participants would do locally.")


def case_studies(library: Library) -> dict[str, list[Passage]]:
    """Every case study the index labels, by name, with its passages in report order (oldest first)."""
    chunks = sorted(library.chunks(), key=lambda c: (c.year or 0, c.doc_id, c.position))
    found: dict[str, list[Passage]] = {}
    for c in chunks:
        if c.case_study:
            found.setdefault(c.case_study, []).append(Passage(rank=len(found.get(c.case_study, [])) + 1, chunk=c, score=0.0))
    return found


def table_rows(passage: Passage) -> list[tuple[str, str, str]]:
    """(card label, value, verbatim quote) for each case-study table row in a passage, continuation lines joined."""
    lines, i = passage.chunk.text.splitlines(), 0
    rows: list[tuple[str, str, str]] = []
    while i < len(lines):
        m = _ROW.match(lines[i].strip())
        label = CARD_ROWS.get(m.group(1).lower()) if m else None
        model = bool(m and not label and len(lines[i].split()) <= 10
                     and same_organisation(m.group(2), passage.chunk.case_study))
        j = i + 1
        while label and j < len(lines) and j - i < 12 and not _ROW.match(lines[j].strip()):
            j += 1  # a row's list continues on the lines below it ("Service portfolio: Includes:", "Diabetes", ...)
        kind = "Model" if model else label
        if m and kind:
            parts = [m.group(2).strip()] + [ln.strip() for ln in lines[i + 1:j]]
            items = [p.rstrip(".;") for p in parts if p and p.lower() not in ("includes:", "includes")]
            value = "".join(f"{x}{' ' if x.endswith(':') else '; '}" for x in items).rstrip("; ")
            value = re.sub(r"^Includes:\s*", "", value).split(". Example:")[0]
            rows.append((kind, m.group(1) if model else value, "\n".join(lines[i:j])))
        i = max(j, i + 1)
    return rows


def _choose_case(library: Library, theme: str, cases: dict[str, list[Passage]]) -> str:
    """The case study most present in the passages on a theme, preferring ones with a table for the card."""
    score: dict[str, float] = {}
    for p in library.retrieve(f"{theme} case study example", 20).passages:
        for name in cases:
            word = org_key(name).capitalize()
            if same_organisation(name, p.chunk.case_study) or (word and re.search(rf"\b{word}\b", p.chunk.text)):
                score[name] = score.get(name, 0.0) + 1.0 / p.rank
    with_table = [n for n in score if any(r[0] == "Legal form" for p in cases[n] for r in table_rows(p))]
    pool = with_table or list(score)
    if not pool:
        raise InputError(f"No case study in the reports relates to “{theme}”; try --case with one of: "
                         + ", ".join(sorted(cases)[:12]) + ".")
    return max(pool, key=lambda n: score_key(score[n]))  # sums of 1/rank compared rounded; ties: the case met first


def _narrative(library: Library, passages: Sequence[Passage], query: str, seen: set[str], limit: int,
               about: tuple[set[str], str] | None = None) -> tuple[str, tuple[Citation, ...]]:
    """Up to `limit` verified, cited sentences, no table rows; with `about`, only from its chunks or naming its organisation."""
    writer = extractive_writer(library, max_sentences=4 * limit, passages_used=len(passages))
    raw = "".join(writer.stream(query, passages))
    if raw.startswith(NOT_COVERED):
        return "", ()

    def keep(s: str) -> bool:
        row = _ROW.match(MARKER.sub("", s).strip())
        short_row = row and (CARD_ROWS.get(row.group(1).lower()) or len(row.group(2).split()) <= 8)
        if re.search(r"\w:\s+\S[^:]*:", s) or short_row:
            return False  # card rows are on the card already, and short labelled lines are table headings
        if about is None:
            return True
        n = next(iter(marker_numbers(s)), 0)  # the passage the sentence is quoted from
        own = 0 < n <= len(passages) and passages[n - 1].chunk.chunk_id in about[0]
        return own or bool(about[1] and re.search(rf"\b{about[1]}\b", s))

    prose = " ".join(s for s in split_sentences(raw) if keep(s))
    text, citations, _ = verify(drop_repeats(prose, seen, limit), passages)
    return (text, citations) if citations else ("", ())


def build_card(library: Library, name: str, book: ReferenceBook, seen: set[str]) -> tuple[CaseCard, list[Passage]]:
    """The card for a case study named like `name`, and the passages it drew on."""
    cases = case_studies(library)
    wanted = canonical(org_key(name))
    matches = ([n for n in cases if same_organisation(name, n)]
               or [n for n in cases if org_key(n) and canonical(org_key(n)) == wanted])
    if not matches:
        tabled = [n for n in cases if any(row[0] == "Legal form" for p in cases[n] for row in table_rows(p))]
        raise InputError(f"The reports have no case study called “{name}”. Case studies with a table of facts: "
                         + ", ".join(sorted(tabled)) + ".")
    own = sorted({p.chunk.chunk_id: p for n in matches for p in cases[n]}.values(),
                 key=lambda p: (p.chunk.year or 0, p.chunk.doc_id, p.chunk.position))
    facts: dict[str, CardFact] = {}
    for p in own:
        for label, value, quote in table_rows(p):
            if label not in facts and value:
                facts[label] = CardFact(label, value, book.cite(p, quote))
    key = canonical(org_key(matches[0]))
    exact = next((n for n in matches if n.lower() == name.lower()), None)
    names = {org_key(n): n for n in sorted(matches, key=len, reverse=True) if org_key(n)}  # shortest name wins
    if exact and org_key(exact):
        names[org_key(exact)] = exact
    organisation = display_name(key, names) if key in names else (exact or min(matches, key=len))
    # Reports also discuss an organisation outside its case study: every passage naming it is a source.
    word = org_key(matches[0]).capitalize()
    named = [Passage(rank=0, chunk=c, score=0.0) for c in library.chunks()
             if word and re.search(rf"\b{word}\b", c.text)]
    pool = tuple({p.chunk.chunk_id: p for p in [*own, *named]}.values())
    about = ({p.chunk.chunk_id for p in own}, word)
    did = book.localise(*_narrative(library, pool, f"{organisation} services delivered developed created provide", seen, 3, about))[0]
    learned = book.localise(*_narrative(library, pool, f"{organisation} lessons learned benefits challenges results", seen, 3,
                                        about))[0]
    if "Benefits" in facts:
        learned = f"Identified benefits: {facts['Benefits'].value} [{facts['Benefits'].n}]. {learned}".strip()
    card = CaseCard(organisation, tuple(facts[k] for k in SHOWN if k in facts),
                    did or "The reports say little more about what it did than the facts above.",
                    learned or "The reports record no lessons for this organisation beyond the facts above.")
    return card, list(pool)


def _offline_discussion(library: Library, subject: str, book: ReferenceBook, seen: set[str],
                        k: int) -> tuple[list[tuple[str, str]], list[Passage]]:
    """Five (cited statement from the reports, open question) pairs, and the passages searched."""
    items: list[tuple[str, str]] = []
    used: list[Passage] = []
    for terms, question in _DISCUSSION:
        if len(items) == 5:
            break
        found = library.retrieve(f"{subject} {terms}", k).passages
        used.extend(found)
        text, citations = _narrative(library, found, f"{subject} {terms}", seen, 1)
        if citations:
            items.append((book.localise(text, citations)[0], question))
    return items, used


def _cloze(statement: str, title: str) -> QuizItem | None:
    """A fill-in-the-blank question on the first figure in a cited statement."""
    body = MARKER.sub("", statement).strip()
    m = re.search(r"\b\d[\d,]*(?:\.\d+)?(?:\s*(?:per cent|%))?", body)
    markers = "".join(marker.group(0) for marker in MARKER.finditer(statement))
    if not m or not markers:
        return None
    return QuizItem(f"Fill the gap, from {title}: “{body[:m.start()]}____{body[m.end():]}”", f"{m.group(0)} {markers}")


def _offline_quiz(card: CaseCard, statements: Sequence[str], book: ReferenceBook, from_card: int = 5) -> list[QuizItem]:
    """Five questions: up to `from_card` on the card's facts, then gaps in, or the source of, discussion statements."""
    refs = {c.n: c for c in book.references()}
    items: list[QuizItem] = []
    for label, template in _QUIZ:
        fact = card.fact(label)
        if fact and len(items) < from_card:
            ch = refs[fact.n].passage.chunk
            # The name the report used at the time ('Vitality Partnership' in 2013), not today's.
            items.append(QuizItem(f"{template.format(org=ch.case_study or card.organisation)}, according to "
                                  f"“{ch.title}” ({ch.year})?", f"{fact.value} [{fact.n}]"))
    for statement in statements:
        n = next(iter(marker_numbers(statement)), None)
        if n is None or len(items) >= 5:
            continue
        ch = refs[n].passage.chunk
        items.append(_cloze(statement, f"“{ch.title}”") or QuizItem(
            f"Which report, and from which year, says: “{MARKER.sub('', statement).strip()}”?",
            f"{ch.title} ({ch.publisher}, {ch.year}) [{n}]"))
    return items


def _facilitator_note(library: Library, query: str, book: ReferenceBook, seen: set[str],
                      k: int) -> tuple[str, list[Passage]]:
    """Timing, two cited key messages found by `query`, and the context note."""
    found = library.retrieve(query, k).passages
    text, citations = _narrative(library, found, query, seen, 2)
    key = f"Key messages to draw out: {book.localise(text, citations)[0]}" if citations else ""
    note = library.collection().date_note()
    return "\n\n".join(x for x in (TIMING, key, note and f"Context for participants: {note}") if x), list(found)


def _parse_llm(text: str) -> dict[str, list[str]]:
    """The DISCUSSION / QUIZ / NOTE parts of a model's pack, as lists of non-empty lines without list markup."""
    parts: dict[str, list[str]] = {"DISCUSSION": [], "QUIZ": [], "NOTE": []}
    current = None
    for line in text.splitlines():
        head = re.sub(r"[^A-Z]", "", line.upper())
        # Models decorate headings ("## Discussion questions", "**Facilitator's note:**"); short lines only.
        found = next((k for k in parts if head.startswith(k) or (k == "NOTE" and head.startswith("FACILITATOR"))), None)
        if found and len(line.strip()) <= 40:
            current = found
        elif current and line.strip():
            parts[current].append(re.sub(r"^(?:[-*•]\s+|\d+[.)]\s+)", "", line.strip()).replace("**", "").strip())
    return parts


def _checked(statement: str, passages: Sequence[Passage], book: ReferenceBook) -> str | None:
    """The statement with global markers when every claim in it is supported by the passage it cites; else None."""
    claims = " ".join(s for s in split_sentences(statement) if not MARKER.sub("", s).rstrip().endswith("?"))
    questions = " ".join(MARKER.sub("", s).strip() for s in split_sentences(statement)
                         if MARKER.sub("", s).rstrip().endswith("?"))
    text, citations, grounded = verify(claims, passages)
    if not citations or grounded < 1.0:
        return None
    return f"{book.localise(text, citations)[0]} {questions}".strip()


def _llm_parts(writer: Answerer, subject: str, card: CaseCard, passages: Sequence[Passage], book: ReferenceBook,
               dated: str):
    """Discussion, quiz and note written by the model from `passages`; items that fail checking are left out."""
    refs = {c.n: c for c in book.references()}
    local = {p.chunk.chunk_id: i for i, p in enumerate(passages, start=1)}
    card_lines = "\n".join(f"{f.label}: {f.value} [{local.get(refs[f.n].passage.chunk.chunk_id, '?')}]" for f in card.facts)
    raw = "".join(prompted(writer, "workshop", card=card_lines, dated=dated).stream(subject, passages))
    parts = _parse_llm(raw)
    discussion = [x for x in (_checked(ln, passages, book) for ln in parts["DISCUSSION"]) if x]
    quiz, question = [], ""
    for line in parts["QUIZ"]:
        if q := re.match(r"^(?:Q|Question)\s*\d*\s*[:.]\s*(.*)", line):
            question = q.group(1)
        elif (a := re.match(r"^(?:A|Answer)\s*\d*\s*[:.]\s*(.*)", line)) and question:
            answer = _checked(a.group(1), passages, book)
            if answer:
                quiz.append(QuizItem(MARKER.sub("", question).strip(), answer))
            question = ""
    text, citations, _ = verify(" ".join(parts["NOTE"]), passages)
    note = book.localise(text, citations)[0] if citations else ""
    return discussion, quiz, note


def build_workshop(library: Library, case: str | None = None, theme: str | None = None, answerer: str = "auto",
                   k: int = 5, today: date | None = None) -> WorkshopPack:
    """A workshop pack on a case study (`case`) or a theme (`theme`, which picks the case study that fits best)."""
    given = case or theme
    if not given or (case and theme):
        raise InputError("Give either a case study (--case \"Suffolk GP Federation\") or a theme "
                         "(--theme \"conflicts of interest\").")
    subject = clean_question(given, library.settings.max_question_chars)
    scope = check_scope(subject, library.collection())
    if not scope.in_scope:
        raise InputError(scope.message)
    writer = library.answerer(answerer)  # ConfigError when the LLM is asked for but not configured
    book, seen, warnings = ReferenceBook(), set[str](), list[str]()
    name = subject if case else _choose_case(library, subject, case_studies(library))
    card, used = build_card(library, name, book, seen)
    topic = card.organisation if case else subject
    pairs, found = _offline_discussion(library, topic, book, seen, k)
    model = card.fact("Model")
    # One organisation says little about lessons in general; its model ("Federation") widens the search.
    lessons = f"lessons learned from forming a {model.value.lower()}" if model and case else f"lessons learned about {topic}"
    note, note_passages = _facilitator_note(library, lessons, book, seen, k)
    used += found + note_passages
    offline_discussion = [f"{statement} {question}" for statement, question in pairs]
    # A theme workshop is about the theme: the card gets three questions, the theme's statements the rest.
    discussion, quiz = offline_discussion, _offline_quiz(card, [s for s, _ in pairs], book, 5 if case else 3)
    if not writer.extractive:
        sources = list({p.chunk.chunk_id: p for p in used}.values())[:10]
        try:
            llm_discussion, llm_quiz, llm_note = _llm_parts(writer, topic, card, sources, book,
                                                             library.collection().prompt_values()["dated"])
            if not (llm_discussion or llm_quiz or llm_note):
                warnings.append("None of the language model's items could be checked against the passages; the "
                                "pack is the offline extractive version.")
            # The model's items replace the extractive ones only where they passed the citation check.
            discussion = (llm_discussion + [d for d in offline_discussion if d not in llm_discussion])[:5]
            quiz = (llm_quiz + quiz)[:5]
            if llm_note:
                context = library.collection().date_note()
                note = "\n\n".join(x for x in (TIMING, llm_note, context and f"Context for participants: {context}") if x)
        except LLMError as exc:
            warnings.append(f"The language model failed ({exc}); this pack is the offline extractive version.")
    orgs = known_organisations(library.chunks())
    for facts in disagreements(list({p.chunk.chunk_id: p for p in used}.values()), orgs):
        warnings.append(disagreement_warning(facts, orgs, book))
    if not case:
        warnings.append(f"The case study was chosen as the one most present in the passages on “{subject}”.")
    return WorkshopPack(title=f"Workshop pack: {card.organisation if case else subject}", subject=subject, card=card,
                        discussion=tuple(discussion), quiz=tuple(quiz), facilitator_note=note,
                        references=book.references(), warnings=tuple(warnings),
                        answerer=writer.name, created=today or date.today(), library=library.collection())


def pack_sections(pack: WorkshopPack) -> list[tuple[str, str]]:
    """(heading, text) of each part of a pack, in the order a trainer uses them."""
    card = [f"- Organisation: {pack.card.organisation}", *[f"- {f.label}: {f.value} [{f.n}]" for f in pack.card.facts]]
    card_text = "\n".join(card) + f"\n\nWhat it did: {pack.card.did}\n\nWhat it learned: {pack.card.learned}"
    return [
        ("Case-study card", card_text),
        ("Discussion questions", "\n\n".join(f"{i}. {q}" for i, q in enumerate(pack.discussion, start=1))),
        ("Quiz", "\n\n".join(f"Q{i}. {q.question}" for i, q in enumerate(pack.quiz, start=1))),
        ("Quiz answers", "\n\n".join(f"A{i}. {q.answer}" for i, q in enumerate(pack.quiz, start=1))),
        ("Facilitator's note", pack.facilitator_note),
    ]
