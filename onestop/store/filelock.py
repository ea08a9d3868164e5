"""An exclusive lock on a small side file, across processes (TUI worker, CLI, browser tabs).

``fcntl.flock`` on Linux and macOS, ``msvcrt.locking`` on Windows (a byte-range lock on the
first byte; it may lie past the end of the empty file, which Windows allows). Closing the file
releases the lock on every platform, so a process that dies never leaves a desk locked; on
Windows the byte is also unlocked explicitly first, as the msvcrt documentation asks.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

Backend = Literal["msvcrt", "fcntl"]


def backend(platform: str = sys.platform) -> Backend:
    """The locking call this platform has (pure, so the choice is tested on any machine)."""
    return "msvcrt" if platform == "win32" else "fcntl"


def _try_lock(handle: IO[bytes], how: Backend) -> bool:
    fileno = handle.fileno()
    try:
        if how == "msvcrt":  # pragma: no cover - exercised on Windows desks
            import msvcrt

            handle.seek(0)
            getattr(msvcrt, "locking")(fileno, getattr(msvcrt, "LK_NBLCK"), 1)  # noqa: B009
        else:
            import fcntl

            fcntl.flock(fileno, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(handle: IO[bytes], how: Backend) -> None:
    if how == "msvcrt":  # pragma: no cover - exercised on Windows desks
        import msvcrt

        try:
            handle.seek(0)
            getattr(msvcrt, "locking")(handle.fileno(), getattr(msvcrt, "LK_UNLCK"), 1)  # noqa: B009
        except OSError:
            pass  # closing the handle releases it anyway


@contextmanager
def exclusive(lock_path: Path, *, wait: float = 0.0) -> Iterator[bool]:
    """Hold the lock for the block; yields ``False`` if another process still holds it after
    ``wait`` seconds (0: do not wait)."""
    how = backend()
    handle = open(lock_path, "a+b")
    got = False
    try:
        deadline = time.monotonic() + wait
        got = _try_lock(handle, how)
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
            got = _try_lock(handle, how)
        yield got
    finally:
        if got:
            _unlock(handle, how)
        handle.close()
