"""Load test: concurrent clients asking the running app through its ``ask`` API.

    python bench/load.py --start [--clients 20] [--seconds 120] [--out runs/load.json]
    python bench/load.py --url http://127.0.0.1:7860 --pid PID ...
    python bench/load.py --start --api [--key KEY] ...   # streaming /v1/chat/completions

``--api`` drives the OpenAI-compatible ``/v1/chat/completions`` route with ``stream: true``
instead (raw server-sent events, so the stream's end is checked, not hidden by a client
library): a stream counts as an answer only when it ends with ``data: [DONE]`` after a final
chunk carrying ``finish_reason: "stop"`` and a ``citations`` list; anything else is an error
of its own kind ("no [DONE]", "no citations in the final chunk", HTTP status, ...).

``--start`` launches ``python app.py`` on a free loopback port (and stops it at the end);
``--url``/``--pid`` drive an app that is already running. Loopback only: any other host is
refused. Bounded: the run stops after ``--seconds`` (and at most ``--max-requests``), each
call has a timeout, and the script exits by itself.

Reports answers/s, p50/p95/p99 latency, errors by kind, and the app's resident memory
(the app process and its descendants; the embedded llama.cpp server runs inside it),
sampled from /proc every half second: before the load, after ``--warmup`` seconds of
load, at the end and the peak, a timeline every ``--sample-every`` seconds, and the growth
from the warm-up to the end (also as a least-squares slope in MB/min over the post-warm-up
samples), so a plateau can be told from a leak.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

try:  # run as a script (bench/ on the path) or imported as bench.load
    from load_api import stream_completion
except ImportError:
    from bench.load_api import stream_completion

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_QUESTIONS = ["How large is the trade volume between Iran and Iraq?",
                     "Who was on a state visit to Tehran?",
                     "Which sectors do the joint infrastructure projects cover?",
                     "What did Raisi say about foreign forces in the region?"]


def loopback_only(url: str) -> None:
    host = urlparse(url).hostname or ""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise SystemExit(f"refusing to load-test {host!r}: loopback addresses only")


def rss_kb(pid: int) -> tuple[int, int]:
    """(current, peak) resident set of ``pid`` and its children-free self, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` plus its descendants (the embedded LLM runs in-process)."""
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            total += rss_kb(p)[0]
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pids.extend(int(c) for c in children)
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env_extra: dict) -> tuple[subprocess.Popen, str]:
    import tempfile

    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", **env_extra)
    env.setdefault("RAG_DATA_DIR", tempfile.mkdtemp(prefix="rag-load-data-"))  # no conversations left behind
    log = open(ROOT / "runs" / "load-app.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    import urllib.request

    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with {proc.returncode}; see runs/load-app.log")
        try:
            urllib.request.urlopen(url + "/gradio_api/info", timeout=2)
            return proc, url
        except OSError:
            time.sleep(1)
    proc.kill()
    raise SystemExit("the app did not start within 300 s")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    i = (len(values) - 1) * q
    lo, hi = int(i), min(int(i) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (i - lo)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url")
    p.add_argument("--pid", type=int)
    p.add_argument("--start", action="store_true", help="start app.py on a free loopback port")
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seconds", type=float, default=120.0)
    p.add_argument("--max-requests", type=int, default=20_000)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds one call may take")
    p.add_argument("--questions", type=Path, help="a battery .jsonl to draw questions from")
    p.add_argument("--warmup", type=float, default=30.0,
                   help="seconds of load before the 'after warm-up' memory reading")
    p.add_argument("--sample-every", type=float, default=10.0, help="seconds between timeline samples")
    p.add_argument("--api", action="store_true", help="stream from /v1/chat/completions instead of /ask")
    p.add_argument("--key", help="Bearer key for --api (when the app sets RAG_API_KEYS)")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if not (args.start or args.url):
        p.error("give --start or --url")
    if not 1 <= args.clients <= 200 or not 0 < args.seconds <= 1800:
        p.error("--clients must be 1..200 and --seconds 0..1800")
    if not 0 <= args.warmup < args.seconds:
        p.error("--warmup must be shorter than --seconds")
    questions = DEFAULT_QUESTIONS
    if args.questions:
        questions = [json.loads(line)["question"] for line in args.questions.read_text().splitlines() if line.strip()]

    (ROOT / "runs").mkdir(exist_ok=True)
    proc = None
    if args.start:
        proc, url = start_app({})
        pid = proc.pid
    else:
        url, pid = args.url, args.pid
    loopback_only(url)
    try:
        return run(url, pid, questions, args)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return None
    mx = statistics.fmean(t for t, _ in points)
    my = statistics.fmean(m for _, m in points)
    var = sum((t - mx) ** 2 for t, _ in points)
    if not var:
        return None
    return sum((t - mx) * (m - my) for t, m in points) / var * 60


def memory_report(before_kb: int | None, samples: list[tuple[float, int, int]], end_kb: int | None,
                  warmup: float, every: float) -> dict:
    """Memory figures from (seconds since start, tree RSS kB, answers so far) samples."""
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    if not samples or end_kb is None:
        return {}
    after = [x for x in samples if x[0] >= warmup]
    warm = after[0] if after else samples[-1]
    peak = max([kb for _, kb, _ in samples] + [end_kb])
    timeline, next_t = [], 0.0
    for t, kb, n in samples:
        if t >= next_t:
            timeline.append({"t": round(t, 1), "rss_mb": mb(kb), "answers": n})
            next_t = t + every
    slope = slope_per_minute([(t, kb / 1024) for t, kb, _ in after])
    return {
        "before_load": mb(before_kb) if before_kb else None,
        "after_warmup": mb(warm[1]), "after_warmup_at_s": round(warm[0], 1),
        "end": mb(end_kb), "peak": mb(peak),
        "growth_after_warmup_mb": mb(end_kb - warm[1]),
        "growth_after_warmup_pct": round(100 * (end_kb - warm[1]) / warm[1], 1),
        "slope_after_warmup_mb_per_min": round(slope, 2) if slope is not None else None,
        "timeline": timeline,
    }


def run(url: str, pid: int | None, questions: list[str], args) -> int:
    from gradio_client import Client

    api = getattr(args, "api", False)
    if api:
        import httpx

        with httpx.Client() as http:  # warm-up: one answer before measuring
            problem = stream_completion(http, url, questions[0], args.key, args.timeout)
        if problem:
            raise SystemExit(f"the warm-up stream failed: {problem}")
    else:
        # Warm-up: one answer before measuring (models loaded, caches filled).
        Client(url, verbose=False).predict(questions[0], api_name="/ask")
    before_rss = tree_rss_kb(pid) if pid else None

    latencies: list[float] = []
    errors: Counter = Counter()
    lock = threading.Lock()
    issued = 0
    t_start = time.monotonic()
    deadline = t_start + args.seconds
    samples: list[tuple[float, int, int]] = []  # (seconds since start, tree RSS kB, answers so far)
    stop = threading.Event()

    def sampler():
        while not stop.wait(0.5):
            if pid:
                try:
                    samples.append((time.monotonic() - t_start, tree_rss_kb(pid), len(latencies)))
                except (FileNotFoundError, ProcessLookupError):
                    return

    def client(i: int):
        nonlocal issued
        if api:
            import httpx

            http = httpx.Client()
        else:
            c = Client(url, verbose=False)
        n = i
        while time.monotonic() < deadline:
            with lock:
                if issued >= args.max_requests:
                    return
                issued += 1
            q = questions[n % len(questions)]
            n += args.clients
            t0 = time.monotonic()
            try:
                if api:
                    kind = stream_completion(http, url, q, args.key, args.timeout)
                else:
                    job = c.submit(q, api_name="/ask")
                    result = job.result(timeout=args.timeout)
                    ok = isinstance(result, dict) and "text" in result
                    kind = None if ok else "no answer in the reply"
                    if ok and result.get("error"):
                        kind = f"llm: {result['error'][:60]}"
            except Exception as exc:  # every failure is counted, none stops the run
                kind = f"{type(exc).__name__}: {' '.join(str(exc).split())[:80]}"
            with lock:
                if kind is None:
                    latencies.append(time.monotonic() - t0)
                else:
                    errors[kind] += 1

    sampling = threading.Thread(target=sampler, daemon=True)
    sampling.start()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.seconds + args.timeout + 30)
    elapsed = time.monotonic() - t_start
    stop.set()
    sampling.join(5)
    end_rss = tree_rss_kb(pid) if pid else None
    hung = sum(t.is_alive() for t in threads)

    report = {
        "url": url, "mode": "api-stream" if api else "ask", "clients": args.clients, "seconds": round(elapsed, 1), "answers": len(latencies),
        "answers_per_second": round(len(latencies) / elapsed, 3),
        "latency_s": {"p50": round(percentile(latencies, 0.5), 2), "p95": round(percentile(latencies, 0.95), 2),
                      "p99": round(percentile(latencies, 0.99), 2),
                      "mean": round(statistics.fmean(latencies), 2) if latencies else None,
                      "max": round(max(latencies), 2) if latencies else None},
        "errors": sum(errors.values()), "error_kinds": dict(errors.most_common()), "clients_hung": hung,
        "app_rss_mb": memory_report(before_rss, samples, end_rss, args.warmup, args.sample_every),
        "questions": len(questions), "cpu_count": os.cpu_count(),
        "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
    return 0 if not hung else 1


if __name__ == "__main__":
    raise SystemExit(main())
