"""Read one untrusted file in a separate process with a memory and time budget, so a bomb costs only that process."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from assistant.errors import KnowledgeError
from assistant.ingest.loading import Limits, LoadedDocument, load_file
from assistant.schema import DocumentMeta


def read_isolated(path: Path, entry: dict | None, limits: Limits, *, seconds: float, memory_mb: int) -> LoadedDocument:
    """`load_file` run in a child process (address space `memory_mb`, wall clock `seconds`); KnowledgeError if it
    fails, runs out of memory or time. The parent never parses the file, so its memory is untouched."""
    job = json.dumps({"path": str(path), "entry": entry, "limits": asdict(limits), "memory_mb": memory_mb,
                      "seconds": seconds})
    proc = subprocess.Popen([sys.executable, "-m", "assistant.ingest.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(job, timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise KnowledgeError(f"{path.name}: took longer than {seconds:g} s to read (ASSISTANT_UPLOAD_WORKER_SECONDS); "
                             "it may be damaged or built to exhaust the server; re-save or split it")
    try:
        result = json.loads(out) if out.strip() else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        tail = (err or "").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        raise KnowledgeError(f"{path.name}: the reader stopped ({tail[0][:200]}); it may need more than "
                             f"{memory_mb} MB (ASSISTANT_UPLOAD_WORKER_MEMORY_MB) or be damaged")
    if not result.get("ok"):
        raise KnowledgeError(str(result.get("reason")))
    return LoadedDocument(meta=DocumentMeta(**result["meta"]), pages=tuple(result["pages"]),
                          sha256=result["sha256"], paged=bool(result["paged"]))


def _limit_self(memory_mb: int, seconds: float) -> None:
    """Cap this process's address space and CPU time (the parent's wall-clock timeout is the other guard)."""
    memory = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _work(job: dict) -> dict:
    """Read the file described by `job`; the outcome as a JSON-able dict."""
    path = Path(job["path"])
    try:
        doc = load_file(path, job.get("entry"), Limits(**job["limits"]))
    except KnowledgeError as exc:
        return {"ok": False, "reason": str(exc)}
    except MemoryError:
        return {"ok": False, "reason": f"{path.name}: needs more than {job['memory_mb']} MB to read "
                                       "(ASSISTANT_UPLOAD_WORKER_MEMORY_MB); re-save or split it"}
    return {"ok": True, "meta": asdict(doc.meta), "pages": list(doc.pages), "sha256": doc.sha256, "paged": doc.paged}


def main() -> None:
    """Worker entry point: one JSON job on stdin, one JSON result on stdout."""
    job = json.loads(sys.stdin.read())
    _limit_self(int(job["memory_mb"]), float(job["seconds"]))
    result = _work(job)
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
