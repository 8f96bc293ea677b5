"""Server mode: the same ingest and ask against a real `chroma run` on 127.0.0.1, and a clear error when it is down."""

import pytest

from tests.servers import chroma_server, free_port
from assistant.errors import StoreError
from assistant.pipeline import Assistant
from conftest import copy_knowledge, make_settings

pytestmark = pytest.mark.slow
QUESTION = "How did the case-study organisations manage conflicts of interest when bidding for new services?"


def test_ingest_ask_and_reingest_work_against_a_chroma_server(tmp_path):
    copy_knowledge(tmp_path / "knowledge")
    with chroma_server(tmp_path / "chroma-server") as (url, _):
        settings = make_settings(tmp_path, chroma_url=url)
        assistant = Assistant.from_settings(settings)
        first = assistant.ingest()
        assert len(first.added) == 5 and first.chunks_embedded > 100
        assert not (tmp_path / "data" / "chroma").exists()  # nothing went to the embedded store
        answer = assistant.ask(QUESTION)
        assert answer.citations and not answer.refused
        assert any(c.passage.chunk.doc_id == "nuffield-2013-practical-lessons" for c in answer.citations)
        # A second replica with the same settings sees the same index and embeds nothing.
        again = Assistant.from_settings(settings).ingest()
        assert again.chunks_embedded == 0 and len(again.unchanged) == 5
        path = tmp_path / "knowledge" / "nuffield-2013-securing-the-future-conclusions-slides.txt"
        path.write_text(path.read_text() + "\n\nRiverside pilot: nine practices pooled their pharmacists in 2019.\n")
        changed = Assistant.from_settings(settings).ingest()
        assert changed.updated == [path.name] and 1 <= changed.chunks_embedded <= 3


def test_a_chroma_server_that_is_down_gives_a_clear_error(tmp_path):
    copy_knowledge(tmp_path / "knowledge")
    settings = make_settings(tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreError, match="start the server"):
        Assistant.from_settings(settings)


def test_a_chroma_server_that_stops_mid_session_gives_a_clear_error_on_ask(tmp_path):
    copy_knowledge(tmp_path / "knowledge")
    with chroma_server(tmp_path / "chroma-server") as (url, _):
        assistant = Assistant.from_settings(make_settings(tmp_path, chroma_url=url))
        (tmp_path / "knowledge" / "nuffield-kingsfund-2013-securing-the-future-of-general-practice.txt").unlink()
        (tmp_path / "knowledge" / "hlp-2018-next-steps-strategic-commissioning-framework-london.txt").unlink()
        assistant.ingest()
        assert assistant.ask(QUESTION).citations
    with pytest.raises(StoreError, match="running"):
        assistant.ask("What is a super-partnership?")
