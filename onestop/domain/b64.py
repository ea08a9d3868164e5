"""Base64, the two ways onestop writes bytes as text, decoded strictly.

* ``url_*``: base64url without padding, in URLs, tokens, cookies and the sync wire.
* ``std_*``: standard base64 with padding, inside JSON files (keys, keyring, backups).

Decoding refuses anything that is not exactly base64 text (``ValueError``); each caller turns
that into its own message for the person reading it.
"""

from __future__ import annotations

import base64
import binascii


def url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def url_decode(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64url text")
    try:
        return base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
    except (binascii.Error, UnicodeEncodeError) as e:
        raise ValueError("not base64url text") from e


def std_encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def std_decode(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise ValueError("not base64 text") from e
