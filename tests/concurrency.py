"""Run callables at the same instant, one thread each, for the "two schedulers" tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def at_the_same_instant(*calls: Callable[[], T], timeout: float = 120) -> list[T]:
    """Start every call behind one barrier and return their results in call order; an
    exception in any thread is raised here (not lost in the thread), as is a thread that
    did not finish within ``timeout`` seconds."""
    barrier = threading.Barrier(len(calls))
    results: dict[int, T] = {}
    failures: list[BaseException] = []

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # raised in the caller below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if failures:
        raise failures[0]
    if len(results) != len(calls):
        raise TimeoutError(f"{len(calls) - len(results)} of {len(calls)} calls did not finish")
    return [results[i] for i in range(len(calls))]
