"""The shared word rules: word splitting, the stemmer, and the stopword lists of retrieval and citation support."""

from __future__ import annotations

from assistant.text import STOPWORDS, SUPPORT_STOPWORDS, split_words, stem, tokenize


def test_stem_joins_the_forms_of_a_word_the_reports_use():
    assert stem("federation") == stem("federated") == stem("federate") == stem("federations")
    assert stem("governance") == stem("governed")
    assert stem("policies") == stem("policy")
    assert stem("class") == "class"  # a double s is not a plural


def test_stem_keeps_at_least_three_letters_before_a_suffix():
    assert stem("bring") == "bring" and stem("ration") == "ration"


def test_split_words_lower_cases_and_splits_on_everything_but_letters_and_digits():
    assert split_words("GP-led Federations, 2016/17!") == ["gp", "led", "federations", "2016", "17"]


def test_tokenize_drops_stopwords_and_single_letters_and_stems_the_rest():
    assert tokenize("What are the federations of a CCG in 2016? A B") == ["feder", "ccg", "2016"]


def test_support_stopwords_extend_the_retrieval_list():
    assert STOPWORDS < SUPPORT_STOPWORDS
    assert "between" in SUPPORT_STOPWORDS and "between" not in STOPWORDS
