"""A raw Gradio queue client for security tests: log in, upload, and run any event by its fn_index over real HTTP."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class Outcome:
    """How a queued event ended: joined (False when the join itself was refused), success, output or error."""

    joined: bool
    success: bool
    output: list | None = None
    error: str = ""
    status: int = 200


class QueueClient:
    """One browser-less session against a running app: its cookies, its session hash."""

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(timeout=timeout, follow_redirects=False)
        self.session = uuid.uuid4().hex[:11]

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def login(self, user: str, password: str) -> None:
        """Sign in through the app's own /login route (AssertionError when refused)."""
        resp = self.http.post(f"{self.url}/login", data={"username": user, "password": password})
        assert resp.status_code == 200, resp.text

    def config(self) -> dict:
        """The app's config (components and dependencies); needs a login when the app has one."""
        resp = self.http.get(f"{self.url}/config")
        resp.raise_for_status()
        return resp.json()

    def upload(self, path: Path) -> dict:
        """Upload a file through /gradio_api/upload; the FileData the File component's event expects."""
        with path.open("rb") as fh:
            resp = self.http.post(f"{self.url}/gradio_api/upload", files={"files": (path.name, fh)})
        resp.raise_for_status()
        server_path = resp.json()[0]
        return {"path": server_path, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def run(self, fn_index: int, data: list, trigger_id: int | None = None) -> Outcome:
        """POST /gradio_api/queue/join with `fn_index`, then read /gradio_api/queue/data (SSE) until it completes."""
        body = {"data": data, "fn_index": fn_index, "session_hash": self.session, "event_data": None,
                "trigger_id": trigger_id}
        resp = self.http.post(f"{self.url}/gradio_api/queue/join", json=body)
        if resp.status_code != 200:
            return Outcome(joined=False, success=False, error=resp.text, status=resp.status_code)
        event_id = resp.json()["event_id"]
        with self.http.stream("GET", f"{self.url}/gradio_api/queue/data",
                              params={"session_hash": self.session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") not in (None, event_id):
                    continue
                if msg.get("msg") == "process_completed":
                    out = msg.get("output") or {}
                    return Outcome(joined=True, success=bool(msg.get("success")), output=out.get("data"),
                                   error=str(out.get("error") or ""))
                if msg.get("msg") == "unexpected_error":
                    return Outcome(joined=True, success=False, error=str(msg.get("message")))
        return Outcome(joined=True, success=False, error="the stream ended without a result")


# The Library tab's title, publisher, year and kind, left empty: inputs of the "Add to library" event after the files.
NO_DETAILS = ["", "", "", None]


def event(config: dict, elem_id: str, trigger: str) -> tuple[int, int]:
    """(fn_index, trigger component id) of the event `trigger` ("click", "submit") on the component `elem_id`."""
    ids = [c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id]
    assert ids, f"no component with elem_id {elem_id}"
    for dep in config["dependencies"]:
        for target, name in dep["targets"]:
            if target == ids[0] and name == trigger:
                return dep["id"], target
    raise AssertionError(f"no {trigger} event on #{elem_id}")


def api_event(config: dict, api_name: str) -> int:
    """The fn_index of the event exposed as `api_name` (e.g. the `ask` API)."""
    for dep in config["dependencies"]:
        if dep.get("api_name") == api_name:
            return dep["id"]
    raise AssertionError(f"no event with api_name {api_name}")


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS now, VmHWM peak so far) of a process, in MB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
