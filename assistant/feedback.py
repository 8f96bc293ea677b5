"""Feedback on answers (rating, comment, question, answer, citations) kept in SQLite and exported as CSV."""

from __future__ import annotations

import csv
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from assistant.answering.guardrails import redact
from assistant.errors import InputError, StoreError
from assistant.sqlite_files import connect

RATINGS = ("up", "down")
COLUMNS = ("id", "created_at", "rating", "comment", "question", "answer", "citations_json")
MAX_COMMENT_CHARS = 4000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations_json TEXT NOT NULL DEFAULT '[]'
);
"""


def _spreadsheet_safe(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula (=, +, -, @) with a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def check_comment(comment: str | None) -> str:
    """The comment stripped, or InputError when it is over MAX_COMMENT_CHARS (checked before anything else reads it)."""
    comment = comment if isinstance(comment, str) else ""
    if len(comment) > MAX_COMMENT_CHARS:
        raise InputError(f"Your comment is {len(comment)} characters long; the maximum is {MAX_COMMENT_CHARS}. "
                         "Please shorten it.")
    return comment.strip()


class FeedbackStore:
    """Thumbs up/down with an optional comment per answer; every write uses a fresh connection."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._timeout = timeout

    def _fail(self, action: str, exc: Exception) -> StoreError:
        return StoreError(
            f"Feedback could not be {action} at {self.path} ({exc}). "
            "Check that the data directory exists, is writable and the disk is not full."
        )

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path, _SCHEMA, timeout=self._timeout)

    def add(self, question: str, answer_text: str, citations_json: str, rating: str, comment: str = "") -> int:
        """Store one piece of feedback, personal data redacted, and return its id; StoreError when it cannot be written."""
        if rating not in RATINGS:
            raise InputError(f"Rating must be 'up' or 'down', not {rating!r}.")
        comment = check_comment(comment)
        # Redacted here, so no caller can store what a user typed as it was typed.
        row = (time.strftime("%Y-%m-%dT%H:%M:%S%z"), rating, redact(comment, names=True),
               redact(question or "", names=True), redact(answer_text or ""), citations_json or "[]")
        try:
            with closing(self._connect()) as con, con:
                cur = con.execute(
                    "INSERT INTO feedback (created_at, rating, comment, question, answer, citations_json) "
                    "VALUES (?, ?, ?, ?, ?, ?)", row)
                row_id = cur.lastrowid
        except (sqlite3.Error, OSError) as exc:
            raise self._fail("saved", exc) from exc
        if row_id is None:  # sqlite3 sets it after every INSERT; None would mean the row was not stored
            raise StoreError(f"Feedback could not be saved at {self.path}: the database gave the new row no id.")
        return row_id

    def set_comment(self, feedback_id: int, comment: str) -> None:
        """Replace the comment of stored feedback (a thumb given first, the comment typed after), redacted."""
        comment = redact(check_comment(comment), names=True)
        try:
            with closing(self._connect()) as con, con:
                cur = con.execute("UPDATE feedback SET comment = ? WHERE id = ?", (comment, int(feedback_id)))
        except (sqlite3.Error, OSError) as exc:
            raise self._fail("saved", exc) from exc
        if cur.rowcount != 1:
            raise StoreError(f"Feedback #{feedback_id} was not found in {self.path}; send it again.")

    def all(self) -> list[dict]:
        """Every stored piece of feedback, oldest first, as dicts keyed by column name."""
        if not self.path.exists():
            return []
        try:
            with closing(self._connect()) as con:
                con.row_factory = sqlite3.Row
                rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id").fetchall()
        except (sqlite3.Error, OSError) as exc:
            raise self._fail("read", exc) from exc
        return [dict(r) for r in rows]

    def export_csv(self, path: Path) -> Path:
        """Write all feedback to a UTF-8 CSV file (with a header row) and return its path."""
        path = Path(path)
        rows = self.all()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(COLUMNS)
                for row in rows:
                    writer.writerow([_spreadsheet_safe(row[c]) for c in COLUMNS])
        except OSError as exc:
            raise StoreError(f"The feedback CSV could not be written to {path} ({exc.strerror or exc}).") from exc
        return path
