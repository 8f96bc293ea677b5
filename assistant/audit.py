"""The audit log: every library change and feedback export (who, when, what, the file's sha256) in SQLite."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

from assistant.errors import StoreError
from assistant.sqlite_files import connect

# Actions that put a file into the library: the documents uploads added, and so may replace.
ADDED = ("add", "replace")
COLUMNS = ("id", "at", "user", "action", "filename", "sha256", "detail")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS library_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    filename TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
"""


class AuditLog:
    """Append-only record of library changes; every write uses a fresh connection (safe across threads)."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self._timeout = timeout

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path, _SCHEMA, timeout=self._timeout)

    def record(self, *, user: str, action: str, filename: str = "", sha256: str = "", detail: str = "") -> None:
        """Append one entry; StoreError when it cannot be written (the change is then not made)."""
        row = (time.strftime("%Y-%m-%dT%H:%M:%S%z"), user, action, filename, sha256, detail[:1000])
        try:
            with closing(self._connect()) as con, con:
                con.execute("INSERT INTO library_changes (at, user, action, filename, sha256, detail) "
                            "VALUES (?, ?, ?, ?, ?, ?)", row)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"The audit log could not be written at {self.path} ({exc}); check that the data "
                             "directory is writable and the disk is not full.") from exc

    def entries(self) -> list[dict]:
        """Every entry, oldest first."""
        if not self.path.exists():
            return []
        try:
            with closing(self._connect()) as con:
                con.row_factory = sqlite3.Row
                rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM library_changes ORDER BY id").fetchall()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"The audit log at {self.path} could not be read ({exc}).") from exc
        return [dict(r) for r in rows]

    def uploaded(self) -> set[str]:
        """Lower-cased names of the files that uploads put into the library (any other file there is curated)."""
        return {e["filename"].lower() for e in self.entries() if e["action"] in ADDED}
