"""Bounded input and state: question, history and comment limits checked before processing (UI, API, CLI), a capped
session, feedback per visitor per hour, and a growing wait after failed sign-ins (per user and per address)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import HTTPException

from assistant.errors import InputError
from assistant.feedback import MAX_COMMENT_CHARS, FeedbackStore
from assistant.schema import Turn
from conftest import make_settings
from tests.servers import free_port

BIN = Path(sys.executable).parent / "assistant"
QUESTION = "How should a GP federation manage conflicts of interest?"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fn(app, name: str):
    return next(f.fn for f in app.fns.values() if f.name == name)


# Questions and histories -----------------------------------------------------------------------------------------
def test_an_overlong_question_is_refused_before_it_is_normalised(assistant):
    # Mostly spaces: normalising would shrink it under the limit, so only a check made first refuses it.
    padded = "How are federation boards run?" + " " * 5000
    with pytest.raises(InputError, match="maximum is 2000"):
        assistant.ask(padded)
    with pytest.raises(InputError, match="maximum is 2000"):
        assistant.ask("x" * 5_000_000)


def test_a_history_with_too_many_turns_or_characters_is_refused(assistant):
    many = [Turn("user", "What is a federation?"), Turn("assistant", "A group of practices.")] * 21  # 42 turns
    with pytest.raises(InputError, match="maximum is 40"):
        assistant.ask(QUESTION, many)
    huge = [Turn("user", "What is a federation?"), Turn("assistant", "A group of practices. " * 3000)]
    with pytest.raises(InputError, match="over 60000 characters"):
        assistant.ask(QUESTION, huge)
    assert assistant.ask(QUESTION, many[:4]).citations  # a normal conversation is answered


@pytest.mark.slow
def test_the_ask_api_refuses_an_oversized_history_unread_and_a_long_question(assistant, index_dir):
    from gradio_client import Client

    from ui.app import build_app, launch

    settings = make_settings(index_dir)
    app = build_app(assistant, settings)
    launch(app, settings, port=free_port(), prevent_thread_lock=True)
    try:
        client = Client(app.local_url, verbose=False)
        big = json.dumps([{"role": "user", "content": "governance " * 20_000}])  # 220 KB of history
        with pytest.raises(Exception, match="history is .* characters long"):
            client.predict(QUESTION, big, api_name="/ask")
        with pytest.raises(Exception, match="maximum is 2000"):
            client.predict("Why? " * 1000, "", api_name="/ask")
        assert client.predict(QUESTION, "", api_name="/ask")["citations"]
    finally:
        app.close()


def test_the_cli_refuses_an_oversized_history_file(index_dir, tmp_path):
    import os

    history = tmp_path / "turns.json"
    history.write_text(json.dumps([{"role": "user", "content": "governance " * 20_000}]), encoding="utf-8")
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(index_dir / "data"),
           "ASSISTANT_KNOWLEDGE_DIR": str(index_dir / "knowledge")}
    out = subprocess.run([str(BIN), "ask", "--history", str(history), QUESTION], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 2 and "--history is" in out.stderr, out.stdout + out.stderr


# The chat's session ------------------------------------------------------------------------------------------------
def test_a_chat_session_is_capped_and_sends_only_recent_sources(index_dir):
    from assistant.pipeline import Assistant
    from ui.app import build_app

    settings = make_settings(index_dir, max_history_turns=6, sources_kept=2, log_questions=False)
    app = build_app(Assistant.from_settings(settings), settings)
    respond = _fn(app, "respond")
    answers: list = []
    for q in ("What legal forms can a GP federation take?", "How should the board be set up?", QUESTION):
        *_, last = respond(q, [{"role": "user", "content": "sent by the browser " * 1000}], answers)
        messages, _, answers, sources, _, error = last
        assert not error
    assert len(messages) == 6 and "sent by the browser" not in json.dumps(messages)  # the chat is drawn from state
    assert "passages" not in answers[0] and all("passages" in a for a in answers[1:])
    assert 'id="ans3"' in sources and 'id="ans2"' in sources and 'id="ans1"' not in sources
    *_, last = respond("And what about Suffolk?", [], answers)
    assert "New conversation" in last[-1] and len(last[2]) == 3  # refused before it is asked
    *_, last = respond("Why? " * 500, [], [])
    assert "maximum is 2000" in last[-1] and last[2] == []


# Feedback --------------------------------------------------------------------------------------------------------------
def test_feedback_is_limited_per_visitor_and_an_overlong_comment_is_refused_before_storing(assistant, tmp_path):
    import gradio as gr

    from ui.app import HELPFUL, build_app

    settings = make_settings(tmp_path, feedback_path=tmp_path / "fb.sqlite3", feedback_per_hour=5)
    app = build_app(assistant, settings)
    send = _fn(app, "send_feedback")
    answers = [assistant.ask(QUESTION).to_json()]
    me, other = SimpleNamespace(username=None, session_hash="me"), SimpleNamespace(username=None, session_hash="you")
    with pytest.raises(gr.Error, match=f"maximum is {MAX_COMMENT_CHARS}"):
        send(answers, 1, HELPFUL, "x" * (MAX_COMMENT_CHARS + 1), None, me)
    for i in range(5):
        send(answers, 1, HELPFUL, f"Useful, thanks, said Mrs Jones ({i}).", None, me)
    with pytest.raises(gr.Error, match="in the last hour"):
        send(answers, 1, HELPFUL, "one more", None, me)
    send(answers, 1, HELPFUL, "Another visitor is not held back.", None, other)
    rows = FeedbackStore(settings.feedback_db).all()
    assert len(rows) == 6 and not any("Jones" in r["comment"] for r in rows)  # names redacted before storing


def test_rate_limit_slides_with_time():
    from ui.limits import RateLimit

    clock = Clock()
    limit = RateLimit(2, 60, clock=clock)
    assert limit.allow("a") and limit.allow("a") and not limit.allow("a") and limit.allow("b")
    clock.now += 61
    assert limit.allow("a")


# Sign-in -----------------------------------------------------------------------------------------------------------
def test_failed_sign_ins_make_the_next_ones_wait_longer_even_with_the_right_password():
    from ui.limits import LoginThrottle

    clock = Clock()
    check = LoginThrottle([("alice", "s3cret-pass")], free=3, max_wait_s=300, clock=clock)
    refused = 0
    for _ in range(60):
        try:
            assert check("alice", "wrong") is False
        except HTTPException as exc:
            assert exc.status_code == 429
            refused += 1
    assert refused == 56  # three free tries, the fourth starts a 1 s wait, and no time passes
    with pytest.raises(HTTPException, match="try again"):
        check("alice", "s3cret-pass")
    clock.now += 1.5
    assert check("alice", "wrong") is False  # the fifth failure: now 2 s
    clock.now += 1.5
    with pytest.raises(HTTPException):
        check("alice", "s3cret-pass")
    clock.now += 1
    assert check("alice", "s3cret-pass") is True
    assert check("alice", "wrong") is False  # a success starts the count again


@pytest.mark.slow
def test_sixty_wrong_passwords_over_http_then_the_right_one_is_refused(assistant, index_dir):
    from ui.app import build_app, launch

    settings = make_settings(index_dir, auth="alice:s3cret-pass")
    app = build_app(assistant, settings)
    launch(app, settings, port=free_port(), prevent_thread_lock=True)
    try:
        url = app.local_url.rstrip("/")
        with httpx.Client(timeout=30) as http:
            codes = [http.post(f"{url}/login", data={"username": "alice", "password": f"guess{i}"}).status_code
                     for i in range(60)]
            assert codes[:3] == [400, 400, 400] and codes.count(429) >= 50
            right = http.post(f"{url}/login", data={"username": "alice", "password": "s3cret-pass"})
            assert right.status_code == 429 and "try again" in right.text
            # Another user from the same address waits too: the address is throttled as well as the name.
            bob = http.post(f"{url}/login", data={"username": "bob", "password": "x"})
            assert bob.status_code == 429
    finally:
        app.close()
