"""Late interaction: MaxSim of a question's words over stored word-piece vectors reorders the best passages."""

import numpy as np
import pytest

from assistant.ingest.chunking import window_parts
from assistant.search.embeddings import MiniLMEmbeddings
from assistant.schema import Chunk
from assistant.search.rerank import LateInteraction, blend
from assistant.text import STOPWORDS
from assistant.search.store import Records


def _chunk(cid: str, text: str) -> Chunk:
    return Chunk(chunk_id=cid, doc_id="d", title="t", year=2016, section="Case study", page=None, position=0, text=text)


BOARD = _chunk("board", "The federation board has nine GP directors. Member practices elect them every two years.")
PHARMACY = _chunk("pharmacy", "Practices pooled their pharmacists. A joint medicines service now runs across the area.")


@pytest.fixture(scope="module")
def late(tmp_path_factory):
    minilm = MiniLMEmbeddings(batch_size=4)
    records = Records(tmp_path_factory.mktemp("rerank") / "records.sqlite3")
    tokens: dict = {}
    minilm.embed_composed([w for c in (BOARD, PHARMACY) for w in window_parts(c)], tokens)
    records.add_piece_tokens(tokens)
    return LateInteraction(records, minilm, STOPWORDS)


def test_the_passage_that_holds_the_questions_words_scores_higher(late):
    board, pharmacy = late.scores("Who sits on the federation board, and how are they chosen?", [BOARD, PHARMACY])
    assert board > pharmacy
    pharmacy_first = late.scores("Did practices share their pharmacists?", [BOARD, PHARMACY])
    assert pharmacy_first[1] > pharmacy_first[0]


def test_a_passage_without_stored_word_piece_vectors_leaves_the_ranking_alone(late):
    unseen = _chunk("new", "A sentence that was never ingested.")
    assert late.scores("Who sits on the board?", [BOARD, unseen]) is None


def test_a_passage_of_no_word_pieces_scores_zero_wherever_it_stands(late):
    mark = Chunk(chunk_id="mark", doc_id="d", title="t", year=2016, section="", page=None, position=0, text="\u0301")
    tokens: dict = {}
    late._emb.embed_composed(window_parts(mark), tokens)
    assert all(len(v) == 0 for v in tokens.values())
    late._records.add_piece_tokens(tokens)
    last = late.scores("Who sits on the federation board?", [BOARD, PHARMACY, mark])
    first = late.scores("Who sits on the federation board?", [mark, BOARD, PHARMACY])
    assert last[2] == 0.0 and first[0] == 0.0 and np.allclose(last[:2], first[1:])


def test_blend_scales_both_signals_before_weighting():
    fused, maxsim = np.array([2.0, 1.0, 0.5]), np.array([0.3, 0.7, 0.5])
    assert np.allclose(blend(fused, maxsim, 0.0), [1.0, 0.5, 0.25])
    assert np.allclose(blend(fused, maxsim, 0.2), [0.8 * 1.0, 0.8 * 0.5 + 0.2, 0.8 * 0.25 + 0.2 * 0.5])
    assert np.allclose(blend(fused, np.array([0.4, 0.4, 0.4]), 0.2), [0.8, 0.4, 0.2])  # no spread, no say


@pytest.mark.slow
def test_reranking_reorders_the_best_passages_but_keeps_which_ones(assistant):
    retriever = assistant.retriever
    assert assistant.status()["rerank"].startswith("on")
    questions = ["Which quality measures improved most in the large-scale practices?",
                 "How did Fleetwood change the skill mix across its three practices?",
                 "Who should sit on the board of a larger-scale general practice organisation?"]
    weight, changed = retriever.rerank_weight, 0
    try:
        for question in questions:
            retriever.rerank_weight = 0.0
            plain = retriever.retrieve(question, retriever.rerank_depth).passages
            retriever.rerank_weight = 0.2
            reranked = retriever.retrieve(question, retriever.rerank_depth).passages
            assert {p.chunk.chunk_id for p in plain} == {p.chunk.chunk_id for p in reranked}
            assert [p.score for p in reranked] == sorted((p.score for p in reranked), reverse=True)
            assert [p.rank for p in reranked] == list(range(1, len(reranked) + 1))
            changed += [p.chunk.chunk_id for p in plain] != [p.chunk.chunk_id for p in reranked]
    finally:
        retriever.rerank_weight = weight
    assert changed, "the rerank reordered none of the questions: are word-piece vectors stored?"


@pytest.mark.slow
def test_status_says_whether_the_rerank_runs_and_weights_outside_0_to_1_are_refused(index_dir):
    from pydantic import ValidationError

    from assistant.pipeline import Assistant
    from conftest import make_settings

    assert Assistant.from_settings(make_settings(index_dir, rerank_weight=0.0)).status()["rerank"].startswith("off")
    with pytest.raises(ValidationError):
        make_settings(index_dir, rerank_weight=1.5)
