"""Load test: concurrent gradio_client sessions against the app in a subprocess, at several queue concurrency limits,
then the same load over the OpenAI-compatible endpoint.

    python -m bench.load_test --sessions 20 --questions 10 --limits 1,2,4 [--data-dir .data] [--no-openai]

Each limit starts a fresh server (offline answerer, question log off) on 127.0.0.1, warms it up, then runs
`--sessions` threads, each with its own Client, asking `--questions` questions from the golden set through the
`ask` API. A last fresh server at the app's own answer concurrency takes the same questions as `openai` client
requests to /v1/chat/completions (one client per session). Latency per request, errors, throughput, the server's
CPU time and peak resident memory (VmHWM) are written to bench/results/load.json and load.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from evals.metrics import percentile
from tests.servers import free_port
from ui.app import ANSWER_CONCURRENCY
from ui.openai_api import FIELD as OPENAI_FIELD
from ui.openai_api import MODEL_IDS

OPENAI_MODEL = MODEL_IDS["offline"]

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "evals" / "datasets" / "golden.jsonl"
RESULTS = Path(__file__).resolve().parent / "results"
WARM_UP = "How should conflicts of interest be managed in a GP federation?"
API_LABELS = {"gradio": "Gradio `ask`", "openai": "OpenAI `/v1/chat/completions`"}


# Server side: a child process, so its memory and CPU are those of one real app process. --------------------------
def serve(data_dir: Path, knowledge_dir: Path, port: int, limit: int) -> None:
    """Serve the app with the answer events limited to `limit` concurrent runs; print one READY line, then wait."""
    from assistant.pipeline import Assistant
    from assistant.settings import Settings
    from ui.app import build_app, launch

    settings = Settings(_env_file=None, data_dir=data_dir, knowledge_dir=knowledge_dir, answerer="offline",
                        log_questions=False, host="127.0.0.1", port=port)
    assistant = Assistant.from_settings(settings)
    assistant.ask(WARM_UP)  # loads the embedder and builds the lexical index before any timed request
    app = build_app(assistant, settings)
    limits = {}
    for fn in app.fns.values():
        if fn.concurrency_id == "answer":  # the chat and the `ask` API share this queue
            fn.concurrency_limit = limit
        limits[fn.concurrency_id if isinstance(fn.concurrency_id, str) else "other"] = fn.concurrency_limit
    _, url, _ = launch(app, settings, port=port, prevent_thread_lock=True)
    queue = app._queue
    info = {"url": url, "pid": os.getpid(), "answer_concurrency_limit": limit,
            "default_concurrency_limit": queue.default_concurrency_limit, "max_size": queue.max_size,
            "max_threads": app.max_threads, "ingest_concurrency_limit": limits.get("ingest")}
    print("READY " + json.dumps(info), flush=True)
    sys.stdin.read()  # the parent closes stdin to stop us
    app.close()


# Client side. ----------------------------------------------------------------------------------------------------

def proc_status(pid: int) -> dict[str, float]:
    """VmHWM (peak) and VmRSS of a process in MB, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmHWM", "VmRSS")}


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def golden_questions() -> list[tuple[str, str]]:
    """(question, history as JSON) pairs from the golden set."""
    rows = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["question"], json.dumps(r["history"]) if r.get("history") else "") for r in rows]


def start_server(data_dir: Path, knowledge_dir: Path, limit: int, timeout: float = 240.0):
    """The server subprocess and its READY info."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    env.update(GRADIO_ANALYTICS_ENABLED="False", ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1")
    cmd = [sys.executable, "-m", "bench.load_test", "--serve", "--port", str(free_port()), "--limit", str(limit),
           "--data-dir", str(data_dir), "--knowledge-dir", str(knowledge_dir)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    found: dict = {}

    def read() -> None:
        for line in proc.stdout:
            if line.startswith("READY "):
                found.update(json.loads(line[6:]))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if not found:
        proc.kill()
        raise SystemExit(f"The server did not start within {timeout:.0f} s (exit code {proc.poll()}).")
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # keep draining its output
    return proc, found


def stop_server(proc: subprocess.Popen) -> None:
    """Close the server's stdin and wait; kill it if it lingers."""
    try:
        proc.stdin.close()
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def asker(url: str, api: str, request_timeout: float):
    """A function (question, history JSON, seconds left) -> the answer's JSON, over `api` ("gradio" or "openai")."""
    if api == "openai":
        import openai

        client = openai.OpenAI(base_url=f"{url.rstrip('/')}/v1", api_key="load-test", max_retries=0,
                               timeout=request_timeout)

        def chat(question: str, history: str, left: float) -> dict:
            messages = [*json.loads(history or "[]"), {"role": "user", "content": question}]
            reply = client.chat.completions.create(model=OPENAI_MODEL, messages=messages, timeout=left)
            return (reply.model_extra or {})[OPENAI_FIELD]

        return chat
    from gradio_client import Client

    gradio = Client(url, verbose=False, download_files=False)
    return lambda question, history, left: gradio.submit(question, history, api_name="/ask").result(timeout=left)


def run_sessions(url: str, sessions: int, questions: int, deadline: float, request_timeout: float, seed: int,
                 api: str = "gradio") -> list[dict]:
    """Every request's outcome: session, latency (s), ok, refused, error."""
    pool = golden_questions()
    records: list[dict] = []
    lock = threading.Lock()
    start = threading.Barrier(sessions)

    def session(i: int) -> None:
        chosen = random.Random(seed * 1000 + i).sample(pool, min(questions, len(pool)))
        try:
            ask = asker(url, api, request_timeout)
        except Exception as exc:  # noqa: BLE001 - a session that cannot connect counts each question as an error
            with lock:
                records.extend({"session": i, "latency_s": None, "ok": False, "error": f"connect: {exc}"[:200]}
                               for _ in chosen)
            return
        try:
            start.wait(timeout=max(1.0, deadline - time.monotonic()))
        except threading.BrokenBarrierError:
            pass
        for question, history in chosen:
            left = deadline - time.monotonic()
            if left <= 0:
                with lock:
                    records.append({"session": i, "latency_s": None, "ok": False, "error": "not sent: deadline"})
                continue
            t0 = time.perf_counter()
            try:
                out = ask(question, history, min(request_timeout, left))
                rec = {"ok": True, "refused": bool(out["refused"]), "citations": len(out["citations"]),
                       "answer_ms": float(out["timings_ms"].get("total", 0.0))}
            except Exception as exc:  # noqa: BLE001 - every failure is a result here
                rec = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
            rec.update(session=i, latency_s=time.perf_counter() - t0)
            with lock:
                records.append(rec)

    threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + request_timeout)
    return records


def run_limit(limit: int, args, data_dir: Path, knowledge_dir: Path, api: str = "gradio") -> dict:
    """Start a server at one concurrency limit, load it through `api` ("gradio" or "openai"), and summarise."""
    load_before = os.getloadavg()
    proc, info = start_server(data_dir, knowledge_dir, limit)
    pid = info["pid"]
    try:
        asker(info["url"], api, args.request_timeout)(WARM_UP, "", args.request_timeout)
        rss_before = proc_status(pid)["VmRSS"]
        peak_rss = [rss_before]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                try:
                    peak_rss.append(proc_status(pid)["VmRSS"])
                except OSError:
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        cpu0, mine0, t0 = cpu_seconds(pid), cpu_seconds(os.getpid()), time.perf_counter()
        records = run_sessions(info["url"], args.sessions, args.questions, time.monotonic() + args.timeout,
                               args.request_timeout, args.seed, api)
        wall = time.perf_counter() - t0
        cpu, mine = cpu_seconds(pid) - cpu0, cpu_seconds(os.getpid()) - mine0
        stop.set()
        sampler.join()
        status = proc_status(pid)
    finally:
        stop_server(proc)
    ok = [r["latency_s"] * 1000 for r in records if r["ok"]]
    inside = [r["answer_ms"] for r in records if r["ok"]]
    errors = [r for r in records if not r["ok"]]
    return {
        "api": api, "limit": limit, "queue": {k: v for k, v in info.items() if k not in ("url", "pid")},
        "requests": args.sessions * args.questions, "completed": len(ok), "errors": len(errors),
        "error_samples": sorted({r["error"] for r in errors})[:5], "refused": sum(r.get("refused", False) for r in records),
        # Percentiles interpolate linearly (as the evaluation's and bench/run.py's do); 0 when nothing finished.
        "p50_ms": percentile(ok, 50) or 0.0, "p95_ms": percentile(ok, 95) or 0.0, "max_ms": max(ok, default=0.0),
        "mean_ms": sum(ok) / len(ok) if ok else 0.0, "wall_s": wall, "throughput_rps": len(ok) / wall if wall else 0.0,
        "answer_p50_ms": percentile(inside, 50) or 0.0, "answer_p95_ms": percentile(inside, 95) or 0.0,
        "server_cpu_s": cpu, "server_cores_busy": cpu / wall if wall else 0.0, "client_cores_busy": mine / wall if wall else 0.0,
        "rss_before_mb": rss_before, "rss_peak_during_mb": max(peak_rss + [status["VmRSS"]]), "vmhwm_mb": status["VmHWM"],
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
    }


def best(runs: list[dict], tolerance: float = 0.05) -> dict:
    """Among the Gradio runs without errors, those within `tolerance` of the top throughput; of these the lowest p95."""
    runs = [r for r in runs if r.get("api", "gradio") == "gradio"] or runs
    clean = [r for r in runs if r["errors"] == 0] or runs
    top = max(r["throughput_rps"] for r in clean)
    return min((r for r in clean if r["throughput_rps"] >= (1 - tolerance) * top), key=lambda r: r["p95_ms"])


def write_results(result: dict, out: Path) -> Path:
    """load.json and load.md under `out`; returns the Markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    m = result["machine"]
    lines = [
        "# Load test", "",
        f"{result['sessions']} concurrent sessions x {result['questions']} questions from the golden set, offline answerer, "
        f"one gradio_client.Client (or `openai` client) per session; app in a subprocess on 127.0.0.1 "
        f"({result['finished']}).", "",
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, gradio {m['gradio']}; index: `{result['data_dir']}`.", "",
        "| API | answer concurrency_limit | requests | errors | p50 ms | p95 ms | max ms | throughput req/s "
        "| answer p50 / p95 ms (in the pipeline) | cores busy: server / load client | peak RSS MB (VmHWM) "
        "| load avg before → after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in result["runs"]:
        lines.append(f"| {API_LABELS[r.get('api', 'gradio')]} | {r['limit']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | "
                     f"{r['max_ms']:.0f} | {r['throughput_rps']:.2f} | {r['answer_p50_ms']:.0f} / {r['answer_p95_ms']:.0f} | "
                     f"{r['server_cores_busy']:.2f} / {r['client_cores_busy']:.2f} | {r['vmhwm_mb']:.0f} | "
                     f"{r['loadavg_before'][0]:.2f} → {r['loadavg_after'][0]:.2f} |")
    q = result["runs"][0]["queue"]
    lines += ["", "Latency is per request as a client sees it (queue wait, HTTP and SSE included); the answer column is "
              "the pipeline's own time for the same requests. The load clients run on the same machine.", "",
              f"Queue: `app.queue(default_concurrency_limit={q['default_concurrency_limit']}, max_size={q['max_size']})`, "
              f"max_threads={q['max_threads']}; the `answer` events (chat and `ask` API) get the limit in the first column; "
              f"ingest limit {q['ingest_concurrency_limit']}. The OpenAI row is the same load as non-streamed "
              "`openai` client requests (one client per session), the answers written at most "
              f"{ANSWER_CONCURRENCY} at once by the API's own limit.", "",
              f"Best here: **concurrency_limit={result['recommended']}** (no errors, throughput within 5% of the top, "
              "then the lowest p95)."]
    for r in result["runs"]:
        if r["error_samples"]:
            lines.append(f"\nErrors at limit {r['limit']} ({API_LABELS[r.get('api', 'gradio')]}): "
                         + "; ".join(r["error_samples"]))
    path = out / "load.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build_index(knowledge: Path) -> Path:
    """A fresh index of `knowledge` in a temporary directory (via `assistant ingest`); returns its data dir."""
    base = Path(tempfile.mkdtemp(prefix="fa-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    env.update(ASSISTANT_DATA_DIR=str(base / "data"), ASSISTANT_KNOWLEDGE_DIR=str(knowledge), ANONYMIZED_TELEMETRY="False")
    print(f"Building an index of {knowledge} in {base} …", flush=True)
    subprocess.run([str(Path(sys.executable).parent / "assistant"), "ingest"], env=env, check=True, cwd=ROOT)
    return base / "data"


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, then serve (child) or run the load test (parent)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sessions", type=int, default=20, help="concurrent sessions, each with its own client")
    p.add_argument("--questions", type=int, default=10, help="questions per session (from the golden set)")
    p.add_argument("--limits", default="1,2,4", help="comma-separated concurrency limits to try for the answer queue")
    p.add_argument("--data-dir", type=Path, help="index to serve, copied first (default: .data if it holds one, else a fresh one)")
    p.add_argument("--knowledge-dir", type=Path, default=ROOT / "knowledge")
    p.add_argument("--timeout", type=float, default=600.0, help="overall seconds per limit; later requests are not sent")
    p.add_argument("--request-timeout", type=float, default=120.0, help="seconds one request may take")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-openai", action="store_true", help="skip the run over the OpenAI-compatible endpoint")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args.data_dir, args.knowledge_dir, args.port, args.limit)
        return
    if not (1 <= args.sessions <= 200 and 1 <= args.questions <= 100):
        p.error("--sessions must be 1..200 and --questions 1..100")
    source, built = args.data_dir, False
    if source is None:
        default = ROOT / ".data"
        built = not (default / "records.sqlite3").exists()
        source = build_index(args.knowledge_dir) if built else default
    # The server works on a copy, so nothing it opens or writes can disturb the index it was given.
    temporary = Path(tempfile.mkdtemp(prefix="fa-load-copy-"))
    data_dir = temporary / "data"
    shutil.copytree(source, data_dir, ignore=shutil.ignore_patterns("eval-cache", "questions.jsonl", "feedback.sqlite3*"))
    if built:
        shutil.rmtree(source.parent, ignore_errors=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    runs = []
    try:
        for limit in [int(x) for x in args.limits.split(",") if x.strip()]:
            print(f"concurrency_limit={limit}: {args.sessions} sessions x {args.questions} questions …", flush=True)
            run = run_limit(limit, args, data_dir, args.knowledge_dir)
            print(f"  p50 {run['p50_ms']:.0f} ms, p95 {run['p95_ms']:.0f} ms, max {run['max_ms']:.0f} ms, "
                  f"{run['throughput_rps']:.2f} req/s, {run['errors']} errors, peak RSS {run['vmhwm_mb']:.0f} MB, "
                  f"load avg {run['loadavg_before'][0]:.2f} → {run['loadavg_after'][0]:.2f}", flush=True)
            runs.append(run)
        if not args.no_openai:
            print(f"OpenAI endpoint at concurrency {ANSWER_CONCURRENCY}: {args.sessions} clients x {args.questions} "
                  "questions …", flush=True)
            run = run_limit(ANSWER_CONCURRENCY, args, data_dir, args.knowledge_dir, api="openai")
            print(f"  p50 {run['p50_ms']:.0f} ms, p95 {run['p95_ms']:.0f} ms, {run['throughput_rps']:.2f} answers/s, "
                  f"{run['errors']} errors", flush=True)
            runs.append(run)
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)
    import gradio

    result = {"started": started, "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "sessions": args.sessions,
              "questions": args.questions, "data_dir": str(source), "runs": runs, "recommended": best(runs)["limit"],
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "gradio": gradio.__version__,
                          "platform": platform.platform()}}
    path = write_results(result, args.out)
    print(path.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
