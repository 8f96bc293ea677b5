"""Sentences for documents by the role they play: a finding, an example, an option, a recommendation, an open question.

Built on the answerer's quotable units (assistant.answering.sentences): whole sentences, a leaning sentence kept with
the one it leans on. A document section takes only units on its topic and of its role, each once per document.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistant.answering.citations import split_sentences
from assistant.answering.sentences import DUMMY_IT, RUN_IN, THERE_LEANS, Unit, comparison_cell, passage_units, source_line
from assistant.answering.wording import with_verb
from assistant.organisations import named_in
from assistant.schema import Passage
from assistant.search.retrieval import expand_query, query_terms
from assistant.text import stem, tokenize

# Words every passage of this library shares: they say nothing about which topic a sentence is on.
_GENERIC = frozenset(tokenize("gp gps general practice practices federation federations large scale large-scale "
                              "organisation organisations primary care model models nhs new how what why when which "
                              "managing manage choosing choose working work provider role roles using use "
                              "through across via within need needed"))
# A verb after "to" ("investment needed to form a GP federation") is what is done, not a topic: "form" here is no
# legal form.
_TO_VERB = re.compile(r"\bto\s+(\w+)", re.I)
# Report words for a topic's everyday ones, beyond retrieval's synonyms (measured on the five briefing topics of
# tests/test_briefing_findings.py: 'commissioners' meets 'CCG', 'workforce' meets 'staff', 'skills' and 'roles').
_TOPIC_WORDS = {stem(k): tokenize(v) for k, v in {
    "commissioners": "ccg ccgs commissioning commissioner", "commissioning": "ccg ccgs commissioner",
    "workforce": "staff skills roles recruitment retention", "legal": "structure status company partnership",
    "form": "structure status", "board": "governance executive appointments", "governance": "board",
    "conflicts": "conflict", "bids": "bidding tender tenders", "patients": "patient engagement involvement",
    "involvement": "engagement engage", "funding": "investment finance financial",
}.items()}
# Leaning openings a unit may not start with when it stands alone ("This would enable ...", "But it also ...").
_DANGLING = re.compile(r"^(this|these|that|those|it|its|they|their|but|however|such|both|also|so|and|or|then|"
                       rf"here|{THERE_LEANS}|he|she|we|our|us|which|as a result|in addition|further|furthermore|moreover|"
                       r"similarly|likewise|equally|meanwhile|at the time|at that time|by then|later|then|finally|first|secondly|conversely|instead|otherwise|thus|hence|therefore|again|for example|for instance|"
                       r"in (?:this|these|that|those|such|both)|with the above|as (?:above|below|such|well))\b", re.I)
UNCERTAIN = re.compile(r"\b(uncertain\w*|unclear|unknown|no consensus|not (?:yet )?(?:clear|known)|remains? to be "
                       r"seen|insufficient evidence|little evidence|lack of evidence|limited evidence|questions? "
                       r"(?:about|of|remain|for)|raising questions|debate|confusion|untested|(?:a|the) risk (?:of|that))\b",
                       re.I)
_CHOICE = re.compile(r"\b(either|whether|options?|alternatives?|choices?|chose|choose|choosing|decid\w+|federate "
                     r"or merge|trade-offs?|balance|versus|compared with|rather than|instead of|while others|some "
                     r"\w+ others)\b", re.I)
_CONSEQUENCE = re.compile(r"\b(so that|in order to|enabl\w+|allow\w*|result\w*|lead\w* to|led to|meant|risk\w*|"
                          r"cost\w*|benefits?|advantages?|disadvantages?|without compromising|at the expense|could|"
                          r"would|may|can|will|harder|easier|better placed|slowing|increas\w+|reduc\w+)\b", re.I)
_ADVICE = re.compile(r"^(invest|consider|ensure|design|engage|work|have|facilitate|follow|acknowledge|commission|"
                     r"develop|agree|build|use|make|create|support|establish|avoid|be)\b|\b(should|ought to|must|need to|"
                     r"needs to)\b", re.I)
# Sections of the reports that state what to do: recommendations, lessons, conclusions, key messages.
ADVICE_SECTIONS = re.compile(r"recommend|lesson|learning|conclu|implication|key (?:points|messages)|what next|next steps|"
                             r"where next|questions for the future|ingredients for success|best way|what support",
                             re.I)


@dataclass(frozen=True)
class Candidate:
    """A quotable unit of one passage, how well it speaks to the topic, and the organisations it names."""

    unit: Unit
    passage: Passage
    score: float
    names: tuple[str, ...]

    @property
    def text(self) -> str:
        """The unit's sentence(s) as quoted ("Suffolk GP Federation’s main drivers are: ...")."""
        return with_verb(self.unit.text, self.unit.case_study)


# A topic that opens on what is done to one thing: "Extending access to general practice".
_DOING = re.compile(r"^\s*\w+ing\b", re.I)


# The two words of a hyphened compound ("back-office"), which count beside each other.
_HYPHENED = re.compile(r"\b(\w+)-(\w+)\b")


def _verbs(topic: str) -> set[str]:
    """The topic's words that are what is done ("to form"), not what it is about."""
    return {t for m in _TO_VERB.finditer(topic) for t in tokenize(m.group(1))}


def _own(text: str, topic: str) -> list[str]:
    """The stems of `text` (the topic, or it with retrieval's synonyms) that say what the topic is about."""
    verbs = _verbs(topic)
    return [t for t in tokenize(text) if t not in _GENERIC and t not in verbs]


def topic_terms(topic: str) -> dict[str, float]:
    """The topic's own stems (weight 1) and the report words they stand for (weight 0.6), generic words left out."""
    own, verbs = _own(expand_query(topic), topic), _verbs(topic)
    terms = {t: 1.0 for t in own}
    for t in [*query_terms(topic), *(w for o in own for w in _TOPIC_WORDS.get(o, ()))]:
        if t not in _GENERIC and t not in verbs:
            terms.setdefault(t, 0.6)
    return terms


# "In the early days, such support was ...", "With no easy way to resolve this dilemma, ...", "Like some federations,
# these examples have ...", "For primary care, this wider financial squeeze ...", "How much input will vary ...":
# leaning on what came before.
_LEANS_EARLY = re.compile(r"^(?:[\w-]+,?\s+){0,6}(?:such|(?:this|that) (?:dilemma|issue|problem|approach|"
                          r"tension|paradox|question|concern|model|case)s?|(?:these|those) (?!reports?\b)[a-z]+|"
                          r"this (?:wider|broader|same|further|growing|kind of|type of|sort of))\b|"
                          r"^(?:in|by) contrast\b|^on the other hand\b|^how (?:much|many)\b", re.I)


# A connective before a sentence that stands on its own words ("Conversely, it was harder to build ..."): dropped.
_CONNECTIVE = re.compile(r"^(?:conversely|equally|similarly|likewise|in addition|furthermore|moreover|however|"
                         r"additionally|indeed|importantly|overall|in practice|in particular),\s+", re.I)
# "It was harder to ...", "It remains unclear how ...": an 'it' that stands for what follows (the answers' rule).
_DUMMY_IT = re.compile(rf"^{DUMMY_IT}", re.I)


# The report speaking of its own structure ("In the final chapter of this report, we return to ...").
_META = re.compile(r"\b(?:this|the final|the next|the previous|the following) (?:chapter|section|report|paper)\b.{0,40}"
                   r"\b(?:we|return|describe|discuss|set out|outline)|\bsee (?:page|box|table|section|chapter)\b", re.I)


def _bullet(unit: Unit, passage: Passage) -> bool:
    """Whether the unit is a slide bullet: its line is the whole unit, with no full stop ('Fewer inappropriate
    appointments due to ...')."""
    line = source_line(unit, passage)
    return bool(line) and not re.search(r"[.!?][’”\"')]?$", line) and unit.text.rstrip(".").endswith(line[-20:])


def unlean(text: str) -> str:
    """The sentence without a leading connective, when what remains reads on its own."""
    m = _CONNECTIVE.match(text)
    if not m:
        return text
    rest = text[m.end():]
    rest = rest[0].upper() + rest[1:]
    return rest if (not _DANGLING.match(rest) or _DUMMY_IT.match(rest)) else text


def standalone(text: str, *, own_voice: bool = False) -> bool:
    """Whether a unit reads on its own: no leaning opening, no question, not a list of cells or a heading; in an
    organisation's own account (`own_voice`), 'We ...' and 'Our ...' speak for it."""
    dangling = None if _DUMMY_IT.match(text) else _DANGLING.match(text)
    if dangling and own_voice and dangling.group(1).lower() in ("we", "our"):
        dangling = None
    return not (dangling or _LEANS_EARLY.match(text) or text.rstrip().endswith(("?", ":"))
                or text.count(";") >= 3 or re.search(r"; [A-Z][a-z]|\b(?:the|a|an|of|in|and|to);", text))


# "Conflicts of interest and competition: Part of ...": a paragraph's run-in label, not part of the finding.


def topic_pairs(topic: str, min_terms: int = 3) -> dict[str, set[str]]:
    """Each word of a two-word phrase in a topic of three or more words, and its partner ('interest' -> 'conflict'
    in 'conflicts of interest ... community services'; 'back' -> 'sharing' and 'office'): such a word counts only
    beside its partner, so 'community interest company' is not about conflicts of interest nor community services.
    A topic of two words ('patient involvement') pairs their report words too: 'engagement' counts beside 'patients',
    not 'member clinicians'; 'Extending access' pairs its own two words."""
    own = _own(topic, topic)
    pairs: dict[str, set[str]] = {}
    if len(set(own)) == 2:  # the topic's own words count alone; a report word for one only beside the other
        a, b = own[0], next(t for t in own if t != own[0])
        pairs = {w: {a, b} - {w} for w in {*_TOPIC_WORDS.get(a, ()), *_TOPIC_WORDS.get(b, ())} - {a, b}}
        if _DOING.match(topic) and tokenize(" ".join(topic.split()[:2])) == [a, b]:
            # 'Extending access' is one thing: 'extended services' alone is not about it
            pairs.update({a: {b}, b: {a}})
        return pairs
    if len(set(own)) < min_terms:
        return {}
    for a, b in zip(own, own[1:]):
        pairs.setdefault(a, {b})
        pairs.setdefault(b, {a})
    for a, b in _HYPHENED.findall(topic):  # "back" in "sharing back-office functions" goes with "office" too
        if (x := _own(a, topic)) and (y := _own(b, topic)):
            pairs.setdefault(x[0], set()).add(y[0])
            pairs.setdefault(y[0], set()).add(x[0])
    return pairs


def _credited(terms: dict[str, float], pairs: dict[str, set[str]], tokens: Sequence[str]) -> set[str]:
    """The topic terms a unit's tokens speak of: a paired word only within three words of its partner."""
    at: dict[str, list[int]] = {}
    for i, t in enumerate(tokens):
        at.setdefault(t, []).append(i)
    return {t for t in terms if t in at and (t not in pairs or any(abs(i - j) <= 3 for i in at[t]
                                                                   for p in pairs[t] for j in at.get(p, ())))}


def on_theme(topic: str, text: str) -> bool:
    """Whether a statement speaks to a theme of several words by two of them (or their report words), anywhere in
    it: 'staff' alone is no statement on 'workforce and skill mix', 'involve' alone none on 'patient involvement'."""
    terms = topic_terms(topic)
    own = [t for t, w in terms.items() if w == 1.0]
    return len(set(terms) & set(tokenize(text))) >= min(2, len(own))


def _scored(terms: dict[str, float], pairs: dict[str, set[str]], idf: dict[str, float],
            units: Sequence[Unit]) -> list[tuple[Unit, float]]:
    """Each unit with its share of the topic's weight; a unit right after an on-topic one in the same passage
    carries half that one's score, as it continues the point ("GPs in the case study organisations had adopted
    either a provider or commissioner role" follows the sentence on conflicts of interest)."""
    total = sum(w * idf[t] for t, w in terms.items()) or 1.0
    out: list[tuple[Unit, float]] = []
    previous = 0.0
    for u in units:
        tokens = tokenize(u.text)
        words = _credited(terms, pairs, tokens)
        own = sum(terms[t] * idf[t] for t in words) / total
        score = max(own, 0.5 * previous) if own > 0 or previous > 0 else 0.0
        score += 0.05 * len(words) - 0.002 * max(0, len(tokens) - 45) if score else 0.0
        out.append((u, score))
        previous = own
    return out


_GLOSSARY = re.compile(r"^\s*(glossary|abbreviations|definitions)\b", re.I)


def candidates(topic: str, passages: Sequence[Passage], organisations: Sequence[str], *,
               found: frozenset[str] = frozenset(), phrases: int = 0, context: bool = False) -> list[Candidate]:
    """Every standalone unit of the passages that speaks to the topic, best first (ties: report order); units of
    the passages in `found` (what the topic's searches retrieved) weigh a little more. With `phrases` (a number of
    words), a topic of at least that many words is a phrase a person wrote (a brief's title, a theme), whose
    two-word phrases count together (topic_pairs); a list of search words is not. With `context`, units that share
    no word with the topic are kept too (score 0), for a section that takes what a passage on the topic says."""
    terms, pairs = topic_terms(topic), topic_pairs(topic, phrases) if phrases else {}
    docs = [set(tokenize(p.chunk.text)) for p in passages]
    idf = {t: 1.0 + math.log((1 + len(docs)) / (1 + sum(t in d for d in docs))) for t in terms}
    best: dict[str, Candidate] = {}
    for n, p in enumerate(passages, start=1):
        if _GLOSSARY.match(p.chunk.section or ""):
            continue  # a definition of a term ("Quality Improvement (QI): ...") is no finding, example or question
        for u, score in _scored(terms, pairs, idf, passage_units(n, p)):
            if score <= 0 and not context:
                continue
            if comparison_cell(u, p):
                continue  # "Legal status: ...", "A group of companies ... formed of: ...": whose, lost
            if not u.fact and (label := RUN_IN.match(u.text)) and len(u.text[label.end():].split()) >= 8:
                u = replace(u, text=u.text[label.end():])
            if not u.fact and (plain := unlean(u.text)) != u.text:
                u = replace(u, text=plain)
            if not u.fact and (not standalone(u.text, own_voice=bool(u.case_study)) or _META.search(u.text)
                               or _bullet(u, p)):
                continue
            if len(sentences := split_sentences(u.text)) > 2:
                u = replace(u, text=" ".join(sentences[:2]))  # what leans on the second sentence can go with it
            # A sentence under a heading on the topic ("Organisational structure and governance arrangements") is
            # on it even when it says 'the board' once: +0.15 lifted both missing governance findings into the note.
            heading = 0.15 if set(tokenize(p.chunk.section or "")) & set(terms) else 0.0
            score = round(score + heading + (0.1 if p.chunk.chunk_id in found else 0.0), 6) if score > 0 else 0.0
            key = re.sub(r"[^a-z0-9]+", " ", u.text.lower()).strip()
            if key not in best or best[key].score < score:
                best[key] = Candidate(u, p, score, tuple(named_in(u.text, organisations)))
    return sorted(best.values(), key=lambda c: (-c.score, c.passage.chunk.year or 0, c.passage.chunk.doc_id,
                                                c.passage.chunk.position, c.unit.pos))


# A case box's own account ("Northumbria Primary Care’s solutions: back-office support for practices ..."): what it
# did, an example whatever its label, when it speaks to the topic.
_BOX_LABEL = re.compile(r"’s (challenge|solutions?|results?|approach)$")


def is_example(c: Candidate, terms: dict[str, float]) -> bool:
    """An example names an organisation and comes from its case study (or names only that one); a table fact
    ("Suffolk GP Federation’s legal status: ...") only when its label is on the topic or is the box's own account
    (its challenge, solutions or results)."""
    label = c.text.split(":")[0]
    if c.unit.fact and not set(tokenize(label)) & set(terms) and not _BOX_LABEL.search(label):
        return False
    return bool(c.names) and (not c.unit.case_study or any(c.unit.case_study.lower().startswith(n.lower()[:8])
                                                           or n.lower().startswith(c.unit.case_study.lower()[:8])
                                                           for n in c.names))


def is_option(c: Candidate) -> bool:
    """An option states a choice and what follows from it."""
    return bool(_CHOICE.search(c.text) and _CONSEQUENCE.search(c.text)) and not c.unit.fact


def is_open_question(c: Candidate) -> bool:
    """An open question is a stated uncertainty, risk or gap in evidence."""
    return bool(UNCERTAIN.search(c.text)) and not c.unit.fact


def is_advice(c: Candidate) -> bool:
    """A recommendation or lesson: from the reports' recommendation, lessons or conclusions sections, saying what to do
    (a question, "What should the role of CCGs be?", recommends nothing, nor does what answers it alongside)."""
    return bool(ADVICE_SECTIONS.search(c.passage.chunk.section or "")) and bool(_ADVICE.search(c.text)) \
        and "?" not in c.text


def _near(a: set[str], b: set[str]) -> bool:
    """Whether two sentences say much the same: 60% of the shorter one's content words are in the other."""
    return bool(a and b) and len(a & b) >= 0.6 * min(len(a), len(b))


def pick(pool: Sequence[Candidate], used: set[str], limit: int, *, min_score: float = 0.0,
         per_passage: int = 2) -> list[Candidate]:
    """Up to `limit` of `pool` in order, none used elsewhere in the document nor saying much the same as one
    that was ('New board members were sometimes appointed ...' after 'Appointments were typically made ...'),
    at most `per_passage` from one passage."""
    chosen: list[Candidate] = []
    per: dict[str, int] = {}
    said = [set(tokenize(k)) for k in used]
    for c in pool:
        key = re.sub(r"[^a-z0-9]+", " ", c.text.lower()).strip()
        pid = c.passage.chunk.chunk_id
        if len(chosen) == limit or c.score < min_score:
            break
        words = set(tokenize(key))
        if key in used or per.get(pid, 0) >= per_passage or any(_near(words, w) for w in said):
            continue
        used.add(key)
        said.append(words)
        per[pid] = per.get(pid, 0) + 1
        chosen.append(c)
    return chosen
