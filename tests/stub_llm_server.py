"""A tiny OpenAI-compatible HTTP server for fault-injection tests.

Reusable by any test that needs a misbehaving (or well-behaved) LLM endpoint::

    stub = StubLLMServer(reply="Paris is the capital.").start()
    settings = Settings(openai_base_url=stub.url, openai_api_key="sk-test", llm_timeout=0.5)
    stub.mode = "500"            # switch behaviour at any time
    stub.script = ["429", "ok"]  # or queue one mode per request, then fall back to .mode
    ...
    stub.stop()

Modes:
    ok          200 with a JSON body, or SSE events (one per word) when ``stream`` is true
    500         500 with a JSON error body carrying ``error_message``
    429         429 with ``Retry-After: <retry_after>``
    malformed   200 ``application/json`` whose body is not JSON
    no_choices  200 valid JSON without ``choices``
    stall       waits ``stall_seconds`` before answering (use with a short client timeout); if
                the client hangs up first, nothing is sent and the wait is recorded in ``.hangups``
    die         streams ``die_after`` SSE events then drops the connection (chunked body left
                incomplete); a non-streaming request gets its connection closed with no reply

Routes: POST /v1/completions, POST /v1/chat/completions, GET /v1/models, GET /health.
Every request is recorded in ``.requests`` as ``(path, json_body_or_None, headers)``,
with header names lower-cased, and its arrival time (``time.monotonic()``) in ``.arrivals``,
so a test can check the gap a client left between two requests without timing itself.
``.hangups`` holds, for each stalled request the client gave up on, the seconds it waited.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "500", "429", "malformed", "no_choices", "stall", "die")


class StubLLMServer:
    def __init__(self, reply: str = "Paris is the capital of France.", mode: str = "ok",
                 *, retry_after: str = "0", stall_seconds: float = 5.0, die_after: int = 2,
                 host: str = "127.0.0.1") -> None:
        self.reply = reply
        self.error_message = "stub internal error"
        self.mode = mode
        self.script: list[str] = []
        self.retry_after = retry_after
        self.stall_seconds = stall_seconds
        self.die_after = die_after
        self.host = host
        self.requests: list[tuple[str, dict | None, dict]] = []
        self.arrivals: list[float] = []
        self.hangups: list[float] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "StubLLMServer":
        handler = type("Handler", (_Handler,), {"stub": self})
        self._httpd = _QuietServer((self.host, 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name="stub-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "StubLLMServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "stub server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """Base URL to give the openai client (``OPENAI_BASE_URL``)."""
        return f"http://{self.host}:{self.port}/v1"

    def next_mode(self) -> str:
        with self._lock:
            return self.script.pop(0) if self.script else self.mode

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def record(self, path: str, body: dict | None, headers) -> float:
        now = time.monotonic()
        with self._lock:
            self.requests.append((path, body, {k.lower(): v for k, v in headers.items()}))
            self.arrivals.append(now)
        return now


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _chunk(text: str, chat: bool, finish: str | None) -> dict:
    if chat:
        delta = {"role": "assistant", "content": text} if text else {}
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        obj = "chat.completion.chunk"
    else:
        choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
        obj = "text_completion"
    return {"id": "stub-1", "object": obj, "created": int(time.time()), "model": "stub",
            "choices": [choice]}


def _full(text: str, chat: bool) -> dict:
    if chat:
        choice = {"index": 0, "message": {"role": "assistant", "content": text},
                  "finish_reason": "stop"}
        obj = "chat.completion"
    else:
        choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
        obj = "text_completion"
    return {"id": "stub-1", "object": obj, "created": int(time.time()), "model": "stub",
            "choices": [choice], "usage": {"prompt_tokens": 1, "completion_tokens": 1,
                                           "total_tokens": 2}}


class _Handler(BaseHTTPRequestHandler):
    stub: StubLLMServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _send_json(self, status: int, payload, extra_headers: dict | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.stub.record(self.path, None, self.headers)
        if self.path.rstrip("/") in ("/health", "/v1/health"):
            self._send_json(200, {"status": "ok"})
        elif self.path.rstrip("/") == "/v1/models":
            self._send_json(200, {"object": "list", "data": [{"id": "stub", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        try:
            self._post()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
            self.close_connection = True

    def _post(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        arrived = self.stub.record(self.path, body, self.headers)
        path = self.path.rstrip("/")
        if path not in ("/v1/completions", "/v1/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {path}"}})
            return
        chat = path.endswith("chat/completions")
        stream = bool(body and body.get("stream"))
        mode = self.stub.next_mode()
        if mode == "stall":
            if self._client_hung_up_within(self.stub.stall_seconds):
                with self.stub._lock:
                    self.stub.hangups.append(time.monotonic() - arrived)
                self.close_connection = True
                return
            mode = "ok"
        if mode == "500":
            self._send_json(500, {"error": {"message": self.stub.error_message,
                                             "type": "server_error"}})
        elif mode == "429":
            self._send_json(429, {"error": {"message": "stub rate limit", "type": "rate_limit"}},
                            {"Retry-After": self.stub.retry_after})
        elif mode == "malformed":
            self._send_json(200, b'{"choices": [ this is not json')
        elif mode == "no_choices":
            self._send_json(200, {"id": "stub-1", "object": "text_completion", "model": "stub"})
        elif mode == "die" and not stream:
            self._drop()
        elif mode in ("ok", "die"):
            if stream:
                self._stream(chat, die=(mode == "die"))
            else:
                self._send_json(200, _full(self.stub.reply, chat))
        else:
            self._send_json(500, {"error": {"message": f"unknown stub mode {mode!r}"}})

    def _client_hung_up_within(self, seconds: float) -> bool:
        """Wait up to ``seconds`` (or until the stub stops); True if the client closed first."""
        deadline = time.monotonic() + seconds
        while not self.stub._stopping.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.02)
            if readable:
                try:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        return True
                except OSError:  # reset by the client
                    return True
                self.stub._stopping.wait(0.02)  # the client sent more bytes: keep stalling
        return False

    def _stream(self, chat: bool, die: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        words = self.stub.reply.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        for i, piece in enumerate(pieces):
            if die and i >= self.stub.die_after:
                self.wfile.flush()
                self._drop()
                return
            self._write_chunk(f"data: {json.dumps(_chunk(piece, chat, None))}\n\n".encode())
        self._write_chunk(f"data: {json.dumps(_chunk('', chat, 'stop'))}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()
        time.sleep(0.005)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
