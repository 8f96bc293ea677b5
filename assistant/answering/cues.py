"""What a sentence offers a part of a question: the kind of sentence it is (advice, a list, a figure, a person in
a role, a result), and whether it gives the one fact asked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.sentences import Unit
from assistant.organisations import named_in
from assistant.schema import Passage
from assistant.search.retrieval import query_terms
from assistant.text import alnum, tokenize

# Answer cues: a how-to wants advice, a list wants enumerations, a figure wants numbers.
_HOWTO_CUE = re.compile(r"\b(should|need to|needs to|must|first|start|begin|step|establish|set up|agree|develop)\b", re.I)
ADVICE_CUE = re.compile(r"\b(important|essential|needed|need for|necessary|success\w*|depended|vital|crucial|key|lessons?|"
                        r"challenges?|should|must|requires?|required)\b", re.I)
_LIST_CUE = re.compile(r",.*,|\binclud|\bsuch as\b|:\s", re.I)
_FIGURE = re.compile(r"\d|£|per ?cent")
# "Who is on the board", "who runs it": sentences naming roles and the people in them.
_WHO_CUE = re.compile(r"\b(board|chair\w*|chief|executive|directors?|partners?|GPs|elected|members?|made up of|"
                      r"led by|run by|consist\w*|manager\w*|lead)\b", re.I)
# "Did it work?": sentences that report what happened, better or worse.
_RESULT_CUE = re.compile(r"\b(now|improv\w*|increas\w*|reduc\w*|better|best|worse|worst|fell|rose|achiev\w*|result\w*|"
                         r"outcomes?|found|showed|shown|no (evidence|difference)|unable to)\b", re.I)
# "Some of the beneficial outcomes identified so far include: ...": a sentence saying what came of the work.
_OUTCOME = re.compile(r"\b(outcomes?|results?|achievements?|achieved|benefits?|beneficial)\b", re.I)
# "Did they give better quality of care?": a study's verdict ("... was unable to detect marked differences ...").
_VERDICT = re.compile(r"\b(unable to (detect|find|show)|(found|showed|was|were) (no|little)|no (clear |marked |significant |"
                      r"consistent )?(evidence|differences?|improvement)|(out|under)performed|did not (improve|change|differ)|(do|does) not have|"
                      r"cannot|unclear (as to )?(how|whether))\b", re.I)


def outcome(unit: Unit, results: str) -> bool:
    """Whether a unit says what came of the work: in its words, or standing under a case box's "The results:"."""
    tail = alnum(unit.text)[-40:]
    said = re.sub(r"^In [^:]{3,60}’s words: “", "", unit.text)[:60]  # announced first, not "... health outcomes."
    return bool(_OUTCOME.search(said)) or bool(results) and len(tail) >= 20 and tail in results


# "... is a partnership.", "... remained a traditional NHS GP partnership", "... formed as a company limited by shares".
_LEGAL_FORM = re.compile(r"\b(community interest compan|compan(y|ies) limited by|limited (liability )?(company|partnership)|"
                         r"LLP|CIC|social enterprise|(a|an) [\w ]{0,25}partnership\b|(a|as) (for-profit |private )?company)",
                         re.I)
_DEFINITION = re.compile(r"\b(is|are) (described|defined|known) as\b|\bdefin(ed|es|ition)\b|\brefers? to\b", re.I)


# Asides a definition may hold: "– much as with primary care federations or super-partnerships –", "(RCGP)".
_ASIDES = re.compile(r"\s[–—-]\s[^–—]*?\s[–—-]\s|\([^)]*\)")


def defines_term(text: str, term: str) -> bool:
    """Whether a sentence defines the term asked: its last word comes before "is described as", "defined", ... outside
    any aside ("The community health organisation model ... – much as with primary care federations – but is defined
    by ..." defines another thing)."""
    plain = _ASIDES.sub(" ", text)
    cue_at = _DEFINITION.search(plain)
    head = tokenize(term)[-1:] if term else []
    return cue_at is not None and (not head or head[0] in tokenize(plain[:cue_at.start()]))


def defines(text: str, subject: Sequence[str]) -> bool:
    """Whether a sentence says what the organisation is: "Modality Partnership LLP: a GP super-partnership ..."
    (not one of its box's labels: "Harness GP Co-operative Federation’s challenge: ...")."""
    return any(re.match(rf"(the )?{re.escape(name)}\b(?!’s|'s)[^.]{{0,40}}?(:| is an? | was an? |, an? )", text, re.I)
               for name in subject)


def cue(kind: str, text: str) -> float:
    """A boost for sentences of the kind the question (or part) wants."""
    if kind == "size":  # "How big is the Hurley Group?": its practices, patients or staff counted
        return 1.5 if counted(text, SIZE_WORDS) else cue("figure", text)
    if kind == "who":
        return 1.2 if _WHO_CUE.search(text) else 1.0
    if kind in ("yesno", "result"):  # "Did the networks improve diabetes care?": a sentence saying what came of it
        return 1.2 if _RESULT_CUE.search(text) else 1.0
    if kind == "figure":
        return 1.3 if _FIGURE.search(text) else 0.7
    if kind == "list":
        return 1.2 if _LIST_CUE.search(text) else 1.0
    if kind == "howto":
        return 1.2 if _HOWTO_CUE.search(text) else 1.0
    if kind == "advice":  # "What are the first steps ...?": what mattered, was needed or was hard for those who did it
        return 1.5 if ADVICE_CUE.search(text) else 0.8
    return 1.0


# What a sentence must hold to give a number, a sum of money or a date.
_NUMBER = r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|dozen|hundred|thousand|half|quarter|third)\b"
# A sum is in pounds, euros or dollars ("per cent" is a share, not what "how much do insurers pay" asks).
_NEEDS = {"": re.compile(r""), "number": re.compile(_NUMBER, re.I), "count": re.compile(_NUMBER, re.I),
          "money": re.compile(r"[£€$]|\b(million|billion|euros?|pounds?)\b", re.I), "date": re.compile(r"\b(19|20)\d\d\b"),
          "all": re.compile(r""), "name": re.compile(r"")}
_COUNT_WORD = re.compile(rf"^({_NUMBER})", re.I)
# "How big", "how large" (not "at what size did ..."): what an organisation's size is counted in.
SIZE_QUESTION = re.compile(r"\bhow (big|large)\b", re.I)
# "In 2006 we were quite content to run our 12,000-patient practice": a size then, not now.
_DATED = re.compile(r"(^|“)(in|by) (19|20)\d\d\b|, in (19|20)\d\d\b", re.I)
_PARTNERS = re.compile(r"\bhas [\w,]+ (partners|directors)\b")
_PERSON = re.compile(r"\b(Dr|Professor|Prof|Mr|Mrs|Ms) [A-Z][a-z]+")
SIZE_WORDS = frozenset(tokenize("practices patients people population list staff employees sites GPs locations members"))


def counted(text: str, keys: frozenset[str]) -> bool:
    """Whether a number stands beside a word of `keys`: up to three words before it ("43 general practices"), just
    after it ("practices: 60"), or in figures two words after it ("trainees, just 5%")."""
    words = re.findall(r"[A-Za-z0-9£€$][\w,.’'£€$%-]*", text)
    def matches(word: str) -> bool:  # "employe" (employees) is "employ": a stem may stop short of another
        return any(t == k or min(len(t), len(k)) >= 5 and (t.startswith(k) or k.startswith(t))
                   for t in tokenize(word) for k in keys)

    for i, word in enumerate(words):
        if matches(word):
            near = [*words[max(0, i - 3):i], *words[i + 1:i + 2]]
            if any(_COUNT_WORD.match(w.strip(".,")) for w in near) or \
                    any(re.match(r"\d", w) for w in words[i + 1:i + 3]):  # "trainees, just 5% said ..."
                return True
    return False


def gives(text: str, keys: frozenset[str], need: str, *, head: str = "") -> bool:
    """Whether a sentence gives the one fact a part asks for. A "what X" fact: X's last word or a word the reports
    use for it, or another of its words with one of that word's stand-ins ("legal form" is given by "legal status").
    "How much/many" and "when": one of the words, and a figure, a sum or a year."""
    toks = set(tokenize(text))
    if need == "all":
        return keys <= toks
    if need == "name":  # "the local acute foundation trust" names none; "Northumbria Healthcare NHS Trust" would
        return any(set(query_terms(k)) & set(tokenize(near)) for k in keys
                   for near in re.findall(r"(?:[A-Z][\w’'&-]*\s+){1,5}[A-Z][\w’'&-]*", text[1:]))
    if need == "count":
        return counted(text, frozenset(set().union(*(query_terms(k) for k in keys))))
    if need:
        return bool(set().union(*(query_terms(k) for k in keys)) & toks) and bool(_NEEDS[need].search(text))
    if head and set(query_terms(head)) & toks:
        return True
    return any(k in toks and (set(query_terms(k)) - {k}) & toks for k in keys if k != head)


# "The results:", "Some of the beneficial outcomes identified so far include:": what a case box says came of it.
_RESULTS_HEAD = re.compile(r"\b(results?|outcomes?|impact|achievements?|benefits?)\b[^:]{0,40}:$", re.I)


def line_labels(text: str) -> str:
    """A case table's line labels ("Registered population", "Number of partners"): what its rows are about."""
    return " ".join(m.group(1) for m in re.finditer(r"^([A-Z][\w ]{2,30}):", text, re.M))


def results_text(passage: Passage) -> str:
    """A passage's lines under a heading or lead-in on what came of the work, up to the next heading ("" if none),
    as letters and digits only: "General practitioners have been released ..." under Fleetwood's "The results:"."""
    under, kept = False, []
    for line in passage.chunk.text.splitlines():
        if line.rstrip().endswith(":") and len(line.split()) <= 12:
            under = bool(_RESULTS_HEAD.search(line.strip()))
        elif under:
            kept.append(line)
    return alnum(" ".join(kept))


def leads(kind: str, unit: Unit, *, subject: Sequence[str], results: str, term: str = "") -> bool:
    """Whether a unit is what a part of this kind is answered by first: "What kind of organisation is X?" by the
    sentence saying what X is; "How big is X?" by one naming X and counting its practices, patients or staff; "Who
    runs it?" by a named person in a role; "What has it achieved?" by what came of it (`results`: the passage's text
    under a results heading); "Did it give better care?" by a verdict ("... was unable to detect differences ...");
    "How does the RCGP define a federation?" by a sentence defining that `term`."""
    if kind == "define":  # what the organisation asked is, or a term's definition ("... is described as ‘an ...’")
        return defines(unit.text, subject) if subject else defines_term(unit.text, term)
    if kind == "size":
        return bool(named_in(unit.text, subject)) and counted(unit.text, SIZE_WORDS) and not _DATED.search(unit.text)
    if kind == "who":  # a named person in a role, or the partners counted ("The Hurley Group has four partners ...")
        return bool(_PERSON.search(unit.text) and _WHO_CUE.search(unit.text) or _PARTNERS.search(unit.text))
    if kind == "form":
        return bool(_LEGAL_FORM.search(unit.text))
    if kind == "yesno":
        return bool(_VERDICT.search(unit.text))
    return kind == "result" and outcome(unit, results)
