"""The LLM path end to end: a local OpenAI-compatible server, the real openai client, verified citations, fallback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.answering.citations import split_sentences
from tests.servers import free_port
from assistant.schema import Answer, Turn
from assistant.pipeline import Assistant
from conftest import make_settings
from fake_openai import Cut, Garbage, Reply, Status, running_fake_openai

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent / "assistant"
QUESTION = "How did the case-study organisations manage conflicts of interest when bidding for new services?"


def _llm_assistant(index_dir, url, **overrides):
    settings = make_settings(index_dir, openai_api_key="x", openai_base_url=url, llm_timeout_s=5,
                             llm_max_retries=0, answerer="llm", **overrides)
    return Assistant.from_settings(settings)


def _supported_reply(assistant):
    """A model reply that quotes the top passage (supported) and adds a claim citing a passage that doesn't exist."""
    top = assistant.retrieve(QUESTION).passages[0]
    sentence = next(s for s in split_sentences(top.chunk.text) if len(s.split()) > 8)
    return f"{sentence} [1] The moon is made of cheese [9]."



def test_cli_llm_answer_has_verified_citations_and_markers_to_nowhere_removed(index_dir, assistant):
    with running_fake_openai(default=Reply(_supported_reply(assistant))) as fake:
        env = {**os.environ, "ASSISTANT_DATA_DIR": str(index_dir / "data"), "ASSISTANT_KNOWLEDGE_DIR": str(index_dir / "knowledge"),
               "OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "x", "ASSISTANT_LLM_MAX_RETRIES": "0"}
        out = subprocess.run([str(BIN), "ask", "--answerer", "llm", "--json", QUESTION], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answerer"].startswith("llm:")
    assert "[9]" not in data["answer"]
    assert [c["n"] for c in data["citations"]] == [1]
    assert data["citations"][0]["supported"] is True
    assert "(unverified)" in data["answer"]  # the cheese claim has no supporting passage left
    assert 0 < data["grounded"] < 1
    assert fake.completions and fake.completions[-1].stream


def test_cli_with_the_server_stopped_returns_the_offline_answer_and_a_notice(index_dir):
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(index_dir / "data"), "ASSISTANT_KNOWLEDGE_DIR": str(index_dir / "knowledge"),
           "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "OPENAI_API_KEY": "x", "ASSISTANT_LLM_MAX_RETRIES": "0"}
    out = subprocess.run([str(BIN), "ask", "--answerer", "llm", "--json", QUESTION], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answerer"] == "offline" and data["citations"]
    assert any("offline answer" in n for n in data["notices"])


def test_streaming_yields_pieces_before_the_verified_answer(index_dir, assistant):
    with running_fake_openai(default=Reply(_supported_reply(assistant))) as fake:
        items = list(_llm_assistant(index_dir, fake.url).stream(QUESTION))
    pieces = [i for i in items if isinstance(i, str)]
    assert len(pieces) > 3
    assert isinstance(items[-1], Answer) and items[-1].citations


@pytest.mark.parametrize("step", [Status(500), Garbage()], ids=["http-500", "garbage"])
def test_a_failing_model_falls_back_to_the_offline_answer_with_a_notice(index_dir, step):
    with running_fake_openai(script=[step, step, step], default=step) as fake:
        answer = _llm_assistant(index_dir, fake.url).ask(QUESTION)
    assert answer.answerer == "offline" and answer.citations and not answer.refused
    assert answer.notices


def test_a_follow_up_is_rewritten_by_the_model_before_retrieval(index_dir, assistant):
    standalone = "What legal form did the Suffolk GP Federation choose?"
    with running_fake_openai(script=[Reply(standalone)], default=Reply(_supported_reply(assistant))) as fake:
        answer = _llm_assistant(index_dir, fake.url).ask(
            "And what legal form did they choose?",
            [Turn("user", "Tell me about the Suffolk GP Federation."), Turn("assistant", "It is a federation of practices [1].")],
        )
    assert answer.standalone_question == standalone
    assert any("Suffolk" in p.chunk.text or "Suffolk" in p.chunk.case_study for p in answer.passages)
    assert len(fake.completions) == 2


def test_cli_streams_the_model_answer_then_the_checked_answer_and_sources(index_dir, assistant):
    with running_fake_openai(default=Reply(_supported_reply(assistant))) as fake:
        env = {**os.environ, "ASSISTANT_DATA_DIR": str(index_dir / "data"), "ASSISTANT_KNOWLEDGE_DIR": str(index_dir / "knowledge"),
               "OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "x", "ASSISTANT_LLM_MAX_RETRIES": "0"}
        out = subprocess.run([str(BIN), "ask", QUESTION], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "The moon is made of cheese [9]" in out.stdout  # the raw stream, as the model wrote it
    assert "Checked answer:" in out.stdout and "(unverified)" in out.stdout
    assert "Sources:\n[1]" in out.stdout


def _env(index_dir, url):
    return {**os.environ, "ASSISTANT_DATA_DIR": str(index_dir / "data"), "ASSISTANT_KNOWLEDGE_DIR": str(index_dir / "knowledge"),
            "OPENAI_BASE_URL": url, "OPENAI_API_KEY": "x", "ASSISTANT_LLM_MAX_RETRIES": "0"}


def test_cli_after_a_mid_stream_failure_says_so_and_prints_the_offline_answer_once(index_dir, assistant):
    offline = assistant.ask(QUESTION).text
    with running_fake_openai(default=Cut(_supported_reply(assistant))) as fake:
        out = subprocess.run([str(BIN), "ask", QUESTION], capture_output=True, text=True, env=_env(index_dir, fake.url),
                             timeout=120)
    assert out.returncode == 0, out.stderr
    assert "the text above is discarded" in out.stdout and "Checked answer:" not in out.stdout
    assert out.stdout.count(offline) == 1
    assert out.stdout.count("stopped in the middle of its answer") == 2  # the live line, then the one notice


def test_a_failed_follow_up_rewrite_gives_one_notice(index_dir):
    with running_fake_openai(default=Status(500)) as fake:
        answer = _llm_assistant(index_dir, fake.url).ask(
            "And what legal form did they choose?", [Turn("user", "Tell me about the Suffolk GP Federation."),
                                                     Turn("assistant", "It is a federation of practices [1].")])
    assert answer.answerer == "offline" and len(fake.completions) == 1  # the answer is not asked of a failed server
    (notice,) = answer.notices
    assert notice.count("The language model") == 1 and "HTTP 500 (tried once)" in notice and "rewriting" in notice


def test_a_reply_cut_off_at_the_cap_is_kept_checked_with_a_notice_and_its_usage_in_the_json(index_dir, assistant):
    with running_fake_openai(default=Reply(_supported_reply(assistant), finish="length")) as fake:
        out = subprocess.run([str(BIN), "ask", "--answerer", "llm", "--json", QUESTION], capture_output=True, text=True,
                             env={**_env(index_dir, fake.url), "ASSISTANT_LLM_ANSWER_TOKENS": "50"}, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answerer"].startswith("llm:") and data["citations"][0]["supported"] is True
    assert data["generation"]["finish_reason"] == "length" and data["generation"]["truncated"] is True
    assert data["generation"]["max_tokens"] == 50 and data["generation"]["completion_tokens"] > 0
    (notice,) = data["notices"]
    assert "cut off at its 50-token limit (ASSISTANT_LLM_ANSWER_TOKENS)" in notice
    assert fake.completions[-1].body["max_tokens"] == 50


def test_a_workshop_pack_that_fell_back_does_not_say_the_model_prepared_it(index_dir):
    from assistant.documents.outline import prepared
    from assistant.documents.workshop import build_workshop

    with running_fake_openai(default=Status(500)) as fake:
        pack = build_workshop(_llm_assistant(index_dir, fake.url), case="Suffolk GP Federation", answerer="llm")
    assert pack.answerer == "offline" and "(offline)" in prepared(pack.created, pack.answerer, pack.library)
    (failed,) = [w for w in pack.warnings if "HTTP 500" in w]
    assert failed.count("The language model") == 1 and "offline extractive version" in failed
