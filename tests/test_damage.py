"""A lost, emptied or damaged vector store is named with its fix, never answered "not covered"; ingest repairs it;
and a running server answers from what a CLI ingest added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.errors import AssistantError, IndexError_
from assistant.pipeline import Assistant
from conftest import make_settings
from tests.servers import free_port

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent / "assistant"
QUESTION = "How should conflicts of interest be managed when GPs both commission and provide services?"
NEW_DOC = ("Zephyrton Health Collaborative federation notes\n\n"
           "The Zephyrton Health Collaborative is a GP federation of 31 member practices, formed in 2017, which "
           "runs a shared back-office team for payroll, estates and recruitment across the borough.\n")
NEW_QUESTION = "How many member practices does the Zephyrton Health Collaborative have?"


@pytest.fixture()
def private_index(index_dir, tmp_path):
    """A copy of the session index that a test may damage."""
    shutil.copytree(index_dir, tmp_path / "ix")
    return tmp_path / "ix"


def _env(base: Path) -> dict[str, str]:
    return {**os.environ, "ASSISTANT_DATA_DIR": str(base / "data"), "ASSISTANT_KNOWLEDGE_DIR": str(base / "knowledge"),
            "TIKTOKEN_CACHE_DIR": str(base / "tiktoken")}


def test_deleting_the_chroma_folder_then_asking_gives_the_rebuild_message_and_ingest_repairs_it(private_index):
    shutil.rmtree(private_index / "data" / "chroma")
    assistant = Assistant.from_settings(make_settings(private_index))
    with pytest.raises(IndexError_, match=r"assistant ingest --rebuild") as err:
        assistant.ask(QUESTION)
    assert "empty" in str(err.value) and "not covered" not in str(err.value).lower()
    # Ingest no longer reports "0 chunks embedded, 564 indexed" over the empty store: it re-embeds, and says so.
    report = assistant.ingest()
    assert report.repaired and report.chunks_embedded == report.chunks_total > 500, report.summary()
    assert "damaged" in report.summary()
    answer = assistant.ask(QUESTION)
    assert answer.citations and not answer.refused


def test_a_store_folder_deleted_under_a_running_assistant_is_named_on_the_next_question(private_index):
    assistant = Assistant.from_settings(make_settings(private_index))
    assert assistant.ask(QUESTION).citations
    shutil.rmtree(private_index / "data" / "chroma")
    with pytest.raises(IndexError_, match=r"missing.*assistant ingest --rebuild"):
        assistant.ask(QUESTION)


def test_truncated_vector_files_are_reported_with_the_rebuild_not_answered_differently(private_index):
    files = [f for f in (private_index / "data" / "chroma").rglob("*.bin") if f.stat().st_size > 0]
    assert files
    for f in files:
        with f.open("r+b") as fh:
            fh.truncate(f.stat().st_size // 3)
    assistant = Assistant.from_settings(make_settings(private_index))
    with pytest.raises(AssistantError, match=r"assistant ingest --rebuild"):
        assistant.ask(QUESTION)


def test_the_cli_names_a_lost_store_and_its_fix(private_index):
    shutil.rmtree(private_index / "data" / "chroma")
    out = subprocess.run([str(BIN), "ask", QUESTION], capture_output=True, text=True, env=_env(private_index),
                         timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "assistant ingest --rebuild" in out.stderr and "don't cover" not in out.stdout


def test_a_cli_ingest_is_answered_by_an_already_running_server(private_index):
    from gradio_client import Client

    from ui.app import build_app, launch

    settings = make_settings(private_index)
    assistant = Assistant.from_settings(settings)
    assistant.warm()
    app = build_app(assistant, settings)
    launch(app, settings, port=free_port(), prevent_thread_lock=True)
    try:
        client = Client(app.local_url, verbose=False)
        before = client.predict(NEW_QUESTION, "", api_name="/ask")
        assert before["refused"]  # nothing about Zephyrton yet
        (private_index / "knowledge" / "zephyrton-2017-federation-notes.txt").write_text(NEW_DOC, encoding="utf-8")
        done = subprocess.run([str(BIN), "ingest"], capture_output=True, text=True, env=_env(private_index), timeout=300)
        assert done.returncode == 0 and "1 added" in done.stdout, done.stdout + done.stderr
        deadline = time.monotonic() + 60  # generous: the server checks the record's generation on every question
        while True:
            after = client.predict(NEW_QUESTION, "", api_name="/ask")
            cited = [c for c in after["citations"] if "Zephyrton" in c["quote"]]
            if cited or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert cited and "31" in after["answer"], after["answer"]
        assert after["passages"][0]["doc_id"] == "zephyrton-2017-federation-notes"
    finally:
        app.close()
