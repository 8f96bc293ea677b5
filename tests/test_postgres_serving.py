"""Serving from PostgreSQL and a Chroma server: ingest, answer and upload; a killed ingest leaves the previous index
answering; two serving processes see each other's ingest, feedback, conversations and audit entries."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from assistant.audit import AuditLog
from assistant.pipeline import Assistant
from assistant.search.store import Records
from tests.servers import chroma_server
from conftest import KNOWLEDGE, make_settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How did the case-study organisations manage conflicts of interest when bidding for new services?"
NEW_QUESTION = "Which practices in the Moorfield federation pooled their clinical pharmacists, and when?"
# Two of the five reports keep each ingest short (about 8 s here instead of 42 s for all five).
REPORTS = ("nuffield-2013-new-models-of-primary-care-practical-lessons.txt",
           "nuffield-2013-securing-the-future-conclusions-slides.txt")


def minutes() -> str:
    """A new document whose facts no report holds."""
    return ("Moorfield federation board minutes\n\n" + "\n\n".join(
        f"In month {i + 1}, the nine Moorfield federation practices pooled their clinical pharmacists; "
        f"pharmacist {i + 1} covered Elmstead, Harrowby and Quill Lane practices from spring 2019, "
        f"reviewing {20 + i} repeat prescriptions a week." for i in range(12)) + "\n")


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    """A real `chroma run` server shared by this module's tests (each test has its own collection)."""
    with chroma_server(tmp_path_factory.mktemp("chroma") / "store") as server:
        yield server


@pytest.fixture()
def region(database_url, chroma, tmp_path) -> dict[str, str]:
    """The ASSISTANT_* variables of one deployment: its PostgreSQL database, Chroma collection and library folder."""
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    for name in (*REPORTS, "metadata.json"):
        shutil.copy(KNOWLEDGE / name, knowledge / name)
    return {"ASSISTANT_DATABASE_URL": database_url, "ASSISTANT_CHROMA_URL": chroma.url,
            "ASSISTANT_COLLECTION": f"c{uuid.uuid4().hex[:8]}", "ASSISTANT_KNOWLEDGE_DIR": str(knowledge)}


def _settings(region: dict[str, str], base: Path):
    return make_settings(base, database_url=region["ASSISTANT_DATABASE_URL"], chroma_url=region["ASSISTANT_CHROMA_URL"],
                         collection=region["ASSISTANT_COLLECTION"], knowledge_dir=Path(region["ASSISTANT_KNOWLEDGE_DIR"]))


class Replica:
    """One serving process (tests/replica.py) with its own data directory, sharing the region's stores."""

    def __init__(self, region: dict[str, str], base: Path) -> None:
        base.mkdir(parents=True, exist_ok=True)
        self.log = base / "replica.log"
        env = {**os.environ, **region, "ASSISTANT_DATA_DIR": str(base / "data")}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "replica.py")], cwd=ROOT, env=env,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        self._reply()  # ready

    def _reply(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError(f"replica exited with {self.proc.wait(timeout=30)}: {self.log.read_text()[-2000:]}")
        return json.loads(line)

    def __call__(self, op: str, **args) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        reply = self._reply()
        assert "error" not in reply, reply["error"]
        return reply

    def close(self) -> None:
        """End the process (stdin closed, then killed if it lingers)."""
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def test_ingest_answer_and_upload_keep_their_state_in_postgresql_and_no_sqlite_file(region, tmp_path):
    settings = _settings(region, tmp_path)
    assistant = Assistant.from_settings(settings)
    report = assistant.ingest()
    assert sorted(report.added) == sorted(REPORTS) and report.chunks_embedded > 50
    answer = assistant.ask(QUESTION)
    assert not answer.refused and "nuffield-2013-practical-lessons" in {c.passage.chunk.doc_id for c in answer.citations}
    upload = tmp_path / "incoming" / "moorfield-minutes.txt"
    upload.parent.mkdir()
    upload.write_text(minutes(), encoding="utf-8")
    assert assistant.add_documents([upload], user="tester").kept == ["moorfield-minutes.txt"]
    assert "moorfield" in assistant.retrieve(NEW_QUESTION).passages[0].chunk.doc_id
    record = Records(settings.records_db)
    assert len(record.documents()) == 3 and len(record.active_ids()) == assistant.status()["chunks"]
    assert [(e["user"], e["action"], e["filename"]) for e in AuditLog(settings.audit_db).entries()] == [
        ("tester", "add", "moorfield-minutes.txt")]
    assert list((tmp_path / "data").rglob("*.sqlite3")) == []  # records, feedback, audit, chats: none in files


def test_a_killed_ingest_leaves_the_previous_index_answering_and_a_rerun_completes(region, tmp_path):
    import chromadb

    settings = _settings(region, tmp_path)
    before = Assistant.from_settings(settings).ingest()
    record = Records(region["ASSISTANT_DATABASE_URL"])
    generation, documents = record.get_meta("generation"), record.documents()
    url = region["ASSISTANT_CHROMA_URL"].rsplit(":", 1)
    collection = chromadb.HttpClient(host="127.0.0.1", port=int(url[1])).get_collection(region["ASSISTANT_COLLECTION"])
    vectors = collection.count()
    (Path(region["ASSISTANT_KNOWLEDGE_DIR"]) / "moorfield-minutes.txt").write_text(minutes(), encoding="utf-8")

    doomed = Replica(region, tmp_path / "doomed")
    with pytest.raises(EOFError, match="replica exited with -9"):
        doomed("ingest_killed_before_commit")
    assert doomed.proc.returncode == -signal.SIGKILL
    assert collection.count() > vectors  # it died with the new vectors stored and the record not committed
    assert record.get_meta("generation") == generation and record.documents() == documents

    after = Assistant.from_settings(settings)
    assert after.status()["documents"] == 2 and after.status()["chunks"] == before.chunks_total
    answer = after.ask(QUESTION)
    assert answer.citations and not answer.refused
    assert all("moorfield" not in p.chunk.doc_id for p in after.retrieve(NEW_QUESTION).passages)
    rerun = after.ingest()
    assert rerun.added == ["moorfield-minutes.txt"] and sorted(rerun.unchanged) == sorted(REPORTS)
    assert "moorfield" in after.retrieve(NEW_QUESTION).passages[0].chunk.doc_id


def test_two_serving_processes_see_each_others_ingest_feedback_conversations_and_audit(region, tmp_path):
    Assistant.from_settings(_settings(region, tmp_path / "first")).ingest()
    first, second = Replica(region, tmp_path / "a"), Replica(region, tmp_path / "b")
    try:
        answers = first("ask", question=QUESTION), second("ask", question=QUESTION)
        assert answers[0]["cited"] == answers[1]["cited"] and answers[0]["cited"]
        assert "moorfield-minutes" not in second("ask", question=NEW_QUESTION)["cited"]

        upload = tmp_path / "incoming" / "moorfield-minutes.txt"
        upload.parent.mkdir()
        upload.write_text(minutes(), encoding="utf-8")
        assert first("upload", path=str(upload), user="admin")["kept"] == ["moorfield-minutes.txt"]
        assert second("status") == first("status") and second("status")["documents"] == 3
        assert any("moorfield" in d for d in second("ask", question=NEW_QUESTION)["cited"])  # no restart needed
        assert second("audit")["entries"] == [["admin", "add", "moorfield-minutes.txt"]]

        first("feedback_add", question="Was the federation answer right?", rating="up")
        second("feedback_add", question="Was the pharmacist answer right?", rating="down")
        expected = ["Was the federation answer right?", "Was the pharmacist answer right?"]
        assert first("feedback")["questions"] == second("feedback")["questions"] == expected

        saved = second("save", owner="alice", answers=[answers[1]["answer"]])["id"]
        reopened = first("load", owner="alice", conversation_id=saved)["answers"]
        assert reopened[0]["question"] == QUESTION
        assert first("load", owner="bob", conversation_id=saved)["answers"] is None
    finally:
        first.close()
        second.close()
