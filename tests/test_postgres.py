"""The four stores against a real PostgreSQL server (Debian's postgresql, started by the tests on a free port)."""

from __future__ import annotations

import csv

import numpy as np
import psycopg
import pytest

from assistant.audit import AuditLog
from assistant.conversations import ConversationStore
from assistant.errors import StoreError
from assistant.feedback import FeedbackStore
from assistant.schema import Chunk
from assistant.search.embeddings import MINILM_DIM
from assistant.search.store import Records
from tests.postgres import postgres_server

pytestmark = pytest.mark.slow  # starts a server


def _chunk(doc_id: str, n: int) -> Chunk:
    return Chunk(chunk_id=f"{doc_id}-{n}", doc_id=doc_id, text=f"Passage {n} of {doc_id}.", title=doc_id,
                 publisher="Nuffield Trust", year=2016, section="One", page=None, position=n)


def _doc(doc_id: str, chunks: list[Chunk]) -> tuple[dict, list[Chunk]]:
    return {"doc_id": doc_id, "filename": f"{doc_id}.txt", "sha256": doc_id * 2, "meta": {"title": doc_id}}, chunks


def test_feedback_is_stored_redacted_numbered_and_exported_from_postgresql(database_url, tmp_path):
    store = FeedbackStore(database_url)
    first = store.add("Email me at jo@example.org", "An answer [1]", '[{"n": 1}]', "up")
    second = store.add("Second question", "Another answer", "[]", "down", comment="=SUM(A1)")
    store.set_comment(first, "Helpful")
    assert second > first
    rows = FeedbackStore(database_url).all()  # a second store object: nothing kept in memory
    assert [(r["id"], r["rating"], r["comment"]) for r in rows] == [(first, "up", "Helpful"), (second, "down", "=SUM(A1)")]
    assert "jo@example.org" not in rows[0]["question"]
    with pytest.raises(StoreError, match="was not found"):
        store.set_comment(second + 100, "late")
    with store.export_csv(tmp_path / "f.csv").open(encoding="utf-8") as fh:
        exported = list(csv.reader(fh))
    assert exported[2][3] == "'=SUM(A1)" and len(exported) == 3
    assert store.path is None and "postgresql://" in store.db.where


def test_conversations_are_kept_per_owner_renamed_deleted_and_expired_in_postgresql(database_url):
    store = ConversationStore(database_url, retention_days=30)
    answers = [{"question": "What is a GP federation?", "answer": "A group of practices [1].", "notices": []}]
    mine = store.save("alice", None, answers)
    assert store.save("alice", mine, answers * 2) == mine
    theirs = store.save("bob", None, answers)
    assert [c["id"] for c in store.listed("alice")] == [mine] and store.load("bob", mine) is None
    assert len(ConversationStore(database_url).load("alice", mine) or []) == 2
    store.rename("alice", mine, "Federations")
    listed = store.listed("alice")[0]
    assert listed["title"] == "Federations" and isinstance(listed["updated_at"], float)
    # Epoch seconds keep their fraction (DOUBLE PRECISION; PostgreSQL's REAL would round to 128 s steps now).
    assert listed["updated_at"] != round(listed["updated_at"])
    assert store.delete("bob", theirs) and not store.delete("bob", theirs)
    assert store.expire(now=listed["updated_at"] + 31 * 86_400) == 1 and store.listed("alice") == []


def test_the_audit_log_keeps_every_change_in_order_in_postgresql(database_url):
    log = AuditLog(database_url)
    log.record(user="admin", action="add", filename="Minutes.txt", sha256="ab" * 32)
    log.record(user="admin", action="remove", filename="Old.txt", detail="x" * 5000)
    entries = AuditLog(database_url).entries()
    assert [(e["user"], e["action"], e["filename"]) for e in entries] == [("admin", "add", "Minutes.txt"),
                                                                         ("admin", "remove", "Old.txt")]
    assert len(entries[1]["detail"]) == 1000 and log.uploaded() == {"minutes.txt"}


def test_records_commit_replaces_documents_and_a_failed_commit_changes_nothing(database_url):
    records = Records(database_url)
    records.commit([_doc("a", [_chunk("a", 0), _chunk("a", 1)]), _doc("b", [_chunk("b", 0)])], [],
                   {"generation": "1", "embedding_model": "minilm-int8"})
    records.commit([_doc("a", [_chunk("a", 5)])], ["b"], {"generation": "2"})
    again = Records(database_url)
    assert again.get_meta("generation") == "2" and again.get_meta("embedding_model") == "minilm-int8"
    assert [c.chunk_id for c in again.chunks()] == ["a-5"] and list(again.documents()) == ["a"]
    # A commit that fails half way (a document that cannot be written as JSON) leaves every row as it was.
    broken = ({"doc_id": "c", "filename": "c.txt", "sha256": "c", "meta": {"bad": object()}}, [_chunk("c", 0)])
    with pytest.raises(TypeError):
        records.commit([_doc("d", [_chunk("d", 0)]), broken], ["a"], {"generation": "3"})
    assert again.get_meta("generation") == "2" and again.active_ids() == {"a-5"} and again.count() == 1


def test_word_piece_vectors_round_trip_as_bytea_and_are_pruned(database_url):
    records = Records(database_url)
    vectors = {"First sentence.": np.arange(2 * MINILM_DIM, dtype=np.int8).reshape(2, MINILM_DIM) % 100,
               "Second sentence.": np.full((3, MINILM_DIM), -7, dtype=np.int8)}
    records.add_piece_tokens(vectors)
    records.add_piece_tokens({"First sentence.": np.zeros((2, MINILM_DIM), dtype=np.int8)})  # a repeat keeps the first
    found = Records(database_url).piece_tokens(["First sentence.", "Second sentence.", "Never stored."])
    assert set(found) == set(vectors) and all(np.array_equal(found[t], v) for t, v in vectors.items())
    records.prune_piece_tokens(["Second sentence."])
    assert set(records.piece_tokens(vectors)) == {"Second sentence."}
    records.clear()
    assert records.piece_tokens(vectors) == {} and records.documents() == {}


def test_each_store_records_its_schema_version_and_reopening_applies_nothing(database_url):
    for make in (Records, FeedbackStore, ConversationStore, AuditLog):
        make(database_url)
    FeedbackStore(database_url).all(), ConversationStore(database_url).listed("x"), AuditLog(database_url).entries()
    with psycopg.connect(database_url) as con:
        versions = dict(con.execute("SELECT store, version FROM schema_version").fetchall())
        tables = {r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert versions == {"records": 1, "feedback": 1, "conversations": 1, "audit": 1}
    assert {"meta", "documents", "chunks", "piece_tokens", "feedback", "conversations", "library_changes"} <= tables


def test_a_postgresql_server_that_stops_gives_a_store_error_and_a_restart_costs_no_failed_call(tmp_path):
    with postgres_server() as server:
        url = server.create("advisor")
        store = FeedbackStore(url)
        store.add("Q1", "A1", "[]", "up")  # leaves an open connection kept for the next call
        server.stop()
        for _ in range(2):  # the kept connection is dead and a new one cannot be made
            with pytest.raises(StoreError, match="start the server or check ASSISTANT_DATABASE_URL"):
                store.add("Q2", "A2", "[]", "up")
        server.start()
        store.add("Q3", "A3", "[]", "down")
        server.stop()
        server.start()
        store.add("Q4", "A4", "[]", "down")  # the connection kept from before the restart is replaced, not failed
        assert [r["question"] for r in store.all()] == ["Q1", "Q3", "Q4"]  # nothing lost, nothing half written


def test_replicas_opening_a_fresh_database_together_migrate_it_once(database_url):
    from concurrent.futures import ThreadPoolExecutor

    def open_all(_: int) -> int:
        Records(database_url)
        return len(FeedbackStore(database_url).all()) + len(AuditLog(database_url).entries())

    # Without the advisory lock, PostgreSQL fails concurrent CREATE TABLE IF NOT EXISTS of one table
    # ("duplicate key value violates unique constraint pg_type_typname_nsp_index").
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(open_all, range(8))) == [0] * 8
    with psycopg.connect(database_url) as con:
        assert sorted(con.execute("SELECT store, version FROM schema_version").fetchall()) == [
            ("audit", 1), ("feedback", 1), ("records", 1)]
