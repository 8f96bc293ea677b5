"""The RAGAS-style LLM judge: faithfulness to the cited passages and correctness against the reference answer.

It asks for JSON with `response_format` where the server takes it (OpenAI, vLLM, llama.cpp) and drops it for a
server that rejects it; a reply in prose is asked for once more (one cut off at the token cap is not: it would be
cut off again); every failure is recorded with its reason (the server's error, the cap, prose instead of JSON).
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import HumanMessage

from assistant.errors import ConfigError, LLMError
from assistant.schema import Answer
from assistant.settings import Settings

JSON_FORMAT = {"type": "json_object"}
AGAIN = ("\n\nYour previous reply was not a JSON object. Reply again with the JSON object only, in the form "
         "given above, and nothing before or after it.")


def parse_json(text: str) -> dict[str, Any] | None:
    """The first {...} object in a reply (models wrap JSON in prose or code fences), or None."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        data = json.loads(match.group(0)) if match else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class Judge:
    """Scores answers with the configured model; `failures` lists every call that gave no score, with why."""

    def __init__(self, settings: Settings, llm=None) -> None:
        from assistant.answering.llm import OpenAIAnswerer
        from assistant.answering.prompts import PromptLibrary
        from assistant.ingest.tokens import encoding

        if not settings.llm_configured:
            raise ConfigError("The LLM judge needs OPENAI_API_KEY (and OPENAI_BASE_URL for a local server).")
        self.prompts = PromptLibrary(settings.prompts_dir)
        self._llm = llm or OpenAIAnswerer(settings, self.prompts, encoding(settings.tiktoken_dir))
        self._json_mode = True  # until the server rejects response_format
        self.failures: list[dict[str, str]] = []

    def _fail(self, qid: str, metric: str, reason: str) -> None:
        self.failures.append({"id": qid, "metric": metric, "reason": reason})

    def _reply(self, prompt: str) -> tuple[str, str]:
        """(text, finish reason) of one judge call; JSON mode first, plain where the server rejects it."""
        messages = [HumanMessage(prompt)]
        if self._json_mode:
            try:
                text, gen = self._llm.complete(messages, use="judge", doing="judging an answer",
                                               response_format=JSON_FORMAT)
                return text, gen.finish_reason
            except LLMError as exc:
                if "response_format" not in str(exc) and "json" not in str(exc).lower():
                    raise
                self._json_mode = False  # this server does not take response_format: parse plain replies
        text, gen = self._llm.complete(messages, use="judge", doing="judging an answer")
        return text, gen.finish_reason

    def _ask(self, prompt: str, qid: str, metric: str) -> dict[str, Any] | None:
        """The judge's JSON object, asked for twice at most; None (recorded with its reason) when it cannot be had."""
        try:
            text, finish = self._reply(prompt)
            data = parse_json(text)
            if data is None and finish != "length":  # prose instead of JSON: asked once more; a cut-off reply would
                text, finish = self._reply(prompt + AGAIN)  # only be cut off again at the same cap
                data = parse_json(text)
        except LLMError as exc:
            self._fail(qid, metric, str(exc))
            return None
        if data is None:
            cap = self._llm.settings.llm_judge_tokens
            why = (f"its reply was cut off at the {cap}-token cap (ASSISTANT_LLM_JUDGE_TOKENS) before the JSON closed"
                   if finish == "length" else f"it replied in prose, not JSON, twice ({text.strip()[:80]!r})")
            self._fail(qid, metric, f"no JSON object: {why}")
        return data

    def faithfulness(self, answer: Answer, qid: str = "") -> float | None:
        """Share of the answer's claims that its cited passages support (None for refusals or no claims)."""
        from assistant.answering.prompts import as_data, format_passages

        if answer.refused or not answer.citations:
            return None
        passages = format_passages([c.passage for c in answer.citations])
        data = self._ask(self.prompts.render("judge_faithfulness", passages=passages, question=as_data(answer.question),
                                             answer=as_data(answer.text)), qid, "faithfulness")
        if data is None:
            return None
        claims = [c for c in data.get("claims") or [] if isinstance(c, dict)] if isinstance(data.get("claims"), list) else []
        if not claims:
            self._fail(qid, "faithfulness", f"the JSON has no list of claims ({json.dumps(data)[:80]})")
            return None
        return sum(1 for c in claims if c.get("supported") is True) / len(claims)

    def correctness(self, question: str, answer: Answer, reference: str, qid: str = "") -> float | None:
        """Agreement of the answer with the reference answer, 0 to 1."""
        from assistant.answering.prompts import as_data

        data = self._ask(self.prompts.render("judge_correctness", question=as_data(question),
                                             reference=as_data(reference), answer=as_data(answer.text)),
                         qid, "answer_correctness")
        if data is None:
            return None
        try:
            return min(1.0, max(0.0, float(data["score"])))
        except (KeyError, TypeError, ValueError):
            self._fail(qid, "answer_correctness", f"the JSON has no numeric score ({json.dumps(data)[:80]})")
            return None
