"""What an OpenAI-compatible server tells us: its context size, a context overflow in any vendor's words,
whether a failure is worth another attempt, and how long it asks us to wait."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
from langchain_core.exceptions import ContextOverflowError

# A context overflow as each server words it (HTTP 400 bodies, seen or documented):
#   OpenAI, Azure OpenAI: code "context_length_exceeded", "This model's maximum context length is 8192 tokens. However,
#     your messages resulted in 9000 tokens."; vLLM uses the same sentence ("... However, you requested 122946 tokens
#     (112946 in the messages, 10000 in the completion)"), and "Prompt length of 5016 is longer than the maximum model
#     length of 4096", "The prompt (total length 25938) is too long to fit into the model (context length 4096)",
#     "Input prompt (35247 tokens) is too long and exceeds limit of 1000";
#   llama.cpp: type "exceed_context_size_error", "request (1902 tokens) exceeds the available context size (1024
#     tokens), try increasing it" (older builds: "the request exceeds the available context size");
#   Ollama: "input exceeds context length", "the input length exceeds the context length", "prompt too long".
_OVERFLOW = re.compile(
    r"context_length_exceeded|maximum context length|exceed_context_size_error|exceeds? the available context size"
    r"|longer than the maximum model length|too long to fit into the model|too long and exceeds limit"
    r"|(?:input|input length) exceeds (?:the )?context length|prompt (?:is )?too long|exceeds the context window",
    re.IGNORECASE,
)
# Statuses the openai client itself would try again; every other status is the same on a second try.
RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
MAX_BACKOFF_S = 8.0


def is_overflow(exc: BaseException) -> bool:
    """Whether a failure says the prompt did not fit the model's context window."""
    if isinstance(exc, ContextOverflowError):
        return True
    body = getattr(exc, "body", None)
    return bool(_OVERFLOW.search(f"{exc} {body or ''}"))


def retryable(exc: BaseException) -> bool:
    """Whether another attempt could succeed: a dropped connection, a timeout, 408/409/429 or a 5xx."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRY_STATUSES and not is_overflow(exc)
    return isinstance(exc, (openai.APIConnectionError, httpx.TransportError))


def backoff(exc: BaseException, attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1`: the server's Retry-After(-ms) if given, else 0.5 s doubling."""
    response = getattr(exc, "response", None)
    headers = response.headers if isinstance(response, httpx.Response) else {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        try:
            if value is not None:
                return min(MAX_BACKOFF_S, max(0.0, float(value) * scale))
        except ValueError:
            pass
    return min(MAX_BACKOFF_S, 0.5 * 2 ** (attempt - 1))


def _ctx_of(model: object) -> int | None:
    """The context size one /v1/models entry states (llama.cpp meta.n_ctx, vLLM max_model_len, others)."""
    if not isinstance(model, dict):
        return None
    meta = model.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    for value in (meta.get("n_ctx"), model.get("max_model_len"), model.get("context_length"),
                  model.get("max_context_length")):
        if isinstance(value, int) and value > 0:
            return value
    return None


def context_size(base_url: str, api_key: str, model: str, timeout: float) -> int | None:
    """The context window the server states for `model` (or its only model), or None when it states none.

    Read from `/v1/models` (llama.cpp's `meta.n_ctx`, vLLM's `max_model_len`) and then llama.cpp's `/props`
    (`default_generation_settings.n_ctx`, the context of one slot). OpenAI, Azure and Ollama state none.
    Raises httpx.TransportError when the server cannot be reached (the caller tries again later).
    """
    headers = {"Authorization": f"Bearer {api_key}"}
    base = base_url.rstrip("/")
    with httpx.Client(timeout=timeout, headers=headers) as client:
        try:
            data = client.get(f"{base}/models").json().get("data") or []
            models = [m for m in data if isinstance(m, dict)]
            named = [m for m in models if m.get("id") == model] or (models if len(models) == 1 else [])
            if named and (size := _ctx_of(named[0])):
                return size
        except (ValueError, AttributeError):
            pass
        try:
            props = client.get(f"{re.sub(r'/v1$', '', base)}/props").json()
            size = (props.get("default_generation_settings") or {}).get("n_ctx")
            return size if isinstance(size, int) and size > 0 else None
        except (ValueError, AttributeError):
            return None


def read_in_thread(start: Callable[[], Iterator[Any]], out: queue.Queue, stop: threading.Event) -> threading.Thread:
    """Read the stream `start()` opens on a daemon thread into `out`: ('chunk', c)..., then ('end', None) or
    ('error', exc); it stops at the first chunk after `stop` is set. The reader waits on `out` with its deadline."""

    def run() -> None:
        try:
            pieces = start()
            try:
                for chunk in pieces:
                    out.put(("chunk", chunk))
                    if stop.is_set():
                        break
            finally:
                close = getattr(pieces, "close", None)
                if close:
                    close()  # releases the HTTP connection
            out.put(("end", None))
        except Exception as exc:  # noqa: BLE001 - handed to the reading thread, which decides
            out.put(("error", exc))

    thread = threading.Thread(target=run, daemon=True, name="llm-stream")
    thread.start()
    return thread
