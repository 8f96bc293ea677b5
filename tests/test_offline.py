"""The offline answerer: cited extractive sentences, deterministic, no repeats, follow-ups joined to the last question."""

from assistant.answering.protocol import NOT_COVERED
from assistant.schema import Chunk, Passage, Turn
from assistant.answering.extractive import OfflineAnswerer, is_follow_up


def _passage(rank, text, doc="d"):
    chunk = Chunk(chunk_id=f"c{rank}", doc_id=doc, title="T", year=2013, section="S", page=1, text=text)
    return Passage(rank=rank, chunk=chunk, score=1.0 / rank)


PASSAGES = [
    _passage(1, "The Suffolk GP Federation is a community interest company owned by member practices. It was set up in 2008."),
    _passage(2, "The Suffolk GP Federation is a community interest company owned by member practices. Its board has eleven directors."),
    _passage(3, "Cooking pasta takes about ten minutes in boiling salted water on the stove."),
]


def test_every_sentence_carries_a_marker_of_the_passage_it_came_from():
    text = "".join(OfflineAnswerer().stream("What legal form is the Suffolk GP Federation?", PASSAGES))
    assert "community interest company owned by member practices. [1]" in text
    assert "[3]" not in text


def test_a_sentence_shared_by_overlapping_passages_is_said_once():
    text = "".join(OfflineAnswerer().stream("What legal form is the Suffolk GP Federation and who owns it?", PASSAGES))
    assert text.count("community interest company owned by member practices") == 1


def test_the_same_question_gives_the_same_answer():
    a = "".join(OfflineAnswerer().stream("Suffolk federation board directors", PASSAGES))
    b = "".join(OfflineAnswerer().stream("Suffolk federation board directors", PASSAGES))
    assert a == b


def test_no_matching_sentence_means_not_covered():
    text = "".join(OfflineAnswerer().stream("zebra migration", PASSAGES))
    assert text.startswith(NOT_COVERED)


def test_a_follow_up_is_joined_to_the_previous_user_question():
    history = [Turn("user", "Tell me about the Hurley Group."), Turn("assistant", "It is a partnership [1].")]
    assert "Hurley Group" in OfflineAnswerer().standalone("And what legal form did they choose?", history)
    assert OfflineAnswerer().standalone("What is a super-partnership in the 2013 report?", history) == \
        "What is a super-partnership in the 2013 report?"
    assert is_follow_up("And who sits on their board?") and not is_follow_up("What is a federation?")


def test_a_follow_up_carries_the_previous_answer_but_not_a_decline():
    answered = [Turn("user", "Tell me about Harness."), Turn("assistant", "Harness is a federation of 21 practices [1].")]
    assert "21 practices" in OfflineAnswerer().standalone("How big is it now?", answered)
    declined = [Turn("user", "What dose of statin?"),
                Turn("assistant", "I can't give clinical advice such as diagnosis, treatment or dosing.")]
    rewritten = OfflineAnswerer().standalone("And for a federation?", declined)
    assert "statin" in rewritten and "clinical advice" not in rewritten
