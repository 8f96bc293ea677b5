"""A serving process for tests: one Assistant built from ASSISTANT_* variables, driven by JSON lines on stdin.

Each line is {"op": ..., ...}; each reply one JSON line. `ingest_killed_before_commit` stands for a crash: the ingest
embeds and stores its vectors, then the process is killed (SIGKILL) the moment it would commit the record.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path


def _die(*_args, **_kwargs) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    """Answer commands until stdin closes."""
    from assistant.conversations import ConversationStore
    from assistant.errors import AssistantError
    from assistant.feedback import FeedbackStore
    from assistant.pipeline import Assistant
    from assistant.search.store import Records
    from assistant.settings import Settings

    settings = Settings(_env_file=None)
    assistant = Assistant.from_settings(settings)
    feedback, saved = FeedbackStore(settings.feedback_db), ConversationStore(settings.conversations_db)

    def ask(question: str) -> dict:
        answer = assistant.ask(question)
        return {"refused": answer.refused, "cited": sorted({c.passage.chunk.doc_id for c in answer.citations}),
                "answer": answer.to_json()}

    def ingest_killed_before_commit() -> dict:
        Records.commit = _die  # type: ignore[method-assign]
        assistant.ingest()
        return {"error": "the ingest committed"}

    ops = {
        "ask": ask,
        "status": lambda: {k: v for k, v in assistant.status().items() if k in ("documents", "chunks")},
        "upload": lambda path, user: {"kept": assistant.add_documents([Path(path)], user=user).kept},
        "ingest_killed_before_commit": ingest_killed_before_commit,
        "feedback_add": lambda question, rating: {"id": feedback.add(question, "An answer.", "[]", rating)},
        "feedback": lambda: {"questions": [r["question"] for r in feedback.all()]},
        "save": lambda owner, answers: {"id": saved.save(owner, None, answers)},
        "load": lambda owner, conversation_id: {"answers": saved.load(owner, conversation_id)},
        "audit": lambda: {"entries": [[e["user"], e["action"], e["filename"]] for e in assistant.audit.entries()]},
    }
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        try:
            reply = ops[command.pop("op")](**command)
        except AssistantError as exc:
            reply = {"error": str(exc)}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
