"""Workshop mode: a trainer's pack (case-study card, discussion questions, quiz, facilitator's note), all cited."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from assistant.answering.citations import split_sentences, verify
from assistant.answering.guardrails import check_scope, clean_question
from assistant.documents.cards import (COMPARISON, SHOWN, CardFact, CaseCard, case_studies, former_names, joined,
                                       organisations, table, table_rows)
from assistant.documents.exercises import QuizItem, discussion_question, fact_questions
from assistant.documents.figures import disagreement_warning, disagreements, display_name, known_organisations
from assistant.documents.library import Library
from assistant.collection import Collection
from assistant.documents.outline import Outline, ReferenceBook, prepared, reference_entries
from assistant.documents.quiz import KINDS, case_quiz, related_quiz
from assistant.documents.selection import Candidate, candidates, on_theme, pick, topic_terms
from assistant.documents.packllm import llm_parts
from assistant.errors import InputError, LLMError
from assistant.organisations import ALIASES, canonical, org_key, same_organisation, writes
from assistant.schema import Citation, Passage
from assistant.search.ranking import score_key
from assistant.text import tokenize

__all__ = ["CardFact", "CaseCard", "QuizItem", "WorkshopPack", "build_card", "build_workshop", "case_studies",
           "pack_sections", "table_rows"]  # the UI and tests reach the card's parts through this module


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
    related: tuple[str, ...] = ()  # a theme pack: one cited line for each case study that discusses the theme
    answerer: str = "offline"
    created: date = field(default_factory=date.today)
    library: Collection = field(default_factory=Collection)  # the documents it was written from

    def outline(self) -> Outline:
        """Title, date line, warnings, the trainer's parts in order, and the reference entries."""
        return Outline(self.title, prepared(self.created, self.answerer, self.library), list(self.warnings),
                       pack_sections(self), reference_entries(self.references), note=self.library.date_note())


TIMING = ("Suggested use (about 60 minutes): 10 minutes on the card, 25 on the discussion questions in small groups, "
          "10 on the quiz, and 15 on what participants would do locally.")

# Searches for discussion statements: what an organisation achieved, found hard, decided, and learned.
_THEMES = ("benefits achieved improved results", "challenges barriers difficulties tension", "governance board "
           "decision making", "conflicts of interest commissioners", "patients staff engagement workforce",
           "lessons learned", "options model chose decided")


class Focus(NamedTuple):
    """Whose statements a pack may cite: the organisation's own passages, and the words that name it."""

    own: frozenset[str]
    words: tuple[str, ...]
    items: frozenset[str] = frozenset()  # the card's table items, not statements to discuss

    def allows(self, c: Candidate) -> bool:
        """A statement from the organisation's own case study, or one elsewhere that names it in its opening
        sentence and names no other organisation; never an item of its table."""
        if c.text.rstrip(". ").lower() in self.items:
            return False
        if c.passage.chunk.chunk_id in self.own:
            return True
        # Named in its opening sentence: "The network model used monthly meetings ... In contrast, the Vitality
        # super-partnership ..." is about the network model first, a comparison (judged as a leak in round 3).
        opening = (split_sentences(c.text) or [c.text])[0]
        names = any(writes(opening, w) for w in self.words)
        others = [n for n in c.names if not any(w.lower() in n.lower() for w in self.words)]
        return names and not others


def _statements(pool: Sequence[Passage], query: str, names: Sequence[str], seen: set[str], limit: int,
                focus: Focus | None = None, direct: bool = False) -> list[Candidate]:
    """Up to `limit` whole, standalone statements on `query` (no table rows: the card has them), none used before;
    with `focus`, only statements about that organisation; `direct`, only those using the query's own words."""
    own = {t for t, w in topic_terms(query).items() if w == 1.0}
    ranked = [c for c in candidates(query, pool, names)
              if not c.unit.fact and (focus is None or focus.allows(c)) and (not direct or own & set(tokenize(c.text)))]
    return pick(ranked, seen, limit, per_passage=1)


def _cited(chosen: Sequence[Candidate], book: ReferenceBook) -> list[str]:
    """Each statement with a global marker after every sentence, verified against its passage."""
    out = []
    for c in chosen:
        raw = " ".join(f"{x} [1]" for x in split_sentences(c.text))
        text, citations, _ = verify(raw, [c.passage])
        if citations:
            out.append(book.localise(text, citations)[0])
    return out


def _choose_cases(library: Library, theme: str, groups: dict[str, list[str]],
                  cases: dict[str, list[Passage]]) -> list[tuple[str, Candidate]]:
    """Organisations whose own case passages discuss the theme, best first, each with its best statement: by the
    theme as a phrase and two of its words (on_theme) first, else by fewer ('conflicts of interest' together)."""
    names = sorted(cases)
    for phrases, two in ((2, True), (0, True), (2, False), (0, False)):
        found = []
        for head, members in groups.items():
            own = [p for m in members for p in cases[m]]
            best = [c for c in candidates(theme, own, names, phrases=phrases)
                    if not c.unit.fact and (on_theme(theme, c.text) or not two)][:3]
            if best:
                found.append((sum(c.score for c in best), head, best[0]))
        if found:
            found.sort(key=lambda x: (-score_key(x[0]), x[1]))
            return [(head, c) for _, head, c in found]
    raise InputError(f"No case study in the reports discusses “{theme}”; try --case with one of: "
                     + ", ".join(sorted(groups)[:12]) + ".")


def _focus(library: Library, matches: Sequence[str], own: Sequence[Passage]) -> Focus:
    """The organisation's own passages and the words that name it (its former names' too)."""
    words = {org_key(n).capitalize() for n in matches if org_key(n)}
    words |= {old.capitalize() for old, new in ALIASES.items() if new in {canonical(w.lower()) for w in words}}
    return Focus(frozenset(p.chunk.chunk_id for p in own), tuple(sorted(words)))


def _card_facts(own: Sequence[Passage], book: ReferenceBook) -> dict[str, CardFact]:
    """Each card line from the first table row (in report order) that gives it, with every item of that row."""
    facts: dict[str, CardFact] = {}
    for row in table(own):
        if row.label not in facts and row.items:
            n, *also = [book.cite(p, quote) for p, quote in row.sources]
            facts[row.label] = CardFact(row.label, joined(row.items), n, tuple(a for a in also if a != n))
    return facts


def build_card(library: Library, name: str, book: ReferenceBook, seen: set[str]) -> tuple[CaseCard, list[Passage], Focus]:
    """The card for a case study named like `name`, the passages it drew on, and whose statements it may cite."""
    cases = case_studies(library)
    wanted = canonical(org_key(name))
    matches = ([n for n in cases if same_organisation(name, n)]
               or [n for n in cases if org_key(n) and canonical(org_key(n)) == wanted])
    if not matches:
        raise InputError(f"The reports have no case study called “{name}”. Case studies: "
                         + ", ".join(sorted(organisations(cases))) + ".")
    own = sorted({p.chunk.chunk_id: p for n in matches for p in cases[n]}.values(),
                 key=lambda p: (p.chunk.year or 0, p.chunk.doc_id, p.chunk.position))
    facts = _card_facts(own, book)
    key = canonical(org_key(matches[0]))
    exact = next((n for n in matches if n.lower() == name.lower()), None)
    names = {org_key(n): n for n in sorted(matches, key=len, reverse=True) if org_key(n)}  # shortest name wins
    if exact and org_key(exact):
        names[org_key(exact)] = exact
    organisation = display_name(key, names) if key in names else (exact or min(matches, key=len))
    focus = _focus(library, matches, own)._replace(items=frozenset(i.lower() for r in table(own) for i in r.items))
    # Reports also discuss an organisation outside its case study: every passage naming it is a source.
    named = [Passage(rank=0, chunk=c, score=0.0) for c in library.chunks()
             if any(writes(c.text, w) for w in focus.words)]
    pool = tuple({p.chunk.chunk_id: p for p in [*own, *named]}.values())
    every = sorted(cases)
    did = _cited(_statements(pool, "services delivered developed created provide run grew", every, seen, 3, focus), book)
    learned = _cited(_statements(pool, "lessons learned benefits challenges results", every, seen, 3, focus), book)
    card = CaseCard(organisation, tuple(facts[k] for k in SHOWN if k in facts),
                    " ".join(did) or "The reports say little more about what it did than the facts above.",
                    " ".join(learned) or "The reports record no lessons for this organisation beyond the facts above.",
                    tuple(former_names(organisation, matches)))
    return card, list(pool), focus


def _discussion(library: Library, pool: Sequence[Passage], topic: str, who: str, book: ReferenceBook, seen: set[str],
                focus: Focus | None, k: int) -> tuple[list[str], list[Passage]]:
    """Up to five discussion questions, each a cited statement and the question it raises; a case pack's come from
    its organisation's passages, a theme pack's from the passages on the theme."""
    items: list[str] = []
    used: list[Passage] = []
    names = sorted(case_studies(library))
    for terms in _THEMES:
        if len(items) == 5:
            break
        found = list(pool) if focus else library.retrieve(f"{topic} {terms}", 2 * k).passages
        used.extend(found)
        # A theme pack's statement must speak to the theme itself (its own words, not only the sentence before it);
        # the theme's words with the search terms found the passages.
        chosen = _statements(found, topic if not focus else terms, names, seen, 1, focus, direct=not focus)
        for c, text in zip(chosen, _cited(chosen, book)):
            subject = who if focus else (c.names[0] if c.names else c.unit.case_study or "the organisations")
            items.append(discussion_question(text, who=subject, topic=topic))
    return items, used


def _facilitator_note(library: Library, pool: Sequence[Passage], query: str, book: ReferenceBook, seen: set[str],
                      focus: Focus | None, comparison: str = "") -> str:
    """Timing, two cited key messages found by `query`, and the context note; when the organisation's own passages
    give none, lessons found by `comparison`, each labelled as a comparison with other organisations."""
    names = sorted(case_studies(library))
    cited = [f"- {x}" for x in _cited(_statements(pool, query, names, seen, 2, focus), book)]
    if not cited and comparison:
        found = library.retrieve(comparison, 8).passages
        cited = [f"- {COMPARISON}, from other organisations’ experience: {x}"
                 for x in _cited(_statements(found, comparison, names, seen, 2, None, direct=True), book)]
    key = "Key messages to draw out:\n" + "\n".join(cited) if cited else ""
    note = library.collection().date_note()
    return "\n\n".join(x for x in (TIMING, key, note and f"Context for participants: {note}") if x)


def _case_parts(library: Library, subject: str, book: ReferenceBook, seen: set[str],
                k: int) -> tuple[CaseCard, list[Passage], list[str], str, list[str]]:
    """A case pack's card, passages, discussion and facilitator's note, all from its organisation's statements."""
    card, used, focus = build_card(library, subject, book, seen)
    who = card.organisation.split(" (formerly ")[0]
    discussion, found = _discussion(library, used, who, who, book, seen, focus, k)
    # An organisation the reports say little about is discussed from its table: what each fact records.
    rows = [(f.label, f.value, f.markers) for f in card.facts]
    discussion += fact_questions(rows, who)[:max(0, 4 - len(discussion))]
    model = card.fact("Model")
    model_name = model.value.lower() if model else "large-scale general practice organisation"
    if not discussion:  # the reports say too little of it (Midlands Health Network): others' experience, so labelled
        # Its model, or the kind of organisation its card says it is ("A federation of 21 general practices ...").
        said = model_name if model else next((k for k in KINDS if k in " ".join(
            [card.did, *(f.value for f in card.facts)]).lower()), "federation")
        kind = said if said.endswith("s") else f"{said}s"  # "What does this tell you about networks"
        kind = kind if topic_terms(kind) else "practices working together"  # "federation" is in every report
        others, more = _discussion(library, [], kind, kind, book, seen, None, k)
        discussion = [f"{COMPARISON}, from the reports’ other material (not about {who}): {q}" for q in others[:3]]
        found += more
    note = _facilitator_note(library, used, "lessons learned key lesson advice", book, seen, focus,
                             comparison=f"lessons learned forming {model_name}")
    return card, used + found, discussion, note, []


def _thin(library: Library, card: CaseCard) -> str:
    """A case pack's warning that the reports say little about its organisation, naming the fullest case studies."""
    cases = case_studies(library)
    fullest = sorted(((len([p for m in ms for p in cases[m]]), head) for head, ms in organisations(cases).items()
                      if not same_organisation(head, card.organisation)), key=lambda x: (-x[0], x[1]))[:3]
    who = card.organisation.split(" (formerly ")[0]
    return (f"The reports say little about {who} (the card has {len(card.facts)} line{'s' if len(card.facts) != 1 else ''}):"
            " the discussion questions are other organisations' experience, labelled as comparisons. For a full session,"
            f" a case study they describe more fully may suit better: {', '.join(h for _, h in fullest)}.")


def _theme_parts(library: Library, theme: str, book: ReferenceBook, seen: set[str],
                 k: int) -> tuple[CaseCard, list[Passage], list[str], str, list[str]]:
    """A theme pack's card (the case study saying most on it), the other cases on it, discussion and note."""
    cases = case_studies(library)
    chosen = _choose_cases(library, theme, organisations(cases), cases)
    card, used, _ = build_card(library, chosen[0][0], book, seen)
    # The other case studies that discuss the theme, each in one cited line under its own name.
    related = [f"{head}: {text}" for head, c in chosen[1:4] for text in _cited(pick([c], seen, 1), book)]
    discussion, found = _discussion(library, [], theme, theme, book, seen, None, k)
    lessons = library.retrieve(f"lessons learned about {theme}", k).passages
    note = _facilitator_note(library, lessons, f"{theme} lessons learned", book, seen, None)
    return card, used + found + list(lessons), discussion, note, related


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
    if case:
        card, used, discussion, note, related = _case_parts(library, subject, book, seen, k)
        topic = card.organisation
    else:
        card, used, discussion, note, related = _theme_parts(library, subject, book, seen, k)
        topic = subject
    offline_discussion = discussion
    statements = [x for text in (card.did, card.learned) for x in re.split(r"(?<=\])\s+(?=[A-Z])", text)]
    if case:
        quiz = case_quiz(card, book, library, [*statements, *discussion]) + related_quiz(library, subject, related)
    else:  # a theme pack asks first about the theme: which case said what on it, then the card's own statements on it
        quiz = related_quiz(library, subject, related) + case_quiz(card, book, library, [*statements, *discussion],
                                                                   theme=subject)
    quiz = quiz[:5]
    prepared_by = writer.name
    if not writer.extractive:
        sources = list({p.chunk.chunk_id: p for p in used}.values())[:10]
        try:
            llm_discussion, llm_quiz, llm_note = llm_parts(writer, topic, card, sources, book,
                                                           library.collection().prompt_values()["dated"])
            if not (llm_discussion or llm_quiz or llm_note):
                prepared_by = library.answerer("offline").name  # nothing of the model's is in the pack
                warnings.append("None of the language model's items could be checked against the passages; the "
                                "pack is the offline extractive version.")
            # The model's items replace the extractive ones only where they passed the citation check.
            discussion = (llm_discussion + [d for d in offline_discussion if d not in llm_discussion])[:5]
            quiz = (llm_quiz + quiz)[:5]
            if llm_note:
                context = library.collection().date_note()
                note = "\n\n".join(x for x in (TIMING, llm_note, context and f"Context for participants: {context}") if x)
        except LLMError as exc:
            prepared_by = library.answerer("offline").name  # the pack must not say the model prepared it
            warnings.append(f"{exc} This pack is the offline extractive version.")
    orgs = known_organisations(library.chunks())
    for facts in disagreements(list({p.chunk.chunk_id: p for p in used}.values()), orgs):
        if not case or same_organisation(facts[0].org, card.organisation):  # a case pack warns about its own figures
            warnings.append(disagreement_warning(facts, orgs, book))
    if case and discussion and all(d.startswith(COMPARISON) for d in discussion):
        warnings.append(_thin(library, card))
    if not case:
        warnings.append(f"The case study on the card was chosen as the one whose own passages say most on “{subject}”.")
    return WorkshopPack(title=f"Workshop pack: {card.organisation if case else subject}", subject=subject, card=card,
                        discussion=tuple(discussion), quiz=tuple(quiz), facilitator_note=note,
                        references=book.references(), warnings=tuple(warnings), related=tuple(related),
                        answerer=prepared_by, created=today or date.today(), library=library.collection())


def pack_sections(pack: WorkshopPack) -> list[tuple[str, str]]:
    """(heading, text) of each part of a pack, in the order a trainer uses them."""
    former = [f"- Former name: {', '.join(pack.card.formerly)} (the same organisation; earlier reports use this name)"]
    card = [f"- Organisation: {pack.card.organisation}", *(former if pack.card.formerly else []),
            *[f"- {f.label}: {f.value} {f.markers}" for f in pack.card.facts]]
    card_text = "\n".join(card) + f"\n\nWhat it did: {pack.card.did}\n\nWhat it learned: {pack.card.learned}"
    related = [("Other case studies on this theme", "\n".join(f"- {r}" for r in pack.related))] if pack.related else []
    return [
        ("Case-study card", card_text),
        *related,
        ("Discussion questions", "\n\n".join(f"{i}. {q}" for i, q in enumerate(pack.discussion, start=1))),
        ("Quiz", "\n\n".join(f"Q{i}. {q.question}" for i, q in enumerate(pack.quiz, start=1))),
        ("Quiz answers", "\n\n".join(f"A{i}. {q.answer}" for i, q in enumerate(pack.quiz, start=1))),
        ("Facilitator's note", pack.facilitator_note),
    ]
