"""The desk's signing key, unlocked at most once per session and kept in memory only.

A signed receipt QR, a signed slip and every sync batch need the desk key, which is stored
encrypted under the official's passphrase (services/receipts.py). The desk asks for the
passphrase once (``PassphraseModal``) and keeps the unlocked signer here until the screen locks
(idle or by hand) or the desk closes: never on disk, never in a setting. ``ONESTOP_PASSPHRASE`` still works for unattended desks, and
a demo desk uses the published demo passphrase.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # services.receipts loads qrcode and the crypto stack: only when first used
    from onestop.crypto.signer import Signer
    from onestop.services.desk import Desk

PASSPHRASE_ENV = "ONESTOP_PASSPHRASE"


class SessionKey:
    """Thread-safe holder of the unlocked desk signer (workers unlock, the UI reads)."""

    def __init__(self) -> None:
        self._signer: Signer | None = None
        self._lock = threading.Lock()
        self._tried_automatic = False

    @property
    def signer(self) -> Signer | None:
        return self._signer

    @staticmethod
    def desk_has_key(desk: Desk) -> bool:
        from onestop.services.keys import ReceiptError, desk_key_info

        try:
            return desk_key_info(desk) is not None
        except ReceiptError:
            return True  # damaged: unlocking says so in plain words

    def unlock(self, desk: Desk, passphrase: str) -> Signer:
        """Decrypt the key (scrypt: ~0.1 s, call from a thread); ``ReceiptError`` if wrong."""
        from onestop.services.keys import unlock_desk_key

        signer = unlock_desk_key(desk, passphrase)
        with self._lock:
            self._signer = signer
        return signer

    def automatic(self, desk: Desk) -> Signer | None:
        """The signer without asking anyone: already unlocked, else ``ONESTOP_PASSPHRASE``, else
        the demo passphrase on a demo desk; ``None`` when a person must type the passphrase.

        The automatic passphrases are tried once per session: a wrong ``ONESTOP_PASSPHRASE`` must
        not cost a scrypt run on every background sync."""
        if self._signer is not None:
            return self._signer
        with self._lock:
            if self._tried_automatic:
                return self._signer
            self._tried_automatic = True
        if not self.desk_has_key(desk):
            return None
        from onestop.services.keys import DEMO_PASSPHRASE, ReceiptError

        candidates = [os.environ.get(PASSPHRASE_ENV, "")]
        if desk.setting("demo") == "1":
            candidates.append(DEMO_PASSPHRASE)
        for passphrase in candidates:
            if not passphrase:
                continue
            try:
                return self.unlock(desk, passphrase)
            except ReceiptError:
                continue
        return None

    def forget(self) -> None:
        """Drop the signer (the idle lock, quitting); the next signing asks again."""
        with self._lock:
            self._signer = None
            self._tried_automatic = False
