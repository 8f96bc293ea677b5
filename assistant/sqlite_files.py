"""The SQLite files beside the index (feedback, conversations, the audit log): one way to open them."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def connect(path: Path, schema: str, *, timeout: float) -> sqlite3.Connection:
    """A fresh connection to `path` in WAL mode with `schema` applied (its folder made if missing); closed again if
    either step fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=timeout)
    try:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(schema)
    except BaseException:
        con.close()
        raise
    return con
