"""The QR tests sign real receipts: they share the crypto tests' session keys."""

from tests.crypto.conftest import claims, desk_signer, entry, root_signer, trust  # noqa: F401
