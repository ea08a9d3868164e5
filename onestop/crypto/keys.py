"""Software keys on disk, encrypted under the holder's passphrase.

File format ``onestop-key/1`` (UTF-8 JSON, small enough to read by eye)::

    {
      "format": "onestop-key/1",
      "label": "Quầy 1 - UBND xã Quảng Phú",
      "alg": -7,
      "kid": "<16 hex digits>",
      "public_key": "<base64 of the 65-byte point / 32 Ed25519 bytes>",
      "kdf": {"name": "scrypt", "n": 32768, "r": 8, "p": 1, "salt": "<base64, 16 bytes>"},
      "nonce": "<base64, 12 bytes>",
      "ciphertext": "<base64: AES-256-GCM(PKCS#8 DER private key) || 16-byte tag>"
    }

Why this shape:

* scrypt (n=2**15, r=8, p=1: 32 MiB and ~0.1 s per try) turns a human passphrase into the AES
  key. It is memory-hard, in ``cryptography`` already, and the parameters travel in the file so
  they can be raised later without a format change. Loading refuses parameters far outside the
  sane range, so a crafted file cannot make the desk allocate gigabytes.
* AES-256-GCM encrypts the PKCS#8 DER private key. Every header field (format, label, alg, kid,
  public key, kdf) is bound as associated data, canonical JSON with sorted keys: editing the
  label or swapping in another public key makes decryption fail, so what the desk displays about
  a key file is what the passphrase holder created. After decryption we also check that the
  private key matches the stored public key.
* The passphrase is NFC-normalised before use. Vietnamese keyboards (Telex, VNI, Unikey
  settings) may produce composed or decomposed accents for the same visible text; without this
  a correct passphrase typed on another machine would be "wrong".
* Written atomically (temporary file in the same directory, fsync, ``os.replace``) with mode
  0600, and never over an existing key: overwriting a key file destroys the only copy of a key.

PKCS#8 + scrypt + AES-GCM rather than ``BestAvailableEncryption`` PEM: the PEM choice of KDF
and cipher is up to the library version, and we want a format another implementation (or a
future Rust/JS verifier) can read from this docstring alone.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import unicodedata
from contextlib import suppress
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from onestop.crypto.kdf import SCRYPT_N, SCRYPT_P, SCRYPT_R, valid_n
from onestop.crypto.signer import (
    ES256,
    SUPPORTED_ALGS,
    InvalidPublicKeyError,
    SoftwareSigner,
    kid_for,
    public_key_from_bytes,
)
from onestop.domain import b64
from onestop.paths import fsync_folder

__all__ = [
    "KEY_FILE_FORMAT",
    "MIN_PASSPHRASE_LENGTH",
    "KeyFileError",
    "KeyFileInfo",
    "create_key_file",
    "decrypt_key",
    "encrypt_key",
    "is_encrypted_key",
    "read_key_info",
    "kid_for",
    "load_key_file",
    "public_key_from_bytes",
    "read_key_file_info",
]

KEY_FILE_FORMAT: Final = "onestop-key/1"
MIN_PASSPHRASE_LENGTH: Final = 8
# Accepted on load: 2**10 (tests) .. 2**20 (1 GiB would be absurd on a desk laptop).
_MAX_FILE_BYTES: Final = 64 * 1024
_WRONG_PASSPHRASE: Final = "Sai mật khẩu hoặc tệp khóa bị hỏng."


class KeyFileError(Exception):
    """A key file problem, with a message in Vietnamese that can be shown as is."""


class KeyFileInfo:
    """The public header of a key file (readable without the passphrase)."""

    __slots__ = ("alg", "kid", "label", "public_key")

    def __init__(self, label: str, alg: int, kid: bytes, public_key: bytes) -> None:
        self.label = label
        self.alg = alg
        self.kid = kid
        self.public_key = public_key

    def __repr__(self) -> str:
        return f"KeyFileInfo(label={self.label!r}, alg={self.alg}, kid={self.kid.hex()})"


def _passphrase_bytes(passphrase: str) -> bytes:
    if not isinstance(passphrase, str):
        raise KeyFileError("Mật khẩu phải là chuỗi ký tự.")
    normalized = unicodedata.normalize("NFC", passphrase)
    if len(normalized) < MIN_PASSPHRASE_LENGTH:
        raise KeyFileError(f"Mật khẩu phải có ít nhất {MIN_PASSPHRASE_LENGTH} ký tự.")
    return normalized.encode("utf-8")


def _derive(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def _unb64(value: object, field: str) -> bytes:
    try:
        return b64.std_decode(value)
    except ValueError as exc:
        raise KeyFileError(
            f"Tệp khóa không đúng định dạng: trường '{field}' không phải base64."
        ) from exc


def _header_aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600; refuse to replace a file."""
    directory = path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        # mkstemp already creates 0600 files; chmod states the intent and covers odd umasks.
        os.chmod(tmp, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # os.link fails if the target exists, unlike os.replace: never clobber a key that
        # appeared between our check and now. Fall back to replace where links are unsupported.
        try:
            os.link(tmp, path)
            tmp.unlink()
        except FileExistsError:
            raise
        except OSError:
            if path.exists():
                raise FileExistsError(str(path)) from None
            os.replace(tmp, path)
        with suppress(OSError):  # a key file is already safe on disk; best effort here
            fsync_folder(directory)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create_key_file(
    path: str | os.PathLike[str],
    passphrase: str,
    *,
    label: str,
    alg: int = ES256,
    scrypt_n: int = SCRYPT_N,
    signer: SoftwareSigner | None = None,
) -> SoftwareSigner:
    """Generate a key (or take ``signer``), write it encrypted to ``path``, return the signer.

    ``scrypt_n`` exists so tests can use a cheaper KDF; production callers leave it alone.
    """
    target = Path(path)
    _passphrase_bytes(passphrase)  # refuse a short passphrase before generating anything
    label = unicodedata.normalize("NFC", label).strip()
    if not label or len(label) > 200:
        raise KeyFileError("Nhãn khóa phải có từ 1 đến 200 ký tự.")
    if not valid_n(scrypt_n):
        raise KeyFileError("Tham số scrypt n phải là lũy thừa của 2 trong khoảng cho phép.")
    if target.exists():
        raise KeyFileError(f"Tệp khóa {target} đã tồn tại; không ghi đè để tránh mất khóa.")
    if not target.parent.is_dir():
        raise KeyFileError(f"Thư mục {target.parent} không tồn tại.")
    if signer is None:
        try:
            signer = SoftwareSigner.generate(alg)
        except InvalidPublicKeyError as exc:
            raise KeyFileError(str(exc)) from exc
    data = encrypt_key(signer, passphrase, label=label, scrypt_n=scrypt_n)
    try:
        _write_atomic(target, data)
    except FileExistsError as exc:
        raise KeyFileError(
            f"Tệp khóa {target} đã tồn tại; không ghi đè để tránh mất khóa."
        ) from exc
    except OSError as exc:
        raise KeyFileError(f"Không ghi được tệp khóa {target}: {exc.strerror or exc}.") from exc
    return signer


def encrypt_key(
    signer: SoftwareSigner, passphrase: str, *, label: str, scrypt_n: int = SCRYPT_N
) -> bytes:
    """The ``onestop-key/1`` document of ``signer`` encrypted under ``passphrase`` (bytes), for
    keys kept somewhere other than a file of their own (the server's key, in its database)."""
    secret = _passphrase_bytes(passphrase)
    label = unicodedata.normalize("NFC", label).strip()
    if not label or len(label) > 200:
        raise KeyFileError("Nhãn khóa phải có từ 1 đến 200 ký tự.")
    if not valid_n(scrypt_n):
        raise KeyFileError("Tham số scrypt n phải là lũy thừa của 2 trong khoảng cho phép.")
    salt = secrets.token_bytes(16)
    nonce = secrets.token_bytes(12)
    header: dict[str, Any] = {
        "format": KEY_FILE_FORMAT,
        "label": label,
        "alg": signer.alg,
        "kid": signer.kid.hex(),
        "public_key": b64.std_encode(signer.public_key_bytes()),
        "kdf": {
            "name": "scrypt",
            "n": scrypt_n,
            "r": SCRYPT_R,
            "p": SCRYPT_P,
            "salt": b64.std_encode(salt),
        },
    }
    key = _derive(secret, salt, scrypt_n, SCRYPT_R, SCRYPT_P)
    ciphertext = AESGCM(key).encrypt(nonce, signer.private_key_pkcs8(), _header_aad(header))
    document = header | {"nonce": b64.std_encode(nonce), "ciphertext": b64.std_encode(ciphertext)}
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _read_document(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError as exc:
        raise KeyFileError(f"Không tìm thấy tệp khóa {path}.") from exc
    except OSError as exc:
        raise KeyFileError(f"Không đọc được tệp khóa {path}: {exc.strerror or exc}.") from exc
    return _parse_document(raw)


def _parse_document(raw: bytes) -> dict[str, Any]:
    if len(raw) > _MAX_FILE_BYTES:
        raise KeyFileError("Tệp khóa không đúng định dạng: tệp quá lớn.")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KeyFileError("Tệp khóa không đúng định dạng: không phải JSON hợp lệ.") from exc
    if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
        raise KeyFileError(f"Tệp khóa không đúng định dạng: cần '{KEY_FILE_FORMAT}'.")
    return document


def _parse_header(document: dict[str, Any]) -> tuple[dict[str, Any], KeyFileInfo]:
    label = document.get("label")
    alg = document.get("alg")
    kid_hex = document.get("kid")
    kdf = document.get("kdf")
    if not isinstance(label, str):
        raise KeyFileError("Tệp khóa không đúng định dạng: thiếu nhãn khóa.")
    if not isinstance(alg, int) or isinstance(alg, bool) or alg not in SUPPORTED_ALGS:
        raise KeyFileError("Tệp khóa không đúng định dạng: thuật toán không được hỗ trợ.")
    if not isinstance(kid_hex, str):
        raise KeyFileError("Tệp khóa không đúng định dạng: thiếu mã khóa (kid).")
    public = _unb64(document.get("public_key"), "public_key")
    try:
        kid = kid_for(alg, public)
    except InvalidPublicKeyError as exc:
        raise KeyFileError(f"Tệp khóa không đúng định dạng: {exc}") from exc
    if kid.hex() != kid_hex:
        raise KeyFileError(
            "Tệp khóa không đúng định dạng: mã khóa (kid) không khớp khóa công khai."
        )
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt":
        raise KeyFileError("Tệp khóa không đúng định dạng: chỉ hỗ trợ scrypt.")
    header = {
        "format": KEY_FILE_FORMAT,
        "label": label,
        "alg": alg,
        "kid": kid_hex,
        "public_key": document["public_key"],
        "kdf": kdf,
    }
    return header, KeyFileInfo(label=label, alg=alg, kid=kid, public_key=public)


def read_key_file_info(path: str | os.PathLike[str]) -> KeyFileInfo:
    """The public header (label, alg, kid, public key), without the passphrase.

    Not authenticated until the file is opened with ``load_key_file``; fine for listing keys or
    exporting a public key for the province, not for trust decisions.
    """
    _header, info = _parse_header(_read_document(Path(path)))
    return info


def load_key_file(path: str | os.PathLike[str], passphrase: str) -> SoftwareSigner:
    """Decrypt a key file. Wrong passphrase or any tampering: ``KeyFileError``."""
    return _decrypt_document(_read_document(Path(path)), passphrase)


def decrypt_key(data: bytes, passphrase: str) -> SoftwareSigner:
    """The inverse of ``encrypt_key``. Wrong passphrase or any tampering: ``KeyFileError``."""
    return _decrypt_document(_parse_document(data), passphrase)


def read_key_info(data: bytes) -> KeyFileInfo:
    """The public header of an ``encrypt_key`` document (as ``read_key_file_info``)."""
    _header, info = _parse_header(_parse_document(data))
    return info


def is_encrypted_key(data: bytes) -> bool:
    """Whether ``data`` looks like an ``onestop-key/1`` document (not, e.g., raw PKCS#8 DER)."""
    return data.lstrip()[:1] == b"{" and KEY_FILE_FORMAT.encode() in data[:200]


def _decrypt_document(document: dict[str, Any], passphrase: str) -> SoftwareSigner:
    header, info = _parse_header(document)
    kdf = header["kdf"]
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    for value in (n, r, p):
        if not isinstance(value, int) or isinstance(value, bool):
            raise KeyFileError("Tệp khóa không đúng định dạng: tham số scrypt không hợp lệ.")
    assert isinstance(n, int) and isinstance(r, int) and isinstance(p, int)  # for mypy
    if not valid_n(n) or not 1 <= r <= 16:
        raise KeyFileError("Tệp khóa không đúng định dạng: tham số scrypt ngoài phạm vi.")
    if not 1 <= p <= 4:
        raise KeyFileError("Tệp khóa không đúng định dạng: tham số scrypt ngoài phạm vi.")
    salt = _unb64(kdf.get("salt"), "kdf.salt")
    nonce = _unb64(document.get("nonce"), "nonce")
    ciphertext = _unb64(document.get("ciphertext"), "ciphertext")
    if len(salt) < 16 or len(nonce) != 12 or len(ciphertext) < 16:
        raise KeyFileError("Tệp khóa không đúng định dạng: độ dài dữ liệu không hợp lệ.")

    secret = _passphrase_bytes(passphrase)
    key = _derive(secret, salt, n, r, p)
    try:
        der = AESGCM(key).decrypt(nonce, ciphertext, _header_aad(header))
    except InvalidTag as exc:
        raise KeyFileError(_WRONG_PASSPHRASE) from exc
    try:
        private = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(_WRONG_PASSPHRASE) from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyFileError("Tệp khóa chứa loại khóa không được hỗ trợ.")
    try:
        signer = SoftwareSigner(private)
    except InvalidPublicKeyError as exc:
        raise KeyFileError(str(exc)) from exc
    if signer.public_key_bytes() != info.public_key or signer.alg != info.alg:
        raise KeyFileError("Khóa bí mật không khớp với khóa công khai ghi trong tệp.")
    return signer
