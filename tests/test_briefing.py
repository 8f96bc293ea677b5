"""Briefing notes: cited sections, one global reference list, disagreement warnings, DOCX from the CLI, LLM mode."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.documents.briefing import PER_SECTION, THIN_NOTE, build_briefing, section_queries
from assistant.documents.export import to_markdown
from assistant.documents.figures import disagreements, extract_facts, known_organisations
from assistant.documents.outline import ReferenceBook
from assistant.documents.writing import drop_repeats
from assistant.answering.sentences import strip_footnotes
from assistant.answering.citations import DEFAULT_THRESHOLD, MARKER, split_sentences, support
from assistant.errors import InputError
from evals.evidence import contains_evidence
from assistant.schema import Chunk, Citation, Passage
from assistant.pipeline import Assistant
from conftest import make_settings
from fake_openai import Reply, Status, running_fake_openai

BIN = Path(sys.executable).parent / "assistant"
TOPIC = "Managing conflicts of interest when a GP federation bids for community services"
ENTRY = re.compile(r"Quote: “(?P<quote>.*)”", re.S)


def _passage(doc: str, text: str, case: str = "", year: int = 2013, cid: str = "") -> Passage:
    chunk = Chunk(cid or f"{doc}-{abs(hash(text)) % 10**8}", doc, f"Report {doc}", year, "S", 3, text, case, "Pub")
    return Passage(1, chunk, 1.0)


def _run(args, index_dir, **env):
    environ = {**os.environ, "ASSISTANT_DATA_DIR": str(index_dir / "data"),
               "ASSISTANT_KNOWLEDGE_DIR": str(index_dir / "knowledge"), **env}
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=environ, timeout=180)


def _assert_markers_point_to_support(note):
    """Every cited sentence is supported by a reference its markers name; every reference is numbered in order."""
    refs = {c.n: c for c in note.references}
    assert list(refs) == list(range(1, len(refs) + 1))
    for section in note.sections:
        for c in section.citations:
            assert refs[c.n].passage.chunk.chunk_id == c.passage.chunk.chunk_id, section.heading
        for sentence in split_sentences(section.text):
            numbers = [int(n) for m in MARKER.finditer(sentence) for n in re.findall(r"\d+", m.group(1))]
            if numbers and "(unverified)" not in sentence:
                best = max(support(sentence, refs[n].passage)[0] for n in numbers)
                assert best >= DEFAULT_THRESHOLD, (section.heading, sentence)
    for ref in note.references:
        assert contains_evidence(ref.passage.chunk.text, ref.quote), ref.quote


# -- unit tests on hand-made passages ------------------------------------------------------------

def test_reference_book_renumbers_local_markers_into_one_list():
    a, b = _passage("d1", "Alpha federations share staff."), _passage("d2", "Beta networks pool budgets.")
    book = ReferenceBook()
    text1, cites1 = book.localise("Alpha [1]. Beta [2].", [Citation(1, a, "q"), Citation(2, b, "q")])
    text2, cites2 = book.localise("Beta again [1]. Alpha again [2].", [Citation(1, b, "q"), Citation(2, a, "q")])
    assert (text1, text2) == ("Alpha [1]. Beta [2].", "Beta again [2]. Alpha again [1].")
    assert [c.n for c in cites2] == [2, 1] and [c.n for c in book.references()] == [1, 2]


def test_drop_repeats_skips_fragments_and_sentences_already_used():
    seen = set()
    shared = "Federations share back-office staff across many local practices."
    first = drop_repeats(f"{shared} [1] GP at Health, Federation of GP practices, Southwark. [2]", seen, PER_SECTION)
    again = drop_repeats(f"{shared} [3] Boards answer to member practices in every locality. [1]", seen, PER_SECTION)
    assert first == "Federations share back-office staff across many local practices. [1]"
    assert again == "Boards answer to member practices in every locality. [1]"


def test_figures_about_one_organisation_from_two_reports_are_a_disagreement():
    early = _passage("a", "Care locations: 18 general practices Five urgent care centres.", "Hurley Group")
    later = _passage("b", "The Hurley Group is a partnership of 17 practices.", "", 2013)
    other = _passage("c", "The Vitality Partnership serves 51,000 patients. It plans to serve 120,000 patients by 2016.")
    orgs = {"hurley": "Hurley Group", "vitality": "Vitality Partnership"}
    assert [(f.org, f.kind, f.value) for f in extract_facts(other, orgs)] == [("modality", "patients", 51000)]
    [group] = disagreements([early, later, other], orgs)
    assert sorted(f.value for f in group) == [17, 18] and {f.kind for f in group} == {"practices"}


def test_different_bodies_sharing_a_place_name_do_not_disagree():
    network = _passage("a", "Registered population: Approximately 34,000.", "Tower Hamlets Network 2")
    group = _passage("b", "A federation of the 37 general practices in Tower Hamlets, caring for over 312,000 people.",
                     "Tower Hamlets GP Care Group", 2018)
    assert disagreements([network, group], {"tower": "Tower Hamlets"}) == []


# -- the real index --------------------------------------------------------------------------------

@pytest.mark.slow
def test_offline_note_has_every_section_and_markers_that_point_to_supporting_references(assistant):
    note = build_briefing(assistant, TOPIC, "offline")
    plan = ["Summary", "Key findings", "What the reports recommend", "Options and trade-offs",
            "Governance and conflicts of interest", "Case-study examples", "Open questions", "How this applies now"]
    headings = [s.heading for s in note.sections]
    # Sections with nothing cited are named once, at the end, instead of standing empty.
    missing = next((s.text.lower() for s in note.sections if s.heading == "Not in the reports"), "")
    assert [h for h in plan if h in headings] == [h for h in headings if h in plan]
    assert all(h in headings or h.lower() in missing for h in plan), headings
    assert all(s.citations for s in note.sections if s.heading not in ("How this applies now", "Not in the reports"))
    assert note.answerer == "offline" and len(note.references) >= 4
    assert sum(bool(s.citations) for s in note.sections) >= 5
    _assert_markers_point_to_support(note)
    assert to_markdown(note).startswith(f"# Briefing note: {TOPIC}")


@pytest.mark.slow
def test_cli_brief_writes_a_docx_whose_references_hold_the_quoted_text(index_dir, assistant, tmp_path):
    import docx

    out = _run(["brief", TOPIC, "--answerer", "offline", "--out", str(tmp_path / "note.docx")], index_dir)
    assert out.returncode == 0, out.stderr
    document = docx.Document(str(tmp_path / "note.docx"))
    paragraphs = document.paragraphs
    assert paragraphs[0].style.name == "Title" and TOPIC in paragraphs[0].text
    assert any("2013 to 2018" in p.text and "ICBs" in p.text for p in paragraphs)
    refs = [p.text for p in paragraphs if p.style.name == "List Number"]
    assert len(refs) >= 4
    chunks = assistant.chunks()
    for entry in refs:
        m = ENTRY.search(entry)
        assert m and "passage" not in entry[m.end():], entry  # house style: no internal passage ids
        # The quote (footnote digits taken out) is in a passage of the report the entry names.
        assert any(entry.startswith(c.title) and contains_evidence(strip_footnotes(c.text), m.group("quote"))
                   for c in chunks), entry
    body = " ".join(p.text for p in paragraphs if p.style.name != "List Number")
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    assert cited == set(range(1, len(refs) + 1))  # every marker has a reference, every reference is cited


@pytest.mark.slow
def test_a_note_on_a_topic_the_reports_say_little_about_says_so_and_a_full_one_does_not(assistant):
    thin = build_briefing(assistant, "Extending access to general practice through federations", "offline")
    assert any(w.startswith("The reports say little on this topic: this note rests on") for w in thin.warnings)
    full = build_briefing(assistant, "Choosing a legal form for a GP federation", "offline")
    assert not any("say little" in w for w in full.warnings) and len(full.references) >= THIN_NOTE


@pytest.mark.slow
@pytest.mark.parametrize("topic, expected", [
    ("How has the Hurley Group grown?", ["Hurley Group", "17", "18"]),
    ("Modality Partnership growth", ["Vitality", "51,000", "300,000", "2018"]),
    ("Tower Hamlets networks", ["Tower Hamlets", "2006", "2008"]),
])
def test_notes_on_organisations_warn_where_reports_differ(assistant, topic, expected):
    note = build_briefing(assistant, topic, "offline")
    [warning] = [w for w in note.warnings if w.startswith("Reports differ")]
    assert all(x in warning for x in expected), warning
    refs = {c.n: c for c in note.references}
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", warning)]
    assert len({refs[n].passage.chunk.doc_id for n in numbers}) >= 2  # each figure cited to its own report
    for n in numbers:
        assert contains_evidence(refs[n].passage.chunk.text, refs[n].quote)


@pytest.mark.slow
def test_llm_note_from_a_local_server_keeps_only_verified_citations(index_dir, assistant):
    orgs = known_organisations(assistant.chunks())
    replies = []
    for _, query in section_queries(TOPIC, orgs):
        passages = assistant.retrieve(query, 5).passages
        quoted = [next(s for s in split_sentences(p.chunk.text) if len(s.split()) > 8) for p in passages[:2]]
        replies.append(Reply(f"- {quoted[0]} [1]\n- {quoted[1]} [2]\n- Federations win every tender they enter [9]."))
    with running_fake_openai(replies) as fake:
        llm = Assistant.from_settings(make_settings(index_dir, openai_api_key="x", openai_base_url=fake.url,
                                                    llm_max_retries=0, llm_timeout_s=10))
        note = build_briefing(llm, TOPIC, "llm")
    assert note.answerer.startswith("llm:") and len(fake.completions) == 7
    prompt = fake.completions[0].messages[-1]["content"]
    assert 'Write only the section headed "Summary"' in prompt and TOPIC in prompt
    for section in note.sections[:7]:  # the last, "How this applies now", is computed, not written
        assert len(section.citations) == 2 and all(c.supported for c in section.citations)
        assert "Federations win every tender they enter (unverified)." in section.text
    assert any("(unverified)" in w for w in note.warnings)
    _assert_markers_point_to_support(note)


@pytest.mark.slow
def test_a_failing_llm_server_gives_the_offline_note_and_says_so(index_dir):
    with running_fake_openai(default=Status(500)) as fake:
        llm = Assistant.from_settings(make_settings(index_dir, openai_api_key="x", openai_base_url=fake.url,
                                                    llm_max_retries=0, llm_timeout_s=5))
        note = build_briefing(llm, TOPIC, "llm")
    assert len(fake.completions) == 1  # the failed server is not asked again for every section
    warning = next(w for w in note.warnings if w.startswith("While writing"))
    assert warning.count("The language model") == 1 and "offline extractive text" in warning
    assert all(s.citations for s in note.sections[1:3])


@pytest.mark.slow
@pytest.mark.parametrize("topic", ["Brexit fishing quotas and Premier League football",
                                   "What dose of amoxicillin for otitis media?"])
def test_topics_the_reports_cannot_brief_on_are_refused(assistant, topic):
    with pytest.raises(InputError):
        build_briefing(assistant, topic, "offline")


@pytest.mark.slow
def test_cli_refusal_is_a_red_message_and_exit_code_2(index_dir):
    out = _run(["brief", "Brexit fishing quotas", "--answerer", "offline"], index_dir)
    assert out.returncode == 2 and "Error:" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_a_section_the_model_cut_off_at_its_token_cap_is_named_in_a_warning(index_dir, assistant):
    passages = assistant.retrieve(section_queries(TOPIC, known_organisations(assistant.chunks()))[0][1], 5).passages
    quote = next(s for s in split_sentences(passages[0].chunk.text) if len(s.split()) > 8)
    replies = [Reply(f"- {quote} [1]\n- The federation", finish="length")] + [Reply(f"- {quote} [1]")] * 6
    with running_fake_openai(replies) as fake:
        llm = Assistant.from_settings(make_settings(index_dir, openai_api_key="x", openai_base_url=fake.url,
                                                    llm_max_retries=0, llm_timeout_s=10))
        note = build_briefing(llm, TOPIC, "llm")
    [warning] = [w for w in note.warnings if "cut off" in w]
    assert "“Summary”" in warning and "ASSISTANT_LLM_BRIEF_TOKENS" in warning
    assert not any("cut off" in w and "Key findings" in w for w in note.warnings)


def test_a_note_point_does_not_lean_on_a_sentence_it_leaves_out():
    from assistant.documents.selection import standalone
    for leaning in ("Like some federations and super-partnerships, these examples have transformed the governance model.",
                    "How much input will vary according to the organisation's structure and legal obligations.",
                    "CCGs may have to offer these additional services to any qualified provider.",
                    "For primary care, this wider financial squeeze comes on top of a period of already reduced funding."):
        assert not standalone(leaning), leaning
    for whole in ("Although standard legal structures exist, there are no off the shelf governance plans.",
                  "Federations in Suffolk and London chose different legal forms for different reasons.",
                  "Funding stayed flat across the NHS for this decade."):
        assert standalone(whole), whole


def test_a_slide_headline_with_its_gloss_is_no_sentence():
    from assistant.answering.debris import whole
    for headline in ("Greater resilience – by sharing back-office functions, pooling team members and developing systems.",
                     "Better care and new services – like extended access for all patients.",
                     "Usually at a borough level and often a single formal organisation – this is the platform."):
        assert not whole(headline, terminated=True), headline
    assert whole("Practices share back-office functions – payroll, HR and finance – across the federation.", terminated=True)


def _topic_scores(topic, texts):
    """Each text's score as a note point on `topic`, each text a passage of its own."""
    from assistant.documents.selection import candidates
    from assistant.schema import Chunk, Passage
    pool = [Passage(rank=0, chunk=Chunk(chunk_id=f"c{i}", doc_id="d", title="T", year=2016, section="S", page=1,
                                        text=t), score=0.0) for i, t in enumerate(texts)]
    return {c.text: c.score for c in candidates(topic, pool, [], phrases=2, context=True)}


def test_a_report_word_for_one_of_a_two_word_topic_counts_only_beside_the_other():
    texts = ("Keeping member clinicians engaged in the new organisation was harder than expected.",
             "Engage with patients to co-design services that meet diverse needs and preferences.")
    scored = _topic_scores("Patient involvement in at-scale general practice", texts)
    assert scored[texts[1]] > 0 and scored.get(texts[0], 0) == 0


def test_a_topics_function_words_and_the_verb_after_to_are_no_topic():
    from assistant.documents.selection import topic_terms
    funding = topic_terms("Funding and investment needed to form a GP federation")
    assert {"fund", "invest"} <= set(funding) and not {"need", "form", "structur", "statu"} & set(funding)
    assert set(topic_terms("Extending access to general practice through federations")) == {"extend", "access"}
    assert "form" in topic_terms("Choosing a legal form for a GP federation")


def test_back_office_in_a_topic_counts_beside_office_not_only_beside_sharing():
    from assistant.documents.selection import topic_pairs
    assert topic_pairs("Sharing back-office functions across practices", 2)["back"] == {"shar", "offic"}


def test_a_case_boxs_solutions_on_the_topic_are_an_example_and_its_legal_status_is_not():
    from assistant.documents.selection import Candidate, is_example, topic_terms
    from assistant.answering.sentences import Unit
    from assistant.schema import Chunk, Passage
    chunk = Chunk(chunk_id="c", doc_id="d", title="T", year=2018, section="S", page=1, text="",
                  case_study="Northumbria Primary Care")
    terms = topic_terms("Sharing back-office functions across practices")

    def example(text):
        unit = Unit(1, 1, text, "Northumbria Primary Care", fact=True)
        return is_example(Candidate(unit, Passage(rank=1, chunk=chunk, score=1.0), 1.0, ("Northumbria Primary Care",)),
                          terms)
    assert example("Northumbria Primary Care’s solutions: back-office support for practices including payroll.")
    assert not example("Northumbria Primary Care’s legal status: single legal entity.")


def test_extending_access_is_one_thing_extended_services_alone_are_not_about_it():
    texts = ("The extended primary care team is a concept that has been long discussed.",
             "London has led the country in providing extended access to general practice.")
    scored = _topic_scores("Extending access to general practice through federations", texts)
    assert scored[texts[1]] > 0 and scored.get(texts[0], 0) == 0


def test_a_theme_statement_speaks_to_two_of_the_themes_words():
    from assistant.documents.selection import on_theme
    assert on_theme("workforce and skill mix", "The skill mix was broadened to include paramedics and pharmacists.")
    assert not on_theme("workforce and skill mix", "The staff in one of them encouraged us to take it on.")
    assert not on_theme("patient involvement", "A learning set involving members from each practice reinforced the bond.")
    assert on_theme("conflicts of interest", "GPs declared their conflicts where a personal interest arose.")


def test_a_flattened_tables_cell_is_not_a_note_point():
    from assistant.documents.selection import candidates
    from assistant.schema import Chunk, Passage
    table = ("Legal status; London (working in 12 CCGs); Bristol\n"
             "A group of companies (best described as a federation) to suit the legal needs of members, formed of: "
             "1 GP cooperative of 19 practices; 1 limited company.\n"
             "Federations chose different legal forms for different reasons, and several changed form as they grew.")
    pool = [Passage(rank=0, chunk=Chunk(chunk_id=f"c{i}", doc_id="d", title="T", year=2016, section="S", page=1,
                                        text=t), score=0.0) for i, t in enumerate((table,))]
    said = [c.text for c in candidates("Choosing a legal form for a GP federation", pool, [], phrases=2, context=True)]
    assert not any(t.startswith("A group of companies") for t in said), said
    assert any(t.startswith("Federations chose") for t in said), said  # the same passage's prose stays


def test_options_come_from_the_topic_and_open_questions_may_come_from_a_passage_on_it():
    from assistant.documents.briefing import offline_roles
    from assistant.schema import Chunk, Passage
    text = ("There was little patient involvement in the decision to operate at larger scale. Patient participation "
            "groups were informed only after the decision. An alternative approach would be for commissioners to buy "
            "extra services, rather than paying practices directly. It remains unclear how the contracts will be "
            "monitored.")
    chunk = Chunk(chunk_id="c1", doc_id="d", title="T", year=2016, section="Patient experience", page=1, text=text)

    class Lib:
        def chunks(self):
            return [chunk]

    roles = offline_roles(Lib(), "Patient involvement in at-scale general practice", [Passage(rank=1, chunk=chunk, score=1)])
    assert not any("alternative approach" in c.text for c in roles["Options and trade-offs"])
    assert any("remains unclear" in c.text for c in roles["Open questions"])
