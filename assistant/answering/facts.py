"""A case study's labelled table fact or box line written as a sentence about its organisation ("Suffolk GP Federation has 60
practices.", "Suffolk GP Federation’s service portfolio includes diabetes, ... and urology.")."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.debris import run_together, soften
from assistant.organisations import opening, owner as owner_of


def unthe(label: str) -> str:
    """A box label without its leading "The" ("The solution" is the organisation's "solution")."""
    return re.sub(r"^the\s+", "", label, flags=re.I)


def _item_word(item: str) -> str:
    """A one-word list item as it reads inside a sentence: "Diabetes" as "diabetes"; names of several words
    ("Learning in Action") and acronyms ("MSK") keep their capitals."""
    return item.lower() if re.fullmatch(r"[A-Z][a-z]+", item) else item


def fact_sentence(label: str, value: str, case: str, lower_words: set[str] | frozenset[str] = frozenset()) -> str:
    """A labelled table fact as a sentence about its organisation: "Suffolk GP Federation’s legal status: ..."."""
    value = re.sub(r"\s+\)", ")", value.rstrip(" .;"))  # "(34 nurses, no salaried GPs )"
    value = soften(value, lower_words, keep=case)
    label = unthe(label)  # "The solution: ..." is the organisation's solution
    if names_itself(label, case):
        return f"{label}: {value}."  # "Modality Partnership LLP: a GP super-partnership ..."
    owner = owner_of(case)
    listed = re.match(r"^includes:? (?P<items>[^;]+(; [^;]+)+)$", value, re.I)
    if listed:  # "Service portfolio: includes Diabetes; Ultrasound; Urology" as a list in a sentence
        items = [_item_word(i.strip()) for i in listed.group("items").split("; ")]
        return f"{owner} {label.lower()} includes {', '.join(items[:-1])} and {items[-1]}."
    if has := has_counted(label, value, case, lower_words):
        return has
    for rule, template in _FACT_SENTENCES:
        if said := rule.match(f"{label.lower()}: {value}"):
            # "The Hurley Group is a partnership.", not "Hurley Group is ..."
            return template.format(case=opening(case), owner=owner, value=value,
                                   **{k: v or "" for k, v in said.groupdict().items()})
    return f"{owner} {label.lower()}: {value}."


# The commonest case-table facts, when their value is bare, written as the sentence a reader would write:
# "Suffolk GP Federation was established in April 2013." rather than "... date established: April 2013."
_MONTH = r"(?:(?:january|february|march|april|may|june|july|august|september|october|november|december) )?"
_FACT_SENTENCES = (
    (re.compile(rf"^date (?:established|founded|formed): {_MONTH}(?:19|20)\d\d$", re.I), "{case} was established in {value}."),
    (re.compile(r"^number of (?P<what>practices|partners|sites): (?P<n>\d[\d,]*)(?P<rest> \([^)]*\))?$",
                re.I), "{case} has {n} {what}{rest}."),
    (re.compile(r"^registered population: (?P<n>\d[\d,]*)(?P<rest> combined)?$", re.I),
     "{case} has a registered population of {n}{rest}."),
    (re.compile(r"^legal (?:status|form): (?:community interest company|company limited by \w+|limited liability "
                r"partnership|partnership|limited company|social enterprise)$", re.I), "{case} is a {value}."),
)


# A count of what the organisation has, under a label saying so: "Number of partners: Four partners with 22 lead GPs
# ...", "Care locations: Eight practice sites.", "Number of employees: 30 employees plus a board ...".
_HAS_LABEL = re.compile(r"^(number of (employees|staff|partners|practices|sites)|care locations)$", re.I)
_COUNTED = re.compile(r"^(?P<n>\d[\d,]*\+?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve) "
                      r"(?P<rest>(?:[a-z-]+ ){0,2}[a-z-]+s\b[^;]*)$")  # (read from a lower-case first letter)


def has_counted(label: str, value: str, case: str, lower_words: set[str] | frozenset[str]) -> str:
    """ "The Hurley Group has four partners with 22 lead GPs ...": a labelled count said as what the organisation has
    ("" when the value is no such count, or names or cells follow it: "18 general practices Five urgent ...")."""
    value = value.strip()
    counted = _COUNTED.match(value[:1].lower() + value[1:])
    if not counted or not _HAS_LABEL.match(unthe(label.strip())) or \
            run_together(value, set(lower_words)):
        return ""
    return f"{opening(case)} has {counted.group('n')} {counted.group('rest').rstrip(' .')}."


def names_itself(label: str, case: str) -> bool:
    """Whether a label is the organisation's own name ("Modality Partnership LLP" in Modality Partnership's box)."""
    return bool(case) and (case.lower() in label.lower() or label.lower() in case.lower())


# A box's value that is a sentence of its own: a capital (not "To ..."), then a verb ("has been held", "can be").
OWN_SENTENCE = re.compile(r"^(?!(To|A|An)\b)[A-Z][^:;]*?\b(is|are|was|were|has|have|had|will|can|could|would|should|may|"
                           r"might|must|does|did|includes|provides|covers|serves|employs|runs|holds|offers|operates|comprises)\b")


def boxed_sentence(label: str, value: str, case: str, lower_words: set[str]) -> str:
    """A case box's sentence said of its organisation, closed by a full stop."""
    if not value.rstrip().endswith((".", "!", "?")):
        value = value.rstrip(" ;,") + "."
    if case.lower() in value.lower():
        return value
    what = unthe(label.strip())
    if names_itself(what, case):
        return f"{what}: {value}"
    if what.lower() in ("vital statistics", "statistics", "background", "summary"):
        return f"{case}: {value}"
    if OWN_SENTENCE.match(value):
        return value  # "Service portfolio: Since 2011, an APMS contract has been held ...": the label adds nothing
    return f"{owner_of(case)} {what.lower()}: {soften(value, lower_words, keep=case)}"  # "Vitality has ..." keeps its capital


def merge_items(fact: str, items: Sequence[str]) -> str:
    """A labelled fact with the items listed under it: "Service portfolio: Includes:" and "Diabetes", "Ultrasound"
    become "Service portfolio: includes Diabetes; Ultrasound"."""
    head = re.sub(r":\s*(Includes|Including):?$", ": includes", fact.rstrip(" .;"))
    items = [item.rstrip(" .") for item in items]  # a box title's full-stopped lines ("QI tools and techniques ...")
    if head.endswith(": includes"):
        return f"{head} " + "; ".join(items)
    return f"{head.rstrip(':')}{':' if head.endswith(':') else ';'} " + "; ".join(items)
