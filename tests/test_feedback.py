"""FeedbackStore: round trip, comments, CSV export, and failures that raise StoreError instead of losing feedback."""

from __future__ import annotations

import csv
import json
import os
import sqlite3

import pytest

from assistant.errors import InputError, StoreError
from assistant.feedback import COLUMNS, FeedbackStore

CITES = json.dumps([{"n": 1, "title": "Is bigger better?", "quote": "Federations share staff."}])


def test_round_trip(tmp_path):
    store = FeedbackStore(tmp_path / "data" / "feedback.sqlite3")
    assert store.all() == []
    first = store.add("What is a federation?", "A group of practices [1].", CITES, "up", "  clear answer ")
    second = store.add("Board?", "Elected GPs [1].", "[]", "down")
    assert second == first + 1
    rows = store.all()
    assert [r["id"] for r in rows] == [first, second]
    assert rows[0]["question"] == "What is a federation?"
    assert rows[0]["answer"] == "A group of practices [1]."
    assert json.loads(rows[0]["citations_json"])[0]["title"] == "Is bigger better?"
    assert (rows[0]["rating"], rows[0]["comment"]) == ("up", "clear answer")
    assert (rows[1]["rating"], rows[1]["comment"]) == ("down", "")
    assert rows[0]["created_at"]
    with sqlite3.connect(store.path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_comment_added_after_the_thumb(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    fid = store.add("Q", "A", "[]", "down")
    store.set_comment(fid, "It missed the 2016 report")
    assert store.all()[0]["comment"] == "It missed the 2016 report"
    with pytest.raises(StoreError, match="not found"):
        store.set_comment(fid + 99, "x")


def test_bad_rating_and_long_comment_are_refused(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    with pytest.raises(InputError, match="up.*down"):
        store.add("Q", "A", "[]", "meh")
    with pytest.raises(InputError, match="maximum"):
        store.add("Q", "A", "[]", "up", "x" * 5000)
    assert store.all() == []


def test_csv_export(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.add("Q1, with a comma", 'Said "quoted"\nover two lines [1].', CITES, "up", "good")
    store.add("Q2 é ü", "A2", "[]", "down", "=HYPERLINK(\"http://x\")")
    out = store.export_csv(tmp_path / "exports" / "feedback.csv")
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 3
    first = dict(zip(rows[0], rows[1]))
    assert first["question"] == "Q1, with a comma"
    assert first["answer"] == 'Said "quoted"\nover two lines [1].'
    assert json.loads(first["citations_json"]) == json.loads(CITES)
    second = dict(zip(rows[0], rows[2]))
    assert second["question"] == "Q2 é ü" and second["rating"] == "down"
    assert second["comment"].startswith("'=")  # a spreadsheet will not run it as a formula


def test_export_of_empty_store_has_header_only(tmp_path):
    out = FeedbackStore(tmp_path / "none.sqlite3").export_csv(tmp_path / "f.csv")
    assert out.read_text(encoding="utf-8").strip() == ",".join(COLUMNS)


def test_parent_is_a_file_raises_store_error(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("not a directory")
    store = FeedbackStore(blocker / "feedback.sqlite3")
    with pytest.raises(StoreError, match="could not be saved") as info:
        store.add("Q", "A", "[]", "up")
    assert str(blocker) in str(info.value)


def test_corrupt_database_raises_store_error(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = FeedbackStore(path)
    with pytest.raises(StoreError, match="Check that the data directory"):
        store.add("Q", "A", "[]", "up")
    with pytest.raises(StoreError):
        store.all()


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: file permissions do not stop root from writing")
def test_read_only_directory_raises_store_error(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="writable"):
            FeedbackStore(data / "feedback.sqlite3").add("Q", "A", "[]", "up")
    finally:
        data.chmod(0o700)


def test_export_to_unwritable_place_raises_store_error(tmp_path):
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.add("Q", "A", "[]", "up")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="CSV could not be written"):
        store.export_csv(tmp_path / "file" / "out.csv")
