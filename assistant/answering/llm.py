"""The LLM answerer: LangChain's ChatOpenAI against any OpenAI-compatible server, with every failure as LLMError.

Every request carries a max_tokens cap sized to its use (Settings.llm_max_tokens) and runs under one deadline
(ASSISTANT_LLM_DEADLINE_S) beside the per-read timeout; attempts are made and counted here, so a notice can say
how many there were. Streaming contract: `OpenAIAnswerer.stream` yields text as it arrives, checks the whole
answer with `check_output` after the last piece and returns its `Generation` (finish reason, usage, attempts).
An LLMError can therefore come mid-stream or after all the text has been yielded; the caller (the pipeline)
must then discard whatever it has shown or kept of this answer and fall back to the offline answerer.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from typing import Any

import httpx
import openai
import tiktoken
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from assistant.answering import llm_server
from assistant.answering.protocol import NOT_COVERED
from assistant.answering.question import analyse
from assistant.answering.citations import MARKER
from assistant.collection import Collection
from assistant.errors import ConfigError, LLMError
from assistant.schema import Generation, Passage, Turn
from assistant.answering.prompts import PromptLibrary, Prompts, as_data, format_guide, format_history, format_passages
from assistant.settings import Settings

HISTORY_TURNS = 6  # the last three exchanges go with each answer request
CONDENSE_TURNS = 8
MESSAGE_OVERHEAD = 4  # tokens the chat format adds per message (role and separators)
MIN_PASSAGE_TOKENS = 48  # below this the first passage is not worth sending, even truncated
CUT_SLACK = 4  # tokens kept free when a passage is cut: the ellipsis, and re-tokenising at the cut
# A server counts tokens with its own model's tokenizer, not cl100k_base. Measured with llama.cpp's /tokenize on the
# five reports: SmolLM2's tokenizer gives 1.06-1.13x the cl100k count, 1.33x on the worst 800-character piece (and
# 2x on runs of digits). A stated context is divided by this before passages are fitted to it.
TOKEN_MARGIN = 1.25
PROBE_TIMEOUT_S = 5.0

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
_UNKNOWN = -1
_EARLIER_MARKER = re.compile(r"[ \t]*" + MARKER.pattern)


def check_output(text: str, generation: Generation | None = None) -> None:
    """Raise LLMError when a finished answer is unusable: empty, binary junk, no words, or no [n] markers."""
    stripped = text.strip()
    hint = "check that OPENAI_BASE_URL points at a working OpenAI-compatible server and that the model is suitable"
    if not stripped:
        raise LLMError(f"The language model returned an empty answer; {hint}.")
    if len(_CONTROL.findall(stripped)) > max(2, len(stripped) // 100):
        raise LLMError(f"The language model returned binary or corrupted text; {hint}.")
    visible = [ch for ch in stripped if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in visible)
    if letters == 0 or letters < 0.4 * len(visible):
        raise LLMError(f"The language model returned text that is not prose ({stripped[:60]!r}); {hint}.")
    if not stripped.startswith(NOT_COVERED) and not MARKER.search(stripped):
        if generation is not None and generation.truncated:
            raise LLMError(f"The language model's answer was {generation.cut_off} before it cited any passage; "
                           "raise ASSISTANT_LLM_ANSWER_TOKENS or ASSISTANT_LLM_DEADLINE_S.")
        raise LLMError(
            f"The language model's answer has no [n] citation markers, so it cannot be checked against the reports; {hint}."
        )


def tries(n: int) -> str:
    """'tried once' or 'tried N times': the attempts actually made."""
    return "tried once" if n == 1 else f"tried {n} times"


class UnusableAnswer(LLMError):
    """A whole reply that cannot be used as an answer; `generation` says how it was written (tokens, finish)."""

    def __init__(self, message: str, generation: Generation) -> None:
        super().__init__(message)
        self.generation = generation


class _Deadline(Exception):
    """The answer's deadline passed before the server replied."""


class OpenAIAnswerer:
    """Answers from numbered passages with an OpenAI-compatible chat model (implements Answerer)."""

    extractive = False
    use = "answer"  # which token cap (Settings.llm_max_tokens) its stream writes to; documents set their own

    def __init__(self, settings: Settings, prompts: PromptLibrary, encoding: tiktoken.Encoding) -> None:
        if not settings.llm_configured:
            raise ConfigError("The LLM answerer needs an API key: set OPENAI_API_KEY (any value for a local server).")
        self.settings = settings
        self.prompts: Prompts = prompts  # documents swap in a stand-in serving their own template (prompted)
        self.encoding = encoding
        self.name = f"llm:{settings.model}"
        self.base_url = settings.openai_base_url or "the default OpenAI endpoint"
        # The library the system prompt describes (its count, years, publishers); the Assistant sets its own.
        self.library: Callable[[], Collection] = Collection
        # Whom a question can be about (the library's case studies); the Assistant sets its own.
        self.organisations: Callable[[], Sequence[str]] = lambda: ()
        # Attempts are made here (max_retries=0 below), so that they are counted and the deadline holds across them.
        common: dict[str, Any] = dict(model=settings.model, api_key=settings.openai_api_key,
                                      base_url=settings.openai_base_url, timeout=settings.llm_timeout_s,
                                      max_retries=0, temperature=settings.llm_temperature)
        self._streaming = ChatOpenAI(streaming=True, stream_usage=True, **common)
        self._plain = ChatOpenAI(streaming=False, **common)
        self._server_context = _UNKNOWN

    # -- the server's context ----------------------------------------------------------------

    def server_context(self) -> int | None:
        """The context window the server states (llama.cpp, vLLM), read once; None when it states none."""
        if self._server_context == _UNKNOWN and self.settings.openai_base_url:
            key = self.settings.openai_api_key.get_secret_value() if self.settings.openai_api_key else ""
            try:
                size = llm_server.context_size(self.settings.openai_base_url, key, self.settings.model,
                                               min(PROBE_TIMEOUT_S, self.settings.llm_timeout_s))
            except httpx.HTTPError:
                return None  # not reachable now: asked again with the next request
            self._server_context = size or 0
        return self._server_context or None

    def prompt_budget(self, max_tokens: int) -> tuple[int, int | None]:
        """(cl100k tokens the prompt may take, the server's context if that is what limits it)."""
        budget = self.settings.llm_context_tokens
        ctx = self.server_context()
        if ctx is not None and int((ctx - max_tokens) / TOKEN_MARGIN) < budget:
            return max(0, int((ctx - max_tokens) / TOKEN_MARGIN)), ctx
        return budget, None

    # -- prompt building -------------------------------------------------------------------

    def _encode(self, text: str) -> list[int]:
        """Token ids of `text`; special-token strings in passages or questions count as plain text."""
        return self.encoding.encode(text, disallowed_special=())

    def _tokens(self, messages: Sequence[BaseMessage]) -> int:
        """Tokens the messages take in the model's context (content plus a per-message overhead)."""
        return sum(len(self._encode(str(m.content))) + MESSAGE_OVERHEAD for m in messages) + 3

    def _history(self, history: Sequence[Turn]) -> list[BaseMessage]:
        out: list[BaseMessage] = []
        for turn in history:
            if turn.role == "assistant":
                out.append(AIMessage(_EARLIER_MARKER.sub("", turn.content)))  # they referred to other passages
            else:
                out.append(HumanMessage(turn.content))
        return out

    def library_facts(self) -> dict[str, str]:
        """The system prompt's $library and $dates_note, from the indexed documents."""
        values = self.library().prompt_values()
        return {"library": values["library"], "dates_note": values["dates_note"]}

    def build_messages(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = (),
                       budget: int | None = None) -> tuple[list[BaseMessage], int]:
        """(messages, how many leading passages were kept) fitted to `budget` (default llm_context_tokens).

        Passages are dropped from the end (lowest ranked first) so [n] still means passages[n-1];
        older history goes before the first passage does, and a first passage that cannot fit whole
        is truncated. ConfigError when not even that fits.
        """
        budget = self.settings.llm_context_tokens if budget is None else budget
        system = SystemMessage(self.prompts.render("system", not_covered=NOT_COVERED, **self.library_facts()))
        turns = list(history)[-HISTORY_TURNS:]

        guide = format_guide(analyse(question, organisations=self.organisations(), history=history))

        def prompt(kept: Sequence[Passage]) -> HumanMessage:
            text = self.prompts.render(
                "answer", passages=format_passages(kept), question=as_data(question.strip()), not_covered=NOT_COVERED,
                guide=guide,
            )
            return HumanMessage(text)

        while True:
            head = [system, *self._history(turns)]
            base = self._tokens([*head, prompt([])])
            room = budget - base
            kept = 0
            used = 0
            for i in range(len(passages)):
                # Each passage's cost is measured in place, separator included.
                cost = len(self._encode(format_passages(passages[: i + 1]))) - used
                if cost > room:
                    break
                kept, used, room = i + 1, used + cost, room - cost
            if kept or not passages or not turns:
                break
            turns.pop(0)
        if passages and not kept:
            first = passages[0]
            overhead = len(self._encode(format_passages([replace(first, chunk=replace(first.chunk, text=""))])))
            needed = base + overhead + CUT_SLACK + MIN_PASSAGE_TOKENS
            if budget < needed:
                raise ConfigError(
                    f"llm_context_tokens={budget} cannot hold the system prompt, the question and one passage "
                    f"(needs about {needed}); raise ASSISTANT_LLM_CONTEXT_TOKENS."
                )
            text = self.encoding.decode(self._encode(first.chunk.text)[: budget - base - overhead - CUT_SLACK])
            return [*head, prompt([replace(first, chunk=replace(first.chunk, text=text + " …"))])], 1
        return [*head, prompt(passages[:kept])], kept

    def _fitted(self, question: str, passages: Sequence[Passage], history: Sequence[Turn],
                max_tokens: int) -> tuple[list[BaseMessage], int]:
        """build_messages within the prompt budget; a server context too small for one passage is an LLMError."""
        budget, ctx = self.prompt_budget(max_tokens)
        if ctx is None:
            return self.build_messages(question, passages, history)
        try:
            return self.build_messages(question, passages, history, budget)
        except ConfigError as exc:
            raise LLMError(
                f"The language model's context window of {ctx} tokens (as the server at {self.base_url} states it) "
                f"cannot hold the system prompt, the question, one passage and a {max_tokens}-token answer; start "
                f"the server with a larger context, or lower ASSISTANT_LLM_{self.use.upper()}_TOKENS."
            ) from exc

    # -- failures --------------------------------------------------------------------------

    def _failure(self, exc: BaseException, doing: str, attempts: int = 1, midway: bool = False) -> LLMError:
        """An LLMError that says what went wrong while `doing`, after how many attempts, and what to check."""
        where = self.base_url
        kind = type(exc).__name__
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
        s = self.settings
        if llm_server.is_overflow(exc):
            ctx = self._server_context if self._server_context > 0 else None
            stated = f"; the server states a context of {ctx} tokens" if ctx else ""
            what = f"rejected the prompt as longer than its context window ({exc}{stated})"
            todo = (f"lower ASSISTANT_LLM_CONTEXT_TOKENS (now {s.llm_context_tokens}) to fit the model's context "
                    "window, or give the server a larger one")
        elif midway:
            what = f"stopped in the middle of its answer ({kind}: {exc})"
            todo = f"check the server at {where} (OPENAI_BASE_URL) and its logs"
        elif isinstance(exc, _Deadline):
            what = f"gave no reply within the {s.llm_deadline_s:g}s deadline for an answer ({tries(attempts)})"
            todo = f"check that the server at {where} is not overloaded, or raise ASSISTANT_LLM_DEADLINE_S"
        elif isinstance(exc, openai.APITimeoutError) or "Timeout" in kind:
            what = f"timed out after {s.llm_timeout_s:g}s ({tries(attempts)})"
            todo = f"check that the server at {where} (OPENAI_BASE_URL) is up and not overloaded, or raise ASSISTANT_LLM_TIMEOUT_S"
        elif status is not None:
            why = "" if llm_server.retryable(exc) else ": the same request would fail again"
            what = f"answered HTTP {status} ({tries(attempts)}{why}): {exc}"
            todo = (
                "check OPENAI_API_KEY" if status in (401, 403)
                else f"check the model name ({s.model}) and the server at {where} (OPENAI_BASE_URL)"
            )
        elif isinstance(exc, openai.APIConnectionError) or "Connect" in kind:
            what = f"could not be reached ({tries(attempts)}: {exc})"
            todo = f"check OPENAI_BASE_URL ({where}) and that the server is running"
        else:
            what = f"failed with {kind}: {exc}"
            todo = f"check OPENAI_BASE_URL ({where}) and the server's logs"
        message = f"The language model {what} while {doing}; {todo}."
        key = s.openai_api_key.get_secret_value() if s.openai_api_key else ""
        # A server may echo the key in its error body; notices are shown to every reader.
        return LLMError(message.replace(key, "***") if len(key) >= 4 else message)

    # -- requests --------------------------------------------------------------------------

    def _attempts(self, deadline: float) -> Iterator[int]:
        """Attempt numbers 1.. up to 1 + llm_max_retries, while the deadline leaves time."""
        for attempt in range(1, self.settings.llm_max_retries + 2):
            if attempt > 1 and time.monotonic() >= deadline:
                return
            yield attempt

    def _read_timeout(self, deadline: float) -> float:
        return max(0.05, min(self.settings.llm_timeout_s, deadline - time.monotonic()))

    def _options(self, cap: int, deadline: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Per-request options: the cap, the read timeout within the deadline, and `extra` body fields.

        LangChain sends the cap as `max_completion_tokens`, which OpenAI asks for; other servers are given
        `max_tokens` as well, the name every OpenAI-compatible server (llama.cpp, vLLM, Ollama) reads."""
        body = dict(extra or {})
        if self.settings.openai_base_url and "api.openai.com" not in self.settings.openai_base_url:
            body["max_tokens"] = cap
        options: dict[str, Any] = {"max_tokens": cap, "timeout": self._read_timeout(deadline)}
        if body:
            options["extra_body"] = body  # past LangChain's own handling of e.g. response_format
        return options

    def complete(self, messages: Sequence[BaseMessage], *, use: str, doing: str,
                 **extra: Any) -> tuple[str, Generation]:
        """One non-streamed reply within the cap for `use` and the deadline, with retries; LLMError on failure.

        `extra` goes into the request body (e.g. response_format)."""
        cap = self.settings.llm_max_tokens(use)
        deadline = time.monotonic() + self.settings.llm_deadline_s
        attempts, last = 0, None
        for attempts in self._attempts(deadline):
            try:
                reply = self._plain.invoke(list(messages), **self._options(cap, deadline, extra))
            except Exception as exc:  # openai, httpx and JSON errors all mean the server failed us
                last = exc
                if not llm_server.retryable(exc) or attempts > self.settings.llm_max_retries:
                    break
                time.sleep(max(0.0, min(llm_server.backoff(exc, attempts), deadline - time.monotonic())))
                continue
            text = reply.content if isinstance(reply.content, str) else reply.text
            usage: dict[str, Any] = dict(reply.usage_metadata or {})
            finish = str(reply.response_metadata.get("finish_reason") or "stop")
            return text, Generation(finish, cap, attempts, usage.get("input_tokens"), usage.get("output_tokens"))
        assert last is not None
        if isinstance(last, openai.APITimeoutError) and time.monotonic() >= deadline - 0.05:
            raise self._failure(_Deadline(), doing, attempts) from last  # the read was cut short by the deadline
        raise self._failure(last, doing, attempts) from last

    def _stream_once(self, messages: list[BaseMessage], cap: int, deadline: float,
                     state: dict[str, Any]) -> Iterator[str]:
        """Yield one streamed reply's text; finish reason and usage go into `state`. Stops at the deadline."""
        out: queue.Queue = queue.Queue()
        stop = threading.Event()
        llm_server.read_in_thread(lambda: self._streaming.stream(messages, **self._options(cap, deadline)), out, stop)
        try:
            while True:
                try:
                    kind, item = out.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    if not state["text"]:
                        raise _Deadline() from None
                    state["finish"] = "deadline"  # what came is kept, marked as cut off
                    return
                if kind == "end":
                    return
                if kind == "error":
                    raise item
                if finish := item.response_metadata.get("finish_reason"):
                    state["finish"] = str(finish)
                if item.usage_metadata:
                    state["usage"] = item.usage_metadata
                text = item.content if isinstance(item.content, str) else item.text
                if text:
                    state["text"].append(text)
                    yield text
        finally:
            stop.set()  # the worker stops at its next chunk, or at its read timeout

    # -- the Answerer protocol -------------------------------------------------------------

    def stream(self, question: str, passages: Sequence[Passage],
               history: Sequence[Turn] = ()) -> Generator[str, None, Generation]:
        """Yield the answer in pieces and return its Generation; LLMError mid-stream or after the last piece."""
        cap = self.settings.llm_max_tokens(self.use)
        deadline = time.monotonic() + self.settings.llm_deadline_s
        messages, kept = self._fitted(question, passages, history, cap)
        state: dict[str, Any] = {"text": [], "finish": "stop", "usage": {}}
        attempts = 0
        for attempts in self._attempts(deadline):
            try:
                yield from self._stream_once(messages, cap, deadline, state)
                break
            except Exception as exc:  # openai, httpx and JSON errors all mean the server failed us
                if state["text"]:
                    raise self._failure(exc, "streaming an answer", attempts, midway=True) from exc
                if not llm_server.retryable(exc) or attempts > self.settings.llm_max_retries:
                    raise self._failure(exc, "streaming an answer", attempts) from exc
                time.sleep(max(0.0, min(llm_server.backoff(exc, attempts), deadline - time.monotonic())))
                if time.monotonic() >= deadline:
                    raise self._failure(exc, "streaming an answer", attempts) from exc
        else:  # the deadline left no time for the next attempt
            raise self._failure(_Deadline(), "streaming an answer", attempts)
        usage = state["usage"]
        generation = Generation(state["finish"], cap, attempts, usage.get("input_tokens"), usage.get("output_tokens"),
                                passages_sent=kept)
        try:
            check_output("".join(state["text"]), generation)
        except LLMError as exc:
            raise UnusableAnswer(str(exc), generation) from None
        return generation

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """The follow-up rewritten as a standalone question; unchanged when there is no history."""
        if not history:
            return question
        prompt = self.prompts.render(
            "condense", history=format_history(list(history)[-CONDENSE_TURNS:]), question=question.strip()
        )
        text, _ = self.complete([HumanMessage(prompt)], use="rewrite", doing="rewriting a follow-up question")
        lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
        line = re.sub(r"^(?:standalone question|question)\s*:\s*", "", lines[0], flags=re.I) if lines else ""
        line = line.strip().strip("\"'“”‘’").strip()
        if not line or not re.search(r"[A-Za-z]", line) or _CONTROL.search(line):
            raise LLMError(
                f"The language model returned no usable standalone question ({text[:60]!r}); "
                f"check OPENAI_BASE_URL ({self.base_url}) and the model ({self.settings.model})."
            )
        return line
