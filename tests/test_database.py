"""The stores' database layer without a server: SQLite migrations, old files upgraded, URLs checked and hidden."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from assistant.audit import AuditLog
from assistant.conversations import ConversationStore
from assistant.database import Database, Migration, shown
from assistant.errors import ConfigError, StoreError
from assistant.feedback import FeedbackStore
from assistant.search.store import Records
from tests.servers import free_port
from conftest import make_settings


def _versions(path) -> dict[str, int]:
    with closing(sqlite3.connect(path)) as con:
        return dict(con.execute("SELECT store, version FROM schema_version").fetchall())


def test_a_feedback_file_from_before_versioned_migrations_keeps_its_rows_and_gets_a_version(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    with closing(sqlite3.connect(path)) as con, con:  # the table as the code before schema_version made it
        con.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, "
                    "rating TEXT NOT NULL CHECK (rating IN ('up', 'down')), comment TEXT NOT NULL DEFAULT '', "
                    "question TEXT NOT NULL, answer TEXT NOT NULL, citations_json TEXT NOT NULL DEFAULT '[]')")
        con.execute("INSERT INTO feedback (created_at, rating, question, answer) VALUES ('then', 'up', 'Q0', 'A0')")
    store = FeedbackStore(path)
    new_id = store.add("Q1", "A1", "[]", "down")
    assert [(r["id"], r["question"]) for r in store.all()] == [(1, "Q0"), (new_id, "Q1")] and new_id == 2
    assert _versions(path) == {"feedback": 1}


def test_each_migration_runs_once_in_order_and_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "x.sqlite3"
    first = (Migration(sqlite="CREATE TABLE t (a TEXT)", postgres=""),)
    db = Database(path, store="x", migrations=first, timeout=5)
    with db.transaction() as con:
        con.execute("INSERT INTO t VALUES (?)", ("kept",))
    second = first + (Migration(sqlite="ALTER TABLE t ADD COLUMN b TEXT NOT NULL DEFAULT 'new'; "
                                "CREATE INDEX t_b ON t (b)", postgres=""),)
    for _ in range(2):  # a second open finds version 2 and applies nothing (CREATE INDEX t_b would fail)
        with Database(path, store="x", migrations=second, timeout=5).transaction() as con:
            assert con.execute("SELECT a, b FROM t").fetchall() == [("kept", "new")]
    assert _versions(path) == {"x": 2}
    with pytest.raises(StoreError, match="schema version 2, newer than this program's 1; upgrade the program"):
        with Database(path, store="x", migrations=first, timeout=5).transaction():
            pass


def test_the_four_stores_use_sqlite_files_in_the_data_directory_by_default(tmp_path):
    settings = make_settings(tmp_path)
    assert settings.database_url is None
    assert {settings.records_db, settings.feedback_db, settings.audit_db, settings.conversations_db} == {
        tmp_path / "data" / name for name in ("records.sqlite3", "feedback.sqlite3", "audit.sqlite3",
                                              "conversations.sqlite3")}


def test_a_database_url_puts_all_four_stores_in_postgresql(tmp_path):
    url = "postgresql://advisor:secret@db.example:5432/advisor"
    settings = make_settings(tmp_path, database_url=url, feedback_path=tmp_path / "ignored.sqlite3")
    assert settings.records_db == settings.feedback_db == settings.audit_db == settings.conversations_db == url
    assert "secret" not in repr(settings) and "secret" not in str(settings.database_url)


def test_a_password_in_the_database_url_is_never_shown():
    assert shown("postgresql://advisor:s3cret@db:5432/advisor") == "postgresql://advisor:***@db:5432/advisor"
    assert shown("postgresql://advisor@db/advisor") == "postgresql://advisor@db/advisor"


def test_a_database_url_that_is_not_postgresql_says_what_to_write(tmp_path):
    with pytest.raises(ConfigError, match="not a PostgreSQL URL like postgresql://"):
        FeedbackStore("mysql://advisor:pw@db/advisor")


@pytest.mark.parametrize("open_store", [
    lambda url: Records(url),
    lambda url: FeedbackStore(url).add("Q", "A", "[]", "up"),
    lambda url: ConversationStore(url).listed("someone"),
    lambda url: AuditLog(url).record(user="u", action="add"),
], ids=["records", "feedback", "conversations", "audit"])
def test_a_postgresql_server_that_is_not_running_gives_a_store_error_naming_the_url(open_store):
    url = f"postgresql://advisor:hidden@127.0.0.1:{free_port()}/advisor"
    with pytest.raises(StoreError) as caught:
        open_store(url)
    message = str(caught.value)
    assert f"postgresql://advisor:***@127.0.0.1:{url.rsplit(':', 1)[1]}" in message
    assert "start the server or check ASSISTANT_DATABASE_URL" in message and "hidden" not in message


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_without_a_postgresql_server_the_tests_skip_on_a_laptop_and_fail_in_ci(monkeypatch, ci, outcome):
    from tests.postgres import missing_server

    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="make db-deps"):
        missing_server("PostgreSQL is not installed")


def test_with_the_record_in_postgresql_the_saved_sparse_index_goes_to_the_data_directory(tmp_path):
    from assistant.search.generations import Saved

    settings = make_settings(tmp_path, database_url="postgresql://advisor@127.0.0.1:5432/advisor")
    saved = Saved.beside_record(settings)
    assert saved.sparse.root == settings.data_dir / "sparse" and saved.vectors.root == settings.data_dir / "vectors"
