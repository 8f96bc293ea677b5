"""Case-study organisations in the index, the figures reports give about them, and where reports disagree."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from assistant.answering.citations import split_sentences
from assistant.documents.outline import ReferenceBook
from assistant.organisations import ALIASES, canonical, mentions, org_key, same_organisation
from assistant.schema import Chunk, Passage


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
    return mentions(text, orgs)


def _number(text: str) -> int:
    """The count in a figure already matched with _NUM ('51,000 patients' -> 51000)."""
    m = re.search(_NUM, text)
    if m is None:
        raise ValueError(f"No count in {text!r}: only text matched with _NUM has one.")
    return int(m.group(1).replace(",", ""))


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
    """Whether two figures can be about one body: a figure of no known case study can be about any."""
    return not a.label or not b.label or same_organisation(a.label, b.label)


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
