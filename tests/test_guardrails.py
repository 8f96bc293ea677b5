"""Questions are checked before retrieval: limits, scope and personal data."""

import pytest

from assistant.answering.protocol import NOT_COVERED, is_decline
from assistant.errors import InputError
from assistant.answering.guardrails import check_scope, clean_question, find_personal_data, redact


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_an_empty_question_is_rejected_with_a_message(bad):
    with pytest.raises(InputError, match="empty"):
        clean_question(bad, 2000)


def test_an_over_long_question_states_the_maximum():
    with pytest.raises(InputError, match="maximum is 2000"):
        clean_question("federation " * 400, 2000)


def test_garbled_input_is_rejected():
    with pytest.raises(InputError, match="question in words"):
        clean_question("#$%^&*()_+ 12345 !!!", 2000)


def test_control_characters_are_dropped():
    assert clean_question("What is a\x00 GP\x07 federation?", 2000) == "What is a GP federation?"


def test_another_language_gets_a_polite_message():
    with pytest.raises(InputError, match="English"):
        clean_question("Что такое федерация врачей общей практики?", 2000)


@pytest.mark.parametrize("question,category", [
    ("What dose of amoxicillin should I give a child with otitis media?", "clinical"),
    ("My patient Mrs Jones, 82, keeps falling. What should I do?", "patient"),
    ("Is clause 14 of our draft federation agreement with Acme Health enforceable?", "legal"),
])
def test_out_of_scope_questions_are_declined_with_a_reason_and_what_we_can_do(question, category):
    decision = check_scope(question)
    assert not decision.in_scope and decision.category == category
    assert "GP federations" in decision.message
    # Follow-ups after a decline must not carry its words into retrieval: the decline is recognised.
    assert is_decline(decision.message)


def test_answers_are_not_mistaken_for_declines():
    assert is_decline(f"{NOT_COVERED}. The reports discuss federations.")
    assert not is_decline("Federations can hold contracts for member practices [1].")
    assert not is_decline("Icanthus Federation was formed in 2014 [1].")


@pytest.mark.parametrize("question", [
    "How should a GP federation manage conflicts of interest?",
    "What legal forms did federations choose?",
    "How did networks improve childhood vaccination rates through incentive schemes?",
    "What did the reports say about prescribing budgets in federations?",
])
def test_questions_about_federations_are_in_scope(question):
    assert check_scope(question).in_scope


def test_personal_data_is_found_and_redacted():
    text = "Patient NHS number 943 476 5919, email jo@example.org, phone 020 7946 0018"
    assert set(find_personal_data(text)) >= {"NHS number", "email address", "phone number"}
    cleaned = redact(text)
    assert "943 476 5919" not in cleaned and "jo@example.org" not in cleaned and "7946" not in cleaned


def test_questions_about_years_after_the_library_get_a_reason_from_its_own_dates():
    from assistant.collection import Collection

    seeds = Collection.from_records([{"filename": f"r{y}.txt", "title": "R", "year": y} for y in (2013, 2016, 2018)])
    assert "2013 to 2018" in seeds.beyond("What is the ARRS budget for 2024/25?")
    assert "integrated care boards" in seeds.beyond("What statutory duties do integrated care boards have?")
    assert seeds.beyond("How did federations form between 2013 and 2016?") == ""
    # A document from 2020 covers questions naming 2019 or 2020, not 2024/25; the note no longer says PCNs are new.
    later = Collection.from_records([*[{"filename": d.filename, "year": d.year} for d in seeds.documents],
                                     {"filename": "des.pdf", "title": "DES", "year": 2020}])
    assert later.beyond("What did the DES require from July 2019?") == ""
    assert later.beyond("What does the 2020/21 specification say?") == ""
    reason = later.beyond("What is the ARRS budget for 2024/25?")
    assert "2013 to 2020" in reason and "2024/25" in reason and "Primary Care Networks" not in reason
    assert "integrated care boards" in later.beyond("What statutory duties do integrated care boards have?")
    assert Collection().beyond("What happened in 2024?") == ""  # nothing indexed: no dates to speak of


def test_salient_terms_are_names_acronyms_and_numbers_not_sentence_starts_or_contractions():
    from assistant.answering.guardrails import salient_terms

    assert salient_terms("How many GP federations are there in Wales?") == ["Wales"]
    assert salient_terms("What did the Fuller stocktake say?") == ["Fuller"]
    assert salient_terms("How many practices? I've seen different numbers") == []


def test_a_named_patient_with_an_age_or_a_reading_and_a_lawfulness_question_are_declined_by_kind():
    named = check_scope("Can you check whether Ahmed Hussain, 54, on our list should have his ramipril increased?")
    reading = check_scope("Should we change the dose now? Her last BP was 162/95.")
    lawful = check_scope("Can we lawfully walk away from the subcontract after the first year?")
    assert (named.category, reading.category, lawful.category) == ("patient", "patient", "legal")
    for fine in ("How many patients are on our list after the merger?", "How did Tower Hamlets, Hackney, and Suffolk compare?"):
        assert check_scope(fine).in_scope, fine
