"""The OpenAI-compatible HTTP API: ``POST /v1/chat/completions`` and ``GET /v1/models``.

:func:`create_api_app` builds the FastAPI app that ``python app.py`` serves; the Gradio UI is
mounted on it at ``/``, so the page and the API share one port and one process. A question
goes through :func:`rag.chat.ask` with the request's history, the very function the chat UI
calls, so the API's answers are the UI's answers.

The answer is composed in full before the reply starts (the verifier can drop what the model
drafted), so a stream carries the verified text in pieces, then a last chunk with
``finish_reason: "stop"``, ``citations`` and ``refused``, then ``data: [DONE]``. That is
also why an LLM that is down gets a real 503 on a streamed request too.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.concurrency import run_in_threadpool

from .chat import ChatSession, Turn, ask
from ..config import Settings
from ..errors import InputError, RagError
from . import openai_format as fmt
from .openai_format import ApiError, ChatRequest


class Admission:
    """At most ``concurrency`` answers at once and ``max_waiting`` more in line; beyond that
    a request is turned away at once (429), like the UI's queue."""

    def __init__(self, concurrency: int, max_waiting: int):
        self.concurrency, self.max_waiting = concurrency, max_waiting
        self._sem: asyncio.Semaphore | None = None
        self._inside = 0

    @property
    def inside(self) -> int:
        """Requests answering or waiting now."""
        return self._inside

    @asynccontextmanager
    async def slot(self):
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.concurrency)
        if self._inside >= self.concurrency + self.max_waiting:
            raise ApiError(429, "the queue is full; try again in a moment", "rate_limit_error", "queue_full")
        self._inside += 1
        try:
            async with self._sem:
                yield
        finally:
            self._inside -= 1


def check_key(settings: Settings, header: str | None) -> None:
    """RAG_API_KEYS set: a Bearer key must match one. Unset: open, unless RAG_AUTH closes it."""
    if not settings.api_keys:
        if settings.auth:
            raise ApiError(403, "the API is closed while the app has a login (RAG_AUTH) and no API keys; "
                                "set RAG_API_KEYS to open it", "permission_error", "api_closed")
        return
    scheme, _, key = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>'", code="invalid_api_key")
    given = key.strip().encode()
    if not any(hmac.compare_digest(given, k.encode()) for k in settings.api_keys):
        raise ApiError(401, "incorrect API key", code="invalid_api_key")


def answer_request(engine, req: ChatRequest) -> dict:
    """Answer through the UI's own chat path; returns ``Answer.to_dict()``. Raises ApiError
    for a failed answer: 503 when the LLM is down or the index busy, 400 for bad input."""
    session = ChatSession(k=req.k or engine.settings.k, mode=req.mode or engine.settings.mode)
    try:
        for _ in ask(engine, session, req.question, history=list(req.history)):
            pass
    except InputError as exc:
        raise ApiError(400, str(exc), param="messages") from None
    turn: Turn = session.turns[-1]
    if turn.error:
        raise ApiError(503, f"could not answer: {turn.error}", "server_error", "unavailable")
    if turn.answer.get("error"):
        raise ApiError(503, f"the language model is unavailable: {turn.answer['error']}", "server_error",
                       "llm_unavailable")
    return turn.answer


def _events(req: ChatRequest, answer: dict):
    cid, created = fmt.new_id(), int(time.time())
    yield fmt.sse(fmt.chunk(req, cid, created, {"role": "assistant", "content": ""}))
    for piece in fmt.stream_pieces(answer.get("text") or ""):
        yield fmt.sse(fmt.chunk(req, cid, created, {"content": piece}))
    yield fmt.sse(fmt.chunk(req, cid, created, {}, "stop", citations=fmt.citations(answer),
                            refused=bool(answer.get("refused"))))
    if req.include_usage:
        yield fmt.sse({"id": cid, "object": "chat.completion.chunk", "created": created, "model": req.model,
                       "choices": [], "usage": fmt.usage(req, answer.get("text") or "")})
    yield fmt.sse("[DONE]")


def create_api_app(engine, settings: Settings, *, concurrency: int = 2, max_waiting: int = 32,
                   log=None) -> FastAPI:
    """The FastAPI app with the ``/v1`` routes (mount the Gradio UI on it afterwards)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    admission = Admission(concurrency, max_waiting)
    app.state.admission = admission

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError):
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception):  # still OpenAI's shape, no traceback
        if log:
            log(f"API error: {type(exc).__name__}: {exc}")
        return JSONResponse(ApiError(500, f"internal error ({type(exc).__name__})", "server_error",
                                     "internal_error").body(), status_code=500)

    @app.get("/v1/models")
    async def models(request: Request):
        check_key(settings, request.headers.get("authorization"))
        return {"object": "list", "data": [_model()]}

    @app.get("/v1/models/{model_id}")
    async def model(model_id: str, request: Request):
        check_key(settings, request.headers.get("authorization"))
        if model_id != fmt.MODEL_ID:
            raise ApiError(404, f"the model {model_id!r} does not exist; this server has 'rag'",
                           code="model_not_found")
        return _model()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        check_key(settings, request.headers.get("authorization"))
        raw, size = await _body(request, settings.api_max_body_bytes)
        if size > settings.api_max_body_bytes:
            raise ApiError(413, f"the request body is over {settings.api_max_body_bytes} bytes",
                           code="request_too_large")
        req = fmt.parse_request(raw, settings)
        async with admission.slot():
            try:
                answer = await run_in_threadpool(answer_request, engine, req)
            except RagError as exc:  # anything the answer path raised on purpose
                raise ApiError(503, f"could not answer: {exc}", "server_error", "unavailable") from None
        if req.stream:
            return StreamingResponse(_events(req, answer), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        return fmt.completion(req, answer)

    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    async def unknown(rest: str, request: Request):
        check_key(settings, request.headers.get("authorization"))
        raise ApiError(404, f"no route /v1/{rest}: this server has /v1/chat/completions and /v1/models",
                       code="not_found")

    return app


def _model() -> dict:
    return {"id": fmt.MODEL_ID, "object": "model", "created": 0, "owned_by": "rag"}


DRAIN_FACTOR = 16
"""An oversized body is still read (and dropped) up to this many times the limit, so the
client gets its 413 instead of a broken pipe; past that the connection is cut."""


async def _body(request: Request, limit: int) -> tuple[bytes, int]:
    """The body and its size; past ``limit`` only the size is kept (the rest is dropped)."""
    data, seen = bytearray(), 0
    async for part in request.stream():
        seen += len(part)
        if seen <= limit + 1:
            data += part
        elif seen > DRAIN_FACTOR * limit:
            break
    return bytes(data), seen
