"""An LLM evaluation keeps what answered apart: rows record their writer, LLM-only metrics leave fallbacks out, the
report shows the fallback count and every judge failure's reason; the judge asks for JSON and says why it failed."""

from __future__ import annotations

import json

from assistant.schema import Answer, Chunk, Citation, Generation, Passage
from evals.llm_judge import JSON_FORMAT, Judge
from evals.report import answered_section
from evals.runner import _arm_summary, answered, score_answer
from tests.conftest import make_settings
from tests.fake_openai import Reply, Status, running_fake_openai

QUOTE = "Federations allow practices to share staff and back-office functions while keeping their own contracts"
ROW = {"id": "q1", "question": "What do federations share?", "history": [], "answer": "Staff.", "evidence": QUOTE,
       "source": "x.txt", "kind": "factual", "persona": "gp", "topic": "governance"}
PASSAGE = Passage(1, Chunk("c1", "d", "Report", 2016, "S", 3, QUOTE), 1.0)


def _answer(answerer: str, supported: bool, generation: Generation | None) -> Answer:
    citation = Citation(1, PASSAGE, QUOTE, supported=supported)
    notices = () if generation else ("The language model answered HTTP 500 (tried 3 times): boom. This is the "
                                     "offline answer from the same passages.",)
    return Answer(ROW["question"], f"{QUOTE} [1].", (citation,), (PASSAGE,), answerer=answerer, notices=notices,
                  generation=generation)


def _records():
    model = _answer("llm:m", True, Generation("stop", 400, 1, 900, 40, 1))
    fallback = _answer("offline", False, None)
    return [score_answer({**ROW, "id": f"q{i}"}, a, organisations=[], answerer="llm")
            for i, a in enumerate((model, model, fallback), start=1)]


def test_rows_record_their_writer_and_keep_each_citations_supported_flag():
    records = _records()
    assert [r["answered_by"] for r in records] == ["model", "model", "fallback"]
    assert [c["supported"] for r in records for c in r["citations"]] == [True, True, False]
    assert all(r["citations_count"] == 1 for r in records)
    assert records[0]["generation"]["completion_tokens"] == 40 and records[2]["generation"] is None
    json.dumps(records)  # a results.jsonl line each


def test_llm_only_metrics_leave_the_fallbacks_out_and_the_report_shows_both():
    records = _records()
    out = answered(records, "llm")
    assert out["answered_by"] == {"model": 2, "fallback": 1, "offline": 0, "declined": 0} and out["fallbacks"] == 1
    assert out["llm_only"]["questions"] == 2 and out["llm_only"]["citation_precision"] == 1.0
    system = _arm_summary(records, refuses=True)
    assert abs(system["citation_precision"] - 2 / 3) < 1e-9  # all answers, the fallback's unsupported one included
    failures = [{"id": "q2", "metric": "faithfulness", "reason": "no JSON object: it replied in prose, not JSON, twice"}]
    summary = {**out, "arms": {"system": system}, "judge_failures": failures}
    lines = "\n".join(answered_section(summary))
    assert "fell back to the offline answerer: 1" in lines and "Model-written only (2)" in lines
    assert "| Citation precision | 0.667 | 1.000 |" in lines
    assert "HTTP 500 (tried 3 times)" in lines and "it replied in prose, not JSON, twice" in lines
    assert "llm_only" not in answered(records, "offline")


def _judge(url, tmp_path, **overrides):
    settings = make_settings(tmp_path, openai_api_key="k", openai_base_url=url, llm_max_retries=0, **overrides)
    return Judge(settings)


def test_the_judge_asks_for_json_and_drops_response_format_where_the_server_rejects_it(tmp_path):
    answer = _answer("llm:m", True, None)
    rejected = Status(400, message="'response_format' of type 'json_object' is not supported with this model.")
    with running_fake_openai([Reply('{"score": 0.5}'), rejected, Reply('{"score": 1}')]) as server:
        judge = _judge(server.url, tmp_path, llm_judge_tokens=77)
        assert judge.correctness("q?", answer, "ref", "q1") == 0.5
        assert judge.correctness("q?", answer, "ref", "q2") == 1.0
    first, refused, plain = server.completions
    assert first.body["response_format"] == JSON_FORMAT and first.body["max_tokens"] == 77
    assert refused.body["response_format"] == JSON_FORMAT and "response_format" not in plain.body
    assert judge.failures == []


def test_every_judge_failure_is_recorded_with_its_reason(tmp_path):
    answer = _answer("llm:m", True, None)
    script = ["I think it is fine.", "Still fine, honestly.", Reply('{"score": 0.', finish="length"), Reply('{"x": 1}')]
    with running_fake_openai(script, default=Status(500)) as server:
        judge = _judge(server.url, tmp_path)
        assert judge.correctness("q?", answer, "ref", "prose") is None  # asked twice
        assert judge.correctness("q?", answer, "ref", "cut") is None  # not asked again: it would be cut again
        assert judge.faithfulness(answer, "noclaims") is None
        assert judge.correctness("q?", answer, "ref", "down") is None
    reasons = {f["id"]: f["reason"] for f in judge.failures}
    assert "prose, not JSON, twice" in reasons["prose"] and "Still fine" in reasons["prose"]
    assert "cut off at the 400-token cap (ASSISTANT_LLM_JUDGE_TOKENS)" in reasons["cut"]
    assert "no list of claims" in reasons["noclaims"]
    assert "HTTP 500 (tried once)" in reasons["down"]
    assert len(server.completions) == 5
