"""Launcher for bench/api.py: the real casetrack app, configured from CASETRACK_* variables.

    python -m uvicorn --app-dir bench _api_server:app_from_env --factory

With CASETRACK_BENCH_PROFILE=<file>, every thread of the server (the event loop and the
worker threads that run sync handlers) is profiled with cProfile; the merged stats are written
to <file> at the app's shutdown (uvicorn runs it on SIGTERM, then re-raises the signal, so
atexit would never run).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.settings import Settings
from server import create_app


def _profile_all_threads(path: str) -> Callable[[], None]:
    profilers: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start(*_: Any) -> None:
        # called once per new thread (threading.setprofile); the profiler replaces this hook
        profiler = cProfile.Profile()
        with lock:
            profilers.append(profiler)
        profiler.enable()

    def dump() -> None:
        with lock:
            taken = list(profilers)
        stats: pstats.Stats | None = None
        for profiler in taken:
            try:
                profiler.create_stats()
            except Exception:  # a profiler of a thread that already ended
                continue
            if not getattr(profiler, "stats", None):
                continue
            if stats is None:
                stats = pstats.Stats(profiler)
            else:
                stats.add(profiler)
        if stats is not None:
            stats.dump_stats(path)

    threading.setprofile(start)
    start()  # the main thread, which runs the event loop
    return dump


def app_from_env() -> Any:
    profile = os.environ.get("CASETRACK_BENCH_PROFILE")
    dump = _profile_all_threads(profile) if profile else None
    app = create_app(Settings.from_env())
    if dump is not None:
        app.on_shutdown.append(dump)
    return app
