"""How chosen sentences are written out: a fact the reports don't give, whose case a sentence is, its markers."""

from __future__ import annotations

import re

from assistant.answering.citations import split_sentences
from assistant.answering.protocol import NOT_GIVEN
from assistant.answering.question import Question, without_subject
from assistant.answering.sentences import Unit
from assistant.organisations import named_in, spoken


def missing_fact(part: str, question: Question) -> str:
    """A sentence saying the reports don't give what a part asks."""
    text = part.strip().rstrip("?")
    who = question.subject_name
    lead = re.match(r"^(what|which)\s+(?P<thing>(?:[\w’'-]+\s+){0,4}?[\w’'-]+)\s+(did|does|do|is|was|are|were|has|have|had)\b",
                    text, re.I)
    thing = lead.group("thing") if lead else ""
    if thing and not re.match(r"^(is|was|are|were|the|a|an|do|does|did|has|have|had|can|could|should|would|will)$",
                              thing.split()[0], re.I):
        return f"{NOT_GIVEN} {who}’s {thing}." if who else f"{NOT_GIVEN} the {thing}."
    # "What is the chief executive's salary at the Hurley Group?": the Hurley Group’s chief executive's salary.
    # "What is Suffolk GP Federation's CQC rating?" is read without the name: "What is CQC rating".
    bare = re.sub(r"\s+(of|at|for|in)$", "", without_subject(text, question.subject).strip()) if who else text
    of = re.match(r"^(what|which)\s+(is|was|are|were)\s+(the\s+)?(?P<thing>[\w’'-]+(\s+[\w’'-]+){0,4}?)"
                  r"(\s+(of|at|for|in)\s+(?P<rest>.+))?$", bare, re.I)
    if of and who and (not of.group("rest") or not without_subject(of.group("rest"), question.subject).strip()):
        return f"{NOT_GIVEN} {who}’s {of.group('thing')}."
    named = bool(named_in(text, question.subject))
    if said := _as_a_fact(text, who=who if not named else ""):
        return f"{NOT_GIVEN} {said}."
    return f"{NOT_GIVEN} an answer to “{text}?”" + (f" for {who}." if who and not named else "")


# Past forms of the verbs "how much did ... ?" asks with; others take "-ed".
_PAST = {"spend": "spent", "cost": "cost", "give": "gave", "pay": "paid", "get": "got", "make": "made", "have": "had",
         "raise": "raised", "save": "saved", "take": "took", "bring": "brought", "win": "won", "hold": "held"}
_HOW_MANY = re.compile(r"^how (?P<how>many|much) (?:(?P<thing>(?:[\w’'-]+ ){0,2}?[\w’'-]+) )?(?P<aux>are|were|is|was|does|do|did) "
                       r"(?P<rest>.+)$", re.I)


def _as_a_fact(text: str, *, who: str) -> str:
    """A "how many / how much / when / who / what's the name" question as the fact it asks, for "The reports don't
    give ...": "How many beds does the hospital have" as "the number of beds the hospital has"; "" for others.
    `who` stands for "it" where the question says "it" for the organisation it follows on."""
    if who and not re.search(r"\bit\b", text):
        return ""  # the organisation is neither named nor "it": the caller says whom the question is about
    text = re.sub(r"\bit\b", who, text) if who else text
    if m := _HOW_MANY.match(text):
        what = f"the number of {m['thing']}" if m["how"].lower() == "many" else \
            "the amount" + (f" of {m['thing']}" if m["thing"] else "")
        if not m["thing"] and m["how"].lower() == "many":
            return ""
        aux, rest = m["aux"].lower(), m["rest"]
        if aux in ("are", "were", "is", "was"):
            return f"{what} {rest}" if m["how"].lower() == "many" else ""
        doer, verb, after = _split_verb(rest)
        if not verb:
            return ""
        done = _PAST.get(verb, verb + ("d" if verb.endswith("e") else "ed")) if aux == "did" else \
            ("has" if verb == "have" else verb + ("es" if verb.endswith(("s", "sh", "ch")) else "s")) if aux == "does" else verb
        return f"{what} {doer} {done}{after}"
    if m := re.match(r"^when (was|were) (?P<doer>.+?) (?P<done>\w+ed|set up|founded|begun)$", text, re.I):
        return f"the date {m['doer']} {m[1].lower()} {m['done']}"
    if m := re.match(r"^(?:who (?:is|was)|what(?:'s|’s| is| was) the name of) (?P<one>the .+)$", text, re.I):
        return f"the name of {m['one']}"
    if m := re.match(r"^what(?:'s|’s| is| was) (?P<one>the .+)$", text, re.I):  # "the annual value of the contract"
        return m["one"]
    return ""


def _split_verb(rest: str) -> tuple[str, str, str]:
    """(who does it, the verb, what follows) of "the community hospital in Nairn have": the verb is the first
    lower-case word after a name or a noun phrase; ("", "", "") when none is found."""
    words = rest.split()
    for i in range(1, len(words)):
        if re.fullmatch(r"[a-z]+", words[i]) and words[i] in _PAST or i == len(words) - 1 and re.fullmatch(r"[a-z]+", words[i]):
            return " ".join(words[:i]), words[i], "".join(f" {w}" for w in words[i + 1:])
    return "", "", ""


def said_of(text: str, case: str, *, named: bool, context: str = "") -> str:
    """A case study's sentence that names no organisation, said to be that case's before it begins ("In the City and
    Hackney Confederation, the governing body was established."): else a reader takes it as general. Its first word
    keeps its capital only where `context` (its passage) writes it so mid-sentence ("London", "GPs")."""
    first = re.match(r"[A-Z][a-z'’-]*\.?", text)  # "A", "Member", "Start-up", "E.g."
    if not case or named or text.startswith("In ") or not first:
        return text
    word = first.group(0)
    rest = word[1:].rstrip(".")
    name = bool(rest) and not rest.islower() or bool(re.search(rf"[a-z,;] {re.escape(word)}", context))
    return f"In {spoken(case)}, {word if name else word[0].lower() + word[1:]}{text[len(word):]}"


# "Status", "focus", "analysis", "access" end in "s" but are one thing.
_PLURAL = re.compile(r"(?<![usi])s$")


def with_verb(text: str, case: str) -> str:
    """A case box's labelled value, as written out, with a verb where one reads plainly: "Harness Healthcare Ltd is a
    federation ...", "Fleetwood Community Care’s challenge is to look at ...", "Suffolk GP Federation’s main drivers
    are: support ...; share ..." (before a list of several); else as it was ("Hurley Group’s local levers: ...")."""
    named = re.match(rf"^(?P<name>(?:The )?{re.escape(case)}(?: (?:Ltd|LLP|Plc|CIC))?): (?P<a>An?|an?) (?=[A-Za-z])", text) \
        if case else None
    if named:  # "Harness Healthcare Ltd: a federation and community services provider ..." says what it is
        return f"{named.group('name')} is {named.group('a').lower()} {text[named.end():]}"
    box = re.match(rf"^(?P<owner>(?:The )?{re.escape(case)}’s?) (?P<label>[a-z][a-z ]{{2,40}}?): (?P<value>.+)$", text) \
        if case else None
    if not box or re.search(r"\b(include|includes|is|are|was|were)$", box.group("label")):
        return text
    owner, value = box.group("owner"), box.group("value")
    label = re.sub(r"\s+of (the )?organi[sz]ation$", "", box.group("label"))  # "primary purpose of organisation"
    several = bool(_PLURAL.search(label)) and not label.startswith("number of")
    if value.startswith("to "):
        return f"{owner} {label} {'are' if several else 'is'} {value}"
    if several and ";" in value:
        return f"{owner} {label} are: {value}"
    return f"{owner} {label}: {value}"


def cited(unit: Unit) -> str:
    """A unit with its marker after each of its sentences (a leaning sentence is quoted with the one before it)."""
    return " ".join(f"{s} [{unit.n}]" for s in split_sentences(with_verb(unit.text, unit.case_study)))
