"""Whose words a sentence is: first-person sentences quoted as their speaker's, pull quotes with their source."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.organisations import possessive, spoken

# "We invest ...", "In 2006 we were ...": the organisation speaking.
_FIRST_PERSON = re.compile(r"^((in|by|since|from|after|over|during|at first|today|now)\b[^,.]{0,30}?\s|"
                           r"(?:[^,.;:“”\"]{3,150},\s){1,3})?(we|our|i|us)\b", re.I)  # "Supported by ..., we now have"


def in_its_words(text: str, case: str) -> str:
    """"We invest ..." as "In the Hurley Group’s words: “We invest ...”": a quotation, said to be the organisation's
    (judges found "In Hurley Group’s words, we invest ..." awkward)."""
    who = case if case.lower().startswith("the ") else spoken(case)
    return f"In {possessive(who)} words: “{text[:1].upper() + text[1:]}”"


SAID_BY = re.compile(r"^In (?P<owner>[^:]{2,80}) words: “")


def once_in_its_words(texts: Sequence[str]) -> list[str]:
    """Sentences in a row in one organisation's words say so once: the second of two "In the Hurley Group’s words:
    “We ...”" reads "“We ...”"."""
    out, before = [], ""
    for text in texts:
        said = SAID_BY.match(text)
        owner = said.group("owner") if said else ""
        if said and owner == before:
            text = f"“{text[said.end():]}"
        out.append(text)
        before = owner
    return out


# A pull quote on a line of its own ("“We are rolling out projects ...”") and the line naming who said it, after it
# ("MyHealthcare Federation, Birmingham", "Dr Vidhu Mayor, GP partner, Modality").
_PULL_QUOTE = re.compile(r"^[“\"][^“”\"]{20,}[.!?…]?[”\"]$")
_SOURCE_LINE = re.compile(r"^(?:(?:Dr|Prof|Professor|Mr|Mrs|Ms|Sir|Dame) )?[A-Z][\w’'&.-]*(?: [\w’'&().-]+){0,12}$")


def attributed(line: str, after: str) -> str:
    """A pull quote said with its source ("In the words of MyHealthcare Federation, Birmingham: “...”"), or ""."""
    if not _PULL_QUOTE.match(line) or not _SOURCE_LINE.match(after.replace(",", "")) or after.endswith("."):
        return ""
    return f"In the words of {after.strip()}: {line}"


def author_of(publisher: str) -> str:
    """Who speaks as "we" in a document's own text: its publisher ("the Healthy London Partnership", "the Nuffield
    Trust and The King's Fund"), without what follows a bracket or ", for"; "" when unknown."""
    name = re.split(r"\s*\(|,\s*for\b", publisher or "", maxsplit=1)[0].strip()
    return "" if not name else name if name.lower().startswith("the ") else f"the {name}"


# A report's authors speaking anywhere in a sentence ("Closer integration also helps us to involve patients").
_WE_ANYWHERE = re.compile(r"\b(we|us|our|ours|ourselves)\b", re.I)


def speaks(text: str, *, own: bool) -> bool:
    """Whether a sentence is in the first person: opening on it, or, in a report's own text (`own`), anywhere in it;
    a quotation already attributed is not."""
    if "“" in text or text.startswith("In the words of"):
        return False
    return bool(_FIRST_PERSON.match(text) or own and _WE_ANYWHERE.search(text))
