"""The server's signing key: every ack, feed and reference answer is signed with it.

Kept in ``server_setting`` so that every stateless worker on one database signs with the same
key; the first worker to start creates it (INSERT … ON CONFLICT DO NOTHING, then everyone reads
the row that won). Desks pin its public key at enrollment, after checking it against the
check group of their enrollment code (server/enroll.py).

**Encrypted at rest.** With a passphrase configured — ``ONESTOP_SERVER_PASSPHRASE``, or
``ONESTOP_SERVER_PASSPHRASE_FILE`` naming a file whose first line is the passphrase (a
systemd credential, a Docker/Kubernetes secret) — the row holds an ``onestop-key/1`` document
(crypto/keys.py: scrypt + AES-256-GCM, the same format as the desks' key files), so a copy of
the database or of a backup does not give away the key that every desk trusts. A key stored in
clear by an earlier start without a passphrase is encrypted in place on the first start with
one. An encrypted key and no passphrase (or a wrong one): the server refuses to start, and
says which setting is missing.

Without any passphrase (the zero-configuration SQLite default for trying things out) the key
is stored in clear, and a warning says so on every start.

Rotation is deliberately not a command: every enrolled desk pinned this key, so a new key means
re-enrolling every desk of the province. The ``Signer`` seam lets a PKCS#11/HSM signer replace
this software key without touching any caller.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sqlalchemy import select, update

from onestop.crypto import kdf
from onestop.crypto.keys import (
    KeyFileError,
    decrypt_key,
    encrypt_key,
    is_encrypted_key,
    read_key_info,
)
from onestop.crypto.signer import SoftwareSigner
from onestop.server.db import ServerDB
from onestop.server.repo import SETTING, insert_ignore

log = logging.getLogger("onestop.server")

PASSPHRASE_ENV = "ONESTOP_SERVER_PASSPHRASE"
PASSPHRASE_FILE_ENV = "ONESTOP_SERVER_PASSPHRASE_FILE"
_KEY = "signing_key"
_LABEL = "onestop provincial server"


class ServerKeyError(Exception):
    """The server cannot unlock (or store) its signing key; the message says what to set."""


def server_passphrase() -> str | None:
    """The configured passphrase, or None when neither setting is present."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    path = os.environ.get(PASSPHRASE_FILE_ENV)
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ServerKeyError(
            f"Không đọc được tệp mật khẩu khóa ký máy chủ {path} ({PASSPHRASE_FILE_ENV}): {e}"
        ) from e
    first = text.splitlines()[0] if text.strip() else ""
    if not first:
        raise ServerKeyError(f"Tệp mật khẩu khóa ký máy chủ {path} ({PASSPHRASE_FILE_ENV}) rỗng.")
    return first


def _encrypt(signer: SoftwareSigner, passphrase: str) -> bytes:
    try:
        return encrypt_key(signer, passphrase, label=_LABEL, scrypt_n=kdf.scrypt_n())
    except (KeyFileError, kdf.KdfSettingError) as e:
        raise ServerKeyError(f"Không mã hóa được khóa ký máy chủ: {e}") from e


def server_signer(db: ServerDB, passphrase: str | None = None) -> SoftwareSigner:
    """Load (creating on first use) the server's signing key; see the module docstring.

    ``passphrase`` defaults to the configured one (``server_passphrase``).
    """
    passphrase = passphrase if passphrase is not None else server_passphrase()
    table = SETTING
    with db.write() as conn:
        row = conn.execute(select(table.c.value).where(table.c.key == _KEY)).first()
        if row is None:
            fresh = SoftwareSigner.generate()
            value = _encrypt(fresh, passphrase) if passphrase else fresh.private_key_pkcs8()
            conn.execute(insert_ignore(db, table, ["key"]), [{"key": _KEY, "value": value}])
            row = conn.execute(select(table.c.value).where(table.c.key == _KEY)).first()
        assert row is not None
        data = bytes(row[0])
        if is_encrypted_key(data):
            if not passphrase:
                raise ServerKeyError(
                    "Khóa ký của máy chủ được mã hóa: đặt mật khẩu trong biến môi trường "
                    f"{PASSPHRASE_ENV}, hoặc đường dẫn tệp chứa mật khẩu trong "
                    f"{PASSPHRASE_FILE_ENV}, rồi chạy lại."
                )
            try:
                return decrypt_key(data, passphrase)
            except KeyFileError as e:
                raise ServerKeyError(
                    f"Không mở được khóa ký của máy chủ ({e}); kiểm tra {PASSPHRASE_ENV} "
                    f"hoặc {PASSPHRASE_FILE_ENV}."
                ) from e
        private = serialization.load_der_private_key(data, password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise ServerKeyError("server_setting.signing_key không phải khóa được hỗ trợ.")
        signer = SoftwareSigner(private)
        if passphrase:
            # Stored in clear by an earlier start: encrypt it now. Several workers may race
            # here; the WHERE makes only the first rewrite count, the others keep their signer
            # (the same key either way).
            conn.execute(
                update(table)
                .where(table.c.key == _KEY, table.c.value == data)
                .values(value=_encrypt(signer, passphrase))
            )
        else:
            log.warning(
                "Khóa ký của máy chủ đang lưu KHÔNG mã hóa trong CSDL; đặt %s hoặc %s "
                "để mã hóa (khuyến nghị khi chạy thật).",
                PASSPHRASE_ENV,
                PASSPHRASE_FILE_ENV,
            )
        return signer


def server_public_key(db: ServerDB) -> tuple[int, bytes]:
    """(alg, public key) of the server's signing key, without its passphrase (creating the key
    first if the server never started): what enrollment codes are checked against."""
    table = SETTING
    with db.read() as conn:
        row = conn.execute(select(table.c.value).where(table.c.key == _KEY)).first()
    if row is None:
        signer = server_signer(db)
        return signer.alg, signer.public_key_bytes()
    data = bytes(row[0])
    try:
        if is_encrypted_key(data):
            info = read_key_info(data)
            return info.alg, info.public_key
        private = serialization.load_der_private_key(data, password=None)
        if not isinstance(private, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise ValueError("unsupported key")
        signer = SoftwareSigner(private)
    except (KeyFileError, ValueError) as e:
        raise ServerKeyError(f"Khóa ký của máy chủ trong CSDL bị hỏng: {e}") from e
    return signer.alg, signer.public_key_bytes()


__all__ = [
    "PASSPHRASE_ENV",
    "PASSPHRASE_FILE_ENV",
    "ServerKeyError",
    "server_passphrase",
    "server_public_key",
    "server_signer",
]
