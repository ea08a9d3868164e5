"""COSE_Sign1 (RFC 9052 §4.2), the strict single-signer profile used by onestop.

Wire form::

    18([ protected: bstr .cbor {1: alg, 4: kid [, 3: content type]},
         unprotected: {},
         payload: bstr,
         signature: bstr .size 64 ])

Signed bytes (RFC 9052 §4.4): ``Sig_structure = ["Signature1", protected, h'', payload]``.

Why COSE and not JWS: binary, integer-keyed, 64-byte raw signatures; a receipt is ~200 bytes
instead of ~470 for a compact JWS, which is 6 QR versions at level M (QR-AND-SYNC.md, A.2). EU
DCC and MOSIP Claim 169 made the same choice, and COSE libraries exist for a phone verifier.

Profile restrictions (anything else is ``MalformedError``), each closing a way for a changed
byte to still verify or to mean something different:

* the CBOR tag 18 is required (a flipped tag byte must not turn into an "untagged" message);
* the unprotected header must be the empty map: it is not covered by the signature, so it may
  carry nothing (in particular not the kid or the alg, RFC 9052 §3 permits both there);
* the protected header may hold only alg (1), kid (4, 8 bytes) and content type (3), and alg
  must be ES256 (-7) or EdDSA (-8);
* the signature is exactly 64 bytes; no trailing bytes after the message.

Content type separates domains: trust lists are signed with content type
``"onestop-trust/1"``, receipts carry none (it would cost QR bytes). A verifier for one refuses
the other, so a signed trust list can never be presented as a receipt or the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import cbor2

from onestop.crypto.signer import (
    KID_LENGTH,
    SIGNATURE_LENGTH,
    SUPPORTED_ALGS,
    PublicKey,
    Signer,
    verify_signature,
)
from onestop.domain.cbor import MalformedError, decode_cbor_strict

__all__ = ["COSE_SIGN1_TAG", "MalformedError", "Sign1", "parse_sign1", "sign1", "verify_sign1"]

COSE_SIGN1_TAG: Final = 18
_HDR_ALG: Final = 1
_HDR_CONTENT_TYPE: Final = 3
_HDR_KID: Final = 4
#: Big enough for a province trust list (about 55 B per desk, a few thousand desks).
DEFAULT_MAX_SIZE: Final = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Sign1:
    """A parsed, structurally valid COSE_Sign1 message (signature NOT yet checked)."""

    protected: bytes
    alg: int
    kid: bytes
    content_type: str | None
    payload: bytes
    signature: bytes

    def to_be_signed(self) -> bytes:
        return _sig_structure(self.protected, self.payload)


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _protected_header(alg: int, kid: bytes, content_type: str | None) -> bytes:
    header: dict[int, object] = {_HDR_ALG: alg, _HDR_KID: kid}
    if content_type is not None:
        header[_HDR_CONTENT_TYPE] = content_type
    return cbor2.dumps(header, canonical=True)


def sign1(signer: Signer, payload: bytes, *, content_type: str | None = None) -> bytes:
    """Sign ``payload`` and return the tagged COSE_Sign1 bytes."""
    if signer.alg not in SUPPORTED_ALGS or len(signer.kid) != KID_LENGTH:
        raise ValueError("Khóa ký không được hỗ trợ.")
    protected = _protected_header(signer.alg, signer.kid, content_type)
    signature = signer.sign(_sig_structure(protected, payload))
    if len(signature) != SIGNATURE_LENGTH:
        raise ValueError("Bộ ký trả về chữ ký sai độ dài.")
    message = [protected, {}, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, message))


def parse_sign1(data: bytes, *, max_size: int = DEFAULT_MAX_SIZE) -> Sign1:
    """Parse a COSE_Sign1 message. Raises ``MalformedError`` and nothing else."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedError("Thông điệp ký phải là chuỗi byte.")
    if len(data) > max_size:
        raise MalformedError("Thông điệp ký quá lớn.")
    top = decode_cbor_strict(bytes(data), max_depth=4)
    if not isinstance(top, cbor2.CBORTag) or top.tag != COSE_SIGN1_TAG:
        raise MalformedError("Không phải thông điệp COSE_Sign1 (thiếu thẻ 18).")
    body = top.value
    # cbor2 hands back the contents of a tag immutable (tuple, frozendict), elsewhere list/dict.
    if not isinstance(body, list | tuple) or len(body) != 4:
        raise MalformedError("COSE_Sign1 phải là mảng 4 phần tử.")
    protected, unprotected, payload, signature = body
    if not isinstance(protected, bytes) or not protected:
        raise MalformedError("Phần tiêu đề được bảo vệ không hợp lệ.")
    if not isinstance(unprotected, Mapping) or unprotected:
        raise MalformedError("Phần tiêu đề không bảo vệ phải rỗng.")
    if not isinstance(payload, bytes):
        raise MalformedError("Nội dung COSE_Sign1 phải là chuỗi byte.")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_LENGTH:
        raise MalformedError("Chữ ký phải dài đúng 64 byte.")

    header = decode_cbor_strict(protected, max_depth=2)
    if not isinstance(header, dict):
        raise MalformedError("Tiêu đề được bảo vệ phải là bảng CBOR.")
    if not set(header) <= {_HDR_ALG, _HDR_KID, _HDR_CONTENT_TYPE}:
        raise MalformedError("Tiêu đề được bảo vệ có trường lạ.")
    alg = header.get(_HDR_ALG)
    kid = header.get(_HDR_KID)
    content_type = header.get(_HDR_CONTENT_TYPE)
    if not isinstance(alg, int) or isinstance(alg, bool) or alg not in SUPPORTED_ALGS:
        raise MalformedError("Thuật toán ký không được hỗ trợ.")
    if not isinstance(kid, bytes) or len(kid) != KID_LENGTH:
        raise MalformedError("Mã khóa (kid) phải dài 8 byte.")
    if content_type is not None and not isinstance(content_type, str):
        raise MalformedError("Kiểu nội dung không hợp lệ.")
    return Sign1(
        protected=protected,
        alg=alg,
        kid=kid,
        content_type=content_type,
        payload=payload,
        signature=signature,
    )


def verify_sign1(msg: Sign1, public_key: PublicKey) -> bool:
    """True iff ``msg`` was signed by ``public_key`` under the alg it declares."""
    return verify_signature(msg.alg, public_key, msg.to_be_signed(), msg.signature)
