"""bench/load.py --api: one streamed ``/v1/chat/completions`` request, checked to its end.

Raw server-sent events (httpx), so the stream's end is seen, not hidden by a client library.
"""

from __future__ import annotations

import json


def stream_completion(http, url: str, question: str, key: str | None, timeout: float) -> str | None:
    """One streamed chat completion; None when it ended properly, else the error's kind."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": "rag", "stream": True, "messages": [{"role": "user", "content": question}]}
    events = []
    with http.stream("POST", url + "/v1/chat/completions", json=body, headers=headers, timeout=timeout) as r:
        if r.status_code != 200:
            return f"HTTP {r.status_code}: {r.read().decode(errors='replace')[:60]}"
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(line[6:])
    if not events or events[-1] != "[DONE]":
        return "stream did not end with [DONE]"
    final = json.loads(events[-2]) if len(events) >= 2 else {}
    if not final.get("choices") or final["choices"][0].get("finish_reason") != "stop":
        return "no final chunk with finish_reason stop"
    if not isinstance(final.get("citations"), list) or "refused" not in final:
        return "no citations in the final chunk"
    text = "".join((json.loads(e)["choices"][0]["delta"].get("content") or "") for e in events[:-1]
                   if json.loads(e).get("choices"))
    if not text.strip():
        return "empty answer"
    if not final["refused"] and not final["citations"]:
        return "answer without citations"
    return None
