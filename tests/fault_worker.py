"""A child process for tests/test_faults.py: indexes a folder and can be killed at a chosen point.

    python tests/fault_worker.py DOCS INDEX_DIR [--slow SECONDS] [--die-at POINT]
                                 [--ready FILE] [--hold FILE]

``--slow`` makes the fake embedder sleep per text; ``--ready`` is a file created once
embedding has started (after the first text is embedded). ``--hold FILE`` then pauses the
worker, mid-embedding and holding the index lock, until FILE exists (at most 300 s, then it
fails with exit code 3), so a test can kill it or race it there whatever the machine's
load, instead of hoping a sleep lasts long enough. ``--die-at`` sends SIGKILL to
this very process at a point inside the index write: ``half-vectors`` (vectors.npy half
written), ``before-current`` (new version complete, CURRENT not yet switched). Exit codes
and messages are the CLI's: 0 done, 1 with one ``error:`` line for a RagError.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.index import store  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.testing import HashEmbedder  # noqa: E402
from rag.errors import RagError  # noqa: E402
from rag.index.indexing import index_paths  # noqa: E402


HOLD_SECONDS = 300


class SlowEmbedder(HashEmbedder):
    def __init__(self, delay: float, ready: Path | None, hold: Path | None = None):
        super().__init__()
        self.delay = delay
        self.ready = ready
        self.hold = hold

    def embed_batch(self, texts, progress=None):
        out = []
        for text in texts:
            time.sleep(self.delay)
            out.append(super().embed_batch([text])[0])
            if progress:
                progress(1)
            if self.ready and not self.ready.exists():
                self.ready.write_text(str(os.getpid()))
            if self.hold:
                self._wait_for_release()
        import numpy as np

        return np.stack(out) if out else np.zeros((0, self.dim), np.float32)

    def _wait_for_release(self) -> None:
        deadline = time.monotonic() + HOLD_SECONDS
        while not self.hold.exists():
            if time.monotonic() > deadline:
                print(f"error: {self.hold} never appeared", file=sys.stderr)
                sys.exit(3)
            time.sleep(0.02)
        self.hold = None


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("docs", type=Path)
    p.add_argument("index_dir", type=Path)
    p.add_argument("--slow", type=float, default=0.0)
    p.add_argument("--ready", type=Path)
    p.add_argument("--hold", type=Path)
    p.add_argument("--die-at", choices=["half-vectors", "before-current"])
    args = p.parse_args()

    if args.die_at == "half-vectors":
        def half_save(path, arr, *a, **kw):
            with open(path, "wb") as fh:
                fh.write(b"\x93NUMPY\x01\x00" + b"\x00" * 100)
                fh.flush()
                os.fsync(fh.fileno())
            _die()

        store.np.save = half_save
    elif args.die_at == "before-current":
        real_replace = os.replace

        def replace(src, dst, *a, **kw):
            if Path(dst).name == store.CURRENT:
                _die()
            return real_replace(src, dst, *a, **kw)

        store.os.replace = replace

    settings = Settings(index_dir=args.index_dir, chunk_words=40)
    try:
        _, report = index_paths([args.docs], settings, SlowEmbedder(args.slow, args.ready, args.hold), log=lambda m: None)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
