"""Every decompression is bounded: zstd and gzip bombs stop at the limit, fast, before the
receiver allocates what the frame asks for (hardening audit, item 2)."""

from __future__ import annotations

import gzip
import io
import time
import zlib

import pytest
import zstandard

from onestop.wire.base import MAX_PLAIN_BYTES, WireError
from onestop.wire.codec import compress, current_dictionary, decompress

MIB = 1024 * 1024


def _zstd_stream(total: int, *, dict_data: zstandard.ZstdCompressionDict | None = None) -> bytes:
    """``total`` zero bytes as one zstd frame that does not declare its size (streamed)."""
    cctx = zstandard.ZstdCompressor(level=1, dict_data=dict_data)
    buf = io.BytesIO()
    with cctx.stream_writer(buf, closefd=False) as w:
        block = bytes(MIB)
        for _ in range(total // MIB):
            w.write(block)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = _zstd_stream(512 * MIB)  # 8x the limit; the audit's 2 GiB stops at the same place
    assert len(data) < 64 * 1024
    assert zstandard.get_frame_parameters(data).content_size == zstandard.CONTENTSIZE_UNKNOWN
    return data


@pytest.mark.parametrize("encoding", ["identity", "gzip", "zstd"])
def test_normal_data_round_trips(encoding: str):
    data = b"\xa3\x01hello \xe1\xbb\x9f" * 3000
    assert decompress(compress(data, encoding), encoding) == data


def test_zstd_with_the_shipped_dictionary_round_trips():
    d = current_dictionary()
    if d is None:
        pytest.skip("no zstd dictionary shipped")
    data = b"event body " * 500
    frame = compress(data, "zstd", d.dict_id())
    assert zstandard.get_frame_parameters(frame).dict_id == d.dict_id()
    assert decompress(frame, "zstd") == data


def test_a_batch_near_the_limit_still_round_trips():
    data = bytes(range(256)) * (20 * MIB // 256)  # 20 MiB: more than the 8 MiB window
    assert decompress(compress(data, "zstd"), "zstd") == data


def test_zstd_bomb_without_declared_size_is_refused_fast(bomb: bytes):
    started = time.perf_counter()
    with pytest.raises(WireError, match="quá lớn"):
        decompress(bomb, "zstd")
    assert time.perf_counter() - started < 5


def test_zstd_bomb_with_a_dictionary_is_refused():
    d = current_dictionary()
    if d is None:
        pytest.skip("no zstd dictionary shipped")
    frame = _zstd_stream(128 * MIB, dict_data=d)
    assert zstandard.get_frame_parameters(frame).dict_id == d.dict_id()
    with pytest.raises(WireError, match="quá lớn"):
        decompress(frame, "zstd")


def test_a_smaller_limit_is_honoured():
    frame = compress(bytes(2 * MIB), "zstd")
    with pytest.raises(WireError, match="quá lớn"):
        decompress(frame, "zstd", limit=MIB)
    assert decompress(frame, "zstd", limit=2 * MIB) == bytes(2 * MIB)


def test_declared_huge_content_size_is_refused_before_decoding():
    # The header says 4 GiB: refused on the header alone, no allocation, no decoding.
    cctx = zstandard.ZstdCompressor(level=1)
    frame = cctx.compress(bytes(MAX_PLAIN_BYTES + 1))
    assert zstandard.get_frame_parameters(frame).content_size == MAX_PLAIN_BYTES + 1
    started = time.perf_counter()
    with pytest.raises(WireError, match="khung zstd ghi"):
        decompress(frame, "zstd")
    assert time.perf_counter() - started < 0.5


def test_a_huge_window_is_refused():
    # windowLog 27 (128 MiB): a decoder would reserve that much for one request.
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=27)
    frame = zstandard.ZstdCompressor(compression_params=params).compress(bytes(MIB))
    buf = io.BytesIO()
    with zstandard.ZstdCompressor(compression_params=params).stream_writer(buf, closefd=False) as w:
        w.write(bytes(MIB))
    streamed = buf.getvalue()
    assert zstandard.get_frame_parameters(streamed).window_size == 128 * MIB
    with pytest.raises(WireError, match="cửa sổ"):
        decompress(streamed, "zstd")
    assert decompress(frame, "zstd") == bytes(MIB)  # single segment: the window is its size


def test_zstd_truncated_or_with_trailing_bytes_is_refused():
    frame = compress(b"abc" * 10_000, "zstd")
    with pytest.raises(WireError, match="cắt cụt"):
        decompress(frame[:-3], "zstd")
    with pytest.raises(WireError, match="thừa byte"):
        decompress(frame + b"\x00", "zstd")
    with pytest.raises(WireError, match="thừa byte"):
        decompress(frame + frame, "zstd")
    with pytest.raises(WireError, match="hỏng"):
        decompress(b"not zstd at all", "zstd")


def test_gzip_bomb_is_refused_fast():
    co = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MIB)
    parts = [co.compress(block) for _ in range(96)]  # 96 MiB of zeros, ~100 KiB compressed
    bomb = b"".join(parts) + co.flush()
    assert len(bomb) < 2 * MIB
    started = time.perf_counter()
    with pytest.raises(WireError, match="quá lớn"):
        decompress(bomb, "gzip")
    assert time.perf_counter() - started < 5


def test_gzip_trailing_member_is_refused():
    one = gzip.compress(b"a" * 100, mtime=0)
    with pytest.raises(WireError):
        decompress(one + one, "gzip")


def test_identity_over_the_limit_is_refused():
    with pytest.raises(WireError):
        decompress(bytes(11), "identity", limit=10)
