"""The question log and stored feedback: one JSON line per question, no question text, API key or personal data."""

from __future__ import annotations

import hashlib
import hmac
import shutil

import pytest

from assistant.errors import InputError
from assistant.feedback import FeedbackStore
from assistant.answering.guardrails import redact
from assistant.pipeline import Assistant
from conftest import load_jsonl, make_settings
from fake_openai import Reply, Status, running_fake_openai

pytestmark = pytest.mark.slow

KEY = "sk-secret-123"
ANSWERED = "How should conflicts of interest be managed when GPs both commission and provide services?"
CLINICAL = "What dose of amoxicillin should I prescribe for otitis media?"
NOT_COVERED = "What did the 2021 GP contract say about federations?"
PERSONAL = {
    "email": "How should a federation answer jane.doe@example.com about its board elections?",
    "phone": "Please ring 020 7946 0018: how are GP federations governed?",
    "nhs": "My NHS number is 943 476 5919; how do federations manage conflicts of interest?",
}
RAW_PERSONAL = ["jane.doe", "example.com", "7946", "0018", "943 476 5919", "9434765919", "5919"]
FIELDS = {"ts", "question_hmac", "answerer", "outcome", "grounded", "retrieved", "timings_ms", "notices",
          "generation"}  # finish reason and token usage when a language model wrote the answer, else null


@pytest.fixture(scope="module")
def base(index_dir, tmp_path_factory):
    """A private copy of the session index, so this module's log is its own."""
    target = tmp_path_factory.mktemp("logging") / "ix"
    shutil.copytree(index_dir, target)
    return target


@pytest.fixture()
def log(base):
    """The question log file, empty at the start of each test."""
    path = make_settings(base).log_file
    path.unlink(missing_ok=True)
    return path


def _sha(question: str, base) -> str:
    """The log's keyed hash of a question: HMAC-SHA256 with the key made once in the data directory."""
    key = make_settings(base).log_key_file.read_text().strip().encode()
    return hmac.new(key, redact(question).encode(), hashlib.sha256).hexdigest()[:16]


def test_each_question_writes_one_json_line_with_hash_timings_passages_answerer_and_outcome(base, log):
    assistant = Assistant.from_settings(make_settings(base))
    answers = [assistant.ask(q) for q in (ANSWERED, CLINICAL, NOT_COVERED)]
    with pytest.raises(InputError):
        assistant.ask("   ")  # rejected input is not a question asked: no line
    lines = load_jsonl(log)
    assert len(lines) == 3
    for line, answer in zip(lines, answers):
        assert set(line) == FIELDS
        assert line["question_hmac"] == _sha(answer.question, base) and len(line["question_hmac"]) == 16
        assert line["answerer"] == answer.answerer
        assert line["outcome"] == (answer.refusal_reason or "answered")
        assert line["retrieved"] == [p.chunk.chunk_id for p in answer.passages]
        assert line["timings_ms"]["total"] >= 0 and line["generation"] is None  # offline: no model wrote it
    assert [line["outcome"] for line in lines] == ["answered", "clinical", "not_covered"]
    assert {"retrieve", "answer", "total"} <= set(lines[0]["timings_ms"]) and lines[0]["retrieved"]
    assert lines[1]["answerer"] == "guardrail" and lines[1]["retrieved"] == []
    text = log.read_text(encoding="utf-8")
    for words in ("conflicts of interest", "amoxicillin", "otitis", "2021 GP contract", "commission"):
        assert words not in text


def test_nothing_is_logged_when_question_logging_is_off(base, log):
    Assistant.from_settings(make_settings(base, log_questions=False)).ask(ANSWERED)
    assert not log.exists()


def test_the_api_key_never_reaches_the_log(base, log):
    # The second request fails with a server that echoes the key in its error, as some local servers do.
    script = [Reply("Conflicts of interest are declared in a register [1]."),
              Status(401, message=f"Incorrect API key provided: {KEY}")]
    with running_fake_openai(script=script, default=Status(500)) as fake:
        settings = make_settings(base, openai_api_key=KEY, openai_base_url=fake.url, llm_max_retries=0, llm_timeout_s=5)
        assistant = Assistant.from_settings(settings)
        first, second = assistant.ask(ANSWERED), assistant.ask(ANSWERED)
    assert fake.completions[0].headers["authorization"] == f"Bearer {KEY}"  # the key was really in use
    assert first.answerer.startswith("llm:") and second.answerer == "offline" and second.notices
    text = log.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 2
    assert KEY not in text and "secret" not in text
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())


def test_a_server_error_that_echoes_the_api_key_does_not_show_it_to_the_reader(base, log):
    with running_fake_openai(default=Status(401, message=f"Incorrect API key provided: {KEY}")) as fake:
        settings = make_settings(base, openai_api_key=KEY, openai_base_url=fake.url, llm_max_retries=0, llm_timeout_s=5)
        answer = Assistant.from_settings(settings).ask(ANSWERED)
    assert answer.answerer == "offline" and answer.notices
    assert KEY not in " ".join(answer.notices)


def test_personal_data_in_a_question_never_reaches_the_log(base, log):
    assistant = Assistant.from_settings(make_settings(base))
    answers = {kind: assistant.ask(q) for kind, q in PERSONAL.items()}
    for answer in answers.values():
        assert any("personal data" in n for n in answer.notices)
    text = log.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 3
    for raw in RAW_PERSONAL:
        assert raw not in text, raw
    # The hash is of the redacted question, so it cannot be reversed by trying every NHS number.
    other = assistant.ask(PERSONAL["nhs"].replace("943 476 5919", "401 023 2137"))
    assert load_jsonl(log)[-1]["question_hmac"] == load_jsonl(log)[2]["question_hmac"] == _sha(other.question, base)


def _ui_function(app, name: str):
    """The Python function behind a named event of the Gradio app."""
    return next(f.fn for f in app.fns.values() if f.name == name)


def test_feedback_given_in_the_ui_is_stored_with_personal_data_redacted(base, tmp_path):
    import gradio as gr

    from ui.app import HELPFUL, NOT_HELPFUL, build_app

    settings = make_settings(base, feedback_path=tmp_path / "feedback.sqlite3", log_questions=False)
    assistant = Assistant.from_settings(settings)
    app = build_app(assistant, settings)
    send, like = _ui_function(app, "send_feedback"), _ui_function(app, "like")
    answers = [assistant.ask(PERSONAL["email"]).to_json(), assistant.ask(PERSONAL["phone"]).to_json()]
    assert "jane.doe@example.com" in answers[0]["question"]  # the reader still sees what they typed

    send(answers, 1, HELPFUL, "Write to me at jane.doe@example.com or ring 020 7946 0018.", None)
    note, _, _, pending = like(answers, gr.LikeData(None, {"index": 3, "value": answers[1]["answer"], "liked": False}))
    assert "saved" in note and pending["answer"] == 2
    send(answers, 2, NOT_HELPFUL, "My NHS number is 943 476 5919.", pending)  # the comment follows the thumb

    rows = FeedbackStore(settings.feedback_db).all()
    assert [r["rating"] for r in rows] == ["up", "down"]
    stored = " ".join(str(v) for r in rows for v in r.values())
    for raw in RAW_PERSONAL:
        assert raw not in stored, raw
    assert "[EMAIL]" in rows[0]["question"] and "[PHONE]" in rows[0]["comment"] and "[PHONE]" in rows[1]["question"]
    assert rows[1]["comment"] == "My NHS number is [NHS NUMBER]."
