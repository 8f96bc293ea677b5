"""The packaged MiniLM: direct and composed window vectors, and the OpenAI fallback path for composition."""

import numpy as np
import pytest

from assistant.ingest.chunking import window_parts
from assistant.search.embeddings import MiniLMEmbeddings, embed_windows, vector_layout
from assistant.schema import Chunk


@pytest.fixture(scope="module")
def minilm():
    return MiniLMEmbeddings(batch_size=4)


def _cos(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_a_window_of_one_piece_composes_to_the_same_vector_as_its_text(minilm):
    text = "The Suffolk GP Federation is a community interest company owned by its member practices."
    composed = minilm.embed_composed([(text,)])[0]
    assert _cos(composed, minilm.embed_documents([text])[0]) > 0.9999
    assert abs(np.linalg.norm(composed) - 1.0) < 1e-5


def test_composed_windows_stay_close_to_embedding_the_whole_window_text(minilm):
    chunk = Chunk(chunk_id="c", doc_id="d", title="t", year=2013, section="Governance", page=None, position=0,
                  text="The federation has a board of nine GPs. Practice managers sit on an operations group. "
                       "Members vote on each new service contract. A chair is elected every two years.")
    windows = window_parts(chunk)
    assert len(windows) == 2 and all(w[0] == "Governance" for w in windows)
    composed = minilm.embed_composed(windows)
    direct = minilm.embed_documents([" ".join(w) for w in windows])
    sims = [_cos(c, d) for c, d in zip(composed, direct)]
    assert min(sims) > 0.85, sims  # same topic; no attention across pieces, so not identical
    other = minilm.embed_documents(["How do I make a pivot table in a spreadsheet?"])[0]
    assert all(_cos(c, other) < min(sims) for c in composed)


def test_models_without_composition_embed_the_joined_window_text():
    class Plain:
        def __init__(self):
            self.seen = []

        def embed_documents(self, texts):
            self.seen += texts
            return [[float(len(t))] for t in texts]

    plain = Plain()
    assert embed_windows(plain, [("Heading", "One.", "Two.")]) == [[float(len("Heading One. Two."))]]
    assert plain.seen == ["Heading One. Two."] and vector_layout(plain) == "window-text"
    assert vector_layout(MiniLMEmbeddings.__new__(MiniLMEmbeddings)) == "composed-pieces+tokens"


def test_word_piece_vectors_come_from_the_same_run_as_the_window_vectors(minilm):
    windows = [("Governance", "The board has nine GPs."), ("Governance", "Members vote on contracts.")]
    tokens: dict = {}
    assert np.allclose(minilm.embed_composed(windows, tokens), minilm.embed_composed(windows), atol=1e-6)
    assert set(tokens) == {"Governance", "The board has nine GPs.", "Members vote on contracts."}
    board = tokens["The board has nine GPs."]
    assert board.dtype == np.int8 and board.shape[1] == 384
    assert board.shape[0] == minilm.word_pieces("The board has nine GPs.") - 2  # [CLS] and [SEP] left out
    norms = np.linalg.norm(board.astype(np.float32) / 127, axis=1)
    assert np.allclose(norms, 1.0, atol=0.02)  # unit vectors, int8 x127


def test_a_question_gives_its_vector_and_word_pieces_from_one_cached_run(minilm):
    vectors, pieces = minilm.query_tokens("Who governs a federation?")
    assert pieces == ["who", "govern", "##s", "a", "federation", "?"] and len(vectors) == len(pieces)
    assert np.allclose(minilm.embed_query("Who governs a federation?"),
                       minilm.embed_documents(["Who governs a federation?"])[0], atol=1e-6)
