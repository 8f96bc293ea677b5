"""Faults with the real failing component: a slow or rate-limiting model, a missing or corrupt index, a full disk,
a dead model behind the UI, and SIGKILL in the middle of an ingest."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from assistant.ingest.chunking import sentence_windows
from tests.servers import free_port, running_app
from assistant.errors import IndexError_, StoreError
from assistant.feedback import FeedbackStore
from assistant.pipeline import Assistant
from assistant.search.store import Records
from conftest import make_settings
from fake_openai import Delay, Status, running_fake_openai

BIN = Path(sys.executable).parent / "assistant"
QUESTION = "How did the case-study organisations manage conflicts of interest when bidding for new services?"



def _llm_assistant(base: Path, url: str, **overrides) -> Assistant:
    values = dict(openai_api_key="x", openai_base_url=url, llm_timeout_s=5, llm_max_retries=0, answerer="llm")
    return Assistant.from_settings(make_settings(base, **{**values, **overrides}))


@pytest.fixture()
def private_index(index_dir, tmp_path):
    """A copy of the session index that a test may damage."""
    shutil.copytree(index_dir, tmp_path / "ix")
    return tmp_path / "ix"


# The language model ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_model_slower_than_the_timeout_falls_back_to_the_offline_answer_with_a_notice(index_dir):
    with running_fake_openai(default=Delay(60)) as fake:
        started = time.monotonic()
        answer = _llm_assistant(index_dir, fake.url, llm_timeout_s=1).ask(QUESTION)
        elapsed = time.monotonic() - started
    assert answer.answerer == "offline" and answer.citations and not answer.refused
    assert any("timed out" in n and "offline answer" in n for n in answer.notices), answer.notices
    assert elapsed < 20  # the reader waited about one timeout, not the model's 60 s
    assert len(fake.completions) == 1


@pytest.mark.slow
def test_a_model_that_always_answers_429_falls_back_after_its_retries(index_dir):
    with running_fake_openai(default=Status(429, retry_after="0", message="Rate limit reached")) as fake:
        answer = _llm_assistant(index_dir, fake.url, llm_max_retries=2).ask(QUESTION)
    assert answer.answerer == "offline" and answer.citations and not answer.refused
    assert any("429" in n and "offline answer" in n for n in answer.notices), answer.notices
    assert len(fake.completions) == 3  # the first try and two retries, then no more load on a throttled server


# The index -------------------------------------------------------------------------------------------------------
def test_a_fresh_data_directory_says_to_run_ingest(tmp_path):
    (tmp_path / "knowledge").mkdir()
    assistant = Assistant.from_settings(make_settings(tmp_path))
    assert assistant.status()["chunks"] == 0
    with pytest.raises(IndexError_, match="assistant ingest"):
        assistant.ask(QUESTION)


@pytest.mark.slow
def test_a_corrupt_index_record_says_how_to_rebuild_and_the_advice_works(private_index):
    db = private_index / "data" / "records.sqlite3"
    for extra in db.parent.glob("records.sqlite3-*"):
        extra.unlink()
    db.write_bytes(b"\x00not a database\xff" * 2048)
    with pytest.raises(IndexError_, match=r"run `assistant ingest`") as err:
        Assistant.from_settings(make_settings(private_index))
    assert str(db) in str(err.value) and "corrupt" in str(err.value)
    db.unlink()  # what the message says to do
    assistant = Assistant.from_settings(make_settings(private_index))
    report = assistant.ingest()
    assert len(report.added) == 5 and report.chunks_embedded == 0  # the stored vectors are reused
    assert assistant.ask(QUESTION).citations


@pytest.mark.slow
def test_a_corrupt_vector_database_gives_a_clear_error_naming_the_folder_and_the_rebuild(private_index):
    chroma = private_index / "data" / "chroma"
    (chroma / "chroma.sqlite3").write_bytes(b"junk" * 1024)
    with pytest.raises(StoreError, match=r"assistant ingest --rebuild") as err:
        Assistant.from_settings(make_settings(private_index)).ask(QUESTION)
    assert str(chroma) in str(err.value)


@pytest.mark.slow
def test_corrupt_vector_index_files_give_a_clear_error_when_asking(private_index):
    files = list((private_index / "data" / "chroma").rglob("*.bin"))
    assert files
    for f in files:
        f.write_bytes(b"junk" * 100)
    assistant = Assistant.from_settings(make_settings(private_index))
    # Found by the store check (their sizes disagree with header.bin) or by Chroma reading them.
    with pytest.raises((StoreError, IndexError_), match=r"assistant ingest --rebuild"):
        assistant.ask(QUESTION)


# A full disk -----------------------------------------------------------------------------------------------------
@contextmanager
def tiny_filesystem(path: Path, size: str = "256k"):
    """A real tmpfs of `size` mounted at `path` (skips where mounting is not permitted)."""
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def fill(path: Path) -> int:
    """Write `path` until the filesystem is full; returns the bytes written."""
    written = 0
    with path.open("wb", buffering=0) as fh:
        try:
            while True:
                written += fh.write(b"\xff" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return written


def test_a_full_disk_when_saving_feedback_raises_store_error_and_keeps_earlier_rows(tmp_path):
    with tiny_filesystem(tmp_path / "disk") as disk:
        store = FeedbackStore(disk / "feedback.sqlite3")
        first = store.add("How are federation boards elected?", "By the member practices [1].", "[]", "up", "clear")
        assert fill(disk / "filler") > 0
        with pytest.raises(StoreError, match="disk is not full"):
            store.add("How are boards run?", "A long answer. " * 20000, "[]", "down", "too long for the disk")
        (disk / "filler").unlink()
        rows = store.all()
        assert [(r["id"], r["comment"]) for r in rows] == [(first, "clear")]
        with closing(sqlite3.connect(store.path)) as con:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.add("Again?", "Yes [1].", "[]", "up") == first + 1  # writable again once space is freed


# The UI ----------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_ui_with_a_dead_model_answers_offline_and_outlives_an_empty_question(index_dir):
    from gradio_client import Client

    settings = make_settings(index_dir, openai_api_key="x", openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
                             llm_max_retries=0, llm_timeout_s=5)
    with running_app(Assistant.from_settings(settings), settings) as url:
        client = Client(url, verbose=False)
        first = client.predict(QUESTION, "", api_name="/ask")
        assert first["answerer"] == "offline" and first["citations"] and not first["refused"]
        assert any("could not be reached" in n or "failed" in n for n in first["notices"]), first["notices"]
        with pytest.raises(Exception, match="empty"):
            client.predict("   ", "", api_name="/ask")
        second = client.predict("What legal forms can a GP federation take?", "", api_name="/ask")
        assert second["citations"] and second["notices"]


# SIGKILL in the middle of an ingest ------------------------------------------------------------------------------
def minutes(n: int = 400, varied: bool = False) -> str:
    """A long knowledge file whose sentences all differ (so every window is embedded); `varied` mixes paragraph lengths."""
    places = ["Riverside", "Hillcrest", "Lakeside", "Moorfield", "Brookvale", "Oakham", "Westmere", "Northgate"]
    things = ["pharmacists", "back-office staff", "estates", "nurse training", "IT systems", "extended hours", "HR advice"]
    paras = [f"In meeting {i + 1}, the {places[i % 8]} federation of {i % 17 + 3} practices agreed to share "
             f"{things[(i // 8) % 7]} from April {2010 + i % 9}. The board minuted {i * 7 % 101} objections and recorded "
             f"vote number {i * 13 % 997}. Member practice {i % 23 + 1} asked how the pool would be funded after "
             f"year {i % 5 + 1}." + (" The chair thanked the practice managers for the figures." * (i % 3) if varied else "")
             for i in range(n)]
    return "Riverside federation minutes\n\n" + "\n\n".join(paras) + "\n"


def vector_count(chroma: Path) -> int:
    """Vectors in the embedded store, read from its SQLite file without opening Chroma (-1 when unreadable)."""
    try:
        with closing(sqlite3.connect(f"file:{chroma / 'chroma.sqlite3'}?mode=ro", uri=True, timeout=1)) as con:
            return int(con.execute("SELECT count(*) FROM embeddings").fetchone()[0])
    except sqlite3.Error:
        return -1


@pytest.mark.slow
def test_sigkill_while_embedding_leaves_the_previous_index_answering_and_a_rerun_completes(private_index):
    records = Records(private_index / "data" / "records.sqlite3")
    chunks_before = sum(len(d["chunk_ids"]) for d in records.documents().values())
    chroma = private_index / "data" / "chroma"
    vectors_before = vector_count(chroma)
    (private_index / "knowledge" / "riverside-minutes.txt").write_text(minutes(), encoding="utf-8")
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(private_index / "data"),
           "ASSISTANT_KNOWLEDGE_DIR": str(private_index / "knowledge"),
           "TIKTOKEN_CACHE_DIR": str(private_index / "tiktoken")}
    with open(private_index / "ingest.log", "wb") as log:
        proc = subprocess.Popen([str(BIN), "ingest"], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        # Wait until the first batch of new vectors is stored: the ingest is embedding, not yet committed.
        while proc.poll() is None and vector_count(chroma) <= vectors_before and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, (private_index / "ingest.log").read_text()
    assert vector_count(chroma) > vectors_before  # it died with vectors written but no commit

    after = Assistant.from_settings(make_settings(private_index))
    status = after.status()
    assert status["chunks"] == chunks_before and status["documents"] == 5
    answer = after.ask(QUESTION)
    assert answer.citations and not answer.refused
    assert all(p.chunk.doc_id != "riverside-minutes" for p in after.retrieve("Moorfield federation meeting vote").passages)

    report = after.ingest()
    assert report.added == ["riverside-minutes.txt"] and len(report.unchanged) == 5
    assert after.status()["chunks"] > chunks_before
    top = after.retrieve("What did the Moorfield federation of 7 practices agree in meeting 4?").passages[0]
    assert top.chunk.doc_id == "riverside-minutes"


class Interrupted(Exception):
    """Stands for a crash after the first batch of vectors was stored."""


@pytest.mark.slow
def test_a_chunk_cut_in_half_by_an_interrupted_ingest_gets_all_its_windows_on_the_rerun(private_index):
    from assistant.ingest.chunking import Chunker
    from assistant.search.embeddings import embedding_name, make_embeddings
    from assistant.ingest.indexing import document_chunks
    from assistant.ingest.loading import load_directory
    from assistant.search.store import VectorStore, make_client
    from assistant.ingest.tokens import count_tokens_factory

    (private_index / "knowledge" / "riverside-minutes.txt").write_text(minutes(60, varied=True), encoding="utf-8")
    # Small steps, so that the first one ends inside some chunk's run of windows.
    settings = make_settings(private_index).model_copy(update={"ingest_batch": 7})
    assistant = Assistant.from_settings(settings)
    store = VectorStore(make_client(settings), settings.collection, embedding_name(make_embeddings(settings)))
    chunker = Chunker(count_tokens_factory(settings.tiktoken_dir), settings.chunk_tokens, settings.chunk_overlap,
                      settings.chunk_min_tokens)
    docs, _ = load_directory(settings.knowledge_dir)
    new = document_chunks(next(d for d in docs if d.meta.filename == "riverside-minutes.txt"), chunker)

    def stored(chunk, ids) -> int:
        return sum(f"{chunk.chunk_id}#{j}" in ids for j in range(len(sentence_windows(chunk))))

    def crash_after_first_batch(stage: str, done: int, total: int) -> None:
        if stage == "embed":
            raise Interrupted()

    with pytest.raises(Interrupted):
        assistant.ingest(crash_after_first_batch)
    ids = store.ids()
    assert any(0 < stored(c, ids) < len(sentence_windows(c)) for c in new)  # the crash cut some chunk in half
    assert assistant.ingest().added == ["riverside-minutes.txt"]
    ids = store.ids()
    missing = [f"{c.chunk_id}#{j}" for c in Records(settings.records_db).chunks()
               for j in range(len(sentence_windows(c))) if f"{c.chunk_id}#{j}" not in ids]
    assert not missing, f"{len(missing)} windows never embedded, e.g. {missing[:3]}"
