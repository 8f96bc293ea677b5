"""Organisations named in the reports: the distinctive word of a name, renamed bodies, and when two names mean one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Words too common in organisation names to tell one from another ("Group", "Federation", "Ltd").
_GENERIC = set("the gp gps group partnership practice practices medical network networks health healthcare care "
               "federation community centre primary dr uk us plc ltd llp and of in for new model programme trust "
               "organisation organisations system alliance".split())
# Organisations renamed between reports. Modality was the Vitality Partnership: the 2016 report's Table 2 heads its
# column "Modality Partnership (formerly Vitality Partnership)", a line the PDF table extraction does not keep.
ALIASES = {"vitality": "modality"}


def org_word(name: str, min_length: int = 3) -> str:
    """The distinctive word of an organisation's name ("vitality" in "The Vitality Partnership"); "" when none."""
    return next((w for w in re.findall(r"[^\W\d_]+", name.lower()) if w not in _GENERIC and len(w) >= min_length), "")


def org_key(name: str) -> str:
    """The word an organisation is spotted by in running text ('hurley' for 'The Hurley Group'); '' when none."""
    # Four letters at least: a three-letter word ("Kent") of a name is too often an ordinary one in text.
    return org_word(name, min_length=4)


def canonical(key: str) -> str:
    """The key an organisation is compared under (its current name's key when it was renamed)."""
    return ALIASES.get(key, key)


def same_organisation(a: str, b: str) -> bool:
    """Whether two names can mean one body ('Tower Hamlets' and 'Tower Hamlets Network 2' can; an empty name cannot)."""
    # One name must begin the other: 'Tower Hamlets Network 2' and 'Tower Hamlets GP Care Group' share a key word
    # but are different organisations.
    x, y = (" ".join(canonical(w) for w in re.findall(r"[a-z0-9]+", n.lower()) if w != "the") for n in (a, b))
    return bool(x and y) and (x.startswith(y) or y.startswith(x))


# "NHS Midlands and East", "the Midlands and East region", "East Midlands": a region, not the Midlands Health Network.
_REGION_AFTER = re.compile(r"\s+and\s+(?:the\s+)?(?:East|West|North|South)\b")
_REGION_BEFORE = re.compile(r"\b(?:NHS|East|West|North|South)\s+$")


def writes(text: str, word: str) -> bool:
    """Whether a text writes an organisation's word ("Midlands") as that organisation's, not in a region's name."""
    return any(not _REGION_AFTER.match(text, m.end()) and not _REGION_BEFORE.search(text[:m.start()][-8:])
               for m in re.finditer(rf"\b{re.escape(word)}\b", text))


def mentions(text: str, keys: Iterable[str]) -> list[tuple[int, str]]:
    """(offset, canonical key) of every organisation key a text writes as a name is written ("Hurley"), not as part
    of a region's name ("NHS Midlands and East")."""
    return sorted((m.start(), canonical(k)) for k in keys for m in re.finditer(rf"\b{k.capitalize()}\b", text)
                  if not _REGION_AFTER.match(text, m.end()) and not _REGION_BEFORE.search(text[:m.start()][-8:]))


def named_in(text: str, organisations: Iterable[str]) -> tuple[str, ...]:
    """The organisations a text names: in full (any case), or by their distinctive word as a name mid-sentence
    ("Suffolk", "Hurley"; "Vitality" names Modality too), not opening a sentence ("One of ...") nor inside another
    name ("NHS Midlands and East" does not name the Midlands Health Network), sorted."""
    low = text.lower()
    organisations = list(organisations)
    spans = [(m.start(), m.end(), org) for org in organisations
             for m in re.finditer(rf"\b{re.escape(org.lower())}\b", low)]

    def within_another(start: int, end: int, owners: Sequence[str]) -> bool:
        """Inside a longer name of another body: "GP Care" in "Tower Hamlets GP Care Group" names GP Care Ltd not."""
        return any(s <= start and end <= e and e - s > end - start and not any(same_organisation(o, x) for x in owners)
                   for s, e, o in spans)

    keys = {org_word(o): o for o in organisations if org_word(o)}
    named = set()
    for at, key in mentions(text, keys):
        before = text[:at]
        if re.search(r"(^|[.?!:]\s+)$", before):
            continue
        previous = re.search(r"([A-Z][\w’'-]*)\s+$", before)
        owners = [o for k, o in keys.items() if canonical(k) == key]
        if previous and not any(previous.group(1).lower() in o.lower().split() for o in owners) or \
                within_another(at, at + len(key), owners):
            continue
        named.add(key)
    full = {org for s, e, org in spans if not within_another(s, e, [org])}
    return tuple(sorted(org for org in organisations if org in full
                        or (org_word(org) and canonical(org_word(org)) in named)))


# Names read with "the" before them: "the Hurley Group", "the Vitality Partnership" (not "Tower Hamlets Network 2");
# "Suffolk GP Federation" and "Whitstable Medical Practice" read as well without, as the reports write them.
_COMMON_END = re.compile(r"\b(Group|Partnership|Confederation|Economy|Programme|Chambers)$")


def spoken(name: str) -> str:
    """An organisation's name as a sentence says it: "the Hurley Group", "Tower Hamlets Network 2"."""
    return f"the {name}" if _COMMON_END.search(name) else name


def opening(name: str) -> str:
    """An organisation's name opening a sentence: "The Hurley Group", "Suffolk GP Federation"."""
    said = spoken(name)
    return said[0].upper() + said[1:]


def owner(name: str) -> str:
    """An organisation owning what follows, opening a sentence: "The Hurley Group’s", "Suffolk GP Federation’s"."""
    return possessive(opening(name))


def possessive(name: str) -> str:
    """A name owning what follows: "Hurley Group’s", "Dr HM Freeman & Partners’"."""
    return f"{name}’" if name.endswith("s") else f"{name}’s"
