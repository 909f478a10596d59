"""A watched folder: files added, changed or removed there are indexed while the app runs.

:class:`FolderWatcher` polls the folder (every ``interval`` seconds; no inotify needed, so it
works on any file system and in containers). A file is *ready* once its size and
modification time have not changed for ``settle`` seconds (the debounce: a burst of writes,
or of files, is indexed once) and it looks complete (a PDF ends with ``%%EOF``, a DOCX is a
whole zip archive). Until then it is not indexed at all: :meth:`FolderWatcher.accepts` is the
filter the indexer applies, so even a re-index that something else starts skips a file
that is still being written. A file that fails to read while it is fresh (modified within
``retry_for`` seconds) is retried on the next changes instead of being reported; after that
its one-line reason is reported like an upload's.
"""

from __future__ import annotations

import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..ingest import SUPPORTED_SUFFIXES

_PARTIAL = (".part", ".partial", ".tmp", ".crdownload", ".download", "~")


@dataclass
class WatchStatus:
    """What the UI shows about the watched folder; updated by the watcher's thread."""

    folder: str = ""
    message: str = ""
    progress: tuple[int, int] | None = None
    """(done, total) chunks embedded while an update runs, else None."""
    lines: list[str] = field(default_factory=list)
    """The last update's result: what was indexed, and one line per file that failed."""
    updates: int = 0
    files: set[str] = field(default_factory=set)
    """The watched folder's files handed to the indexer (relative names)."""


def looks_complete(path: Path) -> bool:
    """False for a file whose format shows it is cut short (a PDF or DOCX still being written)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            with path.open("rb") as handle:
                size = handle.seek(0, 2)
                handle.seek(max(0, size - 1024))
                return b"%%EOF" in handle.read()
        if suffix == ".docx":
            return zipfile.is_zipfile(path)
    except OSError:
        return False
    return True


def _candidate(rel: Path) -> bool:
    name = rel.name
    return not any(part.startswith((".", "~$")) for part in rel.parts) and not name.endswith(_PARTIAL) \
        and rel.suffix.lower() in SUPPORTED_SUFFIXES


class FolderWatcher:
    def __init__(self, folder: Path | str, on_change: Callable[[list[str], list[str]], list[str]],
                 interval: float = 1.0, settle: float = 2.0, retry_for: float = 30.0,
                 clock: Callable[[], float] = time.monotonic):
        """``on_change(changed, removed)`` indexes and returns the files (relative names)
        that failed to read; it runs on the watcher's thread."""
        self.folder = Path(folder).resolve()
        self.on_change, self.interval, self.settle, self.retry_for = on_change, interval, settle, retry_for
        self.clock = clock
        self._seen: dict[str, tuple[int, int]] = {}
        self._since: dict[str, float] = {}
        self._ready: set[str] = set()
        self._indexed: dict[str, tuple[int, int]] = {}
        self._retry: dict[str, float] = {}
        """Files that failed while fresh, and when to try them again."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def accepts(self, path: Path) -> bool:
        """The indexer's filter: a file under the folder is read only once it is ready."""
        try:
            rel = Path(path).resolve().relative_to(self.folder).as_posix()
        except ValueError:
            return True  # not in the watched folder
        return rel in self._ready

    def _scan(self) -> dict[str, tuple[int, int]]:
        out = {}
        if not self.folder.is_dir():
            return out
        for path in self.folder.rglob("*"):
            rel = path.relative_to(self.folder)
            if not _candidate(rel):
                continue
            try:
                st = path.stat()
            except OSError:
                continue
            if path.is_file():
                out[rel.as_posix()] = (st.st_size, st.st_mtime_ns)
        return out

    def prime(self, wall: Callable[[], float] = time.time) -> None:
        """Before the first index load: files already there and settled (modified over
        ``settle`` seconds ago, whole) count as ready and indexed, so a restart reads them at
        once instead of dropping them from the index until the first poll."""
        now, current = self.clock(), self._scan()
        for rel, sig in current.items():
            self._since[rel] = now
            if wall() - sig[1] / 1e9 >= self.settle and looks_complete(self.folder / rel):
                self._since[rel] = now - self.settle
                self._ready.add(rel)
                self._indexed[rel] = sig
        self._seen = current

    def poll(self) -> tuple[list[str], list[str]] | None:
        """One look at the folder; indexes and returns (changed, removed) when something
        ready changed, else None. Tests call it directly with a fake clock."""
        now = self.clock()
        current = self._scan()
        for rel, sig in current.items():
            if self._seen.get(rel) != sig:
                self._since[rel] = now
                self._ready.discard(rel)
        for rel in set(self._seen) - set(current):
            self._since.pop(rel, None)
            self._ready.discard(rel)
        self._seen = current
        ready = {rel for rel in current if now - self._since[rel] >= self.settle
                 and (rel in self._ready or looks_complete(self.folder / rel))}
        changed = sorted(rel for rel in ready if self._indexed.get(rel) != current[rel]
                         or now >= self._retry.get(rel, float("inf")))
        removed = sorted(rel for rel in self._indexed if rel not in current)
        if not changed and not removed:
            return None
        self._ready = ready
        failed = set(self.on_change(changed, removed))
        for rel in removed:
            self._indexed.pop(rel, None)
        for rel in changed:
            self._indexed[rel] = current[rel]
            self._retry.pop(rel, None)
            if rel in failed and now - self._since[rel] < self.retry_for:
                self._retry[rel] = now + 2 * self.settle  # maybe cut short by a slow writer: again
        for rel in removed:
            self._retry.pop(rel, None)
        return changed, removed

    def start(self) -> "FolderWatcher":
        self._thread = threading.Thread(target=self._run, name="rag-watch", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception as exc:  # a watcher that dies silently would be worse
                import sys

                print(f"warning: watching {self.folder} failed once: {exc}", file=sys.stderr)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def index_changes(reindex: Callable, status: WatchStatus) -> Callable[[list[str], list[str]], list[str]]:
    """The ``on_change`` that re-indexes through ``reindex(progress=...)`` (``Engine.reindex``)
    and reports into ``status`` as an upload does: progress, a summary, a line per bad file."""
    from ..errors import RagError

    def on_change(changed: list[str], removed: list[str]) -> list[str]:
        status.files = (status.files | set(changed)) - set(removed)
        what = ", ".join(changed + [f"{r} (removed)" for r in removed])
        status.message = f"Indexing from {status.folder}: {what}"
        status.progress = (0, 0)
        try:
            report = reindex(progress=lambda done, total: setattr(status, "progress", (done, total)))
        except RagError as exc:
            status.lines = [f"Indexing {what} failed: {exc}"]
            return list(changed)
        finally:
            status.progress = None
            status.updates += 1
        bad = [s for s in report.skipped if any(s.startswith(f"{rel}:") for rel in changed)]
        status.lines = [f"From {status.folder}: {what}. {report.summary()}"] + [f"Skipped: {s}" for s in bad]
        status.message = status.lines[0]
        return [rel for rel in changed if any(s.startswith(f"{rel}:") for s in bad)]

    return on_change


def watch_engine(engine, folder: Path | str) -> tuple[WatchStatus, FolderWatcher]:
    """Add ``folder`` to ``engine``'s inputs and make a watcher that re-indexes it; nothing
    in it is read before it is ready (``engine.accept``). Call ``start()`` once loaded."""
    folder = Path(folder)
    if not folder.is_dir():
        from ..errors import InputError

        raise InputError(f"watched folder {folder} is not a folder")
    engine.inputs = [*(engine.inputs or []), folder]
    status = WatchStatus(folder=str(folder))
    watcher = FolderWatcher(folder, index_changes(engine.reindex, status))
    watcher.prime()
    status.files = set(watcher._indexed)
    engine.accept = watcher.accepts
    return status, watcher


def watch_view(status: WatchStatus, seen: int) -> tuple[str | None, bool, int]:
    """What the UI shows now: (message or None for no change, documents changed?, updates seen)."""
    if status.progress is not None:
        done, total = status.progress
        return (f"{status.message} — embedding chunks {done}/{total}" if total else status.message), False, seen
    if status.updates == seen:
        return None, False, seen
    return "\n".join(status.lines), True, status.updates
