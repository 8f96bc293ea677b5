"""Ingest is incremental and atomic, and refuses an index built by another embedding model."""

import shutil

import pytest

from assistant.errors import IndexError_
from assistant.pipeline import Assistant
from conftest import make_settings

pytestmark = pytest.mark.slow


@pytest.fixture()
def private_index(index_dir, tmp_path):
    """A copy of the session index that a test may change."""
    shutil.copytree(index_dir, tmp_path / "ix")
    return tmp_path / "ix"


def test_second_ingest_with_nothing_changed_embeds_nothing(private_index):
    report = Assistant.from_settings(make_settings(private_index)).ingest()
    assert report.chunks_embedded == 0
    assert len(report.unchanged) == 5 and not (report.added or report.updated or report.removed)


def test_changing_one_file_re_embeds_only_that_files_new_chunks(private_index):
    path = private_index / "knowledge" / "nuffield-2013-securing-the-future-conclusions-slides.txt"
    path.write_text(path.read_text() + "\n\nRiverside pilot: nine practices pooled their pharmacists in 2019.\n")
    assistant = Assistant.from_settings(make_settings(private_index))
    report = assistant.ingest()
    assert report.updated == [path.name]
    assert len(report.unchanged) == 4
    assert 1 <= report.chunks_embedded <= 3
    found = assistant.retrieve("Which pilot pooled pharmacists across nine practices?", 3)
    assert "Riverside pilot" in found.passages[0].chunk.text


def test_a_deleted_file_loses_its_chunks(private_index):
    (private_index / "knowledge" / "nuffield-2013-securing-the-future-conclusions-slides.txt").unlink()
    assistant = Assistant.from_settings(make_settings(private_index))
    report = assistant.ingest()
    assert report.removed == ["nuffield-2013-securing-the-future-conclusions-slides.txt"]
    assert all(d["doc_id"] != "nuffield-2013-conclusions-slides" for d in assistant.documents())
    hits = assistant.retrieve("conclusions and new models slides", 10).passages
    assert all(p.chunk.doc_id != "nuffield-2013-conclusions-slides" for p in hits)


def test_an_ingest_that_fails_midway_leaves_the_previous_index_answering(private_index):
    assistant = Assistant.from_settings(make_settings(private_index))
    before = assistant.status()["chunks"]
    (private_index / "knowledge" / "new-notes.txt").write_text("Riverside federation notes on board elections. " * 200)

    class Boom(Exception):
        pass

    def explode(stage, done, total):
        if stage == "embed":
            raise Boom()

    with pytest.raises(Boom):
        assistant.ingest(explode)
    after = Assistant.from_settings(make_settings(private_index))
    assert after.status()["chunks"] == before
    answer = after.ask("How did the case-study organisations manage conflicts of interest when bidding for new services?")
    assert answer.citations and not answer.refused


def test_an_index_built_by_another_embedding_model_asks_for_a_rebuild(private_index):
    from assistant.search.store import Records

    records = Records(private_index / "data" / "records.sqlite3")
    records.commit([], [], {"embedding_model": "some-other-model"})
    with pytest.raises(IndexError_, match="--rebuild"):
        Assistant.from_settings(make_settings(private_index)).ingest()


def test_empty_binary_and_non_utf8_files_are_skipped_and_the_rest_indexed(private_index):
    k = private_index / "knowledge"
    (k / "empty.txt").write_text("")
    (k / "blob.txt").write_bytes(bytes(range(256)) * 20)
    (k / "latin.txt").write_bytes("R\xe9sum\xe9 of federation governance".encode("latin-1"))
    report = Assistant.from_settings(make_settings(private_index)).ingest()
    assert sorted(s.filename for s in report.skipped) == ["blob.txt", "empty.txt", "latin.txt"]
    assert len(report.unchanged) == 5


def test_a_rebuild_after_a_change_of_embedding_model_re_embeds_everything(private_index):
    from assistant.search.store import Records

    Records(private_index / "data" / "records.sqlite3").commit([], [], {"embedding_model": "some-other-model"})
    assistant = Assistant.from_settings(make_settings(private_index))
    with pytest.raises(IndexError_, match="--rebuild"):
        assistant.ask("What is a GP federation?")
    report = assistant.ingest(rebuild=True)
    assert len(report.added) == 5 and report.chunks_embedded == report.chunks_total > 100
    assert assistant.ask("What legal form did the Suffolk GP Federation take?").citations


def test_an_index_whose_window_vectors_were_made_another_way_is_re_embedded_in_full(private_index):
    from assistant.search.store import Records

    records = Records(private_index / "data" / "records.sqlite3")
    total = records.count()
    records.commit([], [], {"vectors": "window-text"})
    assistant = Assistant.from_settings(make_settings(private_index))
    report = assistant.ingest()
    assert report.chunks_embedded == total and len(report.updated) == 5
    assert records.get_meta("vectors") == "composed-pieces+tokens"
    assert assistant.ingest().chunks_embedded == 0


def test_every_piece_of_every_active_chunk_has_word_piece_vectors_and_removed_ones_go(private_index):
    from assistant.ingest.chunking import window_parts
    from assistant.search.store import Records

    records = Records(private_index / "data" / "records.sqlite3")

    def pieces():
        return {p for c in records.chunks() for w in window_parts(c) for p in w}

    before = pieces()
    assert set(records.piece_tokens(before)) == before
    (private_index / "knowledge" / "nuffield-2013-securing-the-future-conclusions-slides.txt").unlink()
    Assistant.from_settings(make_settings(private_index)).ingest()
    after = pieces()
    assert after < before and set(records.piece_tokens(before)) == after  # the slides' own pieces were pruned
