"""The server's signing key: every ack, feed and reference answer is signed with it.

Kept in ``server_setting`` (PKCS#8 DER) so that every stateless worker on one database signs
with the same key; the first worker to start creates it (INSERT … ON CONFLICT DO NOTHING, then
everyone reads the row that won). Desks pin its public key at enrollment.

Production note: a key in the database is readable by whoever can read the database. The
``Signer`` seam lets a PKCS#11/HSM signer replace it without touching any caller.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sqlalchemy import select

from onestop.crypto.signer import SoftwareSigner
from onestop.server.db import ServerDB
from onestop.server.repo import SETTING, insert_ignore

_KEY = "signing_key"


def server_signer(db: ServerDB) -> SoftwareSigner:
    table = SETTING
    with db.write() as conn:
        row = conn.execute(select(table.c.value).where(table.c.key == _KEY)).first()
        if row is None:
            fresh = SoftwareSigner.generate()
            conn.execute(
                insert_ignore(db, table, ["key"]),
                [{"key": _KEY, "value": fresh.private_key_pkcs8()}],
            )
            row = conn.execute(select(table.c.value).where(table.c.key == _KEY)).first()
    assert row is not None
    private = serialization.load_der_private_key(bytes(row[0]), password=None)
    if not isinstance(private, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise RuntimeError("server_setting.signing_key is not a supported key")
    return SoftwareSigner(private)
