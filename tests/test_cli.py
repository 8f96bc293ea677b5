"""The `assistant` command as users and scripts call it: JSON contract, readable output, clear errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent / "assistant"


def run(args, index_dir, **env):
    environ = {**os.environ, "ASSISTANT_DATA_DIR": str(index_dir / "data"),
               "ASSISTANT_KNOWLEDGE_DIR": str(index_dir / "knowledge"), **env}
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=environ, timeout=120)


def test_ask_json_prints_the_documented_object(index_dir):
    out = run(["ask", "--json", "What legal form did the Suffolk GP Federation take?"], index_dir)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"answer", "refused", "citations", "passages", "timings_ms"} <= set(data)
    assert data["refused"] is False and data["citations"]
    assert {"n", "doc_id", "title", "year", "section", "page", "quote"} <= set(data["citations"][0])
    assert {"rank", "chunk_id", "doc_id", "title", "section", "page", "text", "score"} <= set(data["passages"][0])
    assert {"retrieve", "answer", "total"} <= set(data["timings_ms"])
    assert "[1]" in data["answer"]


def test_ask_prints_an_answer_and_numbered_sources(index_dir):
    out = run(["ask", "How did the Tower Hamlets networks pay practices?"], index_dir)
    assert out.returncode == 0, out.stderr
    assert "Sources:" in out.stdout and "[1]" in out.stdout


def test_retrieve_json_returns_k_ranked_passages(index_dir):
    out = run(["retrieve", "--json", "-k", "3", "design principles for new models of care"], index_dir)
    assert out.returncode == 0, out.stderr
    passages = json.loads(out.stdout)
    assert [p["rank"] for p in passages] == [1, 2, 3]
    assert passages[0]["score"] >= passages[-1]["score"]


def test_an_empty_question_gets_a_clear_error_and_exit_code_2(index_dir):
    out = run(["ask", "   "], index_dir)
    assert out.returncode == 2
    assert "empty" in out.stderr and "Traceback" not in out.stderr


def test_asking_before_any_index_exists_says_how_to_build_it(tmp_path):
    (tmp_path / "knowledge").mkdir()
    out = run(["ask", "What is a GP federation?"], tmp_path)
    assert out.returncode == 2
    assert "assistant ingest" in out.stderr and "Traceback" not in out.stderr


def test_ingest_reports_skipped_files_by_name(tmp_path):
    k = tmp_path / "knowledge"
    k.mkdir()
    (k / "notes.txt").write_text("Riverside federation set up a board of six GP directors in 2015. " * 10)
    (k / "empty.md").write_text("")
    out = run(["ingest"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Skipped: empty.md" in out.stdout and "1 added" in out.stdout


def test_serve_warms_the_index_then_serves_the_chat_on_localhost(index_dir):
    import time
    import urllib.request

    from tests.servers import free_port

    port = free_port()
    environ = {**os.environ, "ASSISTANT_DATA_DIR": str(index_dir / "data"),
               "ASSISTANT_KNOWLEDGE_DIR": str(index_dir / "knowledge"), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([str(BIN), "serve", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=environ)
    try:
        line = proc.stdout.readline()  # printed after the warm-up, before the server starts
        assert f"http://127.0.0.1:{port}" in line, line
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    assert resp.status == 200 and "Federation Advisor" in resp.read().decode("utf-8", "replace")
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_warm_builds_the_lexical_index_before_any_question(index_dir):
    from assistant.pipeline import Assistant
    from conftest import make_settings

    assistant = Assistant.from_settings(make_settings(index_dir))
    assert assistant.retriever._generation is None
    assistant.warm()
    assert assistant.retriever._generation is not None and assistant.retriever.vocabulary


def test_retrieval_is_the_same_in_every_process_whatever_the_hash_seed(index_dir):
    # Many words that name reports (the document prior sums over them), and a quantity.
    question = "What did the Nuffield Trust slides, the King's Fund 2013 report and the 2018 London framework say about how many practices federate?"
    outs = [run(["retrieve", "--json", "-k", "10", question], index_dir, PYTHONHASHSEED=seed) for seed in ("1", "2", "3")]
    assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
    ranked = [[(p["chunk_id"], p["score"]) for p in json.loads(o.stdout)] for o in outs]  # scores to the last bit
    assert ranked[0] == ranked[1] == ranked[2] and len(ranked[0]) == 10
