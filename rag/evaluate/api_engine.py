"""An OpenAI-compatible endpoint as the answer engine: ``python -m rag eval --api URL``.

:class:`ApiEngine` asks ``URL/v1/chat/completions`` with the ``openai`` client, the way any
OpenAI tool would: the battery's ``history`` goes along as earlier messages, and the reply's
``choices[0].message.content``, ``citations`` and ``refused`` become an :class:`Answer`.
Pointed at this app, a battery scores the served API (its answers are the UI's); ``k`` and
``mode`` are sent as the API's extension fields. The key is ``RAG_API_KEY`` when the
server wants one. Passages are not part of the reply, so retrieval metrics stay empty.
"""

from __future__ import annotations

import threading
import time
from typing import Sequence

from ..config import Settings
from ..errors import InputError, LLMUnavailableError
from ..models import Answer, Citation

MODEL = "rag"


def _citation(c: dict) -> Citation:
    return Citation(n=int(c.get("n") or 0), chunk_id="", doc_id=str(c.get("doc_id") or ""),
                    source=str(c.get("source") or ""), title=str(c.get("title") or ""), page=c.get("page"),
                    start=int(c.get("start") or 0), end=int(c.get("end") or 0), text="",
                    sentence=str(c.get("sentence") or ""), sentence_start=int(c.get("sentence_start") or 0),
                    sentence_end=int(c.get("sentence_end") or 0), supported=bool(c.get("supported", True)))


class ApiEngine:
    """Answers through an OpenAI-compatible chat-completions endpoint (one client per thread)."""

    def __init__(self, url: str, settings: Settings, *, model: str = MODEL):
        self.url, self.settings, self.model = url.rstrip("/"), settings, model
        self._local = threading.local()

    def _client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            import openai

            base = self.url if self.url.endswith("/v1") else self.url + "/v1"
            client = openai.OpenAI(base_url=base, api_key=self.settings.api_key or "none", max_retries=2,
                                   timeout=max(60.0, self.settings.llm_timeout * 4))
            self._local.client = client
        return client

    def connect(self) -> None:
        """Fail fast when the endpoint is not there or refuses the key."""
        import openai

        try:
            self._client().models.list()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise InputError(f"{self.url} refused the API key (set RAG_API_KEY): {exc.message}") from None
        except openai.APIError as exc:
            raise LLMUnavailableError(f"cannot reach the API at {self.url}: {exc}") from None

    def answer(self, question: str, history: Sequence[dict] = (), k: int | None = None,
               mode: str | None = None) -> Answer:
        import openai

        messages = [{"role": m["role"], "content": m["content"]} for m in history] + \
                   [{"role": "user", "content": question}]
        extra = {key: value for key, value in (("k", k), ("mode", mode)) if value is not None}
        t0 = time.perf_counter()
        try:
            reply = self._client().chat.completions.create(model=self.model, messages=messages, extra_body=extra)
        except openai.APIError as exc:  # a failed answer is a result, scored as such
            return Answer(question=question, text="", error=f"{type(exc).__name__}: {exc}"[:300],
                          timings={"total": (time.perf_counter() - t0) * 1000})
        extra_fields = reply.model_extra or {}
        return Answer(question=question, text=reply.choices[0].message.content or "",
                      citations=[_citation(c) for c in extra_fields.get("citations") or []],
                      refused=bool(extra_fields.get("refused")),
                      timings={"total": (time.perf_counter() - t0) * 1000})

    def llm_description(self) -> str:
        return f"OpenAI-compatible API at {self.url} (model {self.model!r}, its own settings)"
