"""Reading a file that came from outside (a USB bundle) without trusting its size or kind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import cbor2

from onestop.wire.base import WireError

__all__ = ["is_truncated", "read_bounded"]

_CHUNK = 1024 * 1024


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused before reading when it is larger than
    ``limit`` or not a regular file (/dev/zero, a FIFO, a directory, a terminal...).

    Raises OSError when the file cannot be opened, WireError (Vietnamese) when it is refused.
    The size is checked on the opened file, and at most ``limit + 1`` bytes are read, so a file
    that grows while being read is refused too.
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise WireError("không phải là tệp thông thường.")
    # O_NONBLOCK: a FIFO swapped in after the check must not block the open.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb", buffering=0) as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise WireError("không phải là tệp thông thường.")
        if st.st_size > limit:
            raise WireError(_too_large(st.st_size, limit))
        out = bytearray()
        while len(out) <= limit:
            chunk = f.read(min(_CHUNK, limit + 1 - len(out)))
            if not chunk:
                break
            out += chunk
        if len(out) > limit:
            raise WireError(_too_large(len(out), limit))
        return bytes(out)


def _too_large(size: int, limit: int) -> str:
    mib = 1024 * 1024
    return f"tệp quá lớn ({size / mib:.1f} MB, tối đa {limit / mib:.0f} MB)."


def is_truncated(exc: BaseException) -> bool:
    """Whether a decode failure (anywhere in its cause chain) is data that stops short: a
    file copied only in part, rather than a file that is wrong."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, cbor2.CBORDecodeEOF | EOFError):
            return True
        e = e.__cause__ or e.__context__
    return False
