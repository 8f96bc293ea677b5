"""Bounded uploads against a running server process (issue #18, H3): a DOCX bomb, a PDF over the page limit and a
50 MB text are refused by the worker while another user's question is answered, and the server's memory stays
under its limit; one unreadable file never stops the others, in uploads or in ingest."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import make_settings
from docmaker import write_docx_bomb, write_pdf, write_pdf_over_pypdf_limit
from gradio_queue import NO_DETAILS, QueueClient, api_event, event, peak_rss_mb
from tests.servers import free_port

# The server's whole resident memory, model and index included; a bomb read in the server itself took 4.3 GB.
SERVER_RSS_LIMIT_MB = 2048
GOOD = ("# Ashby Health Partnership\n\nAshby Health Partnership is a GP federation of nine practices formed in 2017. "
        "Its board meets on the first Monday of each month and publishes a register of interests.\n")


@pytest.fixture(scope="module")
def server(index_dir, tmp_path_factory):
    """`assistant serve` in its own process over a copy of the index, with a login: admin and reader."""
    base = tmp_path_factory.mktemp("uploads") / "site"
    shutil.copytree(index_dir, base)
    settings = make_settings(base)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    env.update(ASSISTANT_DATA_DIR=str(settings.data_dir), ASSISTANT_KNOWLEDGE_DIR=str(settings.knowledge_dir),
               TIKTOKEN_CACHE_DIR=str(settings.tiktoken_dir), ASSISTANT_AUTH="admin:admin-pass,reader:reader-pass",
               ASSISTANT_ADMINS="admin", ASSISTANT_LOG_QUESTIONS="false", ASSISTANT_ANSWERER="offline")
    binary = Path(sys.executable).parent / "assistant"
    proc = subprocess.Popen([str(binary), "serve", "--port", str(port)], cwd=base, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()
    threading.Thread(target=lambda: [ready.set() for line in proc.stdout if "Federation Advisor is at" in line],
                     daemon=True).start()
    if not ready.wait(240):
        proc.kill()
        pytest.fail("the server did not start in 240 s")
    yield f"http://127.0.0.1:{port}", proc.pid, settings
    proc.terminate()
    proc.wait(timeout=30)


class RssSampler(threading.Thread):
    """Reads a process's resident memory five times a second until stopped; keeps the largest."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, peak_rss_mb(self.pid)[0])
            time.sleep(0.2)


def test_bombs_are_refused_by_the_worker_while_another_user_is_answered_and_server_memory_stays_bounded(
        server, tmp_path):
    url, pid, settings = server
    bomb = write_docx_bomb(tmp_path / "governance-pack.docx", unpacked_mb=600)
    pages = write_pdf(tmp_path / "board-minutes.pdf",
                      [[f"Page {i}: the federation board reviewed its contracts and governance."] for i in range(1001)])
    big = tmp_path / "huge-notes.txt"
    with big.open("w", encoding="utf-8") as fh:
        line = "The practices in the federation share a pharmacist and a business manager.\n"
        fh.write(line * (50_000_000 // len(line)))
    good = tmp_path / "ashby-health-partnership.txt"
    good.write_text(GOOD, encoding="utf-8")
    admin, reader = QueueClient(url, timeout=300), QueueClient(url)
    admin.login("admin", "admin-pass")
    reader.login("reader", "reader-pass")
    config = admin.config()
    fn_add, trigger = event(config, "fa-add", "click")
    files = [admin.upload(p) for p in (bomb, pages, big, good)]
    sampler = RssSampler(pid)
    sampler.start()
    added: dict = {}
    uploading = threading.Thread(target=lambda: added.update(
        outcome=admin.run(fn_add, [files, *NO_DETAILS], trigger), ended=time.monotonic()))
    started = time.monotonic()
    uploading.start()
    answer = reader.run(api_event(config, "ask"), ["How should a GP federation manage conflicts of interest?", ""])
    answered = time.monotonic()
    uploading.join(300)
    sampler.running = False
    sampler.join()
    _, hwm = peak_rss_mb(pid)
    print(f"\nuploads: {bomb.stat().st_size / 2**20:.1f} MB DOCX (600 MB unpacked), {big.stat().st_size / 1e6:.0f} MB text; "
          f"server RSS: peak sampled {sampler.peak:.0f} MB, VmHWM {hwm:.0f} MB (limit {SERVER_RSS_LIMIT_MB} MB); "
          f"question answered after {answered - started:.1f} s, upload batch done after "
          f"{added.get('ended', float('nan')) - started:.1f} s")

    assert answer.success and answer.output[0]["citations"], answer.error
    outcome = added["outcome"]
    assert outcome.success, outcome.error
    report = outcome.output[0]
    assert "Added: ashby-health-partnership.txt" in report
    assert "unpacks to 600 MB, more than 100 MB" in report
    assert "1001 pages, more than 1000" in report
    assert "more than 2,000,000 characters of text" in report
    assert {p.name for p in settings.knowledge_dir.iterdir()} >= {good.name}
    assert not {bomb.name, pages.name, big.name} & {p.name for p in settings.knowledge_dir.iterdir()}
    assert not list(settings.staging_dir.rglob("*.*")), "staged files are removed after every batch"
    assert max(sampler.peak, hwm) < SERVER_RSS_LIMIT_MB


def test_the_worker_stops_a_file_that_needs_more_memory_or_time_than_its_budget(tmp_path):
    from dataclasses import replace

    from assistant.errors import KnowledgeError
    from assistant.ingest.loading import Limits
    from assistant.ingest.worker import read_isolated

    bomb = write_docx_bomb(tmp_path / "bomb.docx", unpacked_mb=300)
    unbounded = replace(Limits.from_settings(), max_unzipped_bytes=10**12)  # only the worker's budget is left
    with pytest.raises(KnowledgeError, match="needs more than 256 MB"):
        read_isolated(bomb, None, unbounded, seconds=60, memory_mb=256)
    with pytest.raises(KnowledgeError, match="took longer than 0.01 s"):
        read_isolated(bomb, None, unbounded, seconds=0.01, memory_mb=256)


def test_one_pdf_that_trips_pypdfs_limit_is_skipped_by_name_and_the_rest_is_indexed(tmp_path):
    from assistant.pipeline import Assistant

    settings = make_settings(tmp_path)
    settings.knowledge_dir.mkdir()
    (settings.knowledge_dir / "ashby-health-partnership.txt").write_text(GOOD, encoding="utf-8")
    write_pdf_over_pypdf_limit(settings.knowledge_dir / "broken-minutes.pdf")
    report = Assistant.from_settings(settings).ingest()
    assert report.added == ["ashby-health-partnership.txt"]
    assert [s.filename for s in report.skipped] == ["broken-minutes.pdf"]
    assert "LimitReachedError" in report.skipped[0].reason
