"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for tests: chat completions (plain and SSE) and models."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union

DEFAULT_TEXT = "GP federations let practices share staff and back-office functions [1]."


@dataclass(frozen=True)
class Reply:
    """A normal answer; streamed in one SSE chunk per word unless `pieces` says otherwise."""

    text: str = DEFAULT_TEXT
    pieces: int | None = None
    finish: str = "stop"  # "length" says the max_tokens cap cut it off


@dataclass(frozen=True)
class Status:
    """An HTTP error with an OpenAI-style JSON body, e.g. 500 or 429 with Retry-After."""

    code: int
    retry_after: str | None = None
    retry_after_ms: str | None = None
    message: str = "scripted failure"
    body: dict[str, Any] | None = None  # a vendor's own error body instead of OpenAI's


@dataclass(frozen=True)
class Delay:
    """Wait `seconds` before answering with `then` (to outlast a client timeout)."""

    seconds: float
    then: "Step" = field(default_factory=Reply)


@dataclass(frozen=True)
class Garbage:
    """A 200 response whose body is raw bytes, not JSON or SSE."""

    data: bytes = b"data: \x89PNG\r\n\x1a\n\x00\x00\xff\xfe{{{not json\n\n"


@dataclass(frozen=True)
class Empty:
    """A well-formed completion with empty content."""


@dataclass(frozen=True)
class Cut:
    """A stream that sends the first half of `text` and then drops the connection mid-body."""

    text: str = DEFAULT_TEXT


Step = Union[Reply, Status, Delay, Garbage, Empty, Cut, str]


@dataclass
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any] | None

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a completion request."""
        return list((self.body or {}).get("messages", []))

    @property
    def stream(self) -> bool:
        """Whether the client asked for server-sent events."""
        return bool((self.body or {}).get("stream"))


class FakeOpenAI:
    """The server's script and record: steps are served in order, then `default` for every later request."""

    def __init__(self, script: Sequence[Step] = (), default: Step = Reply()) -> None:
        self._script = list(script)
        self.default = default
        self.requests: list[Recorded] = []
        self.url = ""  # the base URL, ending in /v1, once the server runs
        self.context: int | None = None  # a context size to state in /v1/models, as llama.cpp does (meta.n_ctx)
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def next_step(self) -> Step:
        """The step to serve for the next completion request."""
        with self._lock:
            return self._script.pop(0) if self._script else self.default

    def record(self, request: Recorded) -> None:
        """Remember a request (thread-safe)."""
        with self._lock:
            self.requests.append(request)

    @property
    def completions(self) -> list[Recorded]:
        """The chat completion requests received so far."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _pieces(text: str, count: int | None) -> list[str]:
    words = re.findall(r"\S+\s*|\s+", text)
    if count is None or count >= len(words):
        return words
    size = -(-len(words) // count)
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


def _headers(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    """The request's headers with lower-case names."""
    return {k.lower(): v for k, v in handler.headers.items()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence the default stderr log
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/json", extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self.server.fake.record(Recorded("GET", self.path, _headers(self), None))
        if self.path.rstrip("/").endswith("/models"):
            models: list[dict[str, Any]] = [{"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "fake"}]
            if self.server.fake.context:
                models[0]["meta"] = {"n_ctx": self.server.fake.context}
            self._send(200, json.dumps({"object": "list", "data": models}).encode())
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        recorded = Recorded("POST", self.path, _headers(self), body)
        self.server.fake.record(recorded)
        if not self.path.rstrip("/").endswith("/chat/completions") or body is None:
            self._send(404, b'{"error": {"message": "not found"}}')
            return
        step = self.server.fake.next_step()
        try:
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._serve(step, str(body.get("model", "fake")), recorded.stream, usage)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout) before we answered

    def _serve(self, step: Step, model: str, stream: bool, usage: bool = False) -> None:
        if isinstance(step, str):
            step = Reply(step)
        if isinstance(step, Delay):
            if self.server.fake.stopping.wait(step.seconds):
                return
            step = step.then if not isinstance(step.then, str) else Reply(step.then)
        if isinstance(step, Status):
            extra = {k: v for k, v in (("Retry-After", step.retry_after), ("retry-after-ms", step.retry_after_ms)) if v}
            error = step.body or {"error": {"message": step.message, "type": "server_error", "code": str(step.code)}}
            self._send(step.code, json.dumps(error).encode(), extra=extra)
        elif isinstance(step, Garbage):
            self._send(200, step.data, "text/event-stream" if stream else "application/json")
        else:
            text = step.text if isinstance(step, (Reply, Cut)) else ""
            finish = step.finish if isinstance(step, Reply) else "stop"
            if stream:
                self._stream(text, step, usage)
            else:
                completion = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
                self._send(200, json.dumps(completion).encode())

    def _stream(self, text: str, step: Step, usage: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._write_chunk(_chunk("fake", {"role": "assistant", "content": ""}))
        pieces = _pieces(text, step.pieces if isinstance(step, Reply) else None)
        if isinstance(step, Cut):
            for piece in pieces[: max(1, len(pieces) // 2)]:
                self._write_chunk(_chunk("fake", {"content": piece}))
            self.wfile.write(b"400\r\npartial")  # promise 1 KiB, send 7 bytes, hang up
            self.wfile.flush()
            self.close_connection = True
            return
        for piece in pieces:
            self._write_chunk(_chunk("fake", {"content": piece}))
        self._write_chunk(_chunk("fake", {}, step.finish if isinstance(step, Reply) else "stop"))
        if usage:  # stream_options.include_usage: a last chunk with no choices and the counts
            counts = {"prompt_tokens": 10, "completion_tokens": len(pieces), "total_tokens": 10 + len(pieces)}
            payload = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                       "model": "fake", "choices": [], "usage": counts}
            self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI


@contextmanager
def running_fake_openai(script: Sequence[Step] = (), default: Step = Reply()) -> Iterator[FakeOpenAI]:
    """Serve `script` on 127.0.0.1 (a free port); yields the FakeOpenAI, whose `.url` is the base URL."""
    fake = FakeOpenAI(script, default)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = fake
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
