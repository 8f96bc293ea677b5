"""Answer-level metrics read the text a user reads: evidence stated, parts covered, near misses, debris, wrong organisation."""

from __future__ import annotations

from assistant.schema import Answer, Chunk, Citation, Passage
from evals.answers import answer_metrics, fragments, misattributed, summarise_answers

ORGS = ("Suffolk GP Federation", "Symphony Programme")


def _citation(n, case, text="x"):
    chunk = Chunk(chunk_id=f"c{n}", doc_id="d", title="T", year=2013, section=case or "S", page=1, text=text,
                  case_study=case)
    return Citation(n=n, passage=Passage(rank=n, chunk=chunk, score=1.0), quote=text)


def test_debris_sentences_are_counted_with_their_reason():
    text = ("Greater Birmingham Legal Status Organisational Form And Structure Of The Company. [1] "
            "The way federations govern themselves varies. [1] A group of companies formed of:. [2]\n"
            "This meant practices could share staff. [1] It was developed for the RCGP.1 In this project we worked. [2]")
    reasons = dict(fragments(text))
    assert reasons["A group of companies formed of:."] == "ends in a colon"
    assert reasons["This meant practices could share staff."] == "opens with an unresolved reference"
    assert "reads as a heading" in reasons["Greater Birmingham Legal Status Organisational Form And Structure Of The Company."]
    assert "The way federations govern themselves varies." not in reasons


def test_a_leaning_sentence_after_its_sentence_from_the_same_source_is_no_fragment():
    assert fragments("The practices merged in 2015. This meant they could share staff. [1]") == []
    assert fragments("This report shares the lessons of the case study sites. [1]") == []


def test_an_opening_it_for_what_follows_is_no_unresolved_reference_but_an_it_for_something_before_is():
    assert fragments("It is still unclear how CCGs will influence their member practices. [1]") == []
    assert dict(fragments("It is chaired by a GP from a member practice. [1]")) == {
        "It is chaired by a GP from a member practice.": "opens with an unresolved reference"}


def test_a_sentence_from_another_organisations_case_study_is_misattributed_unless_labelled():
    question = "How is Suffolk GP Federation's board made up?"
    wrong = Answer(question=question, text="It is chaired by a GP, with three board members from practices. [1]",
                   citations=(_citation(1, "Symphony Programme"),))
    assert misattributed(wrong, ORGS) == ["It is chaired by a GP, with three board members from practices."]
    right = Answer(question=question, text="Suffolk GP Federation has a board of nine GPs. [1] By comparison, the "
                   "Symphony Programme is chaired by a GP. [2]",
                   citations=(_citation(1, "Suffolk GP Federation"), _citation(2, "Symphony Programme")))
    assert misattributed(right, ORGS) == []


def test_a_near_miss_counts_as_declined_when_the_answer_says_the_fact_is_not_given():
    row = {"kind": "near_miss", "evidence": "", "question": "What CQC rating did Suffolk get?"}
    said = Answer(question=row["question"], text="The reports don't give Suffolk GP Federation’s CQC rating.")
    unsaid = Answer(question=row["question"], text="Suffolk GP Federation’s legal status: community interest company. [1]",
                    citations=(_citation(1, "Suffolk GP Federation"),))
    assert answer_metrics(row, said, retrieved=None, organisations=ORGS)["near_miss_declined"] is True
    assert answer_metrics(row, unsaid, retrieved=None, organisations=ORGS)["near_miss_declined"] is False


def test_both_parts_of_a_two_part_question_must_be_stated_or_marked_missing_where_the_reports_lack_it():
    row = {"kind": "two_part", "evidence": "legal structures for federations vary",
           "evidence_2": "a board consisting of nine GPs", "parts": ["What legal form?", "Who is on the board?"]}
    both = Answer(question="q", text="The legal structures for federations vary. [1] It has a board consisting of nine GPs. [1]")
    one = Answer(question="q", text="The legal structures for federations vary. [1]")
    marked = Answer(question="q", text="The legal structures for federations vary. [1]\n\nThe reports don't give the board.")
    assert answer_metrics(row, both, retrieved=True, organisations=ORGS)["parts_covered"] is True
    assert answer_metrics(row, one, retrieved=True, organisations=ORGS)["parts_covered"] is False
    # The board is in the reports (the row quotes it): saying they don't give it is no cover.
    assert answer_metrics(row, marked, retrieved=True, organisations=ORGS)["parts_covered"] is False
    lacking = {**row, "evidence_2": ""}
    assert answer_metrics(lacking, marked, retrieved=True, organisations=ORGS)["parts_covered"] is True
    assert answer_metrics(lacking, one, retrieved=True, organisations=ORGS)["parts_covered"] is False


def test_evidence_is_stated_only_when_retrieved_and_the_answer_holds_the_quote():
    row = {"kind": "factual", "evidence": "a board consisting of nine GPs, three practice managers"}
    answer = Answer(question="q", text="Suffolk has a board consisting of nine GPs, three practice managers. [1]")
    assert answer_metrics(row, answer, retrieved=True, organisations=ORGS)["evidence_stated"] is True
    assert answer_metrics(row, answer, retrieved=False, organisations=ORGS)["evidence_stated"] is None
    other = Answer(question="q", text="Suffolk is a community interest company. [1]")
    assert answer_metrics(row, other, retrieved=True, organisations=ORGS)["evidence_stated"] is False


def test_the_summary_counts_fragments_and_misattributions_of_answered_questions_only():
    records = [{"kind": "factual", "refused": False, "fragments": 2, "misattributed": 1, "evidence_stated": True},
               {"kind": "out_of_scope", "refused": True, "fragments": 5, "misattributed": 0},
               {"kind": "factual", "refused": False, "fragments": 0, "misattributed": 0, "evidence_stated": False}]
    s = summarise_answers(records)
    assert s["fragments"] == 2 and s["misattributed"] == 1 and s["evidence_stated"] == 0.5


def test_cells_run_into_a_label_are_debris_but_a_name_in_prose_is_not():
    debris = "Potential funding through Sustainability and Transformation Plans Local history and context: GP fundholding."
    prose = "Harness GP Co-operative Federation: A federation of 21 general practices in North West London with a list."
    reasons = dict(fragments(f"{debris} [1]\n{prose} [2]"))
    assert reasons.get(debris.rstrip(".") + ".") == "table cells run together" and prose not in reasons
