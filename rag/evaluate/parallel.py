"""Ordered concurrent map for battery runs: ``--workers N`` threads against one Engine.

Results come back in input order whatever the completion order, so a run with N workers
writes the same results.jsonl as a serial run when the backend is deterministic.
``on_result`` is called in the caller's thread as each item finishes (progress bars).
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_ordered(fn: Callable[[T], R], items: Sequence[T], workers: int = 1,
                on_result: Callable[[int, R], None] | None = None) -> list[R]:
    """``[fn(x) for x in items]`` with up to ``workers`` threads; the first exception
    raised by ``fn`` cancels the pending items and is re-raised."""
    if workers < 1:
        raise ValueError("workers must be at least 1")
    results: list = [None] * len(items)
    if workers == 1:
        for i, item in enumerate(items):
            results[i] = fn(item)
            if on_result:
                on_result(i, results[i])
        return results
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="battery") as pool:
        pending = {}
        it = iter(enumerate(items))
        # keep at most 2 * workers in flight: Ctrl-C and errors stop the run promptly
        def refill():
            while len(pending) < 2 * workers:
                try:
                    i, item = next(it)
                except StopIteration:
                    return
                pending[pool.submit(fn, item)] = i
        refill()
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i = pending.pop(future)
                    results[i] = future.result()
                    if on_result:
                        on_result(i, results[i])
                refill()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return results
