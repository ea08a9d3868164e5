"""An exclusive lock on a small side file, across processes (TUI worker, CLI, browser tabs).

``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows; closing the file releases it on
every platform, so a process that dies never leaves a desk locked.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def _try_lock(handle: IO[bytes]) -> bool:
    fileno = handle.fileno()
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows desks
            import msvcrt

            handle.seek(0)
            msvcrt.locking(fileno, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fileno, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


@contextmanager
def exclusive(lock_path: Path, *, wait: float = 0.0) -> Iterator[bool]:
    """Hold the lock for the block; yields ``False`` if another process still holds it after
    ``wait`` seconds (0: do not wait)."""
    handle = open(lock_path, "a+b")
    try:
        deadline = time.monotonic() + wait
        got = _try_lock(handle)
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
            got = _try_lock(handle)
        yield got
    finally:
        handle.close()
