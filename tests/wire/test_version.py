"""The protocol table and the package's own release agree."""

from __future__ import annotations

import onestop
from onestop.wire import version


def test_this_release_is_at_least_the_first_to_speak_its_protocol():
    """An update message names ``FIRST_RELEASE[n]``: this program speaks ``PROTOCOL``, so it must
    be that release or a later one, or the 426 would send a clerk to a release that cannot talk."""

    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.split("."))

    assert sorted(version.FIRST_RELEASE) == list(range(1, version.PROTOCOL + 1))
    assert parts(onestop.__version__) >= parts(version.FIRST_RELEASE[version.PROTOCOL])
    releases = [parts(version.FIRST_RELEASE[p]) for p in sorted(version.FIRST_RELEASE)]
    assert releases == sorted(releases)
