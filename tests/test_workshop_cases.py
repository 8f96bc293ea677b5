"""Workshop packs over every case study in the library: only the organisation's own statements, complete cards,
one entry per organisation, and quizzes that are multiple choice with cited answers."""

import re

import pytest

from assistant.answering.citations import MARKER, marker_numbers, split_sentences
from assistant.documents.cards import CARD_ROWS, case_studies, organisations
from assistant.documents.workshop import build_workshop
from assistant.organisations import ALIASES, canonical, org_key, same_organisation

_ANY_ROW = re.compile(r"^([A-Z][A-Za-z -]{2,45}?)\s*:\s*(.*)$")
_COUNT = "One|Two|Three|Four|Five|Six|Seven|Eight|Nine|Ten|Eleven|Twelve"


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", MARKER.sub(" ", text.lower())).split())


@pytest.fixture(scope="module")
def groups(assistant):
    return organisations(case_studies(assistant))


@pytest.fixture(scope="module")
def packs(assistant, groups):
    return {head: build_workshop(assistant, case=head, answerer="offline") for head in groups}


def _words(members):
    """The words that name an organisation: its case studies' distinctive words and its former names'."""
    keys = {org_key(m) for m in members if org_key(m)}
    keys |= {old for old, new in ALIASES.items() if new in {canonical(k) for k in keys}}
    return {k.capitalize() for k in keys}


def _cited_sentences(pack):
    parts = [pack.card.did, pack.card.learned, *pack.discussion, pack.facilitator_note]
    for part in parts:
        # A statement is the run of sentences citing the same passage ("Kaiser ... [4] This allows ... [4]").
        statement, markers = "", None
        for sentence in re.split(r"(?<=\])\s+", part):
            if not MARKER.search(sentence):
                continue
            here = marker_numbers(sentence)
            if statement and here != markers:
                yield statement
                statement = ""
            statement, markers = f"{statement} {sentence}".strip(), here
        if statement:
            yield statement


@pytest.mark.slow
def test_no_case_pack_cites_another_organisations_statement_unless_labelled_a_comparison(assistant, groups, packs):
    cases = case_studies(assistant)
    names = sorted(cases)
    leaks = []
    for head, members in groups.items():
        pack = packs[head]
        own = {p.chunk.chunk_id for m in members for p in cases[m]}
        words = _words(members)
        refs = {c.n: c for c in pack.references}
        for sentence in _cited_sentences(pack):
            if re.search(r"(?:^|\n)\s*(?:- )?Comparison\b", sentence):
                continue  # labelled: "- Comparison, from other organisations' experience: ..."
            chunks = [refs[n].passage.chunk for n in marker_numbers(sentence)]
            if all(c.chunk_id in own for c in chunks):
                continue
            # Named in its opening sentence: "The network model ... In contrast, the Vitality ..." is a comparison.
            opening = (split_sentences(MARKER.sub("", sentence).strip()) or [sentence])[0]
            says_own = any(re.search(rf"\b{w}\b", opening) for w in words)
            others = [n for n in names if n not in members and re.search(rf"\b{re.escape(n)}\b", sentence)
                      and not same_organisation(n, head)]
            if not says_own or others:
                leaks.append((head, sentence[:160]))
    assert not leaks, leaks


def _source_items(chunks):
    """{card label: items} read from the report's table lines, a row's list continuing into the next passage."""
    rows, label, before = {}, None, set()
    for chunk in sorted(chunks, key=lambda c: c.position):
        lines = [ln.strip() for ln in chunk.text.splitlines()]
        for line in lines:
            if line in before:
                continue  # chunks overlap: a line the previous passage printed is not read twice
            m = _ANY_ROW.match(line)
            if m:
                label = CARD_ROWS.get(m.group(1).lower())
                if label and label not in rows:
                    rows[label] = [m.group(2)]
                elif label:
                    rows[label].append(m.group(2))
            elif label and line:
                rows[label].append(line)
        before = set(lines)
    cleaned = {}
    for lab, items in rows.items():
        cleaned[lab] = [x for x in (re.sub(r"^Includes:?", "", i).split(". Example:")[0].strip() for i in items) if x]
    return cleaned


@pytest.mark.slow
def test_every_card_lists_every_item_of_its_source_table_with_cells_split(assistant, groups, packs):
    checked, missing = 0, []
    for head in groups:
        pack = packs[head]
        refs = {c.n: c for c in pack.references}
        for fact in pack.card.facts:
            if fact.label == "Model":
                continue  # the table's heading line, not a row
            chunk = refs[fact.n].passage.chunk
            same_table = [c for c in assistant.chunks() if c.doc_id == chunk.doc_id and c.case_study == chunk.case_study]
            items = _source_items(same_table).get(fact.label, [])
            checked += len(items)
            missing += [(head, fact.label, i) for i in items if _plain(i) not in _plain(fact.value)]
            assert not re.search(rf"[a-z] (?:{_COUNT}) [a-z]", fact.value), (head, fact.value)  # two cells run together
    assert checked > 100 and not missing, missing


def test_the_case_list_has_one_entry_per_organisation(assistant, groups):
    heads = list(groups)
    assert len([h for h in heads if "Tower Hamlets" in h]) == 1
    assert "Modality Partnership" in heads and "Vitality Partnership" not in heads
    for i, a in enumerate(heads):
        for b in heads[i + 1:]:
            assert not same_organisation(a, b), (a, b)
            assert not org_key(a) or canonical(org_key(a)) != canonical(org_key(b)), (a, b)


@pytest.mark.slow
def test_a_renamed_organisations_card_says_its_former_name(packs):
    pack = packs["Modality Partnership"]
    assert pack.card.formerly == ("Vitality Partnership",)
    card = dict(pack.outline().sections)["Case-study card"]
    assert "Former name: Vitality Partnership (the same organisation" in card
    assert all("Vitality Partnership" not in q.question for q in pack.quiz)


@pytest.mark.slow
def test_quiz_questions_are_multiple_choice_with_cited_answers_from_other_case_studies(packs):
    tabled = [p for p in packs.values() if p.card.fact("Why it formed")]
    assert len(tabled) >= 4
    for pack in tabled:
        assert len(pack.quiz) >= 3, pack.title
        assert any("Which model" in q.question for q in pack.quiz)
        for q in pack.quiz:
            options = re.findall(r"\(([A-D])\) ", q.question)
            assert len(options) >= 3 and re.match(r"^\([A-D]\) .+\[\d+\]", q.answer), q
        assert not any(q.question.startswith(("Which report", "Fill the gap")) for q in pack.quiz)


@pytest.mark.slow
def test_no_quiz_asks_whose_words_or_blanks_a_comparison_label(packs):
    for pack in packs.values():
        for q in pack.quiz:
            assert "not about ___" not in q.question and "___’s words" not in q.question and \
                "___'s words" not in q.question, (pack.title, q.question)


@pytest.mark.slow
@pytest.mark.parametrize("theme, word", [("conflicts of interest", "conflict"),
                                         ("patient involvement", "patient|involv|engag")])
def test_a_theme_pack_discusses_the_theme_in_every_question(assistant, theme, word):
    pack = build_workshop(assistant, theme=theme, answerer="offline")
    statements = [MARKER.sub("", q.rsplit("]", 1)[0]) for q in pack.discussion]
    assert len(statements) >= 3
    assert all(re.search(word, s.lower()) for s in statements), statements


@pytest.mark.slow
def test_every_case_pack_has_discussion_questions_others_experience_labelled_a_comparison(packs):
    for head, pack in packs.items():
        assert pack.discussion, head
    thin = packs["Midlands Health Network"]
    assert all(q.startswith("Comparison, from the reports’ other material (not about Midlands Health Network):")
               for q in thin.discussion)


@pytest.mark.slow
def test_which_organisation_quiz_items_name_no_other_organisation_and_not_as_an_aside(packs):
    for head, pack in packs.items():
        for q in (q for q in pack.quiz if q.question.startswith("Which organisation does this describe")):
            statement = q.question.split("“", 1)[1].rsplit("”", 1)[0]
            assert "for example ___" not in statement and not re.search(r"\b(Vitality|Hurley|Suffolk) and ___", statement)
            assert len(statement.split("___", 1)[0].split()) <= 10, (head, statement)


@pytest.mark.slow
def test_quiz_options_for_the_model_are_models_and_legal_forms_are_forms(packs):
    for pack in packs.values():
        for q in pack.quiz:
            if "Which model" in q.question:
                assert "Marginalised groups" not in q.question
            if "Which legal form" in q.question:
                assert "formed as" not in q.question, q.question
