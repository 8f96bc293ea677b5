"""The OpenAI-compatible API served beside the chat: /v1/models names the answerers, /v1/chat/completions answers
over the one Assistant with the chat's guardrails and limits, a bearer-key login, and errors in OpenAI's shape."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import Mount

from assistant.errors import AssistantError, InputError
from assistant.schema import Answer, Turn
from assistant.settings import Settings

from .access import Access
from .api import parse_history
from .limits import LoginThrottle
from .turns import plain_text, text_of_plain

OWNER = "federation-advisor"
FIELD = "federation_advisor"  # the extra field of a response (and of a stream's last chunk): Answer.to_json()
MODEL_IDS = {"offline": f"{OWNER}-offline", "llm": f"{OWNER}-llm"}  # answerer choice -> the model id clients name
CONTEXT_ROLES = ("system", "developer")  # a client's own instructions: the assistant keeps its own rules, so unread
ROLES = ("user", "assistant", *CONTEXT_ROLES)
WORDS_PER_CHUNK = 8  # words per streamed chunk: a 150-word answer arrives in about 20 events
MESSAGES_HELP = ('messages must be a list of {"role": "user" | "assistant" | "system", "content": "..."} objects, '
                 "ending with the user's question; earlier user and assistant messages are the conversation so far.")


class ApiError(Exception):
    """A request refused as OpenAI reports it: the HTTP status, a message saying what to do, type, param and code."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def response(self) -> JSONResponse:
        """The error as JSON: {"error": {"message", "type", "param", "code"}}."""
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse({"error": {"message": self.message, "type": self.kind, "param": self.param,
                                       "code": self.code}}, status_code=self.status, headers=headers)


def bad(message: str, param: str | None = None) -> ApiError:
    """A 400 for input that cannot be taken; `message` says what to send instead."""
    return ApiError(400, message, param=param)


class Keys:
    """Who may call the API: a bearer key from ASSISTANT_API_KEYS. With no key set, nobody while the chat has a
    login (ASSISTANT_AUTH), so the API is never the open door beside a guarded chat; anybody when it has none. Wrong
    keys wait as wrong chat passwords do (the chat's LoginThrottle, per key tried and per address)."""

    def __init__(self, settings: Settings) -> None:
        spec = settings.api_keys.get_secret_value() if settings.api_keys is not None else ""
        self.keys = [key.strip() for key in spec.split(",") if key.strip()]
        self.login = Access(settings).login
        # Each key signs in as itself: the throttle compares in constant time and counts failures.
        self.throttle = LoginThrottle([(key, key) for key in self.keys], free=settings.login_free_failures,
                                      max_wait_s=settings.login_max_wait_s)

    def check(self, authorization: str | None) -> None:
        """Nothing when the request may be served; ApiError 401 saying what to do when it may not."""
        if not self.keys:
            if self.login:
                raise ApiError(401, "This server's API has no keys while its chat has a login, so the API is off: "
                               "an operator can set ASSISTANT_API_KEYS to give clients keys.", code="invalid_api_key")
            return
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "You didn't provide an API key: send the header `Authorization: Bearer <key>` with a "
                           "key the operator set in ASSISTANT_API_KEYS.", code="invalid_api_key")
        try:
            allowed = self.throttle(token.strip(), token.strip())
        except HTTPException as exc:
            raise ApiError(429, f"{exc.detail} (too many wrong API keys from this address)",
                           code="rate_limit_exceeded", kind="requests") from exc
        if not allowed:
            raise ApiError(401, "Incorrect API key provided. Ask the operator for a key from ASSISTANT_API_KEYS.",
                           code="invalid_api_key")


@dataclass(frozen=True)
class ChatRequest:
    """What a chat completion asks: the model named, its answerer, the question, the conversation before, streamed."""

    model: str
    answerer: str
    question: str
    history: list[Turn]
    stream: bool


def message_text(message: object, i: int) -> tuple[str, str]:
    """(role, text) of messages[i]: content as a string or a list of text parts; ApiError 400 for anything else."""
    if not isinstance(message, dict):
        raise bad(f"messages[{i}] is a {type(message).__name__}, not an object. {MESSAGES_HELP}", "messages")
    role, content = message.get("role"), message.get("content")
    if role not in ROLES:
        raise bad(f"messages[{i}] has role {role!r}; only user, assistant and system messages are read (this "
                  "assistant calls no tools).", "messages")
    if content is None and role == "assistant":
        content = ""
    if isinstance(content, list):
        texts = [part["text"] for part in content
                 if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)]
        if len(texts) != len(content):
            raise bad(f"messages[{i}].content holds a part that is not text; the assistant reads text only: send a "
                      'string, or parts like {"type": "text", "text": "..."}.', "messages")
        content = "\n".join(texts)
    if not isinstance(content, str):
        raise bad(f"messages[{i}].content must be text (a string or a list of text parts), not "
                  f"{type(content).__name__}.", "messages")
    return str(role), content


def parse_request(body: object, *, models: dict[str, str]) -> ChatRequest:
    """The chat request in an OpenAI body; ApiError 400 (what to send) or 404 (an unknown model)."""
    if not isinstance(body, dict):
        raise bad("The request body must be a JSON object with `model` and `messages`.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad(f"model must name one of this server's models (GET /v1/models): {', '.join(models)}.", "model")
    if model not in models:
        raise ApiError(404, f"The model `{model}` does not exist here. GET /v1/models lists this server's models: "
                       f"{', '.join(models)}.", param="model", code="model_not_found")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        got = "missing" if messages is None else ("empty" if messages == [] else f"a {type(messages).__name__}")
        raise bad(f"messages is {got}. {MESSAGES_HELP}", "messages")
    said = [(role, text) for role, text in (message_text(m, i) for i, m in enumerate(messages))
            if role not in CONTEXT_ROLES]
    if not said or said[-1][0] != "user":
        raise bad(f"The last message must be the user's question (role user). {MESSAGES_HELP}", "messages")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise bad("stream must be true (server-sent events) or false (one JSON response).", "stream")
    if body.get("n") not in (None, 1) or isinstance(body.get("n"), bool):
        raise bad("n must be 1: one answer is written per question.", "n")
    # Answers sent back as this API wrote them carry notices and a list of sources: the history holds the text.
    history = parse_history([{"role": role, "content": text_of_plain(text) if role == "assistant" else text}
                             for role, text in said[:-1]])
    return ChatRequest(model=model, answerer=models[model], question=said[-1][1], history=history,
                       stream=bool(stream))


def chunks_of(text: str, words: int = WORDS_PER_CHUNK) -> list[str]:
    """`text` in pieces of about `words` words that join back to exactly `text`."""
    tokens = re.split(r"(?<=\s)(?=\S)", text)
    return ["".join(tokens[i:i + words]) for i in range(0, len(tokens), words)] or [""]


def finish_reason(answer: Answer) -> str:
    """OpenAI's finish reason: "length" when the model hit its token cap, else "stop"."""
    return "length" if answer.generation is not None and answer.generation.finish_reason == "length" else "stop"


class ChatCompletions:
    """/v1/models and /v1/chat/completions over an Assistant, at most `concurrency` answers written at once."""

    def __init__(self, assistant, settings: Settings, *, concurrency: int) -> None:
        self.assistant, self.settings = assistant, settings
        self.keys = Keys(settings)
        self.slots = asyncio.Semaphore(concurrency)
        self.created = int(time.time())
        # Longest body read: the longest history's JSON (as the `ask` API takes it), a question escaped as \uXXXX
        # six bytes a character, and room for the other fields; more is refused before it is parsed.
        self.body_limit = settings.max_history_json_chars + 6 * settings.max_question_chars + 64 * 1024

    def models(self) -> dict[str, str]:
        """Model id -> answerer: the configured answerer first, the language model's only when one is configured."""
        if self.assistant.answerer_name("llm") == "offline":
            return {MODEL_IDS["offline"]: "offline"}
        order = ("llm", "offline") if self.assistant.answerer_name(self.settings.answerer) != "offline" \
            else ("offline", "llm")
        return {MODEL_IDS[choice]: choice for choice in order}

    def model_card(self, model: str) -> dict:
        """One entry of the model list, with the answerer it names."""
        return {"id": model, "object": "model", "created": self.created, "owned_by": OWNER,
                "answerer": self.assistant.answerer_name(self.models()[model])}

    async def list_models(self, request: Request) -> JSONResponse:
        """GET /v1/models: the answerers this server offers."""
        self.keys.check(request.headers.get("authorization"))
        return JSONResponse({"object": "list", "data": [self.model_card(m) for m in self.models()]})

    async def get_model(self, request: Request) -> JSONResponse:
        """GET /v1/models/{model}: one answerer, or 404."""
        self.keys.check(request.headers.get("authorization"))
        model = request.path_params["model"]
        if model not in self.models():
            raise ApiError(404, f"The model `{model}` does not exist here; GET /v1/models lists this server's models.",
                           param="model", code="model_not_found")
        return JSONResponse(self.model_card(model))

    async def read_json(self, request: Request) -> object:
        """The request's JSON body, refused unread past body_limit bytes; ApiError 400 when it is not JSON."""
        too_long = bad(f"The request is over {self.body_limit} bytes, more than the longest conversation taken "
                       f"({self.settings.max_history_turns} messages, {self.settings.max_history_chars} characters "
                       "in all). Please start a new conversation.", "messages")
        size = request.headers.get("content-length", "")
        if size.isdigit() and int(size) > self.body_limit:
            raise too_long
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > self.body_limit:
                raise too_long
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
            raise bad(f"The request body is not valid JSON ({type(exc).__name__}: {str(exc)[:200]}); send an object "
                      "with `model` and `messages`.")

    async def chat(self, request: Request) -> JSONResponse | StreamingResponse:
        """POST /v1/chat/completions: the cited answer as the assistant's message, whole or as server-sent events."""
        self.keys.check(request.headers.get("authorization"))
        asked = parse_request(await self.read_json(request), models=self.models())
        async with self.slots:  # the same number of answers at once as the chat's answer queue
            answer = await run_in_threadpool(self.assistant.ask, asked.question, asked.history,
                                             answerer=asked.answerer)
        found = answer.to_json()
        content, cid = plain_text(found), f"chatcmpl-{secrets.token_hex(12)}"
        if asked.stream:
            return StreamingResponse(self.events(answer, found, content, model=asked.model, cid=cid),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        return JSONResponse({
            "id": cid, "object": "chat.completion", "created": int(time.time()), "model": asked.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": finish_reason(answer), "logprobs": None}],
            "usage": None, FIELD: found,
        })

    def events(self, answer: Answer, found: dict, content: str, *, model: str, cid: str) -> Iterator[str]:
        """The answer as chat.completion.chunk events: the role, the text in pieces, the finish with the citations and
        passages, then [DONE]. The text is sent once checked: verification renumbers citations and flags unsupported
        sentences, which the model's raw words, once streamed, could not take back."""
        created = int(time.time())

        def event(delta: dict, finish: str | None = None, **extra) -> str:
            chunk = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
            return f"data: {json.dumps(chunk)}\n\n"

        yield event({"role": "assistant", "content": ""})
        for piece in chunks_of(content):
            yield event({"content": piece})
        yield event({}, finish_reason(answer), **{FIELD: found})
        yield "data: [DONE]\n\n"


def assistant_error(exc: AssistantError) -> ApiError:
    """The pipeline's error in OpenAI's shape: bad input (too long, a conversation too long, not words) 400, anything
    else (no index, a damaged store) 503, each with the pipeline's own message saying what to do."""
    if isinstance(exc, InputError):
        return bad(str(exc), "messages")
    return ApiError(503, str(exc), kind="server_error", code="unavailable")


def openai_app(assistant, settings: Settings, *, concurrency: int) -> Mount:
    """The API as a Starlette mount at /v1, to serve in the same app as the chat."""
    api = ChatCompletions(assistant, settings, concurrency=concurrency)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_api_route("/models", api.list_models, methods=["GET"])
    app.add_api_route("/models/{model}", api.get_model, methods=["GET"])
    app.add_api_route("/chat/completions", api.chat, methods=["POST"], response_model=None)

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        return exc.response() if isinstance(exc, ApiError) else bad(str(exc)).response()

    async def on_assistant_error(request: Request, exc: Exception) -> JSONResponse:
        return assistant_error(exc).response() if isinstance(exc, AssistantError) else bad(str(exc)).response()

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        where = f"{request.method} {request.url.path}"
        return ApiError(status, f"{where} is not served here ({status}): this API has GET /v1/models, GET "
                        "/v1/models/{model} and POST /v1/chat/completions.",
                        code="not_found" if status == 404 else None).response()

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(AssistantError, on_assistant_error)
    async def on_failure(request: Request, exc: Exception) -> JSONResponse:
        return ApiError(500, "The server failed while answering; the request can be sent again, and the server's "
                        "log says what went wrong.", kind="server_error").response()

    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_failure)
    return Mount("/v1", app=app)
