"""``wire.bundle.carried_files``: a bundle's files are taken only whole and exactly as signed.

Property: for any set of small files (random sizes, shared chunks between files included), the
chunks an honest exporter carries check out; dropping, altering or adding any one chunk, or
naming a file with no manifest, is refused.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onestop.domain.attachments import CHUNK_SIZE, manifest_data
from onestop.domain.events import Event, EventKind
from onestop.wire.base import WireError
from onestop.wire.bundle import Bundle, carried_files

SMALL = 64  # a small chunk size keeps examples fast; the real one is used in one case below


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _events(files: list[bytes], chunk: int) -> tuple[list[Event], list[str], list[bytes]]:
    events: list[Event] = []
    shas: list[str] = []
    carried: dict[str, bytes] = {}
    for n, data in enumerate(files, start=1):
        pieces = _split(data, chunk)
        ids = [hashlib.sha256(p).hexdigest() for p in pieces]
        for i, p in zip(ids, pieces, strict=True):
            carried.setdefault(i, p)
        sha = hashlib.sha256(data).hexdigest()
        shas.append(sha)
        d = manifest_data(
            component=n, sha256=sha, size=len(data), chunks=ids, index=None,
            pages=1, paper_pages=1, sticky_pages=0, reused=False,
        )  # fmt: skip
        events.append(
            Event("20001-01", n, n, EventKind.ATTACH, "D1", datetime(2026, 11, 20, tzinfo=UTC),
                  "Lò Thị Mai", "clerk", data=d)
        )  # fmt: skip
    return events, shas, list(carried.values())


def _bundle(files: list[str], chunks: list[bytes]) -> Bundle:
    return Bundle("20001-01", -7, b"k", "zstd", b"", True, tuple(files), tuple(chunks))


files_st = st.lists(st.binary(min_size=1, max_size=5 * SMALL), min_size=1, max_size=4, unique=True)


@settings(max_examples=60, deadline=None)
@given(files=files_st)
def test_honest_bundles_check_out(files: list[bytes]) -> None:
    events, shas, chunks = _events(files, CHUNK_SIZE)
    got, by_id = carried_files(_bundle(shas, chunks), events)
    assert [f.attachment.sha256 for f in got] == shas
    for f in got:
        assert b"".join(by_id[c] for c in f.chunk_ids) == files[shas.index(f.attachment.sha256)]


@settings(max_examples=60, deadline=None)
@given(files=files_st, which=st.integers(min_value=0), how=st.sampled_from(["drop", "flip", "add"]))
def test_any_bad_chunk_refuses_the_bundle(files: list[bytes], which: int, how: str) -> None:
    # Chunks of CHUNK_SIZE: the files above are one chunk each; make them span several.
    big = [f * (CHUNK_SIZE // len(f) + 2) for f in files]
    events, shas, chunks = _events(big, CHUNK_SIZE)
    k = which % len(chunks)
    changed = list(chunks)
    if how == "drop":
        del changed[k]
    elif how == "flip":
        changed[k] = bytes([changed[k][0] ^ 1]) + changed[k][1:]
    else:
        changed.append(b"stray chunk " + changed[k][:8])
    with pytest.raises(WireError):
        carried_files(_bundle(shas, changed), events)


def test_a_listed_file_needs_its_manifest_and_a_duplicate_chunk_is_refused() -> None:
    events, shas, chunks = _events([b"a" * 100], CHUNK_SIZE)
    with pytest.raises(WireError, match="không có sự kiện đính kèm"):
        carried_files(_bundle([*shas, "b" * 64], chunks), events)
    with pytest.raises(WireError, match="không thuộc tệp nào"):
        carried_files(_bundle(shas, [*chunks, chunks[0]]), events)
    # Nothing listed, nothing carried: fine (a bundle of events only).
    assert carried_files(_bundle([], []), events) == ([], {})
