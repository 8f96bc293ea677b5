"""Saved conversations in SQLite or PostgreSQL, per owner (a signed-in user or a browser): list, open, rename, delete, expire."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from assistant.answering.guardrails import redact
from assistant.errors import InputError, StoreError
from assistant.database import ERRORS, Database, Migration

MAX_TITLE_CHARS = 120
_DAY_S = 86_400
# What a saved answer keeps of Answer.to_json(): the text people typed or read is redacted before it is stored.
_REDACTED = ("question", "answer", "standalone_question")

_TABLE = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created_at {real} NOT NULL,
    updated_at {real} NOT NULL,
    answers_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations (owner, updated_at);
"""
# Times are epoch seconds: PostgreSQL's REAL has 24 bits, whole seconds lost past 2**24 s; DOUBLE PRECISION keeps them.
MIGRATIONS = (Migration(sqlite=_TABLE.format(real="REAL"), postgres=_TABLE.format(real="DOUBLE PRECISION")),)


def redacted(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer as stored: personal data taken out of the question, the answer and the standalone question."""
    out = dict(answer)
    for key in _REDACTED:
        if isinstance(out.get(key), str):
            out[key] = redact(out[key])
    out["notices"] = [redact(n) for n in out.get("notices", []) if isinstance(n, str)]
    return out


def title_of(answers: list[dict[str, Any]]) -> str:
    """A conversation's default title: its first question, redacted, cut at a word near MAX_TITLE_CHARS."""
    first = " ".join(redact(str(answers[0].get("question", ""))).split()) if answers else ""
    if len(first) > MAX_TITLE_CHARS:
        first = first[:MAX_TITLE_CHARS].rsplit(" ", 1)[0] + " …"
    return first or "Conversation"


class ConversationStore:
    """One row per conversation: its owner, title and answers (Answer.to_json() each); one transaction per call."""

    def __init__(self, location: Path | str, retention_days: int = 90, timeout: float = 10.0) -> None:
        self.db = Database(location, store="conversations", migrations=MIGRATIONS, timeout=timeout)
        self.path = self.db.path
        self.retention_days = retention_days

    def _run(self, action: str, sql: str, args: tuple = ()) -> list[tuple]:
        try:
            with self.db.transaction() as con:
                cur = con.execute(sql, args)
                return cur.fetchall() if cur.description else [(cur.rowcount,)]
        except ERRORS as exc:
            raise StoreError(f"Conversations could not be {action} at {self.db.where} ({exc}). " + self.db.advice(
                "Check that the data directory exists, is writable and the disk is not full.")) from exc

    def save(self, owner: str, conversation_id: str | None, answers: list[dict[str, Any]]) -> str:
        """Store the answers (redacted) under the owner's conversation, a new one when the id is None; its id."""
        if not owner:
            raise InputError("A conversation needs an owner (a signed-in user or a browser).")
        data = json.dumps([redacted(a) for a in answers], ensure_ascii=False)
        now = time.time()
        if conversation_id:
            done = self._run("saved", "UPDATE conversations SET answers_json = ?, updated_at = ? "
                             "WHERE id = ? AND owner = ?", (data, now, conversation_id, owner))
            if done[0][0] == 1:
                return conversation_id
        new_id = secrets.token_hex(8)
        self._run("saved", "INSERT INTO conversations (id, owner, title, created_at, updated_at, answers_json) "
                  "VALUES (?, ?, ?, ?, ?, ?)", (new_id, owner, title_of(answers), now, now, data))
        return new_id

    def listed(self, owner: str) -> list[dict[str, Any]]:
        """The owner's conversations, most recently used first: id, title, updated_at (epoch seconds)."""
        rows = self._run("read", "SELECT id, title, updated_at FROM conversations WHERE owner = ? "
                         "ORDER BY updated_at DESC, id", (owner,))
        return [{"id": r[0], "title": r[1], "updated_at": r[2]} for r in rows]

    def load(self, owner: str, conversation_id: str) -> list[dict[str, Any]] | None:
        """The answers of the owner's conversation; None when it is not theirs or no longer exists."""
        rows = self._run("read", "SELECT answers_json FROM conversations WHERE id = ? AND owner = ?",
                         (conversation_id or "", owner))
        return json.loads(rows[0][0]) if rows else None

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        """Give the owner's conversation a new title (redacted, one line, at most MAX_TITLE_CHARS)."""
        title = " ".join(redact(title or "").split())
        if not title:
            raise InputError("Type a new name for the conversation first.")
        if len(title) > MAX_TITLE_CHARS:
            raise InputError(f"The name is {len(title)} characters long; the maximum is {MAX_TITLE_CHARS}.")
        done = self._run("renamed", "UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                         (title, conversation_id or "", owner))
        if done[0][0] != 1:
            raise InputError("Open one of your saved conversations first, then rename it.")

    def delete(self, owner: str, conversation_id: str) -> bool:
        """Delete the owner's conversation; whether there was one to delete."""
        done = self._run("deleted", "DELETE FROM conversations WHERE id = ? AND owner = ?",
                         (conversation_id or "", owner))
        return done[0][0] == 1

    def expire(self, now: float | None = None) -> int:
        """Delete every conversation untouched for retention_days (none when it is 0); how many went."""
        if self.retention_days <= 0 or not self.db.exists():
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_days * _DAY_S
        return self._run("expired", "DELETE FROM conversations WHERE updated_at < ?", (cutoff,))[0][0]
