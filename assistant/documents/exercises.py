"""A pack's exercises: discussion questions that follow from what a cited passage says, and multiple-choice quiz
questions (which model fits, why it formed, which organisation) with options drawn from other case studies."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from assistant.answering.citations import MARKER

# What a statement says decides what is asked about it: a tension, a choice, a result or a plan (first match wins).
_ASKS = (
    (re.compile(r"\b(however|but|although|whereas|tension|paradox|dilemma|at the expense|balance|harder|"
                r"difficult\w*|challeng\w*|barriers?|risks?|struggl\w*)\b", re.I),
     "What is being traded off here, and how would you handle that tension locally?"),
    (re.compile(r"\b(chose|decided|agreed|formed|set up|established|created|became|adopted|joined|merged|invested|"
                r"appointed|brought|moved|took on|bid)\b", re.I),
     "Why do you think {who} took this step, and what else could it have done?"),
    (re.compile(r"\b(improv\w*|reduc\w*|increas\w*|enabl\w*|helped|achiev\w*|benefits?|sav\w+|turnaround)\b", re.I),
     "What made this result possible for {who}, and what would you need in place to achieve it?"),
    (re.compile(r"\b(plans?|planned|will|aims?|hopes?|hopeful|intends?|strategy|next challenge)\b", re.I),
     "What would have to be true for this plan to succeed, and how would you know it had?"),
)
_DEFAULT_ASK = "What does this tell you about {topic}, and would it hold in your area?"


class QuizItem(NamedTuple):
    """A quiz question and its answer; the answer carries the [n] of the passage that states it."""

    question: str
    answer: str


def discussion_question(statement: str, *, who: str, topic: str) -> str:
    """The cited statement followed by the question that arises from what it says (its tension, choice, result or
    plan), asked of the organisation it is about."""
    body = MARKER.sub("", statement)
    ask = next((q for pattern, q in _ASKS if pattern.search(body)), _DEFAULT_ASK)
    return f"{statement} {ask.format(who=who, topic=topic)}"


def multiple_choice(stem: str, right: str, wrong: Sequence[str], markers: str) -> QuizItem | None:
    """A question with the right option among up to three others (alphabetical, so the letter tells nothing);
    None when there are not two plausible distractors."""
    others = list(dict.fromkeys(w for w in wrong if w.strip().lower() != right.strip().lower()))[:3]
    if len(others) < 2:
        return None
    options = sorted([right, *others], key=str.lower)
    letter = "ABCD"[options.index(right)]
    listed = " ".join(f"({'ABCD'[i]}) {o}" for i, o in enumerate(options))
    return QuizItem(f"{stem} {listed}", f"({letter}) {right} {markers}")


def blanked(text: str, names: Sequence[str]) -> str:
    """The statement with the organisation's names (and their distinctive words) replaced by '___'."""
    out = MARKER.sub("", text).strip()
    for name in sorted(names, key=len, reverse=True):
        if name:
            out = re.sub(rf"\b(?:the\s+)?{re.escape(name)}(?:’s|'s)?", "___", out, flags=re.I)
    return out


# Questions on a card's table facts, for an organisation the reports say little else about: each asks about the
# choice or result the fact records.
_FACT_ASKS = {
    "Why it formed": ("{who} gave these reasons for forming: {value} {markers}. Which of them apply in your area, "
                      "and which would joining together at scale actually address?"),
    "Legal form": ("{who} took the legal form: {value} {markers}. What does that form make possible or rule out "
                   "(holding contracts, sharing profit, bidding for services), and would it suit your practices?"),
    "Services": ("{who}'s services include: {value} {markers}. Which of these would your practices be better "
                 "placed to provide together than alone, and why?"),
    "Employees": ("{who}'s staff and board: {value} {markers}. Who should sit on such a board, and how would "
                  "members' conflicts of interest be declared?"),
    "Benefits": ("{who}'s identified benefits: {value} {markers}. What evidence would convince you that an "
                 "organisation like this was working?"),
    "Registered population": ("{who} serves a registered population of {value} {markers}. What size would an "
                              "at-scale organisation need to be in your area, and what would it gain or lose?"),
}


def fact_questions(facts: Sequence[tuple[str, str, str]], who: str) -> list[str]:
    """Discussion questions on (label, value, markers) table facts, in the order of _FACT_ASKS."""
    given = {label: (value, markers) for label, value, markers in facts}
    return [ask.format(who=who, value=given[label][0].rstrip("."), markers=given[label][1])
            for label, ask in _FACT_ASKS.items() if label in given]
