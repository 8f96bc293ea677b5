"""What is not a whole sentence: headings, table cells run together, references and pointers, fragments."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.text import STOPWORDS

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# Fewer words than this is a fragment or a heading, not a sentence.
MIN_WORDS = 6
# Endings of ordinary words ("Keeping", "Clinically", "Community"): such a word needs no capital mid-sentence.
_ORDINARY = re.compile(r"(ing|ed|ly|ity|ion|ions|ment|ments|ness|ive|al|ance|ence|ships?)$")


def ordinary(word: str, lower_words: set[str] | frozenset[str]) -> bool:
    """Whether a capitalised word is an ordinary one (written lower-case in the passage, a stopword, or by its
    ending), not a name or an acronym."""
    low = word.lower()
    return word[1:].islower() and (low in lower_words or low in STOPWORDS or bool(_ORDINARY.search(low)))


def soften(text: str, lower_words: set[str] | frozenset[str], *, keep: str = "") -> str:
    """A list item or table value as it reads inside a sentence: its ordinary first word in lower case
    ("Community interest company" reads "community interest company"); a title's capital stays ("Learning in
    Action"), and so does a word of `keep` (the organisation's name)."""
    first, *rest = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].split() or [""]
    if not first[:1].isupper() or not ordinary(first, lower_words) or first.lower() in keep.lower().split() or \
            any(re.match(r"[A-Z][a-z]", w) for w in rest[:2]):
        return text
    return text[0].lower() + text[1:]


_ASIDE = re.compile(r"\([^()]*\)")
_ACRONYM = re.compile(r"^[A-Z]{2,}[a-z]?s?$")


def caps_share(words: Sequence[str]) -> float:
    """Share of the words after the first that start with a capital (headings and table rows score high)."""
    rest = [w for w in words[1:] if w.lower() not in STOPWORDS]
    return sum(w[0].isupper() for w in rest) / len(rest) if rest else 0.0


# "Available at: https://...": a reference, not a statement; a link inside a long sentence is kept.
_LINK = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.[a-z]{2,}|\b[\w-]+\.(?:com|org|net|uk)/\S*", re.I)
_CITING = re.compile(r"^(available (at|from)|accessed|retrieved|see|source|supplemented by|adapted from|based on "
                     r"information|follow us|sign[- ]?up for|subscribe)\b", re.I)
# "GP at scale organisations with non-clinical roles (England): Source: Collaboration in general practice: ...": a
# figure's caption and its source note.
_SOURCE_NOTE = re.compile(r"(^|: | )(Sources?|Notes?): ")
_POINTER = re.compile(r"\(\s*(?:see|cf\.?)\b[^)]*\b(?:below|above|overleaf)\b[^)]*\)", re.I)
# "Whether these organisations have had an impact on quality of care.": a clause with no sentence around it.
CLAUSE_ONLY = re.compile(r"^whether\b(?!.*,)", re.I)


# Sentences that point elsewhere instead of saying something: "More analysis ... is available from the Nuffield
# Trust.", "... is set out in Figure 7.", "This chapter proposes a set of characteristics ...".
_SIGNPOST = re.compile(r"\b(is|are) (set out|described|shown|illustrated|summarised|available|presented|discussed|"
                       r"listed|given) (in|from|on|at|below|above|overleaf)\b|^(this|the following|the next) (chapter|"
                       r"section|event report|report|paper|document) (proposes|summari[sz]es|describes|sets out|"
                       r"presents|outlines|looks at|considers|explores)\b|^it also includes a description\b", re.I)


# A foreword's thanks ("I would like to express my thanks to Dr Penny Newman ..."): about the report, not its subject.
_THANKS = re.compile(r"\b(express(ed)? (my|our) (thanks|gratitude)|(would like to|wish to) thank|(am|are) grateful to)\b", re.I)


def reference(sentence: str) -> bool:
    """Whether a sentence is a reference, a link, a pointer elsewhere in its document ("(see definition below)") or
    a thank-you, rather than something a report says."""
    if _CITING.match(sentence) or _SOURCE_NOTE.search(sentence) or _SIGNPOST.search(sentence) or \
            _POINTER.search(sentence) or _THANKS.search(sentence):
        return True
    return bool(_LINK.search(sentence)) and len(_WORD.findall(_LINK.sub(" ", sentence))) < 12


_JOIN = re.compile(r"(?:(?<=\))|\b(?P<before>[a-z][a-z'’-]*)) (?P<word>[A-Z][a-z]+)\b")
# "... (see Figure 3) a significant increase ...": list items whose bullets were lost, run into one line.
_BULLETS_LOST = re.compile(r"\) (a|an) [a-z]+")
# "... coordinated and community-based. high-quality care Retains ...": a full stop then lower case, columns mixed.
_CELLS_STOPPED = re.compile(r"\b(?!etc\.)[a-z][a-z-]{2,}\.\s+[a-z]{3,}")
_TABLE_TITLE = re.compile(r"\b(Table|Figure|Box|Chart) \d+[a-z]?:")
_AFTER_COUNTRY = re.compile(r"\b(?:UK|US|USA) ([A-Z][a-z]+)\b")
# Words before which a capitalised ordinary word starts a name ("the Primary Care Networks"), not a new cell.
_NAME_OPENERS = frozenset("the a an of and for in by to with from our its their his her this that these those".split())


def run_together(text: str, lower_words: set[str]) -> bool:
    """Whether table cells or slide lines ran together: an ordinary word with a capital straight after a lower-case
    word or a bracket ("... studies Potential strengths", "... 3 CCGs) Legal status")."""
    if _BULLETS_LOST.search(text) or _TABLE_TITLE.search(text) or _CELLS_STOPPED.search(text):
        return True
    if any(ordinary(m.group(1), lower_words) for m in _AFTER_COUNTRY.finditer(text)):
        return True  # "Tower Hamlets, UK Professional chambers; ...": a flattened table's rows
    for m in _JOIN.finditer(text):
        before = m.group("before")
        if before in _NAME_OPENERS:
            continue
        if ordinary(m.group("word"), lower_words):
            return True
    return False


# A slide's headline and its gloss ("Greater resilience – by sharing back-office functions ...", "Better care and new
# services – like extended access."), or a gloss with no subject ("Usually at a borough level and often ..."): no sentence.
_HEADLINE = re.compile(r"^[A-Z][\w’' ,-]{0,50}? – (?:like|by|thanks to|through|with|via|from|e\.g\.)\b|"
                       r"^(?:usually|often|typically|mainly|mostly|generally) (?:at|in|on|with|a|an)\b", re.I)


def whole(sentence: str, *, terminated: bool) -> bool:
    """Whether a sentence reads as a whole sentence rather than a heading, table row or fragment."""
    words = _WORD.findall(sentence)
    if len(words) < MIN_WORDS or not re.match(r"[A-Z0-9‘“\"(]", sentence) or sentence.rstrip().endswith(":") or \
            _HEADLINE.match(sentence):
        return False
    if re.match(r"[^(]*\)", sentence):
        return False  # "General Practitioners, 2013), the number of ...": cut inside a citation by the chunk's start
    if not terminated:  # unpunctuated lines are slides or table cells: only prose-like ones stand as sentences
        return caps_share(words) <= 0.25 and len(words) >= 8
    # A full stop makes it prose: names of bodies in it, an aside in brackets and acronyms (GPs, CCG) are no
    # headings ("Its Clinical Board (the Board of Directors) is made up of five elected GPs.").
    plain = _WORD.findall(_ASIDE.sub(" ", sentence))
    return caps_share([w for w in plain if not _ACRONYM.match(w)] or words) <= 0.5


_CUT_CITATION = re.compile(r"^[^()]{0,80}\),\s+(?=[a-z])")


def after_cut(piece: str) -> str:
    """A sentence the chunk's start cut inside a citation, from where its own words begin: "General Practitioners,
    2013), the number of GP trainees is ..." as "The number of GP trainees is ..."."""
    cut = _CUT_CITATION.match(piece)
    return piece[cut.end()].upper() + piece[cut.end() + 1:] if cut else piece


# "... as with the Maastricht and Tower" / "Hamlets examples, federations of practices have ...": a paragraph's line
# broken inside a name. The first line ends a sentence's start (four words or more after its last full stop) on a
# capitalised word after a lower-case one ("and Tower", not a title's "Federation Objectives"); the next opens on a
# capitalised word then a lower-case one.
_BROKEN_NAME = re.compile(r"[.!?] (?P<start>[^.!?]*\b[a-z]+,? [A-Z][a-z]+)$")
_NAME_GOES_ON = re.compile(r"^[A-Z][a-z]+,? [a-z]")


def rewrapped(lines: Sequence[str]) -> list[str]:
    """Lines with a paragraph's line broken inside a name joined again; every other line as it was."""
    out: list[str] = []
    for line in lines:
        broken = _BROKEN_NAME.search(out[-1]) if out else None
        if broken and len(broken.group("start").split()) >= 4 and _NAME_GOES_ON.match(line) and line.endswith("."):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


# Slide lines run two statements together: "Status quo is not an option Need a mix of ...".
_RUN_ON = re.compile(r"(?<=[a-z]) (?=([A-Z][a-z]+) [a-z])")


def split_run_ons(line: str, lower_words: set[str]) -> list[str]:
    """Split an unpunctuated line where a common word starts a new statement with a capital."""
    pieces, start = [], 0
    for m in _RUN_ON.finditer(line):
        if m.group(1).lower() in lower_words or m.group(1).lower() in STOPWORDS:
            pieces.append(line[start:m.start()])
            start = m.end()
    pieces.append(line[start:])
    return [p.strip() for p in pieces if p.strip()]
