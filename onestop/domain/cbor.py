"""Strict canonical CBOR (RFC 8949 §4.2.1): the one decoder for every signed binary message
(receipts, COSE, trust lists, sync). It refuses anything that does not re-encode to the same
bytes, so one meaning has one encoding and a signature covers exactly what is read."""

from __future__ import annotations

import io
from typing import Any

import cbor2

from onestop.i18n import t


class MalformedError(ValueError):
    """Input that is not a well-formed receipt, COSE message or CBOR item.

    The one error type of the decoding path: callers (the verifier, the CLI) catch it and show
    its message, which is Vietnamese and safe to display.
    """


def decode_cbor_strict(data: bytes, *, max_depth: int = 16) -> Any:
    """Decode exactly one CBOR item, refusing anything a careful verifier should refuse.

    Refused: trailing bytes (cbor2.loads ignores them), indefinite-length items, duplicate map
    keys, nesting deeper than ``max_depth``. Every failure is a ``MalformedError``: cbor2 is a C
    extension that raises CBORDecodeError, ValueError, TypeError, OverflowError... on junk, and
    no caller should have to know that list, so this is the one place that catches broadly.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedError(t("Dữ liệu CBOR phải là chuỗi byte."))
    raw = bytes(data)
    if not raw:
        raise MalformedError(t("Dữ liệu rỗng."))
    stream = io.BytesIO(raw)
    try:
        decoder = cbor2.CBORDecoder(
            stream,
            max_depth=max_depth,
            allow_indefinite=False,
            allow_duplicate_keys=False,
        )
        value = decoder.decode()
    except Exception as exc:  # noqa: BLE001 - see docstring: every decoder failure is malformed input
        # The decoder's class name means nothing to a clerk; the cause stays chained.
        raise MalformedError(
            t("Dữ liệu CBOR không hợp lệ (hỏng hoặc không đúng định dạng).")
        ) from exc
    if stream.tell() != len(raw):
        raise MalformedError(t("Có dữ liệu thừa sau cấu trúc CBOR."))
    return value


def encode_canonical(value: object) -> bytes:
    return cbor2.dumps(value, canonical=True)
