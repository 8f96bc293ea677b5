"""The UI's HTTP API through gradio_client (real server on 127.0.0.1), login, and the escaping of rendered text."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from tests.servers import free_port
from conftest import make_settings


@contextmanager
def running(assistant, settings):
    """The app served on 127.0.0.1 at a free port for the duration of the block; yields its URL."""
    from ui.app import build_app, launch

    app = build_app(assistant, settings)
    port = free_port()
    _, url, _ = launch(app, settings, port=port, prevent_thread_lock=True)
    try:
        assert url.startswith(f"http://127.0.0.1:{port}")
        yield url
    finally:
        app.close()


@pytest.mark.slow
def test_ask_endpoint_returns_answer_with_citations(assistant, index_dir):
    from gradio_client import Client

    settings = make_settings(index_dir)
    assert settings.host == "127.0.0.1"
    with running(assistant, settings) as url:
        client = Client(url, verbose=False)
        assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        first = client.predict("How should conflicts of interest be managed in a GP federation?", "", api_name="/ask")
        assert not first["refused"]
        assert len(first["citations"]) >= 1
        assert all({"n", "title", "publisher", "year", "quote", "supported"} <= set(c) for c in first["citations"])
        assert "[1]" in first["answer"]

        history = json.dumps([{"role": "user", "content": first["question"]},
                              {"role": "assistant", "content": first["answer"]}])
        follow = client.predict("And how did they declare them?", history, api_name="/ask")
        assert first["question"] in follow["standalone_question"]  # the follow-up was read with its history

        # The history as a list of messages, or null, or left out: all answer.
        messages = [{"role": "user", "content": first["question"]}, {"role": "assistant", "content": first["answer"]}]
        listed = client.predict("And how did they declare them?", messages, api_name="/ask")
        assert listed["standalone_question"] == follow["standalone_question"] and listed["citations"]
        for none in (client.predict("What legal forms can a GP federation take?", None, api_name="/ask"),
                     client.predict(question="What legal forms can a GP federation take?", api_name="/ask")):
            assert not none["refused"] and none["citations"]
            assert none["standalone_question"] == "What legal forms can a GP federation take?"

        # Bad input gets a message saying what to send; the server keeps answering.
        for bad, why in (("not json", "not valid JSON"), ({"role": "user"}, "Got a dict"),
                         ([{"role": "robot", "content": "x"}], "role 'robot'"), ([{"role": "user"}], "no text")):
            with pytest.raises(Exception, match=f"history must be a list of .*{why}"):
                client.predict("Anything?", bad, api_name="/ask")
        with pytest.raises(Exception, match="empty"):
            client.predict("   ", "", api_name="/ask")
        assert client.predict("What legal forms can a GP federation take?", [], api_name="/ask")["citations"]


@pytest.mark.slow
def test_login_is_required_when_auth_is_set(assistant, index_dir):
    from gradio_client import Client

    settings = make_settings(index_dir, auth="alice:s3cret-pass")
    with running(assistant, settings) as url:
        with pytest.raises(Exception):
            Client(url, verbose=False)
        client = Client(url, auth=("alice", "s3cret-pass"), verbose=False)
        answer = client.predict("What legal forms can a GP federation take?", "", api_name="/ask")
        assert answer["citations"]


def test_history_is_read_from_a_list_json_text_or_nothing():
    from assistant.errors import InputError
    from assistant.schema import Turn
    from ui.api import parse_history

    turns = [Turn("user", "Q?"), Turn("assistant", "A.")]
    messages = [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]
    assert parse_history(messages) == turns and parse_history(json.dumps(messages)) == turns
    assert parse_history(None) == parse_history("") == parse_history("  ") == parse_history("null") == []
    for bad in ("[1]", "{}", 3, [{"role": "user", "content": None}], [{"content": "x"}], "[{"):
        with pytest.raises(InputError, match="history must be a list"):
            parse_history(bad)


def test_parse_auth():
    from assistant.errors import ConfigError
    from ui.app import parse_auth

    assert parse_auth(None) is None and parse_auth("  ") is None
    assert parse_auth("a:b, c:d:e") == [("a", "b"), ("c", "d:e")]
    for bad in ("nopassword", "a:", ":b"):
        with pytest.raises(ConfigError):
            parse_auth(bad)


def test_user_and_document_text_is_escaped():
    from ui import render

    hostile = "<script>alert(1)</script> <b>x</b> **bold** [link](javascript:alert(1)) ![i](x.png)\n# Heading\n- item"
    md = render.md_text(hostile)
    for raw in ("<script", "<b>", "**", "](", "\n#", "\n-"):
        assert raw not in md
    assert "&lt;script&gt;" in md

    answer = {
        "question": "<img src=x onerror=alert(1)>", "answer": "Boards are elected <i>yearly</i> [1] (unverified). Also [2].",
        "notices": ["<b>note</b>"],
        "citations": [
            {"n": 1, "chunk_id": "c1", "title": "<Title>", "publisher": "P&Q", "year": 2016, "section": "Gov <s>",
             "page": 3, "quote": "Boards are elected.", "supported": False},
            {"n": 2, "chunk_id": "c2", "title": "T2", "publisher": "P", "year": None, "section": "", "page": None,
             "quote": "Other text", "supported": True},
        ],
        "passages": [{"chunk_id": "c1", "text": "Intro <script>x</script>. Boards  are\nelected. After."},
                     {"chunk_id": "c2", "text": "Other text here."}],
    }
    chat = render.answer_markdown(answer, 1)
    assert "<i>" not in chat and "&lt;i&gt;" in chat and "&lt;b&gt;note" in chat
    assert '<a href="#ans1-src1"' in chat and "not verified" in chat and "<em>(unverified)</em>" in chat
    panel = render.sources_html([answer])
    assert "<script>" not in panel and "<img" not in panel and "<s>" not in panel
    assert 'id="ans1-src1"' in panel and "&lt;Title&gt;" in panel and "P&amp;Q" in panel
    assert "<mark>Boards  are\nelected.</mark>" in panel
    assert "Not verified" in panel and "page 3" in panel and "Show the full passage" in panel
