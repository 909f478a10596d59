"""Test helpers for the UI: a fake ``stream_answer``/``answer`` with the signature of
``rag.qa``'s, so the UI can be driven without the LLM, and a launcher that runs app.py's
``main()`` with them installed (``python tests/ui_fakes.py``; env as for app.py).

The fake answers from the top retrieved passage: its best-overlapping sentence, cited as
[1]. Questions containing "refuse" are refused; "llmfail" raises an LLMError mid-stream.
"""

from __future__ import annotations

import re
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.ingest.chunking import split_sentences  # noqa: E402
from rag.errors import LLMUnavailableError  # noqa: E402
from rag.models import Answer, Citation  # noqa: E402


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def _final(question, retriever, settings, k, mode, history=()) -> tuple[Answer, list[str]]:
    t0 = time.perf_counter()
    passages = retriever.search(question, k=k or settings.k, mode=mode or settings.mode)
    if "refuse" in question.lower() or not passages:
        return Answer(question=question, text="I can't find that in the documents.", refused=True,
                      passages=passages, timings={"total": 5.0}), ["I can't ", "find that."]
    top = passages[0].chunk
    q = _words(question)
    spans = split_sentences(top.text)
    s, e = max(spans, key=lambda se: len(q & _words(top.text[se[0]:se[1]])))
    sentence = top.text[s:e]
    text = f"{sentence} [1]"
    cite = Citation(n=1, chunk_id=top.chunk_id, doc_id=top.doc_id, source=top.source, title=top.title,
                    page=top.page, start=top.start, end=top.end, text=top.text, sentence=sentence,
                    sentence_start=top.start + s, sentence_end=top.start + e, supported=True,
                    score=passages[0].score)
    answer = Answer(question=question, text=text, citations=[cite], passages=passages,
                    timings={"total": (time.perf_counter() - t0) * 1000}, standalone_question=question)
    return answer, [w + " " for w in text.split(" ")]


CALLS: list[dict] = []
"""Every stream_answer call's question, history, k and mode, for tests to inspect."""


def stream_answer(question, history=(), retriever=None, llm=None, settings=None, k=None, mode=None):
    CALLS.append({"question": question, "history": list(history), "k": k, "mode": mode})
    answer, deltas = _final(question, retriever, settings, k, mode, history)
    for i, d in enumerate(deltas):
        if "llmfail" in question.lower() and i == 2:
            raise LLMUnavailableError("LLM endpoint http://127.0.0.1:9/v1 is unreachable")
        time.sleep(0.01)
        yield d
    yield answer


def answer(question, history=(), retriever=None, llm=None, settings=None, k=None, mode=None):
    return _final(question, retriever, settings, k, mode, history)[0]


def install() -> None:
    """Make ``rag.qa`` resolve to these fakes (its input cleaning stays the real one)."""
    from rag.qa import clean_question

    module = types.ModuleType("rag.qa")
    module.clean_question = clean_question
    module.stream_answer = stream_answer
    module.answer = answer
    sys.modules["rag.qa"] = module


if __name__ == "__main__":
    import os

    install()
    if os.environ.get("UI_FAKE_EMBEDDER"):
        import rag.engine
        from rag.testing import HashEmbedder
        from rag.testing import FakeLLM

        _Engine = rag.engine.Engine

        class FakeEngine(_Engine):
            def __init__(self, settings, **kw):
                kw.setdefault("embedder", HashEmbedder())
                kw.setdefault("llm", FakeLLM(default="unused", description="fake LLM"))
                super().__init__(settings, **kw)

        import app

        app.Engine = FakeEngine
    else:
        import app
    raise SystemExit(app.main())
