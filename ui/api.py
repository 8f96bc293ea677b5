"""The `ask` HTTP API's input rules: a conversation history given as a list of messages, a JSON string, or nothing."""

from __future__ import annotations

import json

from assistant.errors import InputError
from assistant.schema import Turn

ROLES = ("user", "assistant")
HISTORY_HELP = ('history must be a list of {"role": "user" or "assistant", "content": "..."} messages '
                "(or that list as a JSON string); leave it out or pass null for none.")


def parse_history(history: object) -> list[Turn]:
    """Turns from a list of {role, content} messages or its JSON text; None, "" and [] are no history."""
    if history is None or (isinstance(history, str) and not history.strip()):
        return []
    if isinstance(history, str):
        try:
            history = json.loads(history)
        except ValueError as exc:
            raise InputError(f"{HISTORY_HELP} It is not valid JSON ({exc}).") from exc
        if history is None:
            return []
    if not isinstance(history, (list, tuple)):
        raise InputError(f"{HISTORY_HELP} Got a {type(history).__name__}.")
    turns = []
    for i, message in enumerate(history, start=1):
        if not isinstance(message, dict):
            raise InputError(f"{HISTORY_HELP} Message {i} is a {type(message).__name__}, not an object.")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise InputError(f"{HISTORY_HELP} Message {i} has role {role!r}.")
        if not isinstance(content, str):
            raise InputError(f"{HISTORY_HELP} Message {i} has no text content.")
        turns.append(Turn(role, content))
    return turns
