"""Question analysis: the parts of a question, its subject (an organisation) and the kind of answer wanted."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.organisations import named_in, org_word, spoken
from assistant.schema import Turn
from assistant.search.retrieval import NOT_AN_AMOUNT, QUANTITY_QUESTION
from assistant.text import tokenize

# A follow-up rewritten for retrieval carries the conversation after this marker (see OfflineAnswerer.standalone).
FOLLOWING = " (following: "

# Where one question holds two: "..., and how should ...", "... and who runs it?", "... as well as what ...".
_WH = r"(?:what|how|who|whom|why|when|where|which|whether|should|could|would|can|do|does|did|is|are|was|were|has|have)"
_SPLIT = re.compile(rf"\?\s+(?=\S)|\s*(?:,\s*|\s+)(?:and|as well as|plus)\s+(?={_WH}\b)|;\s+", re.I)
_KINDS = (
    ("compare", re.compile(r"\b(compare|comparison|differ|difference|versus|vs\.?)\b", re.I)),
    # "What has its leadership development achieved?", "what has it meant for the GPs?", "How did that go?"
    # ("How were the networks paid for results?" asks how, not what came of it.)
    ("result", re.compile(r"\b(achieved|achievements?|achieve(?=\W*$)|(the|its|their|any) (results?|outcomes?|impact|"
                          r"effects?)|what (results?|outcomes?|impact|effects?|difference)|meant for|made (a|any) "
                          r"difference|how did (it|that|this|they) go|how (has|have) (it|that|this|they) gone)\b", re.I)),
    ("howto", re.compile(r"\b(steps|how to|how (do|does|did|should|could|can|would|might) (we|i|you|they|a|an|the|it|\w+))\b", re.I)),
    ("list", re.compile(r"^(what|which) (are|were)\b|\b(options|types|forms|kinds|ways|examples|lessons|principles|"
                        r"factors|reasons|benefits|risks|challenges|barriers|advantages|drawbacks)\b", re.I)),
    ("yesno", re.compile(r"^(is|are|was|were|do|does|did|can|could|should|would|will|has|have)\b", re.I)),
)
# A follow-up that keeps the last question and only changes whom it is about: "And how did Suffolk do it?"
# "How did Suffolk do it?", "Did Hurley do the same?": "do" as the verb asked about ("does it provide" is not).
_SAME_QUESTION = re.compile(r"\b(do|did|does|done|doing) (it|that|this|so|the same)\b"
                            r"(?=\s*([?.!,]|$|(too|also|as well|in|at|there|then|differently)\b))|\bthe same\b", re.I)
# "And Suffolk?", "What about the Hurley Group?": only a new subject, nothing else asked.
_ONLY_SUBJECT = re.compile(r"^(and|what about|how about)\b", re.I)
# Asking what to do, not how someone did it: "What are the first steps in ...?", "How should we ...?".
_ADVICE = re.compile(r"\b(steps|how to|how (do|should|can|could|might) (we|i|you)|what should (we|i|practices))\b", re.I)
# The reports never list "steps": they say what mattered, what was needed and what was hard, in these words.
_ADVICE_WORDS = "What was important, needed and essential for success; lessons and challenges."
# "Did large-scale organisations give better quality of care?": a question of whether something worked is answered by
# what a study found, which the reports word as results, not as "better" ("... unable to detect marked differences").
# Not "work": "Does the King's Fund work suggest ...?" asks what it says.
_EFFECT = re.compile(r"^(did|does|do|has|have|is|are|was|were|can|could)\b.*\b(better|worse|improv\w*|effective|"
                     r"difference|impact|reduc\w*|increas\w*|outperform\w*|worked|succeed\w*|successful)\b", re.I)
_FINDINGS_WORDS = "What were the results and findings; was there evidence of a difference?"
_PRONOUN = re.compile(r"\b(they|them|their|it|its|he|she|this organisation|the same)\b", re.I)


@dataclass(frozen=True)
class Question:
    """What a question asks: the user's words, its parts, whom it is about and the kind of answer wanted."""

    text: str
    parts: tuple[str, ...]
    subject: tuple[str, ...] = ()  # organisation names as the library labels them; () when about none
    kind: str = "fact"  # fact, list, figure, howto, advice (what to do, about no organisation), result, yesno, compare
    context: str = ""  # for a follow-up, the question it follows (what "they" stand for), or the item it points to

    @property
    def subject_name(self) -> str:
        """The organisation as a reader would name it: the fullest name the question writes ("the Tower Hamlets GP
        Care Group", not "Tower Hamlets"), else the shortest of its names ("" when the question is about none)."""
        written = [n for n in self.subject if n.lower() in self.text.lower()]
        return spoken(max(written, key=len) if written else min(self.subject, key=len)) if self.subject else ""


# What the user says of themselves after a question ("I've seen different numbers in the Nuffield material.") asks
# nothing more: it is said with that question. "I'd like figures from more than one of the reports." asks.
_STATEMENT = re.compile(r"^(?!(I|we)(['’]d| would) like\b|(I|we) (want|need)\b)(I|I['’](ve|d|m)|we|we['’](re|ve|d)|my|our)\b",
                        re.I)


def split_parts(question: str) -> tuple[str, ...]:
    """The questions inside one: split on "and"/"as well as" before a question word, on "?" and ";"."""
    pieces = [p.strip(" ,;") for p in _SPLIT.split(question.strip()) if p and p.strip(" ,;?")]
    parts: list[str] = []
    for p in pieces:
        if parts and not tokenize(p):
            parts[-1] = f"{parts[-1]} {p}"  # "and why?" alone carries too little to answer on its own
        elif parts and _STATEMENT.match(p) and not p.endswith("?"):
            parts[-1] = f"{parts[-1]}? {p}"  # "... run? I've seen different numbers in the Nuffield material."
        else:
            parts.append(p)
    return tuple(parts) or (question.strip(),)


# Who a first part is about, for a later part's "them": "Did [large-scale GP organisations] give better ...".
_DOER = re.compile(r"^(?:did|do|does|can|could|would|will|are|were|have|has)\s+(?P<who>(?:[\w-]+\s+){0,4}?[\w-]+s)\s+"
                   r"(?:give|get|have|make|do|need|use|offer|provide|improve|reduce|work|help|deliver|achieve)\b", re.I)
_THEM = re.compile(r"\b(they|them|their)\b", re.I)


def part_queries(question: str, organisations: Sequence[str]) -> tuple[str, ...]:
    """Each part of a question of several as retrieval should see it alone, with the organisation the question
    names ("how does it involve its patients? (Vitality Partnership)"); none for a question of one part."""
    own = question.split(FOLLOWING, 1)[0]
    parts = split_parts(own)
    if len(parts) < 2:
        return ()
    subject = named_in(own, organisations)
    # The name as the question says it: "Vitality Partnership" is also labelled by its later name, Modality.
    name = min(subject, key=lambda n: (n.lower() not in own.lower(), len(n))) if subject else ""
    if not name:  # "Did large-scale GP organisations give ..., and how did patients feel about them?"
        doer = _DOER.match(parts[0])
        return (parts[0], *(f"{p} ({doer.group('who')})" if doer and _THEM.search(p) else p for p in parts[1:]))
    return tuple(part if named_in(part, subject) else f"{part} ({name})" for part in parts)


def advice_query(question: str, organisations: Sequence[str]) -> str:
    """A question of one part asking what to do, about no organisation, put with the words the reports' lessons use
    ("What are the first steps in forming a GP federation? What was important, ..."); "" for any other."""
    own = question.split(FOLLOWING, 1)[0].strip()
    if not _ADVICE.search(own) or named_in(own, organisations) or len(split_parts(own)) > 1:
        return ""
    return f"{own} {_ADVICE_WORDS}"


def findings_query(question: str) -> str:
    """A question of one part asking whether something worked, put with the words the reports' findings use ("Did
    large-scale organisations give better quality of care? What were the results and findings; ..."); "" for any other."""
    own = question.split(FOLLOWING, 1)[0].strip()
    if not _EFFECT.search(own) or len(split_parts(own)) > 1:
        return ""
    return f"{own} {_FINDINGS_WORDS}"


def answer_kind(question: str) -> str:
    """The kind of answer wanted: a figure, a list, a how-to, a comparison, a yes/no with reasons, or a fact."""
    if QUANTITY_QUESTION.search(question):
        return "figure"
    return next((kind for kind, rule in _KINDS if rule.search(question.strip())), "fact")


def _previous_question(history: Sequence[Turn]) -> str:
    """The last thing the user asked before this question."""
    return next((t.content for t in reversed(history) if t.role == "user" and t.content.strip()), "")


# "Say more about the last one", "the second point": an item of the list the last answer gave.
_POINTED = re.compile(r"\bthe (first|second|third|last|final) (one|point|item|thing|reason|barrier|option)\b", re.I)


def pointed_item(text: str, history: Sequence[Turn]) -> str:
    """The item of the last answer's list that a follow-up points to ("the last one": "the workload of competitive
    tendering" in "Lack of headspace ..., conflicts of interest and competition rules, and the workload of
    competitive tendering."); "" when it points to none or the answer is no list."""
    pointed = _POINTED.search(text)
    answer = next((t.content for t in reversed(history) if t.role == "assistant" and t.content.strip()), "")
    if not pointed or not answer:
        return ""
    answer = re.sub(r"\s*\[\d+\]", "", answer).strip().rstrip(".")
    bullets = [ln.strip()[2:] for ln in answer.splitlines() if ln.strip().startswith(("- ", "• "))]
    one_sentence = not re.search(r"[.!?]\s", answer)  # a list written as one sentence, not paragraphs of quotes
    items = bullets or [i.strip() for i in re.split(r";|,\s+(?:and\s+)?|\s+and\s+(?=the\b)", answer)
                        if i.strip() and one_sentence]
    if len(items) < 2:
        return ""
    at = {"first": 0, "second": 1, "third": 2}.get(pointed.group(1).lower(), -1)
    return items[at] if at < len(items) else ""


def analyse(question: str, *, organisations: Sequence[str], history: Sequence[Turn] = ()) -> Question:
    """Parts, subject and kind of a question; a follow-up takes its subject (and parts) from the conversation."""
    text = question.split(FOLLOWING, 1)[0].strip()
    parts, subject = split_parts(text), named_in(text, organisations)
    previous = _previous_question(history)
    if previous:
        before = named_in(previous, organisations) or named_in(" ".join(t.content for t in history), organisations)
        if not subject and (_PRONOUN.search(text) or FOLLOWING in question):
            subject = before
        new = set(tokenize(text)) - _subject_terms(subject)
        if subject and (_SAME_QUESTION.search(text) and len(new) <= 2 or _ONLY_SUBJECT.match(text) and not new):
            parts = split_parts(previous)  # "And how did Suffolk do it?": the last question, about Suffolk
        elif FOLLOWING in question or _PRONOUN.search(text) or _POINTED.search(text):
            # "And how should they declare them?" is scored with what it follows; "Say more about the last one" with
            # the last item of the answer it follows.
            context = pointed_item(text, history) or previous
            return Question(text=text, parts=parts, subject=subject, kind=answer_kind(text), context=context)
    kind = "advice" if not subject and advice_query(text, organisations) else answer_kind(text)
    return Question(text=text, parts=parts, subject=subject, kind=kind)


def named_terms(subject: Sequence[str]) -> set[str]:
    """The stemmed words of the subject's names."""
    return {t for name in subject for t in tokenize(name)}


def without_subject(text: str, subject: Sequence[str]) -> str:
    """A text with the subject's names (and "the", "’s" around them) taken out, longest name first."""
    for name in sorted(subject, key=len, reverse=True):
        # "Improving Health Ltd's": a company suffix after the name goes with it.
        text = re.sub(rf"(?:the\s+)?{re.escape(name)}(?:\s+(?:Ltd|Limited|LLP|CIC|plc)\b\.?)?(?:’s|'s)?", " ", text,
                      flags=re.I)
    return " ".join(text.split())


def _unnamed(text: str, subject: Sequence[str]) -> str:
    """A part without the subject's names, nor the name's own word written as a name ("What is Harness?": "What is")."""
    text = without_subject(text, subject)
    for word in sorted({org_word(name) for name in subject} - {""}):
        text = re.sub(rf"(?:the\s+)?\b{re.escape(word.capitalize())}\b(?:’s|'s)?", " ", text)
    return " ".join(text.split())


def _subject_terms(subject: Sequence[str]) -> set[str]:
    """Stemmed words of the subject's names, and the words a follow-up uses to point back."""
    return named_terms(subject) | set(tokenize("do did does done doing it that this same"))


# A part that asks for one specific fact: "What CQC rating ...", "How much did ... cost", "What's the name of ...".
_WHAT_THING = re.compile(r"^(?:what|which)(?:'s|’s| is| was| are| were)?\s+(?:the\s+|its\s+|their\s+)?"
                         r"(?:(?:sort|kind|type|number|amount|size|level) of\s+(?:the\s+)?)?(?P<thing>.+)$", re.I)
_AUX = re.compile(r"\s+(?:did|does|do|is|was|are|were|has|have|had|will|would|can|could|should|of|for|in|at|on|"
                  r"to|from|that|which|who)\b.*$", re.I)
_HOW_FIGURE = re.compile(rf"^how (much{NOT_AN_AMOUNT}|many)\b", re.I)


_WHO_THING = re.compile(r"^who(?:'s|’s| is| was| are| were)\s+(?:the\s+)?(?P<thing>[\w -]+?)\s+(?:of|at|for|in)\b", re.I)
# "What defines it?", "what drives them?": a verb and its object, a question to answer, not a fact to look up.
_VERB_OBJECT = re.compile(r"^\w+s\s+(it|them|this|that|these|those|him|her|us|you)\b", re.I)
# Kinds of body or place a "which" question wants named ("Which acute trust is part of ...?").
_NAMED_KIND = re.compile(r"\b(trusts?|hospitals?|councils?|universit(y|ies)|compan(y|ies)|ccgs?|boroughs?|"
                         r"cit(y|ies)|count(y|ies)|charit(y|ies)|provider)$", re.I)
_WHEN = re.compile(r"^when (?:was|were|did|does|is)\b.*?(?P<verb>\w+)$", re.I)
_MONEY = re.compile(r"\b(spend|spent|cost|costs|pay|paid|pays|save|saved|money|fund|funding|worth|charge|fee|fees|earn|"
                    r"income|value|invest|invested|budget)\b", re.I)
# "What was the annual value / turnover / cost ...": a sum of money is the answer.
_SUM = re.compile(r"\b(value|turnover|revenue|income|cost|costs|budget|price|salary|salaries|fee|fees|spend|"
                  r"spending)\b", re.I)
# Measures a question may ask of a study or a report, not only of an organisation ("the response rate").
MEASURES = frozenset(tokenize("rate value turnover revenue income cost budget salary fee percentage proportion score"))
_BEGINNING = frozenset(tokenize("start started begin began form formed establish established found founded set "
                                 "launch launched create created"))
# "What happened to that contract ...?", "What changed ...?": what became of something, not a named fact.
_EVENT = re.compile(r"^(happen(s|ed)?|chang(e|es|ed)|became|become|occurred|went)\b", re.I)
_AUX_START = re.compile(r"^(did|does|do|is|was|are|were|has|have|had|will|would|can|could|should)\b", re.I)


def specific_ask(part: str, subject: Sequence[str]) -> tuple[frozenset[str], str]:
    """(the stemmed words naming the one fact a part asks for, what else must be in a sentence that gives it:
    "" nothing, "number", "count" (a number beside one of the words), "money", "date", "all" (every one of the
    words) or "name" (a name beside one of them)); no words when the part asks how, why or what someone did."""
    text = _unnamed(part.strip().rstrip("?").strip(), subject)
    if m := _HOW_FIGURE.match(text):
        # "How many GPs ...": a count stands next to what is counted ("60 practices", "practices: 60").
        need = "money" if m.group(1).lower() == "much" and _MONEY.search(text) else \
            "count" if m.group(1).lower() == "many" else "number"
        thing = text[m.end():].strip()
        if _AUX_START.match(thing):
            return frozenset(tokenize(" ".join(thing.split()[-3:]))), need  # "how much did it cost to build"
        return frozenset(tokenize(_AUX.sub("", thing))), need  # "how many beds does ..."
    if m := _WHEN.match(text):
        verb = set(tokenize(m.group("verb")))
        # "When did they start?" is answered by "formed in 2006", "established in 2014", "founded in 2009".
        return frozenset(_BEGINNING if verb & _BEGINNING else verb), "date"
    match = _WHO_THING.match(text) or _WHAT_THING.match(text)
    if not match or _AUX_START.match(match.group("thing")) or _VERB_OBJECT.match(match.group("thing")) or \
            _EVENT.match(match.group("thing")):
        return frozenset(), ""  # "what did they say", "what defines it", "what happened to it": no one fact to miss
    thing = _AUX.sub("", match.group("thing"))
    if len(thing.split()) > 3:
        return frozenset(), ""  # "which practices make up ...": not a named fact but a question to answer
    if match.re is _WHO_THING:
        return frozenset(tokenize(thing)), "all"  # "the chief executive": both words, not "executive function"
    if text.lower().startswith("which") and _NAMED_KIND.search(thing):
        return frozenset(tokenize(thing)[-2:]), "name"  # "which acute trust": a trust named, not "the local trust"
    return frozenset(tokenize(thing)[-2:]), "money" if _SUM.search(thing) else ""


def head_word(part: str, subject: Sequence[str]) -> str:
    """The last word naming the fact a part asks for ("rating" in "What CQC rating ..."); "" when none."""
    text = part.strip().rstrip("?").strip()
    match = _WHO_THING.match(text) or _WHAT_THING.match(text)
    words = tokenize(_AUX.sub("", match.group("thing"))) if match else []
    return words[-1] if words else ""


# "What is X?", "What kind of organisation is X?" (X taken out): a part asking what an organisation is.
_DEFINE = re.compile(r"^(what|which)\s+(is|was|are|were)?\s*(the\s+)?((kind|sort|type|form) of\s+(organi[sz]ation|"
                     r"body|group|company|partnership|federation|model)\s+(is|was)\s*)?\W*$", re.I)


def asks_what_it_is(part: str, subject: Sequence[str]) -> bool:
    """Whether a part asks what the organisation it names is ("What kind of organisation is Modality?")."""
    return bool(subject) and bool(_DEFINE.match(_unnamed(part, subject)))
