"""The OpenAI-compatible API (/v1) over real HTTP: the `openai` client gets, streams and follows up cited answers;
keys, the chat's login, malformed requests and the guardrails answer in OpenAI's shapes."""

from __future__ import annotations

import time

import httpx
import pytest

from assistant.schema import Answer, Turn
from conftest import make_settings
from tests.servers import running_app
from ui.openai_api import ApiError, chunks_of, parse_request
from ui.turns import plain_text, text_of_plain

MODEL = "federation-advisor-offline"
KEYS = ("first-key-0123456789", "second-key-9876543210")
QUESTION = "How should conflicts of interest be managed in a GP federation?"
ERROR_FIELDS = {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def keyed(assistant, index_dir):
    """The app with two API keys set, served for the module's tests; yields the API's base URL."""
    # Wrong keys here are tests, not guesses: the wait after failed keys is tested on its own server below.
    settings = make_settings(index_dir, api_keys=",".join(KEYS), login_free_failures=50)
    with running_app(assistant, settings) as url:
        yield url + "v1"


def client(base_url: str, key: str = KEYS[1]):
    """The real openai client pointed at the server (no retries: each refusal is seen once)."""
    import openai

    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=120)


def error_of(response: httpx.Response) -> dict:
    """The error object of an OpenAI-shaped error response, checked to have exactly OpenAI's four fields."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_FIELDS, body
    assert body["error"]["message"]
    return body["error"]


# Without a server ------------------------------------------------------------------------------------------------
def test_streamed_pieces_join_back_to_the_text():
    text = "Federations  share\nback-office work [1].\n\n- One\n- Two [2] "
    pieces = chunks_of(text, words=3)
    assert "".join(pieces) == text and len(pieces) > 2
    assert chunks_of("") == [""]


def test_an_answer_sent_back_reads_as_its_own_text(assistant):
    answer = assistant.ask(QUESTION)
    assert answer.citations
    marked = Answer(question=answer.question, text=answer.text, citations=answer.citations,
                    notices=("Your question seems to contain personal data (email); please leave it out.",))
    sent = plain_text(marked.to_json())
    assert sent.startswith("Note: ") and "\n\nSources:\n[1] " in sent
    assert text_of_plain(sent) == answer.text.strip()
    assert text_of_plain("A reply that names Sources: somewhere.") == "A reply that names Sources: somewhere."


def test_a_request_becomes_question_history_and_answerer():
    body = {"model": MODEL, "stream": True, "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": [{"type": "text", "text": "What is a GP federation?"}]},
        {"role": "assistant", "content": "A federation is a group of practices [1].\n\nSources:\n[1] A report. “q”"},
        {"role": "user", "content": "How are they governed?"}]}
    asked = parse_request(body, models={MODEL: "offline"})
    assert (asked.question, asked.answerer, asked.stream) == ("How are they governed?", "offline", True)
    assert asked.history == [Turn("user", "What is a GP federation?"),
                             Turn("assistant", "A federation is a group of practices [1].")]
    with pytest.raises(ApiError) as refused:
        parse_request({**body, "messages": body["messages"][:3]}, models={MODEL: "offline"})
    assert refused.value.status == 400 and "last message must be the user's question" in refused.value.message


# Over HTTP -------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_openai_client_gets_streams_and_follows_up_a_cited_answer(keyed, assistant):
    api = client(keyed)
    assert [m.id for m in api.models.list()] == [MODEL]  # no language model configured: the offline answerer only

    reply = api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    content = reply.choices[0].message.content
    extra = reply.model_extra["federation_advisor"]
    assert reply.object == "chat.completion" and reply.model == MODEL and reply.choices[0].finish_reason == "stop"
    assert not extra["refused"] and extra["citations"] and extra["passages"]
    # The message is the chat's "copy with sources" text of the pipeline's own answer: text with [n], then sources.
    assert content == plain_text(assistant.ask(QUESTION).to_json())
    assert extra["answer"] in content and "[1]" in extra["answer"]
    sources = content.split("\n\nSources:\n", 1)[1].split("\n")
    assert [line[: line.index("]") + 1] for line in sources] == [f"[{c['n']}]" for c in extra["citations"]]
    assert all(c["quote"] in line for c, line in zip(extra["citations"], sources))

    chunks = list(api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                              stream=True))
    assert len(chunks) > 3 and all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["federation_advisor"]["citations"] == extra["citations"]

    follow = api.chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": QUESTION}, {"role": "assistant", "content": content},
        {"role": "user", "content": "And how did they declare them?"}])
    later = follow.model_extra["federation_advisor"]
    assert QUESTION in later["standalone_question"]  # the follow-up was read with the conversation before it
    assert "Sources:" not in later["standalone_question"]  # the history held the answer's text, not its sources
    assert not later["refused"] and later["citations"]


@pytest.mark.slow
def test_a_bad_or_missing_key_gets_401_in_openais_shape(keyed):
    import openai

    for key in ("wrong-key", KEYS[0] + "x"):
        with pytest.raises(openai.AuthenticationError) as refused:
            client(keyed, key).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
        assert refused.value.status_code == 401
        assert refused.value.body == {"message": "Incorrect API key provided. Ask the operator for a key from "
                                      "ASSISTANT_API_KEYS.", "type": "invalid_request_error", "param": None,
                                      "code": "invalid_api_key"}
    with pytest.raises(openai.AuthenticationError):
        client(keyed, "wrong-key").models.list()
    for headers in ({}, {"Authorization": KEYS[0]}, {"Authorization": "Basic " + KEYS[0]}):
        missing = httpx.get(f"{keyed}/models", headers=headers)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer <key>" in error_of(missing)["message"]
    assert [m.id for m in client(keyed, KEYS[0]).models.list()] == [MODEL]  # either key works


@pytest.mark.slow
def test_malformed_requests_get_400_in_openais_shape_and_the_server_keeps_answering(keyed, index_dir):
    headers = {"Authorization": f"Bearer {KEYS[0]}"}
    ask = {"role": "user", "content": QUESTION}
    settings = make_settings(index_dir)
    cases = [
        ({"model": MODEL}, "messages is missing"),
        ({"model": MODEL, "messages": None}, "messages is missing"),
        ({"model": MODEL, "messages": []}, "messages is empty"),
        ({"model": MODEL, "messages": "hello"}, "messages is a str"),
        ({"model": MODEL, "messages": ["hello"]}, "messages[0] is a str, not an object"),
        ({"model": MODEL, "messages": [{"role": "tool", "content": "x"}, ask]}, "has role 'tool'"),
        ({"model": MODEL, "messages": [{"role": "user", "content": 42}]}, "must be text"),
        ({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
         "reads text only"),
        ({"model": MODEL, "messages": [{"role": "system", "content": "Be brief."}]}, "last message must be the user's"),
        ({"model": MODEL, "messages": [ask, {"role": "assistant", "content": "x"}]}, "last message must be the user's"),
        ({"model": MODEL, "messages": [ask], "stream": "yes"}, "stream must be true"),
        ({"model": MODEL, "messages": [ask], "n": 2}, "n must be 1"),
        ({"messages": [ask]}, "model must name one of this server's models"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "x" * (settings.max_question_chars + 1)}]},
         f"the maximum is {settings.max_question_chars}. Please shorten it"),
        ({"model": MODEL, "messages": [ask, {"role": "assistant", "content": "y"}] * settings.max_history_turns
          + [ask]}, f"the maximum is {settings.max_history_turns}. Please start a new conversation"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "???"}]}, "does not look like a question"),
        ({"model": MODEL, "messages": [{"role": "user", "content": "???"}], "stream": True},
         "does not look like a question"),  # refused as JSON before any event is sent
        ([ask], "must be a JSON object"),
    ]
    for body, says in cases:
        response = httpx.post(f"{keyed}/chat/completions", json=body, headers=headers, timeout=60)
        assert response.status_code == 400, (body, response.text)
        error = error_of(response)
        assert says in error["message"] and error["type"] == "invalid_request_error", (body, error)
    for not_json in (b"{not json", b"[" * 100_000, b'{"model": "\xff"}'):
        refused = httpx.post(f"{keyed}/chat/completions", content=not_json, headers=headers)
        assert refused.status_code == 400 and "not valid JSON" in error_of(refused)["message"]
    huge = httpx.post(f"{keyed}/chat/completions", content=b" " * (3 * settings.max_history_json_chars),
                      headers=headers)
    assert huge.status_code == 400 and "Please start a new conversation" in error_of(huge)["message"]
    unknown = httpx.post(f"{keyed}/chat/completions", json={"model": "gpt-4o", "messages": [ask]}, headers=headers)
    assert unknown.status_code == 404
    assert error_of(unknown)["code"] == "model_not_found" and MODEL in error_of(unknown)["message"]
    assert httpx.get(f"{keyed}/models/gpt-4o", headers=headers).status_code == 404
    wrong_verb = httpx.get(f"{keyed}/chat/completions", headers=headers)
    assert wrong_verb.status_code == 405 and "POST /v1/chat/completions" in error_of(wrong_verb)["message"]
    after = httpx.post(f"{keyed}/chat/completions", json={"model": MODEL, "messages": [ask]}, headers=headers,
                       timeout=60)
    assert after.status_code == 200 and after.json()["federation_advisor"]["citations"]


@pytest.mark.slow
def test_a_clinical_question_gets_the_polite_decline_with_refused_true(keyed):
    reply = client(keyed).chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": "What dose of amoxicillin should I give a child with an ear infection?"}])
    extra = reply.model_extra["federation_advisor"]
    assert extra["refused"] and extra["refusal_reason"] == "clinical" and not extra["citations"]
    assert reply.choices[0].message.content.startswith("I can't give clinical advice")
    off_topic = client(keyed).chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": "Who won the football world cup in 1966?"}]).model_extra["federation_advisor"]
    assert off_topic["refused"] and not off_topic["citations"]


@pytest.mark.slow
def test_the_api_follows_the_chats_login(assistant, index_dir):
    import openai

    # A chat login with no API key: the API is refused, never the open door beside a guarded chat.
    with running_app(assistant, make_settings(index_dir, auth="alice:secret-pw")) as url:
        refused = httpx.get(f"{url}v1/models", headers={"Authorization": "Bearer anything"})
        assert refused.status_code == 401 and "ASSISTANT_API_KEYS" in error_of(refused)["message"]
    # The login and a key: the key is the API's login, the chat's sign-in is not needed.
    with running_app(assistant, make_settings(index_dir, auth="alice:secret-pw", api_keys=KEYS[0])) as url:
        assert [m.id for m in client(url + "v1", KEYS[0]).models.list()] == [MODEL]
        with pytest.raises(openai.AuthenticationError):
            client(url + "v1", "alice:secret-pw").models.list()
    # Neither: open, as the chat is.
    with running_app(assistant, make_settings(index_dir)) as url:
        reply = client(url + "v1", "unused").chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": QUESTION}])
        assert reply.model_extra["federation_advisor"]["citations"]


@pytest.mark.slow
def test_wrong_keys_make_the_next_tries_wait_as_wrong_chat_passwords_do(assistant, index_dir):
    with running_app(assistant, make_settings(index_dir, api_keys=KEYS[0], login_free_failures=1)) as url:
        models = f"{url}v1/models"
        for _ in range(2):
            assert httpx.get(models, headers={"Authorization": "Bearer guess"}).status_code == 401
        waiting = httpx.get(models, headers={"Authorization": f"Bearer {KEYS[0]}"})  # even the right key waits
        assert waiting.status_code == 429 and error_of(waiting)["code"] == "rate_limit_exceeded"
        assert "try again in 1 s" in error_of(waiting)["message"]
        time.sleep(1.2)
        assert httpx.get(models, headers={"Authorization": f"Bearer {KEYS[0]}"}).status_code == 200


@pytest.mark.slow
def test_with_a_language_model_both_answerers_are_listed_and_its_answers_are_checked(index_dir, assistant):
    from assistant.answering.citations import split_sentences
    from assistant.pipeline import Assistant
    from fake_openai import Reply, running_fake_openai

    question = "How did the case-study organisations manage conflicts of interest when bidding for new services?"
    top = assistant.retrieve(question).passages[0]
    sentence = next(s for s in split_sentences(top.chunk.text) if len(s.split()) > 8)
    with running_fake_openai(default=Reply(f"{sentence} [1] The moon is made of cheese [9].")) as fake:
        settings = make_settings(index_dir, openai_api_key="x", openai_base_url=fake.url, llm_max_retries=0,
                                 llm_timeout_s=5)
        with running_app(Assistant.from_settings(settings), settings) as url:
            api = client(url + "v1", "unused")
            cards = api.models.list().data
            assert [m.id for m in cards] == ["federation-advisor-llm", MODEL]  # the configured default first
            assert [m.model_extra["answerer"] for m in cards] == [f"llm:{settings.model}", "offline"]
            ask = [{"role": "user", "content": question}]
            reply = api.chat.completions.create(model="federation-advisor-llm", messages=ask)
            extra, content = reply.model_extra["federation_advisor"], reply.choices[0].message.content
            assert extra["answerer"] == f"llm:{settings.model}" and [c["n"] for c in extra["citations"]] == [1]
            assert "[9]" not in content and "(unverified)" in content  # the model's words, checked as in the chat
            streamed = api.chat.completions.create(model="federation-advisor-llm", messages=ask, stream=True)
            assert "".join(c.choices[0].delta.content or "" for c in streamed) == content
            offline = api.chat.completions.create(model=MODEL, messages=ask).model_extra["federation_advisor"]
            assert offline["answerer"] == "offline" and offline["citations"]
        assert fake.completions  # the model was asked
