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
from fake_openai import Garbage, Reply, Status, running_fake_openai

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
