"""OpenAI chat-completions wire format: the request we accept and the JSON we send back.

The request is checked by hand (not by a pydantic model) so every problem gets OpenAI's
error shape, ``{"error": {"message", "type", "code"}}``, with a one-line message. Unknown
fields are accepted and ignored; ``temperature``, ``max_tokens``, ``top_p`` and the like are
accepted too (the answer is deterministic and composed within its own word budget).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from ..config import Settings
from ..errors import EmptyQuestionError, InputError, QuestionTooLongError
from ..answer import clean_question

MODEL_ID = "rag"
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
MODES = {"hybrid", "dense", "bm25"}


class ApiError(Exception):
    """An error reply: HTTP status plus OpenAI's error object."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class ChatRequest:
    question: str
    history: tuple[dict, ...]
    model: str
    stream: bool = False
    include_usage: bool = False
    k: int | None = None
    mode: str | None = None


def _text(content, where: str) -> str:
    """A message's content: a string, or OpenAI's list of parts (text parts are joined)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict):
                raise ApiError(400, f"{where}.content parts must be objects", param="messages")
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                parts.append(part["text"])
        return "\n".join(parts)
    raise ApiError(400, f"{where}.content must be a string or a list of parts", param="messages")


def parse_request(raw: bytes, settings: Settings) -> ChatRequest:
    if len(raw) > settings.api_max_body_bytes:
        raise ApiError(413, f"the request body is {len(raw)} bytes; the limit is {settings.api_max_body_bytes}",
                       code="request_too_large")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ApiError(400, "the request body is not valid JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", code="invalid_json")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "'messages' must be a non-empty list", param="messages", code="invalid_messages")
    turns = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise ApiError(400, f"messages[{i}] needs a role (user, assistant or system)", param="messages",
                           code="invalid_messages")
        turns.append({"role": m["role"], "content": _text(m.get("content"), f"messages[{i}]")})
    dialogue = [t for t in turns if t["role"] in ("user", "assistant")]
    if not dialogue or dialogue[-1]["role"] != "user":
        raise ApiError(400, "the last message must be the user's question", param="messages",
                       code="invalid_messages")
    n = body.get("n", 1)
    if n not in (1, None):
        raise ApiError(400, "only n=1 is supported", param="n")
    k, mode = body.get("k"), body.get("mode")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 50):
        raise ApiError(400, "'k' must be an integer from 1 to 50", param="k")
    if mode is not None and mode not in MODES:
        raise ApiError(400, "'mode' must be hybrid, dense or bm25", param="mode")
    try:
        question = clean_question(dialogue[-1]["content"], settings)
    except EmptyQuestionError:
        raise ApiError(400, "the question (the last user message) is empty", param="messages",
                       code="empty_question") from None
    except QuestionTooLongError as exc:
        raise ApiError(413, f"the question is {exc.length} characters long; the limit is {exc.limit}",
                       param="messages", code="question_too_long") from None
    except InputError as exc:
        raise ApiError(400, str(exc), param="messages") from None
    options = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
    model = body.get("model") if isinstance(body.get("model"), str) and body.get("model") else MODEL_ID
    return ChatRequest(question=question, history=tuple(dialogue[:-1]), model=model,
                       stream=bool(body.get("stream")), include_usage=bool(options.get("include_usage")),
                       k=k, mode=mode)


# ---------------------------------------------------------------------------- replies
CITATION_FIELDS = ("n", "doc_id", "source", "title", "page", "start", "end", "sentence",
                   "sentence_start", "sentence_end", "supported")


def citations(answer: dict) -> list[dict]:
    return [{f: c.get(f) for f in CITATION_FIELDS} for c in answer.get("citations") or []]


def new_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def usage(req: ChatRequest, text: str) -> dict:
    """Word counts (the pipeline has no single tokenizer): question plus history in, answer out."""
    prompt = len(req.question.split()) + sum(len(t["content"].split()) for t in req.history)
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion(req: ChatRequest, answer: dict, cid: str | None = None) -> dict:
    text = answer.get("text") or ""
    return {"id": cid or new_id(), "object": "chat.completion", "created": int(time.time()), "model": req.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": usage(req, text), "citations": citations(answer), "refused": bool(answer.get("refused"))}


def chunk(req: ChatRequest, cid: str, created: int, delta: dict, finish: str | None = None, **extra) -> dict:
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": req.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}


def stream_pieces(text: str, words: int = 4) -> list[str]:
    """The verified answer in small pieces of a few words (spaces kept, so they join back)."""
    tokens = text.split(" ")
    return [" ".join(tokens[i:i + words]) + (" " if i + words < len(tokens) else "")
            for i in range(0, len(tokens), words)] if text else []


def sse(payload: dict | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()
