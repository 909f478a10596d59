"""A running app as the answer engine: ``python -m rag eval --server URL``.

:class:`RemoteEngine` answers through the app's ``/ask`` API endpoint with
``gradio_client``, and turns the JSON it returns (``Answer.to_dict()``) back into an
:class:`Answer`, so a battery scores the UI's own code path with the same metrics as a
local run. The app applies its own settings (k, mode, refusal threshold, model); ``k`` and
``mode`` passed here are ignored, and the endpoint takes no history.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Sequence

from ..config import Settings
from ..errors import InputError, LLMError, LLMUnavailableError
from ..models import Answer, Chunk, Citation, Passage


def answer_from_dict(d: dict) -> Answer:
    """Inverse of :meth:`Answer.to_dict` (tolerant of missing optional fields)."""
    if not isinstance(d, dict) or "text" not in d:
        raise LLMError(f"the app's /ask endpoint returned no answer object: {str(d)[:200]!r}")
    passages = []
    for i, p in enumerate(d.get("passages") or [], start=1):
        chunk = Chunk(chunk_id=str(p.get("chunk_id", "")), doc_id=str(p.get("doc_id", "")),
                      text=p.get("text", ""), start=int(p.get("start") or 0), end=int(p.get("end") or 0),
                      source=p.get("source", ""), title=p.get("title", ""), page=p.get("page"))
        passages.append(Passage(rank=int(p.get("rank", i)), score=float(p.get("score", 0.0)), chunk=chunk))
    fields = set(Citation.__dataclass_fields__)
    citations = [Citation(**{k: v for k, v in c.items() if k in fields}) for c in d.get("citations") or []]
    return Answer(question=d.get("question", ""), text=d["text"], citations=citations,
                  refused=bool(d.get("refused")), passages=passages,
                  timings={k: float(v) for k, v in (d.get("timings") or {}).items()},
                  standalone_question=d.get("standalone_question"), error=d.get("error"),
                  evidence=float(d.get("evidence") or 0.0), short_answer=d.get("short_answer"),
                  answerability=d.get("answerability"))


class RemoteEngine:
    """An :class:`rag.engine.AnswerEngine` that asks a running app's ``/ask`` API (it cannot
    search on its own, so gold ranks stop at the k passages the app retrieved)."""

    def __init__(self, url: str, settings: Settings, *, auth: tuple[str, str] | None = None,
                 api_name: str = "/ask"):
        self.url, self.settings, self.auth, self.api_name = url, settings, auth, api_name
        self._local = threading.local()  # one client per worker thread

    def _client(self):
        client = getattr(self._local, "client", None)
        if client is None:
            from gradio_client import Client

            try:
                client = Client(self.url, auth=self.auth, verbose=False)
            except Exception as exc:  # connection refused, not a gradio app, bad auth
                raise LLMUnavailableError(f"cannot reach the app at {self.url}: {exc}") from None
            self._local.client = client
        return client

    def connect(self) -> None:
        """Fail fast (before the progress bar) when the app is not there."""
        self._client()

    def answer(self, question: str, history: Sequence[dict] = (), k: int | None = None,
               mode: str | None = None) -> Answer:
        t0 = time.perf_counter()
        try:
            result = self._client().predict(question, api_name=self.api_name)
        except ValueError as exc:  # gradio_client: unknown api_name
            raise InputError(f"the app at {self.url} has no {self.api_name} endpoint: {exc}") from None
        except Exception as exc:  # gradio_client raises AppError and plain exceptions
            return Answer(question=question, text="", error=f"{type(exc).__name__}: {exc}"[:300],
                          timings={"total": (time.perf_counter() - t0) * 1000})
        if isinstance(result, str):
            try:
                result = json.loads(result)
            except json.JSONDecodeError:
                raise LLMError(f"the app's {self.api_name} endpoint returned non-JSON text") from None
        answer = answer_from_dict(result)
        answer.timings["server_total"] = answer.timings.get("total", 0.0)
        answer.timings["total"] = (time.perf_counter() - t0) * 1000  # what a user waits for
        return answer

    def llm_description(self) -> str:
        return f"app at {self.url} (its own model and settings)"
