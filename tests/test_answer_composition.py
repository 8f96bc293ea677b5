"""The extractive answer answers: each part of the question, about the right organisation, in whole sentences,
saying plainly what the reports don't give."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from assistant.answering.citations import MARKER
from assistant.answering.compose import NO_STEPS, compose
from assistant.answering.extractive import OfflineAnswerer
from assistant.answering.protocol import NOT_COVERED, NOT_GIVEN, is_decline
from assistant.answering.question import advice_query, analyse, answer_kind, specific_ask, split_parts
from assistant.answering.sentences import passage_units, tidy
from assistant.answering.wording import missing_fact
from assistant.schema import Chunk, Passage, Turn

ORGS = ("Suffolk GP Federation", "Symphony Programme", "Hurley Group")


def _passage(rank, text, *, case="", section="S"):
    chunk = Chunk(chunk_id=f"c{rank}", doc_id="d", title="T", year=2013, section=section, page=1, text=text,
                  case_study=case)
    return Passage(rank=rank, chunk=chunk, score=1.0 / rank)


SUFFOLK = _passage(1, "Federation: Suffolk GP Federation\nDate established: April 2013.\n"
                      "Legal status: Community interest company.\n"
                      "Number of employees: 30 employees plus a board consisting of nine GPs, three practice managers "
                      "and the Chief Executive.", case="Suffolk GP Federation", section="Appendix: Case studies")
SYMPHONY = _passage(2, "The Symphony Programme is a partnership between two acute trusts and a federation of practices. "
                       "It is chaired by a GP, with three board members also from general practice.",
                    case="Symphony Programme", section="The Symphony Programme, South Somerset")
FORMS = _passage(3, "Legal structures\nThe legal structures for federations vary and include: community interest "
                    "companies, companies limited by guarantee, limited liability partnerships and informal networks.\n"
                    "The board of a federation should include GPs from member practices and a practice manager.")


def _answer(question, passages, history=()):
    return "".join(OfflineAnswerer(organisations=lambda: ORGS).stream(question, passages, history))


def test_a_question_is_split_into_its_parts():
    assert split_parts("What legal form could we choose, and how should the board be set up?") == (
        "What legal form could we choose", "how should the board be set up?")
    assert split_parts("How big is the Hurley Group and who runs it?") == ("How big is the Hurley Group", "who runs it?")
    assert split_parts("What is a federation?") == ("What is a federation?",)


def test_the_kind_of_answer_wanted_is_recognised():
    assert answer_kind("How many practices are in it?") == "figure"
    assert answer_kind("What are the first steps in forming a federation?") == "howto"
    assert answer_kind("What options are there for legal form?") == "list"
    assert answer_kind("Is a federation a legal entity?") == "yesno"


def test_a_specific_fact_asked_is_named_and_a_how_question_is_not():
    assert specific_ask("What CQC rating did Suffolk GP Federation get?", ["Suffolk GP Federation"])[0] == {"cqc", "rat"}
    assert specific_ask("How much did the building cost?", [])[1] == "money"
    assert specific_ask("How did the Suffolk federation set itself up legally?", ["Suffolk GP Federation"])[0] == set()


def test_a_two_part_question_gets_a_cited_answer_to_each_part():
    text = _answer("What legal form could we choose, and how should the board be set up?", [FORMS, SUFFOLK])
    first, second = text.split("\n\n")[:2]
    assert "limited liability partnerships" in first and "[1]" in first
    assert "board" in second and "[" in second


def test_a_question_about_one_organisation_quotes_nothing_about_another():
    text = _answer("Tell me about Suffolk GP Federation's board", [SUFFOLK, SYMPHONY])
    assert "nine GPs" in text
    assert "chaired by a GP" not in text and "[2]" not in text


def test_a_fact_the_reports_do_not_give_is_said_to_be_missing_with_what_they_do_say():
    text = _answer("What CQC rating did Suffolk GP Federation get?", [SUFFOLK, SYMPHONY])
    assert text.startswith(f"{NOT_GIVEN} Suffolk GP Federation’s CQC rating.")
    assert "What they do say about Suffolk GP Federation" in text and "[1]" in text


def test_a_table_fact_is_written_as_a_sentence_about_its_organisation():
    texts = [u.text for u in passage_units(1, SUFFOLK)]
    assert "Suffolk GP Federation is a community interest company." in texts
    assert not any(t.endswith(":") or t.startswith("Federation:") for t in texts)


def test_footnote_digits_fused_to_words_are_removed():
    assert tidy("developed for the RCGP.1 In this project we were") == "developed for the RCGP. In this project we were"
    assert tidy("a super-partnership1 and others") == "a super-partnership and others"


def test_a_sentence_that_leans_on_the_one_before_is_quoted_with_it_or_not_at_all():
    lone = _passage(1, "This meant the practices could share staff across the whole of the federation area.")
    assert passage_units(1, lone) == []
    joined = passage_units(1, _passage(1, "The practices merged their back offices in 2015. This meant the practices "
                                          "could share staff across the whole federation area."))
    assert len(joined) == 1 and joined[0].text.startswith("The practices merged")


def test_slide_bullets_become_one_listed_sentence():
    slide = _passage(1, "Key features\nBuilt on local general practice with local GPs\nKeeping what is good about small "
                        "and local\nClinically and quality driven", section="Key features")
    assert [u.text for u in passage_units(1, slide)] == [
        "Key features: Built on local general practice with local GPs; keeping what is good about small and local; "
        "clinically and quality driven."]  # "Built" keeps its capital: nothing says it is an ordinary word


def test_a_follow_up_naming_another_organisation_keeps_the_last_question():
    history = [Turn("user", "What legal form could we choose for a federation?"), Turn("assistant", "...")]
    q = analyse("And how did Suffolk do it?", organisations=ORGS, history=history)
    assert q.subject == ("Suffolk GP Federation",)
    assert q.parts == ("What legal form could we choose for a federation?",)


def test_a_follow_up_asking_something_new_about_the_same_organisation_asks_that_not_the_last_question():
    history = [Turn("user", "How many practices are in Suffolk GP Federation?"), Turn("assistant", "60 [1].")]
    q = analyse("And what services does it provide?", organisations=ORGS, history=history)
    assert q.subject == ("Suffolk GP Federation",) and q.parts == ("And what services does it provide?",)
    assert analyse("And the Hurley Group?", organisations=ORGS, history=history).parts == \
        ("How many practices are in Suffolk GP Federation?",)


def test_a_follow_up_asking_something_new_is_not_answered_with_the_last_topic():
    board = _passage(1, "Suffolk GP Federation has a board of six GPs elected by the member practices each year.",
                     case="Suffolk GP Federation")
    patients = _passage(2, "Suffolk GP Federation asks a patient panel to review each new service before it starts.",
                        case="Suffolk GP Federation")
    history = [Turn("user", "How is Suffolk GP Federation's board elected?"), Turn("assistant", "...")]
    text = _answer("And how does it involve its patients?", [board, patients], history)
    assert text.startswith("Suffolk GP Federation asks a patient panel")


def test_a_follow_up_with_a_pronoun_takes_the_subject_of_the_conversation():
    history = [Turn("user", "Tell me about the Hurley Group."), Turn("assistant", "It is a partnership [1].")]
    assert analyse("Who runs it?", organisations=ORGS, history=history).subject == ("Hurley Group",)


def test_nothing_relevant_at_all_is_still_not_covered():
    assert _answer("zebra migration", [SUFFOLK, SYMPHONY]).startswith(NOT_COVERED)


@pytest.mark.parametrize("question", ["What legal form is the Suffolk GP Federation?", "Who sits on the board?"])
def test_the_same_question_gives_the_same_composed_answer(question):
    q = analyse(question, organisations=ORGS)
    assert compose(q, [SUFFOLK, SYMPHONY, FORMS], organisations=ORGS) == \
        compose(q, [SUFFOLK, SYMPHONY, FORMS], organisations=ORGS)


# --------------------------------------------------------------------------- the examples, on the real index
LEGAL_AND_BOARD = "What legal form could we choose, and how should the board be set up?"


@pytest.mark.slow
def test_the_legal_form_and_board_question_states_legal_forms_and_a_board_each_cited(assistant):
    answer = assistant.ask(LEGAL_AND_BOARD)
    legal, board = answer.text.split("\n\n")[:2]
    assert "limited liability partnership" in legal or "community interest compan" in legal
    assert "board" in board and "GPs" in board
    assert "[" in legal and "[" in board and not answer.refused
    assert "(unverified)" not in answer.text


@pytest.mark.slow
def test_and_how_did_suffolk_do_it_answers_about_suffolk(assistant):
    first = assistant.ask(LEGAL_AND_BOARD)
    answer = assistant.ask("And how did Suffolk do it?", [Turn("user", LEGAL_AND_BOARD), Turn("assistant", first.text)])
    assert "Suffolk GP Federation is a community interest company." in answer.text
    assert all(c.passage.chunk.case_study == "Suffolk GP Federation" for c in answer.citations)


@pytest.mark.slow
def test_suffolks_cqc_rating_is_said_not_to_be_in_the_reports(assistant):
    answer = assistant.ask("What CQC rating did Suffolk GP Federation get?")
    assert answer.text.startswith(f"{NOT_GIVEN} Suffolk GP Federation’s CQC rating.")
    assert not answer.refused and answer.citations
    assert all(c.passage.chunk.case_study == "Suffolk GP Federation" for c in answer.citations)


def test_a_question_asking_what_to_do_about_no_organisation_wants_advice():
    assert analyse("What are the first steps in forming a GP federation?", organisations=ORGS).kind == "advice"
    assert analyse("How should we set up a board?", organisations=ORGS).kind == "advice"
    assert analyse("How did Suffolk GP Federation set itself up?", organisations=ORGS).kind == "howto"
    assert advice_query("How should we set up a board, and who should chair it?", ORGS) == ""
    assert advice_query("What are the first steps for Suffolk GP Federation?", ORGS) == ""


@pytest.mark.slow
def test_first_steps_in_forming_a_federation_are_what_the_reports_say_mattered(assistant):
    answer = assistant.ask("What are the first steps in forming a GP federation?")
    lead, steps = answer.text.split("\n\n", 1)
    assert lead == NO_STEPS and not answer.refused
    items = steps.splitlines()
    assert len(items) >= 3 and all(item.startswith("- ") and MARKER.search(item) for item in items)
    assert any(c.passage.chunk.section == "Ingredients for change and sustainability" for c in answer.citations)
    assert "concept of a primary care federation" not in answer.text  # a definition is no step


def test_a_named_programme_keeps_its_capital_in_a_case_fact_and_an_ordinary_value_does_not():
    box = _passage(1, "The solution: Learning in Action – part of the national Time for Care programme.\n"
                      "Legal status: Community interest company.", case="South Warwickshire GP Federation")
    texts = [u.text for u in passage_units(1, box)]
    assert "South Warwickshire GP Federation’s solution: Learning in Action – part of the national Time for Care " \
        "programme." in texts
    assert "South Warwickshire GP Federation is a community interest company." in texts


def test_a_table_cell_run_into_the_next_rows_label_is_not_quoted():
    table = _passage(1, "GPs bidding for alternative GP contracts (APMS) in order to block corporate competitors\n"
                        "Potential funding for large-scale GP providers through Sustainability and Transformation "
                        "Plans Local history and context:\nGP fundholding\nPractice-based commissioning\n"
                        "Delivering community services", section="New funding for large-scale")
    assert not any("Local history" in u.text for u in passage_units(1, table))


def test_the_city_is_quoted_with_the_sentence_naming_it_outside_a_case_study():
    text = ("Thanks in part to national funding, London has led the country in providing extended access. "
            "All patients registered with a GP in the city can now get an evening or weekend appointment.")
    units = passage_units(1, _passage(1, text))
    assert [u.text for u in units if not u.leans and "the city" in u.text] == [text]
    in_a_case = passage_units(1, _passage(1, text, case="Harness GP Co-operative Federation"))
    assert any(u.text.startswith("All patients") and not u.leans for u in in_a_case)


def test_a_pull_quote_is_quoted_with_the_source_named_on_the_line_after_it():
    text = ("Robust financial arrangements are key to success.\n"
            "\"No more need to worry about paying business bills – all of that is done centrally.\"\n"
            "Dr Vidhu Mayor, GP partner, Modality")
    texts = [u.text for u in passage_units(1, _passage(1, text))]
    assert texts[1] == ("In the words of Dr Vidhu Mayor, GP partner, Modality: \"No more need to worry about paying "
                        "business bills – all of that is done centrally.\"")
    assert not any(t.startswith("Dr Vidhu") for t in texts)


def test_a_case_box_line_without_a_full_stop_still_ends_its_sentence():
    box = _passage(1, "Service portfolio: General medical services for all patients in the town and nearby villages",
                   case="Whitstable Medical Practice")
    [unit] = passage_units(1, box)
    assert unit.text.endswith("villages.") and unit.text.startswith("Whitstable Medical Practice’s service portfolio")


def test_a_follow_up_with_pronouns_is_answered_with_what_it_follows():
    conflicts = _passage(1, "GPs who hold executive positions in both provider and commissioner organisations either "
                            "stood down from one role or declared their conflicts of interest to the board.")
    history = [Turn("user", "How should conflicts of interest be managed in a GP federation?"), Turn("assistant", "...")]
    text = _answer("And how should they declare them?", [conflicts], history)
    assert "declared their conflicts of interest" in text and "[1]" in text


def test_when_did_it_start_is_answered_by_a_year_it_was_formed():
    keys, need = specific_ask("When did the Tower Hamlets GP networks start?", ["Tower Hamlets"])
    assert need == "date" and {"form", "establish", "start"} <= keys
    networks = _passage(1, "Eight networks of GP practices were formed in Tower Hamlets in 2006 to improve general "
                           "practice for local people.", case="Tower Hamlets")
    text = "".join(OfflineAnswerer(organisations=lambda: ("Tower Hamlets",)).stream(
        "When did the Tower Hamlets GP networks start?", [networks]))
    assert "formed in Tower Hamlets in 2006" in text and NOT_GIVEN not in text


def test_an_organisations_own_name_keeps_its_capital_in_a_fact_sentence():
    box = _passage(1, "Patient engagement: Vitality-wide patient groups with a GP lead in each practice.",
                   case="Vitality Partnership")
    assert passage_units(1, box)[0].text.startswith("The Vitality Partnership’s patient engagement: Vitality-wide")


def test_a_box_value_that_is_a_sentence_of_its_own_is_quoted_without_its_label():
    box = _passage(1, "Patient engagement: Vitality has established a strong patient engagement function with a GP "
                      "lead in each practice.\nThe challenge: To develop a GP workforce that is fit for the future.",
                   case="Vitality Partnership")
    assert [u.text for u in passage_units(1, box)] == [
        "Vitality has established a strong patient engagement function with a GP lead in each practice.",
        "The Vitality Partnership’s challenge: to develop a GP workforce that is fit for the future."]


def test_items_listed_under_an_includes_label_read_as_one_sentence_about_the_organisation():
    box = _passage(1, "Service portfolio: Includes:\nDiabetes\nUltrasound\nLymphoedema\nMSK\nLearning in Action.",
                   case="Suffolk GP Federation")
    assert [u.text for u in passage_units(1, box)] == [
        "Suffolk GP Federation’s service portfolio includes diabetes, ultrasound, lymphoedema, MSK and Learning in "
        "Action."]


def test_short_full_stopped_lines_under_a_lead_in_are_one_list():
    box = _passage(1, "Some of the beneficial outcomes identified so far include:\nGreater understanding of different "
                      "roles.\nStaff more satisfied with quality of care.\nImproved sense of pride.", case="Sunderland GP Alliance")
    assert [u.text.lower() for u in passage_units(1, box)] == [
        "some of the beneficial outcomes identified so far include: greater understanding of different roles; staff "
        "more satisfied with quality of care; improved sense of pride."]


def test_a_case_boxs_generic_list_label_names_the_organisation():
    box = _passage(1, "The results:\nAn extra £170,000 of contract income.\nFuture commercial opportunities.",
                   case="Improving Health")
    assert passage_units(1, box)[0].text.startswith("Improving Health’s results: an extra £170,000")


def test_one_labelled_bullet_inside_a_slide_list_stays_in_the_list():
    slide = _passage(1, "Key features of a Super Partnership\nKeeping what’s good about small and local\nBuilt on "
                        "local general practice\nDelivery at scale: 80k+ patients: practice mergers\nExpanded general "
                        "practice teams", section="Key features of a Super Partnership")
    texts = [u.text.lower() for u in passage_units(1, slide)]
    assert len(texts) == 1 and "delivery at scale: 80k+ patients: practice mergers; expanded general practice teams" in texts[0]


def test_a_sentence_leaning_on_the_line_before_is_quoted_with_it():
    box = _passage(1, "The vital statistics: A federation of 43 general practices established in 2014.\n"
                      "These practices provide services to a registered patient list of around 307,000.",
                   case="City and Hackney Confederation")
    texts = [u.text for u in passage_units(1, box)]
    assert len(texts) == 1 and texts[0].endswith("These practices provide services to a registered patient list of "
                                                 "around 307,000.")


def test_names_in_brackets_and_acronyms_do_not_make_a_sentence_a_heading():
    box = _passage(1, "The governing body was established. Its Clinical Board (the Board of Directors) is made up of "
                      "five elected GPs.")
    assert any("five elected GPs" in u.text for u in passage_units(1, box))
    heading = _passage(2, "Securing The Future Of General Practice Report Conclusion And New Models.")
    assert passage_units(2, heading) == []


def test_references_links_and_lost_bullets_are_not_quoted():
    text = ("Available at: https://www.healthylondon.org/wp-content/uploads/2017/11/Case-studies.pdf.\n"
            "In 2011 the inquiry reported trends that included: a fall in single-handed GPs (see Figure 3) a "
            "significant increase in the proportion of salaried GPs.\n"
            "Whether these large-scale general practice organisations have had an impact on quality of care.\n"
            "The federation agreed a constitution with every one of its member practices.")
    assert [u.text for u in passage_units(1, _passage(1, text))] == [
        "The federation agreed a constitution with every one of its member practices."]


def test_a_label_naming_the_organisation_itself_is_not_repeated_as_its_own_fact():
    box = _passage(1, "Modality Partnership LLP: a GP super-partnership rooted in its local community",
                   case="Modality Partnership")
    assert passage_units(1, box)[0].text == ("Modality Partnership LLP: a GP super-partnership rooted in its local "
                                             "community.")


def test_what_kind_of_organisation_is_answered_first_by_what_it_is():
    box = _passage(1, "Robust financial arrangements are key to the success of larger-scale organisations.\n"
                      "Modality Partnership LLP: a GP super-partnership rooted in its local community",
                   case="Modality Partnership")
    answer = "".join(OfflineAnswerer(organisations=lambda: ("Modality Partnership",)).stream(
        "What kind of organisation is Modality Partnership?", [box]))
    assert answer.startswith("Modality Partnership LLP is a GP super-partnership")


def test_a_who_part_prefers_the_sentence_naming_roles():
    text = ("The confederation put an agreed constitution in place that was consulted on with member practices.\n"
            "The Clinical Board (the Board of Directors) is made up of five elected GPs and a chair.\n"
            "Each practice pays an annual membership fee based on its registered list size.")
    box = _passage(1, text, case="Suffolk GP Federation")
    answer = _answer("Who is on the Suffolk GP Federation's board, and how is it paid for?", [box])
    first, second = answer.split("\n\n")[:2]
    assert "five elected GPs" in first and "membership fee" in second


def test_a_role_asked_for_needs_every_word_of_it():
    box = _passage(1, "AT Medics employ an executive function and a management team across their sites.",
                   case="AT Medics")
    answer = "".join(OfflineAnswerer(organisations=lambda: ("AT Medics",)).stream(
        "Who is the chief executive of AT Medics?", [box]))
    assert answer.startswith(NOT_GIVEN)


def test_how_many_needs_a_number_beside_what_is_counted():
    text = ("GPs who held executive positions in both organisations either stood down from one role or declared "
            "their conflicts.\nThe federation has 60 practices and 30 employees.")
    box = _passage(1, text, case="Suffolk GP Federation")
    asked = _answer("How many GPs stood down from their CCG roles at Suffolk GP Federation?", [box])
    assert asked.startswith(NOT_GIVEN)
    counted = _answer("How many practices does Suffolk GP Federation have?", [box])
    assert "60 practices" in counted and not counted.startswith(NOT_GIVEN)


def test_how_much_is_paid_needs_a_sum_of_money_not_a_percentage():
    box = _passage(1, "The ZIO network covers 100 per cent of the region's diabetes patients.", case="ZIO")
    answer = "".join(OfflineAnswerer(organisations=lambda: ("ZIO",)).stream(
        "How much do insurers pay ZIO per diabetes patient each year?", [box]))
    assert answer.startswith(NOT_GIVEN)


def test_a_measure_of_a_study_can_be_said_to_be_missing_without_an_organisation():
    box = _passage(1, "Data were analysed from eight large-scale general practice organisations in the staff survey.")
    answer = _answer("What was the response rate to the staff survey?", [box])
    assert is_decline(answer) and "eight large-scale" not in answer


def test_a_flattened_table_of_several_organisations_is_not_quoted_as_a_list():
    text = ("To deliver community-based specialist services\nTo protect local general practice from take-over\n"
            "To improve patient experience in the region Year founded; 2004; 2006; Harness GP 2006\n"
            "Harness Care 2008\n2009\nLocation; London (working in 12 CCGs)\nBristol, North Somerset\n"
            "Started in Harlesden/Neasden, a locality in Brent CCG")
    units = passage_units(1, _passage(1, text, section="Founding aims"))
    assert not any("2004" in u.text or "Location" in u.text for u in units)


def test_a_source_note_is_not_quoted():
    text = ("Supplemented by information in presentation at the NHS England Transformation Champions event, 22nd "
            "November 2017.\nThe three practices came together to deliver primary care to 30,000 people.")
    assert [u.text for u in passage_units(1, _passage(1, text))] == [
        "The three practices came together to deliver primary care to 30,000 people."]


@pytest.mark.slow
def test_a_question_the_reports_do_not_cover_names_real_topics_nearby(assistant):
    answer = assistant.ask("How much does each practice pay to be a member?")
    assert answer.refused and "The nearest passages are the " in answer.text
    assert "Appendix" not in answer.text and "?." not in answer.text
    # A case study is called one, a heading is quoted as a heading (not read as a garbled topic).
    assert re.search(r"the [A-Z][\w ]+ case study|the section “[^”]+”", answer.text)


def test_a_region_is_not_taken_for_the_organisation_sharing_its_word():
    from assistant.organisations import named_in, writes

    region = "Research in the Midlands and East region, for the former NHS Midlands and East SHA, in the East Midlands."
    assert named_in(region, ["Midlands Health Network"]) == () and not writes(region, "Midlands")
    network = "The Midlands Health Network (New Zealand) provides 24/7 primary care through its out-of-hours centres."
    assert named_in(network, ["Midlands Health Network"]) == ("Midlands Health Network",)


def test_a_name_inside_another_bodys_longer_name_does_not_name_it():
    from assistant.organisations import named_in
    orgs = ["GP Care", "Tower Hamlets", "Tower Hamlets GP Care Group", "Tower Hamlets Network 2"]
    asked = "How did Tower Hamlets GP Care Group protect continuity?"
    assert "GP Care" not in named_in(asked, orgs) and "Tower Hamlets GP Care Group" in named_in(asked, orgs)
    assert named_in("GP Care Ltd: a federation owned by 100 GP practice shareholders.", orgs) == ("GP Care",)


def test_the_organisation_is_named_as_the_question_names_it():
    q = analyse("What salary does the Vitality Partnership pay its salaried GPs?",
                organisations=("Modality Partnership", "Vitality Partnership"))
    assert q.subject_name == "the Vitality Partnership"


def test_which_trust_wants_a_trust_named_not_the_local_trust():
    from assistant.answering.cues import gives
    keys, need = specific_ask("Which acute trust is part of Northumbria Primary Care?", ("Northumbria Primary Care",))
    assert need == "name"
    assert not gives("A single legal entity formed of the local acute foundation trust and seven practices.", keys, need)
    assert gives("A single legal entity formed of Northumbria Healthcare NHS Foundation Trust and seven practices.",
                 keys, need)
    assert specific_ask("Which technologies does the London vision suggest?", ())[1] == ""


def test_a_reports_own_we_is_quoted_as_its_authors_words():
    chunk = Chunk(chunk_id="c", doc_id="d", title="T", year=2018, section="Foreword", page=1,
                  publisher="Healthy London Partnership (NHS England London and London CCGs)",
                  text="Supported by national resource, and driven by providers, we now have more GPs in training.")
    assert [u.text for u in passage_units(1, Passage(rank=1, chunk=chunk, score=1.0))] == [
        "In the Healthy London Partnership’s words: “Supported by national resource, and driven by providers, we now "
        "have more GPs in training.”"]


def test_a_reports_us_inside_a_sentence_is_its_authors_and_a_pull_quote_is_not_wrapped_twice():
    from assistant.answering.voice import speaks
    assert speaks("Closer integration with local partners also helps us to involve patients.", own=True)
    assert not speaks("Closer integration with local partners also helps us to involve patients.", own=False)
    assert not speaks("In the words of Dr Vidhu Mayor, GP partner, Modality: “We pay no bills.”", own=True)


def test_a_comparison_tables_rows_are_no_note_points_and_a_flattened_tables_cells_no_answer():
    from assistant.answering.sentences import Unit, comparison_cell, flattened_cell
    table = _passage(1, "Legal status: Collaboration between multiple practices. May be informal in nature or linked "
                        "as a legal entity, for example, a limited company.\nThe legal structures for federations vary "
                        "and include community interest companies and limited liability partnerships.", section="Scope")
    kept = [u.text for u in passage_units(1, table) if not comparison_cell(u, table)]
    assert kept == ["The legal structures for federations vary and include community interest companies and limited "
                    "liability partnerships."]
    cell = Unit(1, 1, "A group of companies (best described as a federation), formed of: 1 GP cooperative.", "", table=True)
    assert flattened_cell(cell) and not flattened_cell(replace(cell, table=False))


def test_pointers_elsewhere_and_columns_run_together_are_not_quoted():
    text = ("ICSs can be considered as advanced forms of Sustainability and Transformation Partnerships (see definition "
            "below).\nZIO network Potential strengths in Enables the provision of services, which are coordinated and "
            "community-based. high-quality care Retains local practice location and identity.\n"
            "The network agreed shared standards for diabetes care across all of its practices.")
    assert [u.text for u in passage_units(1, _passage(1, text))] == [
        "The network agreed shared standards for diabetes care across all of its practices."]


def test_a_sentence_leaning_on_one_that_leans_on_a_heading_is_not_quoted():
    text = ("These networks are formed by practices coming together to serve populations of 30,000-50,000 people. "
            "Those that do exist are largely at an early stage of development.")
    assert passage_units(1, _passage(1, text, section="Primary Care Networks (PCNs)")) == []


def test_a_contrast_is_quoted_with_the_sentence_it_answers():
    text = ("Relationships with CCGs developed over time where the organisation could address population health need. "
            "Conversely, it was harder to build trust where CCG staff saw the organisation as a private company.")
    assert [u.text for u in passage_units(1, _passage(1, text))] == [text]


def test_a_long_case_box_paragraph_is_quoted_in_pieces_not_whole():
    box = _passage(1, "Service portfolio: Since 2011 a contract has been held with each of the eight networks. It is "
                      "in addition to core services. It sets network standards for diabetes and COPD. Thirty per cent "
                      "of the contract value is paid if the standards are achieved. The networks meet monthly to "
                      "review their results.", case="Tower Hamlets Network 2")
    units = [u.text for u in passage_units(1, box)]
    assert units[0].startswith("Since 2011 a contract has been held") and len(units) >= 2
    assert any(u.startswith("Thirty per cent") or u.startswith("The networks meet") for u in units[1:])


def test_a_digit_in_the_organisations_name_is_no_figure_given():
    levers = _passage(1, "Local levers: Financial incentives for improved outcomes and a shared network contract.",
                      case="Tower Hamlets Network 2")
    text = "".join(OfflineAnswerer(organisations=lambda: ("Tower Hamlets Network 2",)).stream(
        "How much of the Tower Hamlets Network 2 contract depends on hitting the standards?", [levers]))
    assert text.startswith(NOT_GIVEN)


def test_a_missing_fact_asked_as_what_is_the_x_at_an_organisation_is_named_plainly():
    q = analyse("What is the chief executive's salary at the Hurley Group?", organisations=ORGS)

    assert missing_fact(q.parts[0], q) == f"{NOT_GIVEN} the Hurley Group’s chief executive's salary."
    q = analyse("How much did the Hurley Group pay for its premises?", organisations=ORGS)
    assert "for Hurley Group" not in missing_fact(q.parts[0], q)  # the question already names it


def test_closest_sentences_after_a_missing_fact_share_a_word_of_the_question():
    hurley = [_passage(1, "Training: The Hurley Group runs an academy for its staff.", case="Hurley Group"),
              _passage(2, "Premises: The Hurley Group leases its buildings from the council.", case="Hurley Group")]
    text = _answer("How much did the Hurley Group pay for its buildings?", hurley)
    assert text.startswith(NOT_GIVEN) and "leases its buildings" in text and "academy" not in text


def test_a_case_studys_first_person_sentence_says_whose_words_they_are():
    hurley = _passage(1, "We invest heavily in education, training and research for all our staff.", case="Hurley Group")
    assert [u.text for u in passage_units(1, hurley)] == [
        "In the Hurley Group’s words: “We invest heavily in education, training and research for all our staff.”"]


def test_a_list_under_a_generic_appendix_heading_is_led_by_the_organisations_name():
    box = _passage(1, "Day surgery suite\nPhysiotherapy\nHearing aid clinic", case="Whitstable Medical Practice",
                   section="Appendix: Case studies")
    [unit] = passage_units(1, box)
    assert unit.text.startswith("Whitstable Medical Practice: Day surgery suite; Physiotherapy")


def test_a_question_naming_its_organisation_and_asking_its_own_thing_is_not_a_follow_up():
    offline = OfflineAnswerer(organisations=lambda: ORGS)
    history = [Turn("user", "What legal form did Suffolk GP Federation take?"), Turn("assistant", "A CIC [1].")]
    asked = "What does the Hurley Group do to train its staff?"
    assert offline.standalone(asked, history) == asked
    assert offline.standalone("And how did the Hurley Group do it?", history) != "And how did the Hurley Group do it?"
    assert offline.standalone("And what did it do to train its staff?", history) != "And what did it do to train its staff?"
    # The same organisation asked about anew stands alone too; one pointing back at the last answer does not.
    again = "Which services does Suffolk GP Federation run, according to its board?"
    assert offline.standalone(again, history) == again
    assert offline.standalone("How did Suffolk GP Federation handle that?", history) != \
        "How did Suffolk GP Federation handle that?"


def test_common_bare_table_facts_read_as_sentences_and_still_answer_by_their_label():
    box = _passage(1, "Date established: April 2013\nLegal status: Community interest company\nNumber of practices: 60\n"
                      "Local levers: History of practice collaboration", case="Suffolk GP Federation")
    texts = [u.text for u in passage_units(1, box)]
    assert texts[:3] == ["Suffolk GP Federation was established in April 2013.",
                         "Suffolk GP Federation is a community interest company.", "Suffolk GP Federation has 60 practices."]
    assert texts[3].startswith("Suffolk GP Federation’s local levers: ")  # no sentence for other labels
    text = _answer("What legal form did Suffolk GP Federation choose?", [box])
    assert text.startswith("Suffolk GP Federation is a community interest company. [1]") and NOT_GIVEN not in text


def test_a_company_suffix_after_the_organisations_name_is_not_taken_for_what_is_asked():
    keys, need = specific_ask("What was Hurley Group Ltd's total annual turnover?", ["Hurley Group"])
    assert keys == {"turnov", "annual"} and need == "money"


def test_a_case_studys_own_words_are_quoted_and_said_to_be_the_organisations():
    case = _passage(1, "We invest heavily in education, training and research for all our staff.\n"
                       "In 2006 we were content to run our 12,000-patient practice in Kennington.", case="Hurley Group")
    assert [u.text for u in passage_units(1, case)] == [
        "In the Hurley Group’s words: “We invest heavily in education, training and research for all our staff.”",
        "In the Hurley Group’s words: “In 2006 we were content to run our 12,000-patient practice in Kennington.”"]
    network = _passage(1, "Our particular mix consists of a small practice and four other practices serving 40,000 "
                                 "people.", case="Tower Hamlets Network 2")
    assert passage_units(1, network)[0].text.startswith("In Tower Hamlets Network 2’s words: “Our particular mix")


def test_a_sentence_whose_this_stands_for_the_one_before_is_quoted_with_it_in_answers():
    text = ("Taking on new business raises a conflict of interest for GPs who commission and provide. The case study "
            "organisations actively managed this with commissioning colleagues by adhering to local policies.")
    units = passage_units(1, _passage(1, text))
    assert [u.text for u in units if not u.leans] == [text]
    # Documents that pick sentences one by one may still quote it alone; answers never open on it.
    assert [u.text for u in units if u.leans] == [text.split(". ", 1)[1]]
    answer = _answer("How did the case study organisations manage conflicts of interest?", [_passage(1, text)])
    assert not answer.startswith("The case study organisations actively managed this")


def test_a_sentence_opening_second_or_finally_is_not_quoted_without_the_one_before():
    text = ("CCGs have a role in commissioning care for their populations. Second, they have a role in supporting "
            "quality improvement in general practice.")
    units = [u.text for u in passage_units(1, _passage(1, text))]
    assert units == [text]
    lone = _passage(1, "Finally, we only analysed a sample of eight large-scale organisations across England.\n")
    assert passage_units(1, lone) == []


def test_a_sentence_that_stands_out_answers_alone_without_padding():
    uplift = _passage(1, "The GMS contract settlement for 2013/14 is at 1.32 per cent, a below-inflation uplift.")
    levers = _passage(2, "Local levers in one network included a shared contract for services additional to core GMS.")
    text = _answer("What was the GMS contract uplift for 2013/14?", [uplift, levers])
    assert "1.32 per cent" in text and "[2]" not in text


def test_a_sentence_opening_there_was_stands_on_its_own_and_there_alone_does_not():
    from assistant.documents.selection import standalone
    existential = "There was little patient involvement in the decision to operate at larger scale in any site."
    assert [u.text for u in passage_units(1, _passage(1, existential))] == [existential]
    assert standalone(existential)
    pointing = "There, practices share nurses and back-office staff across the whole network."
    assert passage_units(1, _passage(1, pointing)) == [] and not standalone(pointing)


def test_a_case_tables_counts_read_as_sentences_about_the_organisation():
    from assistant.answering.facts import fact_sentence
    assert fact_sentence("Number of partners", "19", "Whitstable Medical Practice") == \
        "Whitstable Medical Practice has 19 partners."
    assert fact_sentence("Registered population", "539,000 combined", "Suffolk GP Federation") == \
        "Suffolk GP Federation has a registered population of 539,000 combined."
    # A count of what it has reads so; one with no plural after it stays labelled rather than be misread.
    assert fact_sentence("Number of partners", "Four partners with 22 lead GPs", "Hurley Group") == \
        "The Hurley Group has four partners with 22 lead GPs."
    assert fact_sentence("Number of partners", "15 full equity, three fixed share", "Vitality Partnership") == \
        "The Vitality Partnership’s number of partners: 15 full equity, three fixed share."


def test_a_pointer_to_a_page_or_figure_of_the_report_is_taken_out_of_a_quote():
    assert tidy("The workforce we create at scale (see What should an organisation look like? on p.) is crucial.") == \
        "The workforce we create at scale is crucial."
    assert tidy("Quality rose (see Figure 3), and access improved.") == "Quality rose, and access improved."
    assert tidy("Contracts went to groups of practices (see Tower Hamlets case study on page 41), promoting "
                "collaboration.") == "Contracts went to groups of practices (see the Tower Hamlets case study), promoting collaboration."
    cited = "It works (see De Maeseneer and Boeckxstaens, 2012, for more detail)."
    assert tidy(cited) == cited


def test_words_the_reports_never_mention_are_named_as_the_question_names_them():
    from assistant.pipeline import named_as_asked
    assert named_as_asked("Who won the Premier League in 2016?", ["Premier", "League"]) == ["Premier League"]
    assert named_as_asked("We signed a contract with St Anne's Trust.", ["St"]) == ["St Anne's Trust"]
    assert named_as_asked("How Fuller thinks about networks?", ["Fuller"]) == ["Fuller"]


def test_an_organisations_possessive_follows_its_last_letter():
    from assistant.organisations import possessive
    assert possessive("Hurley Group") == "Hurley Group’s"
    assert possessive("Dr HM Freeman & Partners") == "Dr HM Freeman & Partners’"
