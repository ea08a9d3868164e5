"""Compression on the wire: zstd with the dictionaries shipped in ``assets/sync`` (the frame names
its dictionary), gzip as the fallback after a 415, every decompression bounded."""

from __future__ import annotations

import gzip
import zlib
from functools import cache
from typing import Final

import zstandard

from onestop.paths import asset_path
from onestop.wire.base import MAX_PLAIN_BYTES, MAX_ZSTD_WINDOW_BYTES, WireError

ENCODINGS: Final = ("zstd", "gzip", "identity")


ZSTD_LEVEL: Final = 19  # 0.7-1.9 ms per 25 events on 2 cores (QR-AND-SYNC.md B.2)


@cache
def dictionaries() -> dict[int, zstandard.ZstdCompressionDict]:
    """Every shipped dictionary by its zstd dict ID (assets/sync/*.zdict)."""
    out: dict[int, zstandard.ZstdCompressionDict] = {}
    folder = asset_path("sync")
    if folder.is_dir():
        for path in sorted(folder.glob("*.zdict")):
            d = zstandard.ZstdCompressionDict(path.read_bytes())
            out[d.dict_id()] = d
    return out


@cache
def current_dictionary() -> zstandard.ZstdCompressionDict | None:
    """The dictionary a desk compresses with: the newest file (names sort by version)."""
    folder = asset_path("sync")
    paths = sorted(folder.glob("*.zdict")) if folder.is_dir() else []
    if not paths:
        return None
    return dictionaries()[zstandard.ZstdCompressionDict(paths[-1].read_bytes()).dict_id()]


class UnsupportedEncoding(WireError):
    """Content-Encoding (or zstd dictionary) the receiver does not have: HTTP 415."""


def compress(data: bytes, encoding: str, dict_id: int = 0) -> bytes:
    if encoding == "identity":
        return data
    if encoding == "gzip":
        return gzip.compress(data, compresslevel=9, mtime=0)
    if encoding == "zstd":
        d = dictionaries().get(dict_id) if dict_id else None
        if dict_id and d is None:
            raise UnsupportedEncoding(f"Không có từ điển nén {dict_id}.")
        cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, dict_data=d, write_checksum=False)
        return cctx.compress(data)
    raise UnsupportedEncoding(f"Không hỗ trợ mã hóa nén {encoding!r}.")


def zstd_dict_id(data: bytes) -> int:
    try:
        return int(zstandard.get_frame_parameters(data).dict_id)
    except zstandard.ZstdError as e:
        raise WireError("Dữ liệu zstd hỏng.") from e


#: Compressed bytes fed to the zstd decoder at a time. One input byte can inflate to ~32 KiB
#: (a 3-byte RLE block header and its byte make 128 KiB), so one feed yields at most ~8 MiB
#: before the running total is checked against the limit; 64 KiB of input is 256 feeds.
_ZSTD_FEED: Final = 256


def decompress(data: bytes, encoding: str, *, limit: int = MAX_PLAIN_BYTES) -> bytes:
    """Undo ``compress``; refuses output over ``limit`` (zip bombs) and any trailing junk.

    Every path stops at ``limit``: gzip asks zlib for at most ``limit + 1`` bytes, zstd refuses a
    frame whose header declares more, caps the decoder's window, and decodes in small feeds,
    checking the running total after each one (a frame without a declared size cannot make the
    receiver allocate more than ``limit`` plus one feed's output)."""
    if encoding == "identity":
        if len(data) > limit:
            raise WireError("Dữ liệu quá lớn.")
        return data
    if encoding == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(data, limit + 1)
        except zlib.error as e:
            raise WireError("Dữ liệu gzip hỏng.") from e
        if len(out) > limit:
            raise WireError("Dữ liệu giải nén quá lớn.")
        if not d.eof or d.unused_data:
            raise WireError("Dữ liệu gzip bị cắt cụt hoặc thừa byte.")
        return out
    if encoding == "zstd":
        return _zstd_decompress(data, limit)
    raise UnsupportedEncoding(f"Không hỗ trợ mã hóa nén {encoding!r}.")


def _zstd_decompress(data: bytes, limit: int) -> bytes:
    try:
        params = zstandard.get_frame_parameters(data)
    except zstandard.ZstdError as e:
        raise WireError("Dữ liệu zstd hỏng.") from e
    if params.content_size != zstandard.CONTENTSIZE_UNKNOWN and params.content_size > limit:
        raise WireError(
            f"Dữ liệu giải nén quá lớn (khung zstd ghi {params.content_size} byte, tối đa {limit})."
        )
    if params.window_size > MAX_ZSTD_WINDOW_BYTES:
        raise WireError("Khung zstd đòi cửa sổ giải nén quá lớn.")
    dict_id = int(params.dict_id)
    zd = dictionaries().get(dict_id) if dict_id else None
    if dict_id and zd is None:
        raise UnsupportedEncoding(f"Máy chủ không có từ điển nén {dict_id}.")
    dctx = zstandard.ZstdDecompressor(dict_data=zd, max_window_size=MAX_ZSTD_WINDOW_BYTES)
    out = bytearray()
    view = memoryview(data)
    pos = 0
    try:
        obj = dctx.decompressobj()
        while pos < len(view) and not obj.eof:
            out += obj.decompress(view[pos : pos + _ZSTD_FEED])
            pos += _ZSTD_FEED
            if len(out) > limit:
                raise WireError(f"Dữ liệu giải nén quá lớn (tối đa {limit} byte).")
        if not obj.eof:
            raise WireError("Dữ liệu zstd bị cắt cụt hoặc thừa byte.")
        if obj.unused_data or pos < len(view):
            raise WireError("Dữ liệu zstd bị cắt cụt hoặc thừa byte.")
    except zstandard.ZstdError as e:
        raise WireError("Dữ liệu zstd hỏng.") from e
    return bytes(out)
