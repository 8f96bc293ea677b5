"""Citation verification: markers to nowhere dropped, renumbering, lexical support, grounded score, sentence splitting."""

from __future__ import annotations

import pytest

from assistant.answering.protocol import NOT_COVERED
from assistant.answering.citations import (DEFAULT_THRESHOLD, MARKER, UNVERIFIED, content_words, marker_numbers,
                                           numbers_in, renumber, split_sentences, verify)
from assistant.schema import Chunk, Passage


def passage(n: int, text: str) -> Passage:
    """A passage from an invented 2016 Nuffield Trust report."""
    chunk = Chunk(chunk_id=f"c{n}", doc_id="d", title="Is bigger better?", year=2016, section="Findings",
                  page=n, text=text, publisher="Nuffield Trust")
    return Passage(rank=n, chunk=chunk, score=1.0)


PASSAGES = [
    passage(1, "Many practices joined federations to share back-office functions. Federations also employ staff centrally."),
    passage(2, "Conflicts of interest arise when GP providers sit on CCG boards. Boards must declare and manage them."),
    passage(3, "Larger organisations reported better access to extended hours services."),
]
SHARE = "Federations share back-office functions across practices"
CONFLICT = "Conflicts of interest arise when GP providers sit on CCG boards"


def test_markers_pointing_to_no_passage_are_removed_with_their_space():
    text, citations, _ = verify(f"{SHARE} [7]. {CONFLICT} [2][0].", PASSAGES)
    assert text == f"{SHARE}{UNVERIFIED}. {CONFLICT} [1]."
    assert [(c.n, c.passage.chunk.chunk_id) for c in citations] == [(1, "c2")]


def test_markers_are_renumbered_in_order_of_first_use():
    text, citations, grounded = verify(f"{CONFLICT} [2]. {SHARE} [1]. Boards must declare conflicts [2].", PASSAGES)
    assert text == f"{CONFLICT} [1]. {SHARE} [2]. Boards must declare conflicts [1]."
    assert [(c.n, c.passage.chunk.chunk_id) for c in citations] == [(1, "c2"), (2, "c1")]
    assert grounded == 1.0


@pytest.mark.parametrize("markers", ["[1, 2]", "[1,2]", "[1][2]", "[1] [2]", "[1-2]", "[1;2]"])
def test_grouped_adjacent_and_range_markers_become_separate_markers(markers):
    text, citations, _ = verify(f"{SHARE} {markers}.", PASSAGES)
    assert text == f"{SHARE} [1][2]."
    assert [c.n for c in citations] == [1, 2]


def test_repeated_and_mixed_invalid_markers_in_one_sentence_are_deduplicated():
    text, citations, _ = verify(f"{SHARE} [3, 9][3][1].", PASSAGES)
    assert text == f"{SHARE} [1][2]."
    assert [c.passage.chunk.chunk_id for c in citations] == ["c3", "c1"]


def test_supported_citation_has_high_score_and_the_best_matching_quote():
    _, (citation,), grounded = verify(f"{SHARE} [1].", PASSAGES)
    assert citation.supported and citation.support >= 0.75
    assert citation.quote == "Many practices joined federations to share back-office functions."
    assert grounded == 1.0


def test_unsupported_sentence_is_flagged_after_its_markers_and_lowers_grounded():
    text, (good, bad), grounded = verify(f"{SHARE} [1]. The moon is made of green cheese [2].", PASSAGES)
    assert text == f"{SHARE} [1]. The moon is made of green cheese [2]{UNVERIFIED}."
    assert good.supported and not bad.supported and bad.support < DEFAULT_THRESHOLD
    assert grounded == 0.5


def test_marker_after_the_full_stop_stays_with_its_sentence():
    text, citations, grounded = verify(f"{SHARE}. [1] Unrelated lunar geology claims.[2]", PASSAGES)
    assert text == f"{SHARE}. [1] Unrelated lunar geology claims.[2]{UNVERIFIED}"
    assert [c.supported for c in citations] == [True, False]
    assert grounded == 0.5


def test_citation_used_by_several_sentences_is_supported_only_if_all_are():
    _, (citation,), grounded = verify(f"{SHARE} [1]. Volcanoes erupt on Tuesdays [1].", PASSAGES)
    assert not citation.supported
    assert citation.quote.startswith("Many practices joined federations")
    assert grounded == 0.5


def test_sentence_without_any_marker_is_flagged_and_counts_as_ungrounded():
    text, _, grounded = verify(f"{SHARE} [1]. Federations are popular everywhere.", PASSAGES)
    assert text.endswith(f"Federations are popular everywhere{UNVERIFIED}.")
    assert grounded == 0.5


def test_one_supported_marker_is_enough_to_ground_a_sentence():
    _, citations, grounded = verify(f"{CONFLICT} [3][2].", PASSAGES)
    assert [c.supported for c in citations] == [False, True]
    assert grounded == 1.0


def test_headings_lead_ins_and_blank_lines_do_not_need_support():
    answer = f"## Sharing\n\nIn short:\n- {SHARE} [1]\n- {CONFLICT} [2]\n\n**Summary**\n"
    text, citations, grounded = verify(answer, PASSAGES)
    assert text == answer
    assert len(citations) == 2 and grounded == 1.0


def test_uncited_bullet_is_flagged():
    text, _, grounded = verify(f"- {SHARE} [1]\n- Staff rotate weekly", PASSAGES)
    assert text.splitlines()[1] == f"- Staff rotate weekly{UNVERIFIED}"
    assert grounded == 0.5


def test_not_covered_reply_is_fully_grounded_and_never_flagged():
    reply = f"{NOT_COVERED}. The passages cover federation governance [2] and moon rocks."
    text, citations, grounded = verify(reply, PASSAGES)
    assert text == reply.replace("[2]", "[1]") and UNVERIFIED not in text
    assert grounded == 1.0 and len(citations) == 1


def test_answer_without_markers_keeps_its_text_and_has_no_citations():
    text, citations, grounded = verify("Federations exist.", PASSAGES)
    assert citations == () and grounded == 0.0 and text == f"Federations exist{UNVERIFIED}."


def test_threshold_is_exposed_and_decides_supported():
    sentence = "Federations share back-office functions and negotiate contracts with commissioners [1]."
    _, (loose,), _ = verify(sentence, PASSAGES, threshold=0.2)
    _, (strict,), _ = verify(sentence, PASSAGES, threshold=0.95)
    assert loose.supported and not strict.supported and loose.support == strict.support


def test_verify_is_deterministic():
    answer = f"{CONFLICT} [2][1]. {SHARE} [1]. Odd claim [3]."
    assert verify(answer, PASSAGES) == verify(answer, PASSAGES)


def test_marker_numbers_expand_ranges_and_groups_in_order():
    assert marker_numbers("A [2-4]. B [1, 6][ 3 ]; C [5;1] D [2–3].") == [2, 3, 4, 1, 6, 3, 5, 1, 2, 3]
    assert marker_numbers("No markers [a] [] [1000] here.") == []


def test_numbers_in_reads_one_marker_and_keeps_a_reversed_or_huge_range_as_its_ends():
    assert [numbers_in(m) for m in MARKER.finditer("[3-1] [1-40] [7]")] == [[3, 1], [1, 40], [7]]


def test_renumber_rewrites_every_marker_and_keeps_unmapped_numbers():
    assert renumber("A [2]. B [1, 3]. C [2-3].", {2: 1, 3: 5}) == "A [1]. B [1][5]. C [1][5]."


def test_content_words_drop_stopwords_and_plural_s():
    assert content_words("The federations of practices [1]") == content_words("federation practice")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        ("Use hubs, e.g. in London. Next.", ["Use hubs, e.g. in London.", "Next."]),
        ("Dr. Smith and Mr. Jones agreed. Prof. Ham too.", ["Dr. Smith and Mr. Jones agreed.", "Prof. Ham too."]),
        ("Growth was 2.5 times. Then 3.1% fell.", ["Growth was 2.5 times.", "Then 3.1% fell."]),
        ("See p. 12 and No. 5 of the list. The answer is no. Next.", ["See p. 12 and No. 5 of the list.", "The answer is no.", "Next."]),
        ("Shared staff.[1] Shared rooms. [2][3] Done [4].", ["Shared staff.[1]", "Shared rooms. [2][3]", "Done [4]."]),
        ("Line one\n\n- bullet [1]\n# Head", ["Line one", "- bullet [1]", "# Head"]),
        ("Smith et al. (2016) found this. J. R. Smith agreed.", ["Smith et al. (2016) found this.", "J. R. Smith agreed."]),
        ("", []),
    ],
)
def test_split_sentences_handles_abbreviations_numbers_markers_and_lines(text, expected):
    assert split_sentences(text) == expected


def test_a_case_box_sentence_is_quoted_from_the_line_that_supports_it_not_the_one_naming_the_organisation():
    from assistant.answering.citations import support
    from assistant.schema import Chunk, Passage

    box = Chunk(chunk_id="c1", doc_id="d", title="T", year=2013, section="Appendix: Case studies", page=1,
                text="Federation: Suffolk GP Federation\nDate established: April 2013.\n"
                     "Legal status: Community interest company.", case_study="Suffolk GP Federation")
    _, quote = support("Suffolk GP Federation is a community interest company.", Passage(rank=1, chunk=box, score=1.0))
    assert quote == "Legal status: Community interest company."
