"""The LLM answerer driven over real HTTP: LangChain's ChatOpenAI and the openai client against a scripted local server."""

from __future__ import annotations

import re
import time
from pathlib import Path

import openai
import pytest

from assistant.answering.protocol import NOT_COVERED, Answerer
from tests.servers import free_port
from assistant.errors import ConfigError, LLMError
from assistant.answering.llm import CUT_SLACK, HISTORY_TURNS, MIN_PASSAGE_TOKENS, OpenAIAnswerer, UnusableAnswer, check_output
from assistant.schema import Chunk, Passage, Turn
from assistant.answering.prompts import PromptLibrary, format_passage
from assistant.settings import Settings
from assistant.ingest.tokens import encoding
from tests.fake_openai import Cut, Delay, Empty, Garbage, Reply, Status, running_fake_openai

PROMPTS = PromptLibrary(Path(__file__).resolve().parent.parent / "prompts")
QUESTION = "What do GP federations share?"
ANSWER = "Federations share back-office functions and staff across member practices [1]. Some also share premises [2]."


@pytest.fixture(scope="module")
def enc(tmp_path_factory: pytest.TempPathFactory):
    """The offline cl100k_base encoding."""
    return encoding(tmp_path_factory.mktemp("tk"))


def settings(url: str, tmp_path: Path, **overrides: object) -> Settings:
    """Settings for one test, pointing at the fake server, with no .env and small retry/timeouts."""
    values: dict[str, object] = dict(
        openai_api_key="x", openai_base_url=url, llm_timeout_s=5.0, llm_max_retries=0, tiktoken_cache_dir=tmp_path / "tk"
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


def passage(n: int, text: str) -> Passage:
    """A passage ranked `n` from an invented 2016 report."""
    chunk = Chunk(
        chunk_id=f"c{n}", doc_id="nuffield-2016", title="Is bigger better?", year=2016,
        section=f"Section {n}", page=n, text=text, publisher="Nuffield Trust",
    )
    return Passage(rank=n, chunk=chunk, score=1.0 / n)


PASSAGES = [
    passage(1, "GP federations share back-office functions and staff across member practices."),
    passage(2, "Some federations share premises and run hubs for extended access."),
]


def answerer(url: str, tmp_path: Path, enc, **overrides: object) -> OpenAIAnswerer:
    """An answerer wired to the fake server."""
    return OpenAIAnswerer(settings(url, tmp_path, **overrides), PROMPTS, enc)



def test_streamed_answer_arrives_in_several_pieces_that_join_to_the_server_text(tmp_path, enc):
    with running_fake_openai([Reply(ANSWER)]) as server:
        a = answerer(server.url, tmp_path, enc)
        pieces = list(a.stream(QUESTION, PASSAGES))
    assert isinstance(a, Answerer) and a.name == "llm:gpt-4o-mini"
    assert len(pieces) > 3
    assert "".join(pieces) == ANSWER
    (request,) = server.completions
    assert request.stream and request.body["model"] == "gpt-4o-mini" and request.body["temperature"] == 0.0
    system, user = request.messages
    assert system["role"] == "system" and "Federation Advisor" in system["content"] and NOT_COVERED in system["content"]
    assert '<passage n="1">' in user["content"] and '<passage n="2">' in user["content"]
    assert QUESTION in user["content"] and "Nuffield Trust, 2016" in user["content"]
    assert request.headers.get("authorization") == "Bearer x"


def test_recent_history_is_sent_between_system_and_question_without_old_markers(tmp_path, enc):
    history = [Turn("user" if i % 2 == 0 else "assistant", f"turn {i} [1]") for i in range(10)]
    with running_fake_openai() as server:
        list(answerer(server.url, tmp_path, enc).stream("And their governance?", PASSAGES, history))
    messages = server.completions[0].messages
    assert [m["role"] for m in messages] == ["system", *(["user", "assistant"] * (HISTORY_TURNS // 2)), "user"]
    assert [m["content"] for m in messages[1:-1]] == [
        f"turn {i}" if i % 2 else f"turn {i} [1]" for i in range(10 - HISTORY_TURNS, 10)
    ]
    assert "And their governance?" in messages[-1]["content"]


def test_standalone_asks_the_model_without_streaming_and_returns_its_question(tmp_path, enc):
    history = [Turn("user", "What is a GP federation?"), Turn("assistant", "A group of practices [1].")]
    with running_fake_openai([Reply('"How are GP federations governed?"')]) as server:
        out = answerer(server.url, tmp_path, enc).standalone("How are they governed?", history)
    assert out == "How are GP federations governed?"
    (request,) = server.completions
    assert not request.stream
    (message,) = request.messages
    assert "User: What is a GP federation?" in message["content"] and "How are they governed?" in message["content"]


def test_standalone_without_history_returns_the_question_without_calling_the_server(tmp_path, enc):
    with running_fake_openai() as server:
        assert answerer(server.url, tmp_path, enc).standalone("What is a federation?", ()) == "What is a federation?"
    assert server.requests == []


def test_standalone_failure_raises_llm_error(tmp_path, enc):
    with running_fake_openai(default=Status(500, retry_after_ms="1")) as server:
        with pytest.raises(LLMError, match="500") as info:
            answerer(server.url, tmp_path, enc).standalone("And them?", [Turn("user", "Federations?")])
    assert isinstance(info.value.__cause__, openai.APIStatusError)


def test_server_error_on_every_try_raises_llm_error_after_all_retries(tmp_path, enc):
    with running_fake_openai(default=Status(500, retry_after_ms="1")) as server:
        with pytest.raises(LLMError, match=r"HTTP 500.*OPENAI_BASE_URL") as info:
            list(answerer(server.url, tmp_path, enc, llm_max_retries=2).stream(QUESTION, PASSAGES))
    assert len(server.completions) == 3
    assert isinstance(info.value.__cause__, openai.InternalServerError)


def test_rate_limit_then_success_is_retried_and_answers(tmp_path, enc):
    with running_fake_openai([Status(429, retry_after="0")]) as server:
        text = "".join(answerer(server.url, tmp_path, enc, llm_max_retries=1).stream(QUESTION, PASSAGES))
    assert text.endswith("[1].")
    assert len(server.completions) == 2


def test_server_slower_than_the_timeout_raises_llm_error_quickly(tmp_path, enc):
    with running_fake_openai(default=Delay(10)) as server:
        a = answerer(server.url, tmp_path, enc, llm_timeout_s=0.5)
        start = time.monotonic()
        with pytest.raises(LLMError, match="timed out") as info:
            list(a.stream(QUESTION, PASSAGES))
    assert time.monotonic() - start < 3
    assert isinstance(info.value.__cause__, openai.APITimeoutError)


def test_connection_refused_raises_llm_error_naming_the_url(tmp_path, enc):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(LLMError, match="could not be reached.*OPENAI_BASE_URL") as info:
        list(answerer(url, tmp_path, enc).stream(QUESTION, PASSAGES))
    assert url in str(info.value)
    assert isinstance(info.value.__cause__, openai.APIConnectionError)


def test_garbage_bytes_from_the_server_raise_llm_error(tmp_path, enc):
    with running_fake_openai([Garbage()]) as server:
        with pytest.raises(LLMError) as info:
            list(answerer(server.url, tmp_path, enc).stream(QUESTION, PASSAGES))
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    "step, message",
    [
        (Empty(), "empty"),
        (Reply("### 123 !!! ... 42"), "not prose"),
        (Reply("\x00\x01\x02\x03 garbage \x04\x05\x06"), "binary"),
        (Reply("Federations share staff and back offices."), "no \\[n\\] citation markers"),
    ],
)
def test_unusable_output_raises_llm_error_after_the_stream_ends(tmp_path, enc, step, message):
    with running_fake_openai([step]) as server:
        with pytest.raises(LLMError, match=message):
            list(answerer(server.url, tmp_path, enc).stream(QUESTION, PASSAGES))


def test_not_covered_reply_without_markers_is_accepted(tmp_path, enc):
    reply = f"{NOT_COVERED}. They cover how federations are formed and governed."
    with running_fake_openai([Reply(reply)]) as server:
        assert "".join(answerer(server.url, tmp_path, enc).stream("What dose of aspirin?", PASSAGES)) == reply


def test_connection_dropped_mid_stream_raises_llm_error_after_partial_pieces(tmp_path, enc):
    pieces: list[str] = []
    with running_fake_openai([Cut(ANSWER)]) as server:
        with pytest.raises(LLMError, match="middle of its answer"):
            for piece in answerer(server.url, tmp_path, enc).stream(QUESTION, PASSAGES):
                pieces.append(piece)
    assert pieces and "".join(pieces) != ANSWER


def test_context_fitting_drops_the_lowest_ranked_passages_and_keeps_numbering(tmp_path, enc):
    topics = ["governance", "workforce", "premises", "finance", "quality"]
    many = [passage(i, " ".join([f"Federation {topics[i - 1]} detail number {k}." for k in range(25)])) for i in range(1, 6)]
    with running_fake_openai() as server:
        list(answerer(server.url, tmp_path, enc, llm_context_tokens=100_000).stream(QUESTION, many))
        full = server.completions[0].messages
        total = sum(len(enc.encode(m["content"])) for m in full)
        size = len(enc.encode(format_passage(5, many[4])))
        budget = total - int(1.5 * size)  # room for three of the five
        list(answerer(server.url, tmp_path, enc, llm_context_tokens=budget).stream(QUESTION, many))
        fitted = server.completions[1].messages
    prompt = fitted[-1]["content"]
    assert all(f'<passage n="{n}">' in full[-1]["content"] for n in range(1, 6))
    assert [n for n in range(1, 6) if f'<passage n="{n}">' in prompt] == [1, 2, 3]
    assert "Federation finance" not in prompt and "Federation quality" not in prompt
    assert sum(len(enc.encode(m["content"])) for m in fitted) <= budget


def test_context_too_small_for_one_passage_truncates_it_or_raises_config_error(tmp_path, enc):
    big = [passage(1, "Federations work at scale. " * 400)]
    a = answerer("http://127.0.0.1:9/v1", tmp_path, enc, llm_context_tokens=1500)
    messages, kept = a.build_messages(QUESTION, big)
    assert kept == 1 and a._tokens(messages) <= 1500 and '<passage n="1">' in messages[-1].content
    with pytest.raises(ConfigError, match="ASSISTANT_LLM_CONTEXT_TOKENS"):
        answerer("http://127.0.0.1:9/v1", tmp_path, enc, llm_context_tokens=300).build_messages(QUESTION, big)


def test_missing_api_key_is_a_config_error(tmp_path, enc):
    s = Settings(_env_file=None, openai_base_url="http://127.0.0.1:9/v1", tiktoken_cache_dir=tmp_path / "tk")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIAnswerer(s, PROMPTS, enc)


def test_fake_server_lists_models_to_the_real_openai_client():
    with running_fake_openai() as server:
        client = openai.OpenAI(api_key="x", base_url=server.url, max_retries=0, timeout=5)
        assert [m.id for m in client.models.list()] == ["gpt-4o-mini"]


@pytest.mark.parametrize(
    "text",
    ["", "   \n", "1234 5678 [1]", "\ufffd\ufffd\ufffd\ufffd ok [1]", "A plain sentence without markers."],
)
def test_check_output_rejects_unusable_text(text):
    with pytest.raises(LLMError):
        check_output(text)


def test_check_output_accepts_cited_prose_and_not_covered_replies():
    check_output("Federations share staff [1]. Governance varies [2][3].")
    check_output(f"{NOT_COVERED}: the passages are about federation governance.")


def test_special_token_text_in_question_or_passage_is_counted_as_plain_text(tmp_path, enc):
    a = answerer("http://127.0.0.1:9/v1", tmp_path, enc)
    messages, kept = a.build_messages("What is <|endoftext|>?", [passage(1, "Text <|endoftext|> here.")])
    assert kept == 1 and "<|endoftext|>" in messages[-1].content


# Bounded requests, finish reasons, honest failures ---------------------------------------------------------------
def _drain(stream):
    """(pieces, the Generation the stream returned)."""
    pieces = []
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as done:
            return pieces, done.value


def test_every_request_carries_the_token_cap_of_its_use_and_asks_for_usage(tmp_path, enc):
    history = [Turn("user", "What is a GP federation?"), Turn("assistant", "A group of practices [1].")]
    with running_fake_openai([Reply("How are GP federations governed?")]) as server:
        a = answerer(server.url, tmp_path, enc, llm_answer_tokens=123, llm_rewrite_tokens=17)
        a.standalone("How are they governed?", history)
        _, generation = _drain(a.stream(QUESTION, PASSAGES))
    rewrite, answer = server.completions
    # max_tokens, which every OpenAI-compatible server reads, beside the max_completion_tokens OpenAI asks for.
    assert rewrite.body["max_tokens"] == rewrite.body["max_completion_tokens"] == 17
    assert answer.body["max_tokens"] == answer.body["max_completion_tokens"] == 123
    assert answer.body["stream_options"] == {"include_usage": True}
    assert generation.finish_reason == "stop" and generation.max_tokens == 123 and generation.attempts == 1
    assert generation.prompt_tokens == 10 and generation.completion_tokens > 0 and generation.passages_sent == 2


def test_a_length_finish_is_kept_as_a_truncated_answer_and_without_markers_is_unusable(tmp_path, enc):
    with running_fake_openai([Reply(ANSWER, finish="length"), Reply("Federations share staff and", finish="length")]) as server:
        a = answerer(server.url, tmp_path, enc, llm_answer_tokens=30)
        pieces, generation = _drain(a.stream(QUESTION, PASSAGES))
        assert "".join(pieces) == ANSWER and generation.truncated and generation.finish_reason == "length"
        with pytest.raises(UnusableAnswer, match="cut off at its 30-token limit before it cited") as info:
            _drain(a.stream(QUESTION, PASSAGES))
    assert info.value.generation.truncated


def test_a_stated_server_context_limits_the_passages_sent(tmp_path, enc):
    long = [passage(i, "Federation detail sentence number one. " * 40) for i in range(1, 6)]
    with running_fake_openai() as server:
        server.context = 2000
        a = answerer(server.url, tmp_path, enc, llm_context_tokens=100_000, llm_answer_tokens=200)
        _, generation = _drain(a.stream(QUESTION, long))
        sent = sum(len(enc.encode(m["content"])) for m in server.completions[0].messages)
    assert a.server_context() == 2000 and generation.passages_sent < 5
    assert sent <= (2000 - 200) / 1.25


@pytest.mark.parametrize("vendor, body", [
    ("openai", {"error": {"message": "This model's maximum context length is 8192 tokens. However, your messages "
                          "resulted in 9000 tokens. Please reduce the length of the messages.",
                          "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}),
    ("azure", {"error": {"message": "This model's maximum context length is 4096 tokens. However, you requested 5000 "
                         "tokens. Please reduce the length of the messages.", "code": "context_length_exceeded"}}),
    ("llama.cpp", {"error": {"code": 400, "message": "request (1902 tokens) exceeds the available context size (1024 "
                             "tokens), try increasing it", "type": "exceed_context_size_error",
                             "n_prompt_tokens": 1902, "n_ctx": 1024}}),
    ("vllm", {"object": "error", "message": "This model's maximum context length is 16384 tokens. However, you requested "
              "122946 tokens (112946 in the messages, 10000 in the completion).", "type": "BadRequestError", "code": 400}),
    ("vllm-v1", {"object": "error", "message": "Prompt length of 5016 is longer than the maximum model length of 4096.",
                 "type": "BadRequestError", "code": 400}),
    ("ollama", {"error": {"message": "the input length exceeds the context length", "type": "api_error"}}),
])
def test_every_vendors_context_overflow_gives_the_advice_naming_the_setting(tmp_path, enc, vendor, body):
    with running_fake_openai(default=Status(400, body=body)) as server:
        with pytest.raises(LLMError, match="ASSISTANT_LLM_CONTEXT_TOKENS") as info:
            list(answerer(server.url, tmp_path, enc, llm_max_retries=2).stream(QUESTION, PASSAGES))
    assert "context window" in str(info.value) and len(server.completions) == 1


@pytest.mark.parametrize("code, retries, attempts, said", [
    (401, 2, 1, "HTTP 401 (tried once: the same request would fail again)"),
    (400, 2, 1, "HTTP 400 (tried once: the same request would fail again)"),
    (500, 2, 3, "HTTP 500 (tried 3 times)"), (500, 0, 1, "HTTP 500 (tried once)"),
])
def test_a_failure_says_how_many_attempts_were_actually_made(tmp_path, enc, code, retries, attempts, said):
    with running_fake_openai(default=Status(code, retry_after_ms="1")) as server:
        with pytest.raises(LLMError) as info:
            list(answerer(server.url, tmp_path, enc, llm_max_retries=retries).stream(QUESTION, PASSAGES))
    assert len(server.completions) == attempts and said in str(info.value)
    assert ("OPENAI_API_KEY" in str(info.value)) == (code == 401)


def test_the_deadline_ends_an_answer_that_the_read_timeout_would_not(tmp_path, enc):
    with running_fake_openai(default=Delay(10)) as server:
        a = answerer(server.url, tmp_path, enc, llm_timeout_s=30, llm_deadline_s=0.5, llm_max_retries=2)
        started = time.monotonic()
        with pytest.raises(LLMError, match=r"no reply within the 0.5s deadline.*ASSISTANT_LLM_DEADLINE_S"):
            list(a.stream(QUESTION, PASSAGES))
        assert time.monotonic() - started < 3  # the 0.5 s deadline, not the 10 s reply nor the 30 s read timeout
        with pytest.raises(LLMError, match=r"no reply within the 0.5s deadline for an answer \(tried once\)"):
            a.standalone("And them?", [Turn("user", "Federations?")])
    assert len(server.completions) == 2


def test_the_context_check_states_the_tokens_it_needs(tmp_path, enc):
    big = [passage(1, "Federations work at scale. " * 400)]
    a = answerer("http://127.0.0.1:9/v1", tmp_path, enc)
    head = a._tokens([*a.build_messages(QUESTION, [])[0]])
    with pytest.raises(ConfigError, match=r"needs about (\d+)") as info:
        a.build_messages(QUESTION, big, budget=head + 20)
    needed = int(re.search(r"needs about (\d+)", str(info.value)).group(1))
    assert needed > head + MIN_PASSAGE_TOKENS + CUT_SLACK
    with pytest.raises(ConfigError):
        a.build_messages(QUESTION, big, budget=needed - 1)
    messages, kept = a.build_messages(QUESTION, big, budget=needed)  # exactly what it said is enough
    assert kept == 1 and a._tokens(messages) <= needed


def test_prompt_names_each_part_and_the_organisation_asked_about(tmp_path, enc):
    a = answerer("http://127.0.0.1:9/v1", tmp_path, enc)
    a.organisations = lambda: ["Suffolk GP Federation", "Hurley Group"]
    messages, _ = a.build_messages("How many practices are in Suffolk GP Federation, and what services does it "
                                   "provide?", [passage(1, "Suffolk GP Federation has 60 practices.")])
    prompt = str(messages[-1].content)
    assert "2 parts" in prompt and "(1) How many practices are in Suffolk GP Federation" in prompt
    assert "(2) what services does it provide?" in prompt
    assert "about Suffolk GP Federation" in prompt and "Hurley" not in prompt
    assert "The reports don't give" in prompt


def test_prompt_for_a_follow_up_takes_the_organisation_from_the_conversation(tmp_path, enc):
    a = answerer("http://127.0.0.1:9/v1", tmp_path, enc)
    a.organisations = lambda: ["Suffolk GP Federation", "Hurley Group"]
    history = [Turn("user", "How big is the Hurley Group?"), Turn("assistant", "It has 18 practices. [1]")]
    messages, _ = a.build_messages("And who runs it?", [passage(1, "Four partners run the Hurley Group.")], history)
    prompt = str(messages[-1].content)
    assert "about the Hurley Group" in prompt and "parts" not in prompt.split("<question>")[1]


def test_prompt_for_a_plain_question_adds_no_guide(tmp_path, enc):
    a = answerer("http://127.0.0.1:9/v1", tmp_path, enc)
    a.organisations = lambda: ["Suffolk GP Federation"]
    messages, _ = a.build_messages("What is a GP federation?", [passage(1, "Federations share staff.")])
    assert "</question>\n\nAnswer in UK English" in str(messages[-1].content)
