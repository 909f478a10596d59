"""Runs app.py's ``main()`` on the fakes: the hash embedder and a fake LLM that answers every
prompt with the same short reply, through the real answer path (retrieval, refusal,
composition, verification), so the UI gets real answers, refusals and errors without the
embedded model (``python tests/ui_fakes.py``; environment as for app.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import app  # noqa: E402
from rag.engine import Engine  # noqa: E402
from rag.testing import FakeLLM, HashEmbedder  # noqa: E402

REPLY = "10 billion euros"


class FakeEngine(Engine):
    def __init__(self, settings, **kw):
        kw.setdefault("embedder", HashEmbedder())
        kw.setdefault("llm", FakeLLM(default=REPLY, description="fake LLM"))
        super().__init__(settings, **kw)


if __name__ == "__main__":
    app.Engine = FakeEngine
    raise SystemExit(app.main())
