"""Answers to questions of two parts, sizes, missing facts, and lists and notes the answer quotes or leaves out."""

from __future__ import annotations

import pytest

from assistant.answering.wording import missing_fact
from assistant.answering.protocol import NOT_GIVEN
from assistant.answering.question import analyse, part_queries
from assistant.schema import Turn

ORGS = ("Suffolk GP Federation", "Improving Health", "Hurley Group", "Vitality Partnership")


def test_each_part_is_searched_alone_with_the_organisation_the_question_names():
    assert part_queries("How is the Vitality Partnership governed, and how does it involve its patients?", ORGS) == (
        "How is the Vitality Partnership governed", "how does it involve its patients? (Vitality Partnership)")
    assert part_queries("What legal form could we choose, and how should the board be set up?", ORGS) == (
        "What legal form could we choose", "how should the board be set up?")
    assert part_queries("What is a GP federation?", ORGS) == ()


def test_a_part_is_searched_with_the_name_the_question_uses_not_the_organisations_other_name():
    renamed = ("Modality Partnership", "Vitality Partnership")  # one organisation, labelled by both its names
    assert part_queries("How is the Vitality Partnership governed, and how does it involve its patients?",
                        renamed)[1] == "how does it involve its patients? (Vitality Partnership)"


def test_a_missing_fact_asked_with_the_organisations_possessive_names_it_once():
    q = analyse("What was Improving Health Ltd's total annual turnover?", organisations=ORGS)
    assert missing_fact(q.parts[0], q) == f"{NOT_GIVEN} Improving Health’s total annual turnover."
    q = analyse("What is Suffolk GP Federation's CQC rating?", organisations=ORGS)
    assert missing_fact(q.parts[0], q) == f"{NOT_GIVEN} Suffolk GP Federation’s CQC rating."


@pytest.mark.slow
def test_a_two_part_question_reads_each_parts_own_best_passage_after_its_own(assistant):
    question = "On the Nuffield slides, what are the key features of a super-partnership, and what are the essential " \
               "ingredients for success?"
    whole = [p.chunk.chunk_id for p in assistant.retrieve(question).passages]
    answer = assistant.ask(question)
    got = [p.chunk.chunk_id for p in answer.passages]
    assert got[:len(whole)] == whole and len(got) > len(whole)
    assert "Strong clinical and managerial leadership" in answer.text  # the second part, from its own passage
    assert "delivery at scale: 80k+ patients: practice mergers" in answer.text  # the slide's labelled bullet kept


@pytest.mark.slow
def test_a_one_part_question_reads_only_its_own_passages(assistant):
    question = "What legal forms can a GP federation take?"
    assert [p.chunk.chunk_id for p in assistant.ask(question).passages] == \
        [p.chunk.chunk_id for p in assistant.retrieve(question).passages]


@pytest.mark.slow
def test_how_big_is_answered_first_by_the_organisations_own_counts(assistant):
    answer = assistant.ask("How big is the Hurley Group and who runs it?")
    first = answer.text.split(" [1]")[0]
    assert "Hurley Group" in first and "100,000" in first


def test_sentences_in_a_row_in_one_organisations_words_say_so_once():
    from assistant.answering.voice import once_in_its_words
    assert once_in_its_words(["In the Hurley Group’s words: “We invest in training.”",
                              "In the Hurley Group’s words: “We survey patients.”",
                              "In the Vitality Partnership’s words: “We grew.”"]) == [
        "In the Hurley Group’s words: “We invest in training.”", "“We survey patients.”",
        "In the Vitality Partnership’s words: “We grew.”"]


@pytest.mark.slow
def test_each_parts_best_sentence_is_kept_for_that_part(assistant):
    answer = assistant.ask("What does the Hurley Group do to train its staff, and how does it keep track of morale?")
    training, morale = answer.text.split("\n\n")[:2]
    assert "education, training" in training and "barometer" not in training
    assert "barometer" in morale


def _passage(text, *, case="", section="S"):
    from assistant.schema import Chunk, Passage
    return Passage(rank=1, chunk=Chunk(chunk_id="c1", doc_id="d", title="T", year=2018, section=section, page=1,
                                       text=text, case_study=case), score=1.0)


def test_a_list_led_by_a_leaning_line_is_quoted_with_the_sentence_before_it():
    from assistant.answering.sentences import passage_units
    texts = [u.text for u in passage_units(1, _passage(
        "Professional advice helps organisations to create secure agreements.\nThis could, for example, include:\n"
        "funding arrangements\ngovernance structures\nsubcontracting services"))]
    assert texts == ["Professional advice helps organisations to create secure agreements. This could, for example, "
                     "include: funding arrangements; governance structures; subcontracting services."]
    alone = [u.text for u in passage_units(1, _passage("This could include:\nfunding arrangements\ngovernance structures"))]
    assert not any(t.startswith("This") for t in alone)


def test_a_figure_caption_with_its_source_note_is_not_quoted():
    from assistant.answering.sentences import passage_units
    texts = [u.text for u in passage_units(1, _passage(
        "GP at scale organisations with non-clinical roles (England): Source: Collaboration in general practice: "
        "Surveys of GP practice, Nuffield Trust, 2017.\nCollaborating at scale gives practices access to expertise."))]
    assert texts == ["Collaborating at scale gives practices access to expertise."]


def test_a_sentence_cut_inside_a_citation_is_quoted_from_its_own_words():
    from assistant.answering.sentences import passage_units
    texts = [u.text for u in passage_units(1, _passage(
        "General Practitioners, 2013), the number of GP trainees is well below the government target, with a gap of "
        "2,850 GP training vacancies in 2013."))]
    assert texts == ["The number of GP trainees is well below the government target, with a gap of 2,850 GP training "
                     "vacancies in 2013."]


def test_contact_details_newsletter_lines_and_chart_notes_are_not_quoted():
    from assistant.answering.sentences import passage_units
    texts = [u.text for u in passage_units(1, _passage(
        "Where next?\nneed a coherent national strategy for primary care\nneed for coherent premises and facilities "
        "plan and funding\nSign-up for our newsletter\nFollow us on Twitter: Twitter.com/NuffieldTrust "
        "Judith.smith@nuffieldtrust.org.uk\nCentre, 2013 of the general practice team, full-time equivalents, 2001 and "
        "2011 England Note: excludes GP retainers and registrars due to small sizes.", section="Where next?"))]
    assert len(texts) == 1 and "premises" in texts[0] and "newsletter" not in texts[0]


@pytest.mark.slow
def test_what_the_slides_named_in_the_question_say_comes_first(assistant):
    answer = assistant.ask("What aims do federations commonly sign up to, according to the Nuffield slides?")
    assert answer.citations[0].passage.chunk.doc_id == "nuffield-2013-conclusions-slides"
    assert answer.text.startswith("Common Federation Objectives: support practices to improve quality")


def test_a_case_studys_sentence_naming_no_organisation_says_whose_it_is_when_the_question_names_none():
    from assistant.answering.compose import Pick, whose
    from assistant.answering.sentences import Unit
    orgs = ["City and Hackney Confederation", "Hurley Group"]
    text = "The governing body was established. Its Clinical Board is made up of five elected GPs."
    board = Pick(1.0, Unit(1, 0, text, "City and Hackney Confederation"))
    assert whose(board, orgs, passage=_passage(text)).unit.text == "In the City and Hackney Confederation, the " \
        "governing body was established. Its Clinical Board is made up of five elected GPs."
    member = Pick(1.0, Unit(1, 0, "Member practices formed a company.", "Tower Hamlets Network 2"))
    london = Pick(1.0, Unit(1, 0, "London practices formed a company.", "Tower Hamlets Network 2"))
    among = _passage("Each member practice formed a company. In future, London practices may merge.")
    assert whose(member, orgs, passage=among).unit.text == "In Tower Hamlets Network 2, member practices formed a company."
    assert whose(london, orgs, passage=among).unit.text == "In Tower Hamlets Network 2, London practices formed a company."
    named = Pick(1.0, Unit(1, 0, "The Hurley Group runs 18 practices.", "Hurley Group"))
    general = Pick(1.0, Unit(1, 0, "Federations vary in their legal form.", ""))
    assert whose(named, orgs, passage=among) == named and whose(general, orgs, passage=among) == general


def test_sentences_pointing_elsewhere_or_giving_thanks_are_not_quoted():
    from assistant.answering.debris import reference
    for pointer in ("I would like to express my thanks to Dr Penny Newman and Jill Matthews for guiding this work.","More analysis of the super-partnership experience is available from the Nuffield Trust.",
                    "An example of the organisational arrangements of a super-partnership is set out in Figure 7.",
                    "This chapter proposes a set of characteristics that define a high-quality primary care service."):
        assert reference(pointer), pointer
    assert not reference("The concept of a primary care federation was developed by the RCGP and is described as "
                         "an association of GP practices that come together.")


def test_what_defines_it_asks_a_question_not_a_fact_to_find_missing():
    from assistant.answering.question import specific_ask
    assert specific_ask("what defines it?", ()) == (frozenset(), "")
    assert specific_ask("What services does it provide?", ())[0] == {"servic"}


@pytest.mark.slow
def test_a_later_part_saying_it_is_answered_about_the_first_parts_topic(assistant):
    answer = assistant.ask("Which organisations do the slides give as examples of the multi-practice model, and what "
                           "defines it?")
    assert NOT_GIVEN not in answer.text and "Hurley Group" in answer.text


def test_a_slides_dash_after_get_reads_as_a_sentence_and_a_bare_contact_line_is_dropped():
    from assistant.answering.sentences import passage_units
    texts = [u.text for u in passage_units(1, _passage(
        "Patients get – care that is designed and delivered to suit their needs, by the right clinician.\n"
        "Follow us on Twitter: ."))]
    assert texts == ["Patients get care that is designed and delivered to suit their needs, by the right clinician."]


def test_a_list_of_nothing_but_references_gives_no_unit_and_no_error():
    from assistant.answering.sentences import passage_units
    assert passage_units(1, _passage("Sign-up for our newsletter\nFollow us on Twitter: .\nSubscribe to updates",
                                     section="")) == []


def test_a_case_studys_byline_reads_as_who_holds_which_role():
    from assistant.answering.sentences import passage_units
    hurley = [u.text for u in passage_units(1, _passage("Dr Arvind Madan, GP Partner and CEO\nIn 2006 we were quite "
                                                        "content to run our 12,000-patient practice.", case="Hurley Group"))]
    assert hurley == ["Dr Arvind Madan is the GP partner and CEO of the Hurley Group.",
                      "In the Hurley Group’s words: “In 2006 we were quite content to run our 12,000-patient practice.”"]
    chair = passage_units(1, _passage("Dr Simon Brownleader, Chairman of Network 2\nIt is the glue that holds it.",
                                      case="Tower Hamlets Network 2"))[0].text
    assert chair == "Dr Simon Brownleader is the chairman of Network 2."


@pytest.mark.slow
def test_who_runs_it_is_answered_by_the_named_person_in_the_role(assistant):
    answer = assistant.ask("How big is the Hurley Group and who runs it?")
    runs = answer.text.split("\n\n")[1]
    assert runs.startswith("Dr Arvind Madan is the GP partner and CEO of the Hurley Group.")
    assert "100,000" in answer.text.split("\n\n")[0] and "In 2006" not in answer.text.split("\n\n")[0]


@pytest.mark.slow
def test_a_two_part_questions_passages_are_ranked_one_to_n(assistant):
    answer = assistant.ask("How is the Vitality Partnership governed, and how does it involve its patients?")
    assert [p.rank for p in answer.passages] == list(range(1, len(answer.passages) + 1))


def test_a_reference_list_gives_nothing_to_quote():
    from assistant.answering.sentences import passage_units
    refs = _passage("Wiering et al. (2017) 'Patient involvement in the development of patient-reported outcome "
                    "measures: a scoping review', Health Expectations, 20(1).", section="Publications")
    assert passage_units(1, refs) == []


@pytest.mark.slow
def test_a_glossary_definition_is_no_finding_of_a_briefing_note(assistant):
    from assistant.documents.briefing import build_briefing
    note = build_briefing(assistant, "Patient involvement in at-scale general practice", "offline")
    sections = [c.passage.chunk.section.lower() for c in note.references]
    assert sections and not any(s.startswith(("glossary", "publications", "footnotes")) for s in sections)



@pytest.mark.parametrize(("question", "said"), [
    ("How many beds does the community hospital in Nairn have?", "the number of beds the community hospital in Nairn has"),
    ("How many workshops were in the Learning in Action programme?", "the number of workshops in the Learning in Action programme"),
    ("How much did the Hurley Group spend on its new building?", "the amount the Hurley Group spent on its new building"),
    ("How much money did the PCT give each network?", "the amount of money the PCT gave each network"),
    ("When was the Hurley Group formed?", "the date the Hurley Group was formed"),
    ("Who is the chief executive of Improving Health?", "the name of the chief executive of Improving Health"),
    ("What was the annual value of the network contract?", "the annual value of the network contract"),
])
def test_a_missing_figure_date_or_name_is_said_as_the_fact_it_asks_not_as_a_quoted_question(question, said):
    q = analyse(question, organisations=ORGS)
    assert missing_fact(q.parts[0], q) == f"{NOT_GIVEN} {said}."


def test_a_follow_ups_it_is_said_as_the_organisation_it_stands_for():
    q = analyse("How many locum GPs are in it?", organisations=ORGS,
                history=[Turn(role="user", content="What does the Hurley Group do?"), Turn(role="assistant", content="It runs practices.")])
    assert missing_fact(q.parts[0], q) == f"{NOT_GIVEN} the number of locum GPs in the Hurley Group."


def test_an_it_standing_for_what_follows_opens_a_sentence_that_leans_on_nothing():
    from assistant.answering.sentences import passage_units
    texts = [u.text for u in passage_units(1, _passage(
        "It is, however, still unclear how CCGs will be able to exert influence over member practices.\n"
        "It is important to agree a vision.\nIt is chaired by a GP."))]
    assert texts == ["It is, however, still unclear how CCGs will be able to exert influence over member practices.",
                     "It is important to agree a vision. It is chaired by a GP."]  # the last "it" is the one before


def test_a_comparison_tables_column_under_its_rows_label_is_not_quoted_as_a_list():
    from assistant.answering.sentences import passage_units
    column = _passage("1 GP cooperative of 19 practices\n1 limited not-for-profit company\n1 limited for-profit company",
                      section="Founding aims")
    assert passage_units(1, column) == []
    listed = _passage("1 GP cooperative of 19 practices\n1 limited not-for-profit company\n1 limited for-profit company",
                      section="Harness Group structure")
    assert [u.text for u in passage_units(1, listed)] == [
        "Harness Group structure: 1 GP cooperative of 19 practices; 1 limited not-for-profit company; 1 limited "
        "for-profit company."]


def test_a_case_boxs_solutions_of_up_to_thirty_words_each_are_one_listed_sentence():
    from assistant.answering.sentences import passage_units
    box = _passage("The solutions:\n17 improvement leaders, nominated by their individual practices.\nService Level "
                   "Agreements between the federation and practices, releasing leaders for training and giving them time "
                   "to share their learning with colleagues.\nTools to help leaders run their projects.\n“We are rolling "
                   "out projects to deliver back-office efficiency.”", case="Quay Health Solutions GP Federation")
    texts = [u.text for u in passage_units(1, box)]
    assert texts[0].startswith("Quay Health Solutions GP Federation’s solutions: 17 improvement leaders, nominated by "
                               "their individual practices; Service Level Agreements between the federation")
    assert texts[0].endswith("; Tools to help leaders run their projects.")  # the pull quote after it is no item
