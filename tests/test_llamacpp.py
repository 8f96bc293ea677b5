"""The LLM path against a real OpenAI-compatible server: llama.cpp (xllamacpp) serving SmolLM2-135M-Instruct on
127.0.0.1 with one thread. Answers are capped at a few dozen tokens so the module stays within a few minutes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.answering.llm import OpenAIAnswerer, UnusableAnswer
from assistant.answering.prompts import PromptLibrary
from assistant.errors import LLMError
from assistant.ingest.tokens import encoding
from assistant.pipeline import Assistant
from assistant.schema import Answer, Chunk, Generation, Passage, Restart
from conftest import ROOT, load_jsonl, make_settings
from tests.llamacpp import llamacpp_server

pytestmark = pytest.mark.slow
CAP = 24  # tokens per answer: SmolLM2 writes about 30 a second on one thread
N_CTX = 2048
QUESTION = "What is a GP federation?"
BIN = Path(sys.executable).parent / "assistant"


@pytest.fixture(scope="session")
def llama(tmp_path_factory):
    """One llama.cpp server for the session (2048-token context, an API key)."""
    with llamacpp_server(tmp_path_factory.mktemp("llamacpp"), n_ctx=N_CTX) as server:
        yield server


def _settings(base: Path, server, **overrides):
    values = dict(openai_api_key=server.api_key, openai_base_url=server.url, answerer="llm", llm_max_retries=2,
                  llm_timeout_s=60, llm_answer_tokens=CAP, top_k=2, log_questions=False)
    return make_settings(base, **{**values, **overrides})


def _answerer(tmp_path: Path, server, **overrides) -> OpenAIAnswerer:
    settings = _settings(tmp_path, server, **overrides)
    return OpenAIAnswerer(settings, PromptLibrary(ROOT / "prompts"), encoding(settings.tiktoken_dir))


def _passage(n: int, text: str) -> Passage:
    chunk = Chunk(f"c{n}", "nuffield-2016", "Is bigger better?", 2016, "Federations", n, text, publisher="Nuffield Trust")
    return Passage(n, chunk, 1.0 / n)


PASSAGES = [_passage(1, "A GP federation is a group of practices that work together to share staff, back-office "
                        "functions and the delivery of some services, while each practice keeps its own contract.")]


def _run(answerer: OpenAIAnswerer, passages=PASSAGES) -> tuple[list[str], Generation | None, LLMError | None]:
    """Pieces, generation and error of one streamed answer."""
    pieces: list[str] = []
    stream = answerer.stream(QUESTION, passages)
    try:
        while True:
            pieces.append(next(stream))
    except StopIteration as done:
        return pieces, done.value, None
    except UnusableAnswer as exc:
        return pieces, exc.generation, exc
    except LLMError as exc:
        return pieces, None, exc


def test_the_server_states_its_context_and_passages_are_fitted_to_it(tmp_path, llama):
    a = _answerer(tmp_path, llama, llm_context_tokens=100_000)
    assert a.server_context() == N_CTX
    budget, ctx = a.prompt_budget(CAP)
    assert ctx == N_CTX and budget < N_CTX - CAP


def test_no_answer_runs_past_its_token_cap(tmp_path, llama):
    pieces, generation, error = _run(_answerer(tmp_path, llama))
    assert generation is not None, error
    # The server's own count: at most the cap, and "length" when the cap cut it off.
    assert generation.max_tokens == CAP and 0 < (generation.completion_tokens or 0) <= CAP
    assert generation.finish_reason in ("stop", "length") and generation.prompt_tokens
    if generation.finish_reason == "length":
        assert generation.completion_tokens == CAP and generation.truncated


def test_no_answer_runs_past_its_deadline(tmp_path, llama):
    deadline = 2.0
    a = _answerer(tmp_path, llama, llm_answer_tokens=600, llm_deadline_s=deadline)
    _run(a)  # the system prompt is now in the server's cache, so text arrives well inside the deadline
    started = time.monotonic()
    pieces, generation, error = _run(a)
    elapsed = time.monotonic() - started
    assert elapsed < deadline + 1.0  # the deadline itself, and the hand-over from the reading thread
    if generation is not None:  # text came in time: what came is kept, marked as cut off at the deadline
        assert generation.finish_reason == "deadline" and generation.truncated and pieces
        assert (generation.completion_tokens or 0) < 600
    else:
        assert error is not None and "deadline" in str(error), error


def test_a_truncated_answer_carries_a_notice(index_dir, llama):
    cap = 8  # shorter than any whole answer, the "not covered" sentence included
    answer = Assistant.from_settings(_settings(index_dir, llama, llm_answer_tokens=cap)).ask(QUESTION)
    (notice,) = answer.notices
    assert f"cut off at its {cap}-token limit" in notice
    if answer.generation is not None:  # kept: the verifier ran on what came
        assert answer.generation.finish_reason == "length" and answer.generation.completion_tokens == cap
    else:  # cut off before any [n] marker: nothing to check, so the offline answer, saying why
        assert answer.answerer == "offline" and answer.citations and "offline answer" in notice


def test_a_context_overflow_shows_the_advice_naming_the_setting(tmp_path, llama):
    # Runs of digits take twice the tokens in SmolLM2's tokenizer that they take in cl100k_base, beyond the margin
    # the fitting keeps: the server rejects the prompt, in llama.cpp's own words.
    digits = " ".join(f"{n:07d}" for n in range(1_000_000, 1_000_600, 3))
    pieces, _, error = _run(_answerer(tmp_path, llama), [_passage(1, digits)])
    assert error is not None and not pieces
    message = str(error)
    assert "ASSISTANT_LLM_CONTEXT_TOKENS" in message and "exceeds the available context size" in message
    assert f"states a context of {N_CTX} tokens" in message


def test_a_wrong_api_key_is_tried_once_and_says_so(index_dir, llama):
    answer = Assistant.from_settings(_settings(index_dir, llama, openai_api_key="wrong-key")).ask(QUESTION)
    assert answer.answerer == "offline" and answer.citations
    (notice,) = answer.notices
    assert "HTTP 401 (tried once: the same request would fail again)" in notice
    assert "OPENAI_API_KEY" in notice and "wrong-key" not in notice


def test_a_server_killed_mid_stream_falls_back_to_the_offline_answer(index_dir, tmp_path):
    with llamacpp_server(tmp_path / "own", n_ctx=N_CTX) as own:
        assistant = Assistant.from_settings(_settings(index_dir, own, llm_answer_tokens=400, llm_max_retries=0, top_k=1))
        items: list[str | Answer] = []
        for item in assistant.stream(QUESTION):
            if isinstance(item, str) and not isinstance(item, Restart) and len(items) == 0:
                own.process.kill()  # the first piece has arrived: the server dies mid-answer
            items.append(item)
    final = items[-1]
    assert isinstance(final, Answer) and final.answerer == "offline" and final.citations
    assert sum(isinstance(i, Restart) for i in items) == 1  # the model's text is withdrawn once
    (notice,) = final.notices
    assert "stopped in the middle of its answer" in notice and "offline answer" in notice


def test_eval_with_the_llm_reports_llm_only_metrics_fallbacks_and_judge_failures(index_dir, llama, tmp_path):
    # An 8-token cap cuts SmolLM2 off before its first [n] marker (its "not covered" sentence takes 10), or it stops
    # short without one, so answers fall back; a 32-token judge cap cuts the judge's JSON off. Both must show in the report, with their reasons.
    rows = [r for r in load_jsonl(ROOT / "evals" / "datasets" / "smoke.jsonl")][:2]
    dataset = tmp_path / "three.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(index_dir / "data"), "ASSISTANT_KNOWLEDGE_DIR": str(index_dir / "knowledge"),
           "TIKTOKEN_CACHE_DIR": str(index_dir / "tiktoken"), "OPENAI_BASE_URL": llama.url, "OPENAI_API_KEY": llama.api_key,
           "ASSISTANT_LLM_ANSWER_TOKENS": "8", "ASSISTANT_LLM_JUDGE_TOKENS": "32", "ASSISTANT_LLM_TIMEOUT_S": "60"}
    out = tmp_path / "eval"
    done = subprocess.run([str(BIN), "eval", "--answerer", "llm", "--dataset", str(dataset), "--out", str(out),
                           "--no-baselines", "-k", "1"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    results = load_jsonl(out / "results.jsonl")
    by = summary["answered_by"]
    assert sum(by.values()) == len(results) == 2
    assert summary["fallbacks"] == by["fallback"] == sum(r["answered_by"] == "fallback" for r in results)
    written = [r for r in results if r["answered_by"] == "model"]
    if written:  # LLM-only metrics are over the model's answers alone
        assert summary["llm_only"]["questions"] == len(written)
    else:
        assert summary["llm_only"] is None
    for r in results:
        assert isinstance(r["citations"], list) and r["citations_count"] == (0 if r["refused"] else len(r["citations"]))
        assert all(isinstance(c["supported"], bool) for c in r["citations"])
        assert (r["generation"] is not None) == (r["answered_by"] == "model")
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## What answered (our system)" in report and f"fell back to the offline answerer: {by['fallback']}" in report
    # Cut off at 8 tokens, or (told a two-part question's parts) a short "not given" reply with no marker.
    assert by["fallback"] and all("cut off at its 8-token limit" in f["notice"] or "no [n] citation markers" in f["notice"]
                                  for f in summary["fallback_reasons"]), summary["fallback_reasons"]
    for fallback in summary["fallback_reasons"]:
        assert fallback["notice"][:60] in report
    assert summary["judge_failures"] and "judge call(s) failed" in summary["judge"]
    for failure in summary["judge_failures"]:  # every failed judge call, with its reason, in the report
        assert failure["reason"] and failure["reason"][:40] in report
