"""Fakes for tests, yours included: an LLM that replays queued replies and records its calls,
and an embedder that hashes words to unit vectors. Both satisfy the same protocols as the
real backends (:class:`rag.llm.LLM`, :class:`rag.index.Embedder`)."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from .index import Progress

@dataclass
class FakeCall:
    kind: str
    """complete | stream | chat | stream_chat"""
    prompt: str | None
    messages: list[dict] | None
    max_tokens: int
    stop: list[str] | None


class FakeLLM:
    """Replays queued replies (or calls ``replies(prompt)``) and records every call.

    For chat calls the callable gets the messages' contents joined by newlines. Stop
    strings are honoured like a real server (the reply is cut before the first one).
    ``error`` is raised by every call while set; with ``error_after_words`` a stream yields
    that many words first (a stream dying mid-way).
    """

    def __init__(self, replies: list[str] | Callable[[str], str] | None = None, *,
                 default: str | None = None, style: str = "completion",
                 error: BaseException | None = None, error_after_words: int | None = None,
                 description: str = "fake LLM") -> None:
        self._replies = replies if callable(replies) else list(replies or [])
        self.default = default
        self.style = style
        self.error = error
        self.error_after_words = error_after_words
        self.description = description
        self.calls: list[FakeCall] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FakeLLM(style={self.style!r}, calls={len(self.calls)})"

    def queue(self, *replies: str) -> None:
        if callable(self._replies):
            raise TypeError("this FakeLLM computes its replies with a callable")
        with self._lock:
            self._replies.extend(replies)

    def complete(self, prompt: str, *, max_tokens: int, stop: list[str] | None = None) -> str:
        return "".join(self._run("complete", prompt, None, max_tokens, stop, streaming=False))

    def stream(self, prompt: str, *, max_tokens: int,
               stop: list[str] | None = None) -> Iterator[str]:
        return self._run("stream", prompt, None, max_tokens, stop, streaming=True)

    def chat(self, messages: list[dict], *, max_tokens: int, stop: list[str] | None = None) -> str:
        return "".join(self._run("chat", None, messages, max_tokens, stop, streaming=False))

    def stream_chat(self, messages: list[dict], *, max_tokens: int,
                    stop: list[str] | None = None) -> Iterator[str]:
        return self._run("stream_chat", None, messages, max_tokens, stop, streaming=True)

    def _run(self, kind, prompt, messages, max_tokens, stop, *, streaming: bool) -> Iterator[str]:
        with self._lock:  # record and pick the reply at call time, not at first next()
            self.calls.append(FakeCall(kind, prompt, [dict(m) for m in messages or []] or None,
                                       max_tokens, list(stop) if stop else None))
            error, after = self.error, self.error_after_words
            if error is not None and not (streaming and after):
                raise error
            reply = self._next_reply(prompt if prompt is not None else
                                     "\n".join(str(m.get("content", "")) for m in messages))
        for s in stop or []:
            if s and s in reply:
                reply = reply[:reply.index(s)]
        pieces = re.findall(r"\s*\S+|\s+$", reply)
        return self._pieces(pieces, error, after)

    @staticmethod
    def _pieces(pieces: list[str], error, after) -> Iterator[str]:
        for i, piece in enumerate(pieces):
            if error is not None and i >= after:
                raise error
            yield piece
        if error is not None:
            raise error

    def _next_reply(self, text: str) -> str:
        if callable(self._replies):
            return self._replies(text)
        if self._replies:
            return self._replies.pop(0)
        if self.default is not None:
            return self.default
        raise AssertionError(f"FakeLLM: no reply queued for call #{len(self.calls)}")


# ---------------------------------------------------------------------------- embedder
_TOKEN = re.compile(r"\w+")


class HashEmbedder:
    """Deterministic fake: each word hashes to a signed random direction; texts sum them.

    Texts that share words get similar vectors, which is enough for unit tests of the
    index and retrieval plumbing. ``calls`` records how many texts were embedded.
    """

    def __init__(self, dim: int = 64, name: str = "hash-embedder"):
        self.dim = dim
        self.name = name
        self.calls: list[int] = []
        self.texts: list[str] = []

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)

    def embed_batch(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        self.calls.append(len(texts))
        self.texts.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _TOKEN.findall(text.lower()):
                out[i] += self._word(word)
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else self._word("\x00empty")
            out[i] /= np.linalg.norm(out[i])
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]


def _register() -> None:
    """Fakes selectable by name, e.g. ``RAG_LLM_BACKEND=fake RAG_EMBED_BACKEND=hash`` in a
    test of your own that drives the CLI or the app: the fake LLM answers "10 billion euros"
    to everything; the hash embedder has 64 dimensions."""
    from .index import EMBEDDERS
    from .llm import LLMS, resolve_style

    LLMS.register("fake", lambda settings: FakeLLM(default="10 billion euros", style=resolve_style(settings),
                                                   description="fake LLM"))
    EMBEDDERS.register("hash", lambda options: HashEmbedder(name="hash-embedder"))


_register()
