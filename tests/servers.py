"""Local servers for tests and benchmarks: a free port, and a real `chroma run` on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple


class RunningServer(NamedTuple):
    """A server process started here: where to reach it, and its process id (for memory readings)."""

    url: str
    pid: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, *, timeout: float, failure: str) -> None:
    """Poll `url` until it answers 200; RuntimeError(`failure`) if `proc` exits or `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(failure)
            time.sleep(0.2)


@contextmanager
def chroma_server(path: Path, port: int | None = None, timeout: float = 60.0) -> Iterator[RunningServer]:
    """Run `chroma run` with its data under `path` until the block ends; RuntimeError if it does not start."""
    port = port or free_port()
    path.mkdir(parents=True, exist_ok=True)
    binary = Path(sys.executable).parent / "chroma"
    log = open(path.parent / f"chroma-{port}.log", "wb")
    proc = subprocess.Popen([str(binary), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env={"ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/api/v2/heartbeat", proc, timeout=timeout, failure=f"chroma run did not start: see {log.name}")
        yield RunningServer(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def running_app(assistant, settings) -> Iterator[str]:
    """The Gradio app over `assistant` on 127.0.0.1 at a free port, until the block ends; yields its URL."""
    from ui.app import build_app, launch

    app = build_app(assistant, settings)
    _, url, _ = launch(app, settings, port=free_port(), prevent_thread_lock=True)
    try:
        yield url
    finally:
        app.close()
