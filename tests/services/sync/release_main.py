"""``onestop`` as another release would run it: how the mixed-version tests play release N±k.

There is only one release of onestop to run here, so an older or newer one is simulated in the
process that runs it: ``ONESTOP_SIM_PROTOCOL`` patches the protocol it speaks
(wire/version.py), ``ONESTOP_SIM_HIDE_KINDS`` (comma-separated kind names) removes event kinds
from its decode table, as a release from before those kinds were added would not know them,
and every protocol gets a release name (``0.<n>.0``) for the update messages. Everything else
is the real program: ``python -m tests.services.sync.release_main serve ...``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from onestop.domain import events
from onestop.wire import version


def simulate(protocol: int | None, hide: list[str]) -> None:
    if protocol is not None:
        version.PROTOCOL = protocol
    for n in range(1, 10):
        version.FIRST_RELEASE.setdefault(n, f"0.{n}.0")
    for name in hide:
        events._KIND_BY_CODE.pop(events.KIND_CODES[events.EventKind(name)], None)


@contextmanager
def as_release(protocol: int, hide: tuple[str, ...] = ()) -> Iterator[None]:
    """Run the enclosed calls (in this process) as the desk of release ``protocol``."""
    saved = (version.PROTOCOL, dict(version.FIRST_RELEASE), dict(events._KIND_BY_CODE))
    simulate(protocol, list(hide))
    try:
        yield
    finally:
        version.PROTOCOL = saved[0]
        version.FIRST_RELEASE.clear()
        version.FIRST_RELEASE.update(saved[1])
        events._KIND_BY_CODE.clear()
        events._KIND_BY_CODE.update(saved[2])


if __name__ == "__main__":
    raw = os.environ.get("ONESTOP_SIM_PROTOCOL")
    simulate(
        int(raw) if raw else None,
        [k for k in os.environ.get("ONESTOP_SIM_HIDE_KINDS", "").split(",") if k],
    )
    from onestop.cli.main import main

    main()
