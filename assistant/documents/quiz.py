"""A pack's quiz: multiple-choice questions on the card's case (which model fits its reasons for forming, which reason
was its, which legal form it took, which organisation a statement describes) and, in a theme pack, which case study
said what on the theme; options from other case studies, each answer cited."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.citations import MARKER
from assistant.answering.voice import SAID_BY
from assistant.documents.cards import COMPARISON, CaseCard, case_studies, organisations, table
from assistant.documents.exercises import QuizItem, blanked, multiple_choice
from assistant.documents.library import Library
from assistant.documents.outline import ReferenceBook
from assistant.documents.selection import on_theme
from assistant.organisations import ALIASES, mentions, org_key, same_organisation, writes


# The kinds of at-scale organisation a card may say it is ("A federation of 21 general practices ...").
KINDS = ("super-partnership", "federation", "network", "multi-practice", "partnership", "alliance")
# What a model of at-scale general practice is called: one of the kinds, or a word such names use ("Multi-practice
# model", "Limited company"); a card's Model row that holds anything else ("Marginalised groups") is no quiz option.
_MODEL = re.compile("|".join([*KINDS, "practice", "model", "company", "organisation", "group of"]), re.I)


def legal_option(value: str) -> str:
    """A legal form as an option: "Network 2 formed as a company limited by shares" is "Company limited by shares"."""
    tail = re.search(r"\b(?:formed|registered|set up|established) as (?:an? )?(?P<form>.+)$", value, re.I)
    form = tail.group("form") if tail else value
    return form[:1].upper() + form[1:]


def named_early(statement: str, name: str) -> bool:
    """Whether a statement names the organisation within its first ten words, as the one it is about."""
    at = MARKER.sub("", statement).lower().find(name.lower())
    return 0 <= at and len(MARKER.sub("", statement)[:at].split()) <= 10


def case_quiz(card: CaseCard, book: ReferenceBook, library: Library, statements: Sequence[str], *,
              theme: str = "") -> list[QuizItem]:
    """Multiple-choice questions on the card's case: which model fits its reasons for forming, which reason was its,
    which legal form it took, and which organisation a statement is about; options from other case studies. For a
    theme pack, statements on the theme (on_theme) and before the card's facts."""
    cases = case_studies(library)
    others = {head: {r.label: r for p in [p for m in members for p in cases[m]] for r in table([p])}
              for head, members in organisations(cases).items() if not same_organisation(head, card.organisation)}
    items: list[QuizItem | None] = []
    who = card.organisation.split(" (formerly ")[0]
    model, why, legal = card.fact("Model"), card.fact("Why it formed"), card.fact("Legal form")
    if model and why:
        # "Improve local management ..." reads "improve local management ..."; "PCT strategy ..." keeps its capitals.
        reasons = "; ".join(r[:1].lower() + r[1:] if r[1:2].islower() else r for r in why.value.split("; ")[:3])
        items.append(multiple_choice(f"A group of practices gave these reasons for forming: {reasons}. Which model "
                                     "of at-scale general practice did it choose?", model.value,
                                     [m for r in others.values() if "Model" in r and _MODEL.search(m := r["Model"].items[0])],
                                     model.markers + (why.markers if why.markers != model.markers else "")))
    if why and why.value:
        words = [w for w in (org_key(who).capitalize(), *who.split()[:1]) if w]
        mine = [r for r in why.value.split("; ") if not any(w in r for w in words)]  # no answer naming itself
        foreign = [i for r in others.values() if "Why it formed" in r for i in r["Why it formed"].items if i not in mine]
        if mine:
            items.append(multiple_choice(f"Which of these was one of {who}’s reasons for forming?",
                                         mine[0], foreign[::3], why.markers))
    if legal and model:
        items.append(multiple_choice(f"{who} is a {model.value.lower()}. Which legal form did it take?",
                                     legal_option(legal.value),
                                     [legal_option(r["Legal form"].items[0]) for r in others.values() if "Legal form" in r],
                                     legal.markers))
    facts, items = items, []
    names = [card.organisation.split(" (formerly ")[0], *card.formerly,
             *(w for w in {org_key(card.organisation).capitalize(), *(org_key(f).capitalize() for f in card.formerly)})]
    keys = {k for k in (org_key(c) for c in cases) if k} | set(ALIASES)  # a statement naming another is no item
    for statement in statements:
        if statement.startswith(COMPARISON) or SAID_BY.match(statement) or theme and not on_theme(theme, statement):
            continue  # another's material (its label names this one), or its own words: "In ___’s words: “We ...”"
        statement = statement[:max((m.end() for m in MARKER.finditer(statement)), default=0)]  # no question after it
        # About it, not naming it as an aside ("... purchased from private providers (for example ___)").
        if any(n and writes(statement, n) and named_early(statement, n) for n in names) and \
                all(same_organisation(o, card.organisation) for _, o in mentions(statement, keys)):
            markers = "".join(m.group(0) for m in MARKER.finditer(statement))
            items.append(multiple_choice(f"Which organisation does this describe: “{blanked(statement, names)}”?",
                                         names[0], [o for o in sorted(others, key=lambda h: -len(others[h])) if others[o]],
                                         markers))
    return [q for q in ([*items, *facts] if theme else [*facts, *items]) if q][:5]


def related_quiz(library: Library, theme: str, related: Sequence[str]) -> list[QuizItem]:
    """For a theme pack: which case study said what on the theme, the others as options."""
    cases = case_studies(library)
    items = []
    for line in related:
        head, text = line.split(": ", 1)
        markers = "".join(m.group(0) for m in MARKER.finditer(text))
        others = [g for g in organisations(cases) if g != head and len(cases.get(g, ())) > 2]
        item = multiple_choice(f"Which case study said this about {theme}: "
                               f"“{blanked(text, [head, org_key(head).capitalize()])}”?", head, others, markers)
        items += [item] if item else []
    return items
