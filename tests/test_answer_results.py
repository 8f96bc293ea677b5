"""Parts asking what came of the work are answered by what the reports say came of it; "how much say" asks no figure;
a part answered first by a sentence of the kind it asks is not padded with sentences of another kind."""

from __future__ import annotations

import pytest

from assistant.answering.compose import compose
from assistant.answering.question import analyse, answer_kind, part_queries, specific_ask, split_parts
from assistant.answering.sentences import passage_units, unlabelled
from assistant.schema import Chunk, Passage

ORGS = ("Fleetwood Community Care", "Hurley Group")


def _passage(rank, text, *, case="", section="S"):
    chunk = Chunk(chunk_id=f"c{rank}", doc_id="d", title="T", year=2018, section=section, page=1, text=text,
                  case_study=case)
    return Passage(rank=rank, chunk=chunk, score=1.0 / rank)


def _answer(question, passages):
    """The offline answer text to a question over these passages."""
    return compose(analyse(question, organisations=ORGS), passages, organisations=ORGS)


def test_a_part_asking_what_came_of_the_work_is_a_result_question():
    for asked in ("What has its leadership development achieved?", "What were the results?", "How did that go?",
                  "What has it meant for the GPs there?", "What impact did the networks have?"):
        assert answer_kind(asked) == "result", asked
    assert answer_kind("How were the networks paid for results?") != "result"  # how, not what came of it
    assert answer_kind("Did diabetes care improve?") == "yesno"


def test_how_much_say_asks_for_a_share_of_power_not_an_amount():
    assert answer_kind("How much say should its board have?") != "figure"
    assert specific_ask("how much say should its board have?", ()) == (frozenset(), "")
    assert specific_ask("How much did the new building cost?", ())[1] == "money"
    assert answer_kind("How much did the new building cost?") == "figure"


FLEETWOOD = _passage(1, "The solutions:\nThe skill mix of general practice has been broadened to include paramedics "
                        "delivering home visits for GPs' patients.\nIntegrating the medical records system has enabled "
                        "pharmacists to manage GPs' patients with long-term conditions.\nThe results:\n"
                        "General practitioners have been released to work at the top of their license.",
                     case="Fleetwood Community Care", section="Fleetwood Community Care")


def test_a_sentence_under_a_case_boxs_results_heading_answers_what_it_has_meant():
    q = analyse("What has it meant for the GPs at Fleetwood Community Care?", organisations=ORGS)
    text = compose(q, [FLEETWOOD], organisations=ORGS)
    assert text.startswith("General practitioners have been released to work at the top of their license. [1]")
    assert "paramedics" not in text and "pharmacists" not in text  # what was done, not what came of it


def test_without_a_results_heading_the_same_sentences_answer_how_it_was_done():
    q = analyse("How did Fleetwood Community Care use its GPs' patients records?", organisations=ORGS)
    text = compose(q, [FLEETWOOD], organisations=ORGS)
    assert "medical records" in text.split(". [1]")[0]  # what was done comes first


HURLEY = _passage(1, "Dr Arvind Madan, GP Partner and CEO\nIn 2006 we were quite content to run our 12,000-patient "
                     "practice, run by its partners.", case="Hurley Group", section="The Hurley Group")


def test_a_named_person_in_the_role_asked_for_is_not_padded_with_a_quote_of_another_kind():
    q = analyse("Who runs the Hurley Group?", organisations=ORGS)
    assert compose(q, [HURLEY], organisations=ORGS) == "Dr Arvind Madan is the GP partner and CEO of the Hurley Group. [1]"


@pytest.mark.slow
def test_what_a_case_studys_work_achieved_is_answered_by_its_outcomes(assistant):
    answer = assistant.ask("What has the Sunderland GP Alliance's leadership development achieved?")
    assert "beneficial outcomes" in answer.text.split("\n\n")[0]


def test_a_case_boxs_labelled_value_is_written_with_a_verb_where_one_reads_plainly():
    from assistant.answering.wording import with_verb
    case = "Fleetwood Community Care"
    assert with_verb(f"{case}’s challenge: to look at ways to strengthen the workforce.", case) == \
        f"{case}’s challenge is to look at ways to strengthen the workforce."
    assert with_verb(f"{case}’s main drivers: support primary care; share resources.", case) == \
        f"{case}’s main drivers are: support primary care; share resources."
    assert with_verb("Pallant Medical Chambers’ primary purpose of organisation: to improve locum services.",
                     "Pallant Medical Chambers") == "Pallant Medical Chambers’ primary purpose is to improve locum services."
    for kept in (f"{case}’s local levers: history of practice collaboration.",  # no list, no "to": the label stays
                 f"{case}’s number of employees: 130 (34 nurses).", f"{case}’s staff include: nurses; GPs.",
                 "In the words of Dr A Smith: “our challenge: to grow.”"):
        assert with_verb(kept, case) == kept


def test_what_is_x_asked_by_the_names_own_word_asks_what_the_organisation_is():
    from assistant.answering.question import asks_what_it_is
    harness = ("Harness GP Co-operative Federation", "Harness Healthcare")
    assert asks_what_it_is("What is Harness", harness)
    assert specific_ask("What is Harness", harness) == (frozenset(), "")
    q = analyse("What is Harness?", organisations=harness)
    box = _passage(1, "Harness Healthcare Ltd: a federation rooted in its local community.\nThe challenge: To widen "
                      "its remit across the practices.", case="Harness Healthcare", section="Harness Healthcare")
    assert compose(q, [box], organisations=harness) == \
        "Harness Healthcare Ltd is a federation rooted in its local community. [1]"  # its box's challenge is no definition


def test_a_sentence_pointing_back_to_others_not_quoted_comes_after_one_that_stands_alone():
    q = analyse("Which federations deliver out-of-hours care?", organisations=ORGS)
    others = _passage(1, "Others form to deliver out-of-hours care for a range of local practices.")
    plain = _passage(2, "Some groups form to deliver out-of-hours care for a range of local practices.")
    assert compose(q, [others, plain], organisations=ORGS).startswith("Some groups form")


def _document(rank, doc, title, text):
    chunk = Chunk(chunk_id=f"c{rank}", doc_id=doc, title=title, year=2013, section="S", page=1, text=text)
    return Passage(rank=rank, chunk=chunk, score=1.0 / rank)


def test_a_part_asking_what_the_slides_say_is_answered_from_the_slides_alone():
    slides = _document(2, "conclusions-slides", "Conclusions slides", "Federations aim to support practices to improve "
                                                                      "quality and to support practices with costs.")
    report = _document(1, "practical-lessons", "Practical lessons", "What federations aim to do is deliver services "
                                                                    "in the community.")
    q = analyse("What do federations aim to do, according to the slides?", organisations=ORGS)
    assert compose(q, [report, slides], organisations=ORGS) == \
        "Federations aim to support practices to improve quality and to support practices with costs. [2]"
    both = analyse("Do the slides and the report agree on what federations aim to do?", organisations=ORGS)
    assert "[1]" in compose(both, [report, slides], organisations=ORGS)  # another document asked: not the slides alone


def test_a_case_studys_sentence_saying_we_after_its_opening_is_quoted_as_the_organisations_words():
    hurley = _passage(1, "The team has grown from 25 members in 2006 to over 300 now, but we have remained a "
                         "traditional NHS GP partnership in our structure.", case="Hurley Group", section="The Hurley Group")
    q = analyse("How has the Hurley Group's team grown?", organisations=ORGS)
    assert compose(q, [hurley], organisations=ORGS) == (
        "In the Hurley Group’s words: “The team has grown from 25 members in 2006 to over 300 now, but we have remained "
        "a traditional NHS GP partnership in our structure.” [1]")


def test_say_more_about_the_last_one_points_to_the_last_item_of_the_answer_before():
    from assistant.answering.question import pointed_item
    from assistant.schema import Turn
    listed = [Turn(role="user", content="What barriers did the seminars find?"),
              Turn(role="assistant", content="Lack of headspace for planning, conflicts of interest and competition "
                                             "rules, and the workload of competitive tendering. [1]")]
    assert pointed_item("Say more about the last one - why is that such a problem?", listed) == \
        "the workload of competitive tendering"
    assert pointed_item("And the first one?", listed) == "Lack of headspace for planning"
    prose = [Turn(role="user", content="What barriers?"),
             Turn(role="assistant", content="Participants were uncertain. They expressed confusion, and delay, too.")]
    assert pointed_item("Say more about the last one", prose) == ""  # sentences, not a list
    q = analyse("Say more about the last one - why is that such a problem?", organisations=ORGS, history=listed)
    assert q.context == "the workload of competitive tendering"


@pytest.mark.slow
def test_how_did_it_train_its_staff_after_a_question_on_the_hurley_group_opens_on_its_education_and_training(assistant):
    from assistant.schema import Turn
    first = assistant.ask("How big is the Hurley Group and who runs it?")
    history = [Turn(role="user", content=first.question), Turn(role="assistant", content=first.text)]
    follow = assistant.ask("And how did it train its staff?", history=history)
    assert "education, training" in follow.text.split("\n")[0]  # "train" is searched as training and education too


def test_a_lists_label_before_a_whole_sentence_is_left_out_as_the_answer_is_written():
    barriers = _passage(1, "Barriers to developing new models\nThe workload of competitive tendering: The workload "
                           "involved in responding to competitive tenders for community services was identified as a "
                           "barrier to general practice increasing its scope of provision.\nEssential ingredients for "
                           "success: Strong clinical leadership; A clear focus on quality.")
    text = _answer("Why is the workload of competitive tendering a barrier?", [barriers])
    assert "The workload involved in responding to competitive tenders" in text
    assert "tendering: The workload" not in text  # the label found the sentence, and is not quoted


def test_a_paragraph_turning_to_another_example_in_a_case_box_is_not_about_the_boxs_organisation():
    box = _passage(1, "General practices in the Hurley Group now perform among the best in the country for diabetes "
                      "care.\nAnother example of how funding can drive change is in the Netherlands, where a new payment "
                      "system for diabetes care drove collaboration. Contracts for a full year of diabetes care could "
                      "only be negotiated with groups of GPs, in a similar way to how the Hurley Group shaped its "
                      "incentives.", case="Hurley Group", section="Box 13: Hurley Group")
    text = _answer("Did the Hurley Group improve diabetes care?", [box])
    assert text.startswith("General practices in the Hurley Group now perform among the best")
    assert "Netherlands" not in text and "Contracts for a full year" not in text


def test_a_tables_column_headings_among_paragraphs_are_not_quoted_as_a_list():
    contracts = _passage(1, "APMS contracts have been used to improve access to general practice through extended "
                            "opening hours.\nIt should be noted that CCGs cannot hold APMS contracts, so the CCG now "
                            "uses an NHS contract with its primary care networks.\nContracts that can be held with CCGs\n"
                            "Role in delivering extended primary care services\nPotential role in supporting "
                            "transformation of core services\nSpecialist Provider of Medical", section="APMS Contracts")
    texts = [u.text for u in passage_units(1, contracts)]
    assert any("CCGs cannot hold APMS contracts" in t for t in texts)
    assert not any("Contracts that can be held with CCGs" in t for t in texts)
    slide = _passage(2, "Common Federation Objectives\nShared back-office functions\nExtended access for patients\n"
                        "New services closer to home", section="Common Federation Objectives")
    listed = [u.text for u in passage_units(2, slide)]  # a slide's bullets under its title stay a list
    assert len(listed) == 1 and listed[0].startswith("Common Federation Objectives: shared back-office functions; "
                                                     "extended access for patients;")


def test_a_verbless_cell_keeps_its_label_as_the_answer_is_written():
    cell = "Legal status: Collaboration between multiple practices across the borough. May be informal in nature."
    assert unlabelled(cell) == cell
    assert unlabelled("The workload of competitive tendering: The workload involved was identified as a barrier. "
                      "But it also helped larger groups.").startswith("The workload involved was identified")


def test_what_the_user_says_of_themselves_after_a_question_is_no_part_of_its_own():
    assert split_parts("How many practices does the Hurley Group run? I've seen different numbers in the Nuffield "
                       "material.") == ("How many practices does the Hurley Group run? I've seen different numbers in "
                                        "the Nuffield material.",)
    assert len(split_parts("How much has demand grown? I'd like figures from more than one of the reports.")) == 2


def test_a_question_asking_for_a_definition_is_answered_by_the_definition_without_padding():
    passages = [_passage(1, "The concept of a primary care federation was developed by the RCGP and is described as "
                            "‘an association of GP practices that come together to share responsibility for a range "
                            "of functions’."),
                _passage(2, "Other federations remain as relatively loose affiliations of practices, although these "
                            "might provide the basis for further scaling up of primary care organisation."),
                _passage(3, "A vital aspect of primary care federation work is the registered list of patients held "
                            "by all practices in the federation.")]
    text = _answer("How does the RCGP define a primary care federation?", passages)
    assert text.startswith("The concept of a primary care federation was developed by the RCGP")
    assert "loose affiliations" not in text and "registered list" not in text


def test_a_part_asking_the_legal_form_is_answered_by_a_legal_form_and_not_padded():
    hurley = _passage(1, "Legal status: Partnership.\nDate established: Practice formed in 1969 but expansion began in "
                         "2007.\nMain purpose: Growth and diversification of income stream through multiple contracts.",
                      case="Hurley Group", section="Appendix: Case studies")
    text = _answer("What legal form did the Hurley Group choose as it grew?", [hurley])
    assert text.startswith("The Hurley Group is a partnership.")
    assert "1969" not in text and "diversification" not in text


def test_a_labelled_count_is_said_as_what_the_organisation_has():
    box = _passage(1, "Number of partners: Four partners with 22 lead GPs (one at each site) on a profit share.\n"
                      "Care locations: 18 general practices Five urgent care centres.\nNumber of employees: 300.",
                   case="Hurley Group", section="Appendix: Case studies")
    texts = [u.text for u in passage_units(1, box)]
    assert "The Hurley Group has four partners with 22 lead GPs (one at each site) on a profit share." in texts
    assert not any("has 18 general practices" in t for t in texts)  # cells run together stay as they are


def test_a_later_parts_them_is_searched_as_who_the_first_part_is_about():
    assert part_queries("Did large-scale GP organisations give better quality of care in the 2016 study, and how did "
                        "patients feel about them?", ORGS)[1] == \
        "how did patients feel about them? (large-scale GP organisations)"
    assert part_queries("What is a federation, and how do they work?", ORGS)[1] == "how do they work?"


def test_a_box_title_leads_the_full_stopped_lines_under_it_as_one_list():
    box = _passage(1, "The solution: Learning in Action – part of NHS England's Time for Care programme.\n"
                      "A series of workshops to give practices the 'headspace' to share their experiences and "
                      "insights, to learn from each other, and to build a community that supports each other.\n"
                      "QI tools and techniques to help unblock change.\nThe results:\nLess time dealing with paperwork.",
                   case="Hurley Group", section="Hurley Group")
    first = passage_units(1, box)[0].text
    assert first.startswith("The Hurley Group’s solution: Learning in Action – part of NHS England's Time for Care "
                            "programme; A series of workshops")
    assert first.endswith("; QI tools and techniques to help unblock change.")  # no full stop inside the list


def test_a_question_about_no_organisation_opens_on_a_general_sentence_before_one_cases_table_line():
    suffolk = _passage(1, "Legal status: Community interest company.", case="Suffolk GP Federation",
                       section="Appendix: Case studies")
    forms = _passage(2, "The legal structures for federations vary and include: community interest companies, "
                        "companies limited by guarantee, limited liability partnerships and informal networks.")
    orgs = (*ORGS, "Suffolk GP Federation")
    text = compose(analyse("What legal forms can a GP federation take?", organisations=orgs), [suffolk, forms],
                   organisations=orgs)
    assert text.startswith("The legal structures for federations vary")
    assert "Suffolk GP Federation is a community interest company." in text


def test_a_yes_no_part_opens_on_the_studys_verdict_not_on_a_sentence_sharing_its_words():
    study = _passage(1, "Patient interviewees valued their relationship with their own practice, and better access to "
                        "care in large-scale organisations was welcomed. Our analysis of 15 quality indicators was unable "
                        "to detect marked differences in quality of care compared to the national average.")
    text = _answer("Did large-scale organisations give better quality of care?", [study])
    assert text.startswith("Our analysis of 15 quality indicators was unable to detect"), text


def test_a_verdict_sharing_little_with_a_yes_no_part_does_not_open_its_answer():
    staff = _passage(1, "Most staff felt more loyal to the leaders of their own practice than to the wider organisation. "
                        "We examined the performance of member practices within organisations and found no patterns.")
    text = _answer("Did staff feel more loyal to their own practice or to the wider organisation?", [staff])
    assert text.startswith("Most staff felt more loyal"), text


def test_an_organisations_name_over_what_it_is_is_written_as_the_name_is_a():
    box = _passage(1, "Harness Healthcare Ltd: a federation and community services provider rooted in its local "
                      "community, formed to improve quality of care.\nPremises: a new health centre.",
                   case="Harness Healthcare")
    orgs = (*ORGS, "Harness Healthcare")
    text = compose(analyse("What is Harness Healthcare?", organisations=orgs), [box], organisations=orgs)
    assert text.startswith("Harness Healthcare Ltd is a federation and community services provider rooted"), text
    from assistant.answering.wording import with_verb
    for kept in ("Common Federation Objectives: A sustainable federation.",  # not the case's name
                 "Harness Healthcare Ltd: The federation was formed in 2008."):  # a whole sentence, no "a"
        assert with_verb(kept, "Harness Healthcare") == kept


def test_a_question_of_whether_something_worked_is_also_searched_as_what_was_found():
    from assistant.answering.question import findings_query
    asked = "Did large-scale GP organisations give better quality of care?"
    assert findings_query(asked).startswith(asked) and "findings" in findings_query(asked)
    for other in ("How big is the Hurley Group?", "Did the Hurley Group grow, and who runs it?",
                  "Is Suffolk GP Federation a community interest company?"):
        assert findings_query(other) == "", other


@pytest.mark.slow
def test_did_they_give_better_quality_of_care_opens_on_what_the_2016_study_found(assistant):
    # The words of the question ("better quality of care") are not those of the findings ("unable to detect marked
    # differences"): without a search worded as findings, the answer opened on patients valuing continuity.
    answer = assistant.ask("Did large-scale GP organisations give better quality of care?")
    first_two = " ".join(answer.text.split("] ")[:2])
    assert "unable to detect marked differences" in first_two, answer.text


def test_a_sentence_naming_the_topic_only_in_a_list_of_bare_topics_comes_after_one_saying_something_of_it():
    box = _passage(1, "Development support has been needed in relation to: strategy; governance; systems; workforce; "
                      "premises; and leadership. Governance of the partnership passed over the years from meetings of all "
                      "the partners to an executive partner and a chief operating officer.", case="Hurley Group")
    text = _answer("How is the Hurley Group governed?", [box])
    assert text.startswith("Governance of the partnership passed over the years"), text


@pytest.mark.slow
def test_each_part_reads_a_passage_headed_by_its_own_words_how_vitality_is_governed(assistant):
    # "How is the Vitality Partnership governed" is answered under the 2013 report's "Governance" heading, whose
    # text never says "govern": it is fifth in that part's own search, behind passages the question already has.
    answer = assistant.ask("How is the Vitality Partnership governed, and how does it involve its patients?")
    governed, patients = answer.text.split("\n\n")[:2]
    assert "An executive board has been put in place" in governed and "patient participation group" in patients


def test_a_paragraph_line_broken_inside_a_name_is_read_as_one_sentence_and_a_slide_title_is_not_joined():
    text = ("A shared IT platform is also a key enabler of progress for many networks. In some cases, as with the "
            "Maastricht and Tower\nHamlets examples, federations of practices have taken on contracts to deliver new "
            "forms of disease management.\nCommon Federation Objectives: Common Federation Objectives\n"
            "Support practices to improve quality and address capacity issues.")
    said = [u.text for u in passage_units(1, _passage(1, text))]
    assert any(u.startswith("In some cases, as with the Maastricht and Tower Hamlets examples, federations") for u in said)
    assert not any(u.startswith("Hamlets") for u in said), said
    assert not any("Objectives Support" in u for u in said), said


def test_a_definition_of_another_thing_does_not_pad_the_definition_asked():
    passages = [_passage(1, "The concept of a primary care federation was developed by the RCGP and is described as "
                            "‘an association of GP practices that come together to share responsibility’."),
                _passage(2, "The community health organisation model seeks to develop an extended range of local "
                            "services – much as with primary care federations or super-partnerships – but is defined "
                            "by a population health focus.")]
    text = _answer("How does the RCGP define a primary care federation?", passages)
    assert text.startswith("The concept of a primary care federation") and "community health organisation" not in text


def test_a_word_adding_to_the_sentence_before_is_left_out_and_the_sentence_stands_alone():
    text = ("Extensive work has gone into clinical quality standards across the organisation. In addition, every "
            "outlet has a clinical director who is held to account for the issues at each site.\n"
            "Lead GPs have been appointed for each practice across the whole group. In addition, these GPs report "
            "to the board of the partnership.")
    said = [u.text for u in passage_units(1, _passage(1, text)) if not u.leans]
    assert "Every outlet has a clinical director who is held to account for the issues at each site." in said
    assert not any(u.startswith("In addition, every") for u in said)
    assert any(u.endswith("In addition, these GPs report to the board of the partnership.") for u in said), said


def test_how_complicated_is_searched_as_how_complex():
    from assistant.search.retrieval import query_terms
    assert "complex" in query_terms("How complicated should a new GP group's governance be?")


def test_it_should_be_noted_that_stands_for_what_follows_not_for_the_sentence_before():
    text = ("Contracts have been awarded to groups of practices across the borough for extended services. It should be "
            "noted that CCGs cannot hold APMS contracts, so the CCG now uses an NHS contract with its networks.")
    said = [u.text for u in passage_units(1, _passage(1, text)) if not u.leans]
    assert "It should be noted that CCGs cannot hold APMS contracts, so the CCG now uses an NHS contract with its " \
           "networks." in said, said


def test_a_can_question_opens_on_the_sentence_saying_it_cannot():
    passages = [_passage(1, "Each GP network holds an APMS contract with the CCG for extended services. CCGs cannot "
                            "hold APMS contracts, so the CCG now uses an NHS contract with its primary care networks.")]
    text = _answer("Can a CCG hold an APMS contract with a GP network?", passages)
    assert text.startswith("CCGs cannot hold APMS contracts"), text


def test_what_happened_to_it_asks_what_became_of_it_not_a_named_fact_the_reports_might_lack():
    assert specific_ask("What happened to that contract once CCGs took over?", ("Tower Hamlets",)) == (frozenset(), "")
    assert specific_ask("What changed for the GPs?", ()) == (frozenset(), "")


def test_who_runs_it_is_answered_by_the_person_in_the_role_and_the_partners_counted_without_padding():
    runs = _passage(1, "Dr Arvind Madan, GP Partner and CEO\nIn 2006 we were quite content to run our 12,000-patient "
                       "practice in Kennington.", case="Hurley Group")
    table = _passage(2, "Number of partners: Four partners with 22 lead GPs (one at each site) on a profit share.",
                     case="Hurley Group")
    text = _answer("Who runs the Hurley Group?", [runs, table])
    assert text.startswith("Dr Arvind Madan is the GP partner and CEO of the Hurley Group.")
    assert "has four partners with 22 lead GPs" in text and "Kennington" not in text, text


@pytest.mark.slow
def test_how_big_and_who_runs_it_reads_the_case_table_labelled_with_its_size(assistant):
    # The Hurley Group's case table ("Registered population: ...", "Number of partners: ...") is fourth in the size
    # part's search; a part's passage whose line labels hold its own words ("population") comes first.
    answer = assistant.ask("How big is the Hurley Group and who runs it?")
    runs = answer.text.split("\n\n")[1]
    assert "Dr Arvind Madan" in runs and "four partners with 22 lead GPs" in runs, answer.text
