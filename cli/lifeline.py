"""Worker processes die with their parent.

`casetrack serve --workers N` runs uvicorn's supervisor with N spawned workers that share the
listening socket. If the supervisor is killed outright (``kill -9``, the OOM killer) it cannot
stop them, and they would go on holding the port. Each worker therefore asks Linux to send it
SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``), and a watchdog thread, which works
on every platform, polls the parent's pid: once the parent is gone it sends SIGTERM (uvicorn's
graceful stop) and, if the worker is still alive after a grace period, exits hard.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


def die_with_parent(*, poll: float = POLL_SECONDS, grace: float = GRACE_SECONDS) -> bool:
    """Arm both mechanisms in a multiprocessing child; False (nothing armed) elsewhere,
    e.g. a server started straight from a shell, which must outlive that shell."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return False
    _parent_death_signal(signal.SIGTERM)
    watchdog = threading.Thread(
        target=_watch, args=(parent.pid, poll, grace), name="casetrack-lifeline", daemon=True
    )
    watchdog.start()  # also catches a parent that died before prctl was called
    return True


def _parent_death_signal(signum: int) -> bool:
    """Linux only: the kernel signals this process when the thread that forked it ends."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, poll: float, grace: float) -> None:
    while os.getppid() == parent:
        time.sleep(poll)
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace)
    os._exit(1)  # the graceful stop hung (an open request): leave anyway
