"""Whole sentences from passages: the units an extractive answer, a briefing note or a workshop pack may quote.

A unit is one sentence of a passage, or a run whose later sentences lean on the first ("This meant ..."). Headings,
table debris, lines ending in ":" and fragments cut by chunk overlap are left out; footnote digits fused to words
are removed; a labelled table fact is written as a sentence about its organisation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistant.answering.citations import MARKER, split_sentences
from assistant.answering.debris import (CLAUSE_ONLY, after_cut, ordinary, reference, rewrapped, run_together, soften,
                                        split_run_ons, whole)
from assistant.answering.facts import OWN_SENTENCE, boxed_sentence, fact_sentence, has_counted, merge_items, unthe
from assistant.answering.voice import attributed, author_of, in_its_words, speaks
from assistant.organisations import owner
from assistant.schema import Passage
from assistant.search.sparse import REFERENCE_SECTION
from assistant.text import tokenize

# "Legal status: Community interest company." in a case-study table.
_FACT = re.compile(r"^(?P<label>[A-Z][A-Za-z /()&'-]{2,40}): (?P<value>\S.*)$")
THERE_LEANS = r"there(?! (?:is|are|was|were|has|have|had|will|may|might|seems?|appears?|remains?)\b)"  # not "There was"
# Openings that lean on the sentence before: kept only together with it.
# "It is, however, still unclear how CCGs ...", "It was agreed that ...": an "it" standing for what follows, not for
# the sentence before.
DUMMY_IT = r"it (?:is|was|will be|would be|can be|may be|should be|must be|has been|had been|remains|seems|seemed|appears|" \
    r"appeared)(?:, \w+,)? " \
    r"(?:still |not |also |now |therefore |often |widely |generally |less |more |very )?(?:(?:(?:un)?clear|(?:un)?likely|" \
    r"evident|apparent|true|notable|striking|interesting|recognised|agreed|accepted|expected|hoped|believed|thought|" \
    r"suggested|argued|known|noted|reported|estimated|recommended|important|essential|vital|crucial|critical) " \
    r"(?:that|whether|how|as to|why|what|who|if)|(?:important|essential|necessary|difficult|hard|easy|(?:im)?possible|" \
    r"vital|crucial|critical|helpful|useful|advisable|harder|easier|worth \w+ing|too early) to)\b"
_LEANS = re.compile(rf"^(this|these|that|those|it(?! {DUMMY_IT[3:]})|its|they|their|but|however|such|both|also|so|may|can|will|e\.g\.|"
                    rf"would|could|should|he|she|{THERE_LEANS}|here|in addition|additionally|meanwhile|conversely|in contrast|by contrast|on the other "
                    r"hand|similarly|likewise|nevertheless|nonetheless|instead|nor|perhaps more \w+|as such|furthermore|"
                    r"moreover|thus|therefore|hence|yet|even so|in them|second(ly)?|third(ly)?|finally|lastly|(if )?the "
                    r"(latter|former)|options (could|might|may) include|(many|some|most|several|others|few)(?= (have|"
                    r"had|are|were|will|would|can|also)\b)|the [\w‘’'-]+(?: [\w‘’'-]+)? also)\b",
                    re.I)  # "The care packages also required ..."
# "In addition, every outlet has a clinical director ...": a word adding to what came before, standing for nothing in
# it; the sentence is quoted without it (unless what follows leans: "In addition, these GPs ...").
_ADDED = re.compile(r"^(In addition|Additionally|Furthermore|Moreover|Also),\s+(?=[a-z])")
# "Tower Hamlets achieves this by ...": "this" for the sentence before leans on it as an opening "This" does.
_THIS_BACK = re.compile(r"(?<=\w )this(?= (by|with|through|because|when|if|in|for)\b|[,.;])", re.I)
# "All patients registered with a GP in the city can now ...": outside a case study, "the city" is the place the
# sentence before names ("London has led the country ..."). ("The federation", "the super-partnership" lean too, but
# on a sentence further back: joining the one before added padding to 8 golden answers and named none.)
_THE_BACK = re.compile(r"\bthe (city|borough|county|region)\b(?! (council|level)\b)", re.I)
# "RCGP.1 In this project": a footnote number after a full stop, before the next sentence.
_FOOTNOTE_AFTER_STOP = re.compile(r"(?<=[A-Za-z)]{2})\.(\d{1,2})(?=\s+[A-Z])")
# "super-partnership1 and": a footnote number fused to a word.
_FOOTNOTE_ON_WORD = re.compile(r"(?<=[a-z]{3})\d{1,2}(?=[\s,;:.)]|$)")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
# "This report ...", "This event report ...": the document speaking of itself leans on nothing.
_SELF = re.compile(r"^(this|these) (\w+ )?(report|reports|paper|document|summary|briefing|study|studies|section|"
                   r"chapter|seminar|seminars|event|slides?|toolkit)\b", re.I)
@dataclass(frozen=True)
class Unit:
    """A quotable sentence (or a sentence with the one it leans on) of passage number `n` (1-based)."""

    n: int
    pos: int
    text: str
    case_study: str
    fact: bool = False
    table: bool = False  # from a passage holding a flattened table of several organisations, whose columns are lost
    source: str = ""  # a fact written as a sentence: the table line it was written from ("Legal status: ...")
    leans: bool = False  # "this" in it stands for the sentence before, quoted here without it

    @property
    def matched(self) -> str:
        """What a question's words and the stored sentence vectors are matched against: the text, and the table
        line a fact sentence was written from ("Suffolk GP Federation is a ..." still says "legal status")."""
        return f"{self.text} {self.source}" if self.source else self.text


# A case box's paragraph is quoted as its first sentences together, then one by one (a whole paragraph buried short
# answers). Evidence stated, golden / held-out, mean words: whole 0.835 / 0.735, 124 / 115; 1 sentence 0.826 / 0.676,
# 120 / 112; 2: 0.826 / 0.706; 3: 0.826 / 0.735, 123 / 115 (the golden one lost says "contact value" for "contract").
BOX_SENTENCES = 3
def strip_footnotes(text: str) -> str:
    """`text` without footnote digits fused to a full stop or a word ("RCGP.1 In" -> "RCGP. In"); figures stay."""
    return _FOOTNOTE_ON_WORD.sub("", _FOOTNOTE_AFTER_STOP.sub(".", text))


_GET_DASH = re.compile(r"\b(gets?) – (?=[a-z])")


# "(see What should a larger-scale general practice organisation look like? on p.)", "(see Figure 3)": a place in the
# report, which a quote out of it cannot point to (the citation gives the report and page).
_SEE_PLACE = re.compile(r"\s*\((?:see|cf\.?) (?:[^()]*? on p(?:age)?\.?(?: ?\d+)?|(?:the )?(?:figure|table|chapter|box|"
                        r"appendix|section)\b[^()]*)\)(?! (?:a|an) [a-z])", re.I)  # "...) a significant": bullets lost
_CASE_PAGE = re.compile(r"\(see (?:the )?(?P<case>[A-Z][\w ’'-]{2,40}?) case study on p(?:age)?\.?(?: ?\d+)?\)")


def tidy(text: str) -> str:
    """Remove the document's own markers, footnote digits and pointers to its pages; one space between words; a
    slide's "Patients get – care that ..." as the sentence it is ("Patients get care that ...")."""
    text = _CASE_PAGE.sub(r"(see the \g<case> case study)", strip_footnotes(MARKER.sub("", text)))
    return _GET_DASH.sub(r"\1 ", " ".join(_SEE_PLACE.sub("", text).split()))


def _item(line: str, *, labelled: bool = False, longest: int = 20) -> bool:
    """A line that reads as a slide bullet or list item: short, unpunctuated or ending in a comma or semicolon (with
    `labelled`, a bullet holding a label may be one: "Delivery at scale: 80k+ patients: practice mergers")."""
    words = _WORD.findall(line)
    return 0 < len(words) <= longest and not re.search(r"[.!?:]$", line) and (labelled or not _FACT.match(line)) \
        and bool(re.match(r"[A-Za-z0-9‘“\"(]", line))


def _run_end(lines: Sequence[str], start: int, *, stops: bool = False, labelled: bool = False, longest: int = 30) -> int:
    """Where a run of list items starting at `start` ends (== start when there is none); with `stops`, a short
    line closed by a full stop is an item too (a slide's bullets under its title); with `labelled`, a bullet
    holding a label ("Delivery at scale: 80k+ patients: practice mergers") continues a run it is inside."""
    end, labels = start, 0
    while end < len(lines):
        # Under a lead-in ("The solutions:"), an item may run to 30 words ("Service Level Agreements between ..."); a
        # pull quote after the list is no item of it.
        quote = stops and lines[end].startswith(("“", '"'))
        if not quote and (_item(lines[end]) or stops and _item(lines[end].rstrip("."), longest=longest)
                          and len(split_sentences(lines[end])) == 1):
            end += 1
        elif labelled and end > start and not labels and _item(lines[end], labelled=True):
            end, labels = end + 1, 1  # one such bullet; a run of them is a flattened table's cells ("Close ties: ...")
        else:
            break
    return end


# "Common Federation Objectives: Common Federation Objectives": a slide's title, which the chunker writes after
# its section when a small section joins the next one. It leads the bullets under it.
_TITLE_TWICE = re.compile(r"^(?P<title>[^:]{3,80}): (?P=title)$", re.I)


# A case box's own labels for its lists: they say whose only with the organisation's name.
_GENERIC_LEAD = re.compile(r"^(the )?(results?|solutions?|challenges?|outcomes?|benefits?|lessons?|next steps|"
                           r"vital statistics|approach|exploration|impact)$", re.I)


# A table's cell run into the next row's label: "... through Sustainability and Transformation Plans Local history
# and context:" (a name, then an ordinary word with a capital, then lower-case words to the colon).
_RUN_INTO_LEAD = re.compile(r"[a-z] [A-Z][a-z]+ (?P<word>[A-Z][a-z]+)( [a-z]+)+$")


def _list_unit(n: int, pos: int, items: Sequence[str], *, lead: str, case: str, lower_words: set[str]) -> Unit | None:
    """A run of list items as one sentence: "Lead: first item; second item; third item."."""
    lead = lead.strip().rstrip(":")
    what = unthe(lead)
    if case and lead and _GENERIC_LEAD.match(lead) and case.lower() not in lead.lower():
        lead = f"{owner(case)} {what.lower()}"  # "The results:" in a case study: "Improving Health’s results:"
    run_in = _RUN_INTO_LEAD.search(lead)
    if not case and lead.lower() in TABLE_LABELS - {"key features"}:  # (slides list a model's "Key features")
        return None  # a comparison table's column under its row's label ("Founding aims": four sites' cells)
    if any(run_together(i, lower_words) or _table_row(i) for i in items) or \
            run_in and ordinary(run_in.group("word"), lower_words):
        return None  # columns of a flattened table ("Year founded", "2004", "2006"), not a list
    body = "; ".join(soften(i.strip(" ;,•-").rstrip("."), lower_words) for i in items
                     if i.strip(" ;,•-:") != lead and not reference(i.strip(" ;,•-")))  # "Sign-up for our newsletter"
    if not body:
        return None  # every item a reference ("Sign-up for our newsletter", "Follow us on Twitter")
    return Unit(n, pos, f"{lead}: {body}." if lead else f"{body[0].upper()}{body[1:]}.", case)


_GENERIC_SECTION = re.compile(r"^(appendix\b|case stud)", re.I)
_FIGURES_ONLY = re.compile(r"^[\d\s,.;:%£–-]+$")


def _table_row(item: str) -> bool:
    """Whether a list item is a flattened table's row: figures alone ("2004"), or cells joined by ";" that hold
    figures alone or start with a short label ("Location; London", "... region Year founded; 2004; 2006")."""
    cells = [c.strip() for c in item.split(";")]
    return any(_FIGURES_ONLY.match(c) for c in cells if c) or len(cells) > 1 and len(cells[0].split()) <= 2
# A label before a sentence ("The question: ...", "Governance: ...", "The workload of competitive tendering: ...").
_LABEL = re.compile(r"^(?:[A-Z][\w’'-]*)(?: [\w‘’'-]+){0,6}: (?=[A-Z‘“\"])")
# Labels of up to this many words are left out of a unit; longer ones only as the answer is written (scored without
# their words, golden evidence stated 0.904 -> 0.887: "Information technology and data analysis: ..." finds it).
_UNIT_LABEL_WORDS = 4


def unlabelled(text: str) -> str:
    """A quoted sentence without a list's label before it ("The workload of competitive tendering: The workload
    involved in ..."), where what follows opens on a whole sentence with a verb that leans on nothing."""
    lead = _LABEL.match(text)
    if not lead or re.search(r"[’']s\b|\b(are|is|words)\b", lead.group(0)):
        return text  # "In the Hurley Group’s words: “...", "Northumbria Primary Care’s results are: ..." say whose
    rest = text[lead.end():]
    first = (split_sentences(rest) or [""])[0]  # a list or a verbless cell ("Legal status: Collaboration ...") keeps it
    return rest if not re.search(r"[:;]", rest) and OWN_SENTENCE.match(first) and whole(first, terminated=True) and \
        not _LEANS.match(first) else text


# A case study's byline: a title, a name and a role ("Dr Simon Brownleader, Chairman of Network 2").
_BYLINE = re.compile(r"^(?P<name>(?:Dr|Professor|Prof|Mr|Mrs|Ms|Miss) [A-Z][\w'’-]+(?: [A-Z][\w'’-]+){1,2}), "
                     r"(?P<role>[^.;:]{0,60}\b(?:[Pp]artner|CEO|[Cc]hief|[Cc]hair\w*|[Ee]xecutive|[Dd]irector|"
                     r"[Mm]anager|[Ll]ead|[Hh]ead|[Ff]ounder)\b[^.;:]{0,40})$")


_ROLE_WORD = re.compile(r"\b(Partner|Chairman|Chair|Executive|Director|Manager|Lead|Head|Founder|Chief|Officer)\b")


def _line_units(n: int, pos: int, line: str, *, case: str, lower_words: set[str],
                joined_to: Unit | None = None) -> list[Unit]:
    """The units of one line: a labelled fact, or its whole sentences (a leaning one joined to the one before, or
    to `joined_to`, the last unit of the line before, which then comes back first)."""
    byline = _BYLINE.match(line) if case else None
    if byline:  # "Dr Arvind Madan, GP Partner and CEO" heading a case study's own account
        name = byline.group("name")
        role = _ROLE_WORD.sub(lambda m: m.group(0).lower(), byline.group("role").rstrip(" ."))
        held = role if set(tokenize(case)) & set(tokenize(role)) else f"{role} of the {case}"  # "chairman of Network 2"
        return [Unit(n, pos, f"{name} is the {held}.", case, fact=True, source=line)]
    fact = _FACT.match(line)
    if fact and case and not _FACT.match(fact.group("value")):
        label, value = fact.group("label"), fact.group("value")
        said = split_sentences(value) or [value]
        first, rest = " ".join(said[:BOX_SENTENCES]), said[BOX_SENTENCES:]
        if whole(said[0], terminated=said[0].endswith(".")):
            # "The vital statistics: A federation of ...": the value said of its organisation ("... Confederation’s
            # challenge: to ...", a count as what it has); each further sentence its own unit (a leaning one joined).
            has = has_counted(label, first.rstrip("."), case, lower_words)
            boxed = Unit(n, pos, has or boxed_sentence(label, first, case, lower_words), case, fact=True,
                         source=line if has else "")
            return _line_units(n, pos, " ".join(rest), case=case, lower_words=lower_words, joined_to=boxed) \
                if rest else [boxed]
        if OWN_SENTENCE.match(value) and value.endswith("."):  # "Number of practices: Network 2 includes five ..."
            return [Unit(n, pos, value, case, fact=True, source=line)]
        if case.lower() not in value.lower() and not value.endswith(":"):
            return [Unit(n, pos, fact_sentence(label, value, case, lower_words), case, fact=True, source=line)]
        return []
    lead = _LABEL.match(line)
    if lead and len(lead.group(0).split()) <= _UNIT_LABEL_WORDS and whole(line[lead.end():], terminated=line.endswith(".")):
        line = line[lead.end():]  # "The question: The Nuffield Trust wanted ...": the label says nothing
    pieces = split_sentences(line) if re.search(r"[.!?]", line) else split_run_ons(line, lower_words)
    units: list[Unit] = [joined_to] if joined_to else []
    before, kept = (joined_to.text, True) if joined_to else ("", False)
    for k, piece in enumerate(_unadded(after_cut(p.strip())) for p in pieces):
        terminated = piece.endswith((".", "!", "?", ".”", ".’", ".\"", ".)"))
        ok = whole(piece, terminated=terminated) and not run_together(piece, lower_words) and not reference(piece) \
            and not CLAUSE_ONLY.match(piece)
        text = piece if terminated else piece.rstrip(" ;,") + "."
        itself = _SELF.match(piece)  # "This toolkit ..." after "... the RCGP's Toolkit" is that one, not this document
        opens = ok and _LEANS.match(piece) and not (itself and itself.group(3).lower() not in before.lower())
        if opens or ok and (_THIS_BACK.search(piece) or not case and _THE_BACK.search(piece)):
            # "This meant ...": only with the sentence it leans on (kept even when that one is short).
            joined = kept or bool(before.endswith(".") and re.match(r"[A-Z]", before) and
                                  len(_WORD.findall(before)) >= 3 and (not _LEANS.match(before) or _SELF.match(before)))
            if kept:
                units[-1] = replace(units[-1], text=f"{units[-1].text} {text}")
            elif joined:  # not onto one that leans on nothing itself
                units.append(Unit(n, pos * 100 + k - 1, f"{before} {text}", case))
                kept = True
            if not opens and joined:  # "... managed this with ...": alone too, for documents (answers skip it)
                units.insert(len(units) - 1, Unit(n, pos * 100 + k, text, case, leans=True))
            if opens or joined:
                before = piece
                continue
        kept = ok
        if ok:
            units.append(Unit(n, pos * 100 + k, text, case))
        before = piece
    return units


def _unadded(piece: str) -> str:
    """A sentence without an opening "In addition," that stands for nothing before it ("Every outlet has ...")."""
    added = _ADDED.match(piece)
    return piece[added.end()].upper() + piece[added.end() + 1:] if added and not _LEANS.match(piece[added.end():]) else piece


def _titled(lines: list[str]) -> tuple[list[str], set[int]]:
    """The lines with a slide's title said twice ("Common Federation Objectives: Common Federation Objectives") said
    once as a lead-in, and the numbers of those lines."""
    titles = set()
    for k, line in enumerate(lines):
        if title := _TITLE_TWICE.match(line):
            lines[k] = title.group("title") + ":"
            titles.add(k)
    return lines, titles


def _box_items_end(lines: Sequence[str], i: int) -> int:
    """Where the items listed under a case box's labelled line i end (i when it lists none)."""
    fact = _FACT.match(lines[i])
    if not fact:
        return i
    # A title-like value ("The solution: Learning in Action – part of ... programme.") leads the full-stopped lines
    # under it ("A series of workshops to give practices the 'headspace' ...").
    titled = 0 < len(_WORD.findall(fact.group("value"))) <= 15 and not OWN_SENTENCE.match(fact.group("value"))
    end = _run_end(lines, i + 1, stops=titled, longest=40 if titled else 30)
    if i + 1 < end < len(lines) and _item(lines[end].rstrip(".")) and lines[end].endswith("."):
        end += 1  # the list's last item closes it with a full stop ("Cardiology", "Urology.")
    return end


def passage_units(n: int, passage: Passage) -> list[Unit]:
    """The quotable units of passage number n, in order: sentences, labelled facts (with the items listed under
    them) and runs of slide bullets or list items as one sentence each."""
    chunk = passage.chunk
    if REFERENCE_SECTION.match(chunk.section or ""):
        return []  # a reference list or footnotes: "Wiering et al. (2017) 'Patient involvement ...'" says nothing
    case = chunk.case_study
    lower_words = {w for w in _WORD.findall(chunk.text) if w.islower()}
    lines, titles = _titled(rewrapped([tidy(raw) for raw in chunk.text.splitlines()]))
    # "Location; London (working in 12 CCGs)", then each site's cell on its own line: whose cell is whose is lost.
    tabular = not case and any(";" in line and _table_row(line) for line in lines)
    prose = sum(line.endswith(".") and len(line.split()) >= 12 for line in lines) >= 2
    units: list[Unit] = []
    i, last = 0, -1  # last: the line the last unit came from
    while i < len(lines):
        end = _box_items_end(lines, i) if case else i
        if end > i + 1:  # "Main drivers: Support ..." with more drivers listed below it
            items = lines[i + 1:end]
            # Unless the items run into the table's next row ("... in the region Year founded", "2004", "2006").
            if not any(_table_row(x) or run_together(x, lower_words) for x in items):
                units.extend(_line_units(n, i, merge_items(lines[i], items), case=case, lower_words=lower_words))
            i = end
            continue
        # A case table's labelled lines are its facts, a flattened table's its cells; on a slide, bullets.
        lead = lines[i - 1] if i and lines[i - 1].endswith(":") else ""
        # Under a title or a lead-in ("... outcomes identified so far include:"), short full-stopped lines are items.
        end = _run_end(lines, i, stops=i - 1 in titles or bool(lead), labelled=not (case or tabular))
        if end - i >= (2 if lead else 3):
            # "Appendix: Case studies" says where the list is, not what it is: the organisation's name says more.
            section = case if case and _GENERIC_SECTION.search(chunk.section or "") else chunk.section
            listed = _list_unit(n, i * 100, lines[i:end], lead=lead or section, case=case, lower_words=lower_words)
            if not (lead or case) and prose and not any(x.endswith(".") for x in lines[i:end]):
                listed = None  # a table's column headings among paragraphs ("Contracts that can be held with CCGs")
            if listed and lead and _LEANS.match(lead) and not _SELF.match(lead):
                # "This could, for example, include: ..." goes with the sentence just before it, or not at all.
                joined = units and last in (i - 2, i - 1) and units[-1].text.endswith(".")
                units[-1:] = [replace(units[-1], text=f"{units[-1].text} {listed.text}")] if joined else units[-1:]
            elif listed:
                units.append(listed)
            i = end
            continue
        if said := attributed(lines[i], lines[i + 1] if i + 1 < len(lines) else ""):  # and whose words, after it
            units.append(Unit(n, i * 100, said, case))
            last, i = i + 1, i + 2
            continue
        # "These practices provide ..." on the line after the sentence it leans on goes with that sentence.
        leaning = units[-1] if units and last == i - 1 and lines[i - 1].endswith(".") and _LEANS.match(lines[i]) \
            and not _SELF.match(lines[i]) else None
        found = _line_units(n, i, lines[i], case=case, lower_words=lower_words, joined_to=leaning)
        if found:
            units[len(units) - (leaning is not None):] = found
            last = i
        i += 1
    return _finished(units, case=case, tabular=tabular, author=author_of(chunk.publisher))


# Rows of the reports' comparison tables ("Legal status: Collaboration between multiple practices", "Governance:
# Executive board accountable to ..."): cells whose organisation is lost, not statements.
TABLE_LABELS = frozenset("model|legal status|governance|scope|main purpose|examples from case studies|potential "
                         "strengths|potential weaknesses|founding aims|organisational type|primary purpose of "
                         "organisation|key features|various models".split("|"))
RUN_IN = re.compile(r"^[A-Z][\w’'-]*(?: [\w’'-]+){0,6}: (?=[A-Z])")


def source_line(unit: Unit, passage: Passage) -> str:
    """The line of the passage a unit starts on ("" when it was rewritten beyond finding)."""
    head = unit.text[:40]
    return next((ln.strip() for ln in passage.chunk.text.splitlines() if head in ln), "")


def flattened_cell(unit: Unit) -> bool:
    """Whether a unit is a labelled cell of a flattened table of several organisations, whose organisation is lost
    ("A group of companies (best described as a federation) ... formed of: 1 GP cooperative ...")."""
    return unit.table and ":" in unit.text


def comparison_cell(unit: Unit, passage: Passage) -> bool:
    """Whether a unit is a cell of a comparison table, whose organisation is lost: a flattened table's labelled cell,
    or on a line opening with a row's label ("Legal status: Collaboration between multiple practices.")."""
    if flattened_cell(unit):
        return True
    label = None if unit.fact else RUN_IN.match(unit.text) or RUN_IN.match(source_line(unit, passage))
    return bool(label and label.group(0).rstrip(": ").lower() in TABLE_LABELS)


def _finished(units: Sequence[Unit], *, case: str, tabular: bool, author: str = "") -> list[Unit]:
    """A passage's units as quoted: first-person ones said to be the organisation's (or, outside a case study, the
    document's authors'), references left out, a flattened table's marked."""
    # "We invest heavily in education ..." in a case study is the organisation speaking: said so, by name. "We will
    # give practices the resources they need" in the London framework is its authors (judges: "London's 'we'").
    speaker = case or author
    out = [replace(u, text=in_its_words(u.text, speaker)) if speaker and speaks(u.text, own=not case) and not u.fact
           and speaker.lower() not in u.text.lower() else u for u in units]
    out = [u for u in out if not reference(u.text)]  # "Follow us on Twitter: ." after its link was cleaned
    return [replace(u, table=True) for u in out] if tabular else out
