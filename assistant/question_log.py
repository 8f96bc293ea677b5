"""The question log: one JSON line per question, with a keyed hash of the question and no raw text."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time

from assistant.answering.guardrails import redact
from assistant.schema import Answer
from assistant.settings import Settings


class QuestionLog:
    """Where answered questions are logged (ASSISTANT_LOG_QUESTIONS), keyed so the log alone reveals no question."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _key(self) -> bytes:
        """The question log's HMAC key: ASSISTANT_LOG_KEY, else one made once and kept (0600) in the data directory."""
        if self.settings.log_key is not None:
            return self.settings.log_key.get_secret_value().encode()
        path = self.settings.log_key_file
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never replaces a key already made
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        except FileExistsError:
            pass
        return path.read_text().strip().encode()

    def write(self, answer: Answer) -> None:
        """One JSON line per question: keyed hash of the question, outcome, timings, retrieved ids; no raw text."""
        # Personal data is redacted before hashing, and the hash is keyed (HMAC-SHA256 with a secret kept out of
        # the log): an unkeyed hash of a guessed question could be confirmed by anyone who reads the log.
        if not self.settings.log_questions:
            return
        self.settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        digest = hmac.new(self._key(), redact(answer.question).encode(), hashlib.sha256).hexdigest()[:16]
        record = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "question_hmac": digest,
            "answerer": answer.answerer,
            "outcome": answer.refusal_reason or "answered",
            "grounded": round(answer.grounded, 3),
            "retrieved": [p.chunk.chunk_id for p in answer.passages],
            "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
            "notices": len(answer.notices),
            "generation": answer.generation.to_json() if answer.generation else None,  # finish reason, token usage
        }
        path = self.settings.log_file
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
