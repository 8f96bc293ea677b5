"""The LLM answerer: LangChain's ChatOpenAI against any OpenAI-compatible server, with every failure as LLMError.

Streaming contract: `OpenAIAnswerer.stream` yields text as it arrives and checks the whole answer with
`check_output` only after the last piece. An LLMError can therefore come mid-stream or after all the
text has been yielded; the caller (the pipeline) must then discard whatever it has shown or kept of
this answer and fall back to the offline answerer with a notice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

import openai
import tiktoken
from langchain_core.exceptions import ContextOverflowError
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from assistant.answering.protocol import NOT_COVERED
from assistant.answering.citations import MARKER
from assistant.collection import Collection
from assistant.errors import ConfigError, LLMError
from assistant.schema import Passage, Turn
from assistant.answering.prompts import PromptLibrary, Prompts, as_data, format_history, format_passages
from assistant.settings import Settings

HISTORY_TURNS = 6  # the last three exchanges go with each answer request
CONDENSE_TURNS = 8
MESSAGE_OVERHEAD = 4  # tokens the chat format adds per message (role and separators)
MIN_PASSAGE_TOKENS = 48  # below this the first passage is not worth sending, even truncated

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


def check_output(text: str) -> None:
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
        raise LLMError(
            f"The language model's answer has no [n] citation markers, so it cannot be checked against the reports; {hint}."
        )


def _strip_markers(text: str) -> str:
    """Earlier answers without their [n] markers, which referred to other passages."""
    return re.sub(r"[ \t]*" + MARKER.pattern, "", text)


class OpenAIAnswerer:
    """Answers from numbered passages with an OpenAI-compatible chat model (implements Answerer)."""

    extractive = False

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
        common = dict(
            model=settings.model,
            api_key=settings.openai_api_key,
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            temperature=settings.llm_temperature,
        )
        self._streaming = ChatOpenAI(streaming=True, **common)
        self._plain = ChatOpenAI(streaming=False, **common)

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
                out.append(AIMessage(_strip_markers(turn.content)))
            else:
                out.append(HumanMessage(turn.content))
        return out

    def library_facts(self) -> dict[str, str]:
        """The system prompt's $library and $dates_note, from the indexed documents."""
        values = self.library().prompt_values()
        return {"library": values["library"], "dates_note": values["dates_note"]}

    def build_messages(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()
    ) -> tuple[list[BaseMessage], int]:
        """(messages, how many leading passages were kept) fitted to llm_context_tokens.

        Passages are dropped from the end (lowest ranked first) so [n] still means passages[n-1];
        older history goes before the first passage does, and a first passage that cannot fit whole
        is truncated. ConfigError when not even that fits.
        """
        budget = self.settings.llm_context_tokens
        system = SystemMessage(self.prompts.render("system", not_covered=NOT_COVERED, **self.library_facts()))
        turns = list(history)[-HISTORY_TURNS:]

        def prompt(kept: Sequence[Passage]) -> HumanMessage:
            text = self.prompts.render(
                "answer", passages=format_passages(kept), question=as_data(question.strip()), not_covered=NOT_COVERED
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
            allowance = budget - base - overhead - 4  # the ellipsis, and re-tokenising at the cut
            if allowance < MIN_PASSAGE_TOKENS:
                raise ConfigError(
                    f"llm_context_tokens={budget} cannot hold the system prompt, the question and one passage "
                    f"(needs about {base + overhead + MIN_PASSAGE_TOKENS}); raise ASSISTANT_LLM_CONTEXT_TOKENS."
                )
            text = self.encoding.decode(self._encode(first.chunk.text)[:allowance])
            return [*head, prompt([replace(first, chunk=replace(first.chunk, text=text + " …"))])], 1
        return [*head, prompt(passages[:kept])], kept

    # -- failures --------------------------------------------------------------------------

    def _failure(self, exc: BaseException, doing: str, midway: bool = False) -> LLMError:
        """An LLMError that says what went wrong while `doing`, and what to check."""
        where = self.base_url
        kind = type(exc).__name__
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
        if isinstance(exc, ContextOverflowError):
            what = f"rejected a prompt of up to {self.settings.llm_context_tokens} tokens as too long ({exc})"
            todo = "lower ASSISTANT_LLM_CONTEXT_TOKENS to fit the model's context window"
        elif midway:
            what = f"stopped in the middle of its answer ({kind}: {exc})"
            todo = f"check the server at {where} (OPENAI_BASE_URL) and its logs"
        elif isinstance(exc, openai.APITimeoutError) or "Timeout" in kind:
            what = f"timed out after {self.settings.llm_timeout_s:g}s ({self.settings.llm_max_retries} retries)"
            todo = f"check that the server at {where} (OPENAI_BASE_URL) is up and not overloaded, or raise ASSISTANT_LLM_TIMEOUT_S"
        elif status is not None:
            what = f"answered HTTP {status} after {self.settings.llm_max_retries} retries: {exc}"
            todo = (
                "check OPENAI_API_KEY" if status in (401, 403)
                else f"check the model name ({self.settings.model}) and the server at {where} (OPENAI_BASE_URL)"
            )
        elif isinstance(exc, openai.APIConnectionError) or "Connect" in kind:
            what = f"could not be reached ({exc})"
            todo = f"check OPENAI_BASE_URL ({where}) and that the server is running"
        else:
            what = f"failed with {kind}: {exc}"
            todo = f"check OPENAI_BASE_URL ({where}) and the server's logs"
        message = f"The language model {what} while {doing}; {todo}."
        key = self.settings.openai_api_key.get_secret_value() if self.settings.openai_api_key else ""
        # A server may echo the key in its error body; notices are shown to every reader.
        return LLMError(message.replace(key, "***") if len(key) >= 4 else message)

    # -- the Answerer protocol -------------------------------------------------------------

    def stream(self, question: str, passages: Sequence[Passage], history: Sequence[Turn] = ()) -> Iterator[str]:
        """Yield the answer in pieces; raises LLMError mid-stream or after the last piece (see module doc)."""
        messages, _ = self.build_messages(question, passages, history)
        parts: list[str] = []
        pieces = self._streaming.stream(messages)
        try:
            while True:
                try:
                    chunk = next(pieces)
                except StopIteration:
                    break
                except Exception as exc:  # openai, httpx and JSON errors all mean the server failed us
                    raise self._failure(exc, "streaming an answer", midway=bool(parts)) from exc
                text = chunk.content if isinstance(chunk.content, str) else chunk.text
                if text:
                    parts.append(text)
                    yield text
        finally:
            # The stub says Iterator; stream() returns a generator, and closing it also when the caller stops early
            # releases the HTTP connection.
            pieces.close()  # type: ignore[attr-defined]
        check_output("".join(parts))

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """The follow-up rewritten as a standalone question; unchanged when there is no history."""
        if not history:
            return question
        prompt = self.prompts.render(
            "condense", history=format_history(list(history)[-CONDENSE_TURNS:]), question=question.strip()
        )
        try:
            reply = self._plain.invoke([HumanMessage(prompt)])
        except Exception as exc:  # openai, httpx and JSON errors all mean the server failed us
            raise self._failure(exc, "rewriting a follow-up question") from exc
        text = reply.content if isinstance(reply.content, str) else reply.text
        lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
        line = re.sub(r"^(?:standalone question|question)\s*:\s*", "", lines[0], flags=re.I) if lines else ""
        line = line.strip().strip("\"'“”‘’").strip()
        if not line or not re.search(r"[A-Za-z]", line) or _CONTROL.search(line):
            raise LLMError(
                f"The language model returned no usable standalone question ({text[:60]!r}); "
                f"check OPENAI_BASE_URL ({self.base_url}) and the model ({self.settings.model})."
            )
        return line
