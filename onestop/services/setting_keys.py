"""Every settings key that more than one module reads or writes, once.

The settings table is a key-value store shared by the desk, sync and lockdown; a key spelled
twice is a key that drifts. All values are strings.
"""

from __future__ import annotations

from typing import Final

# Written by sync (services/sync/), read by the desk, lockdown and the status screens.
S_URL: Final = "sync_server_url"
S_SERVER_ALG: Final = "sync_server_alg"
S_SERVER_KEY: Final = "sync_server_key"  # base64url public key, pinned at enrollment
S_ACKED: Final = "sync_acked_seq"  # the outbox is this desk's events after it
S_LAST_AT: Final = "last_sync_at"
S_LAST_ERROR: Final = "last_sync_error"
S_SKEW: Final = "sync_clock_skew"  # server time minus desk time, seconds (intake warns > 5 min)
# The random 6-digit tag of a desk with no number yet (desk 00): part of its dossier codes.
S_DESK_TAG: Final = "desk_tag"
S_REF_VERSION: Final = "sync_reference_version"
S_REF_ETAG: Final = "sync_reference_etag"
S_REVOCATIONS: Final = "sync_revocations"
S_ENROLLED_AT: Final = "sync_enrolled_at"
S_LAST_OK_AT: Final = "last_sync_ok_at"  # the last run that ended without an error
S_RUNS: Final = "sync_runs"  # JSON list of the last RUNS_KEPT runs, for the desk's sync screen
S_HELD: Final = "sync_held"  # JSON list: what a refusal holds back, until a run succeeds again
RUNS_KEPT: Final = 20
PEER_KEY_PREFIX: Final = "sync_peer_key:"

# Written by lockdown (revocation and bounded offline).
S_LOCK: Final = "lockdown_revoked"
S_WARN: Final = "offline_warn_days"
S_BLOCK: Final = "offline_block_days"
S_UNLOCKED_UNTIL: Final = "offline_unlocked_until"
S_UNLOCK_LOG: Final = "offline_unlock_log"

# The file store's root secret on a desk without a data key (services/attachments.py).
S_FILES_SECRET: Final = "files_secret"

# The files lane of sync (services/sync/files.py).
S_FILES_COMMITTED: Final = "sync_files_committed"  # JSON list: file sha256s the server confirmed
S_FILES_STATUS: Final = "sync_files_status"  # JSON: the last files pass, for the UI
S_FILES_MAX_KBPS: Final = "files_max_kbps"  # upload cap of the files lane, kbit/s; 0 = none
S_FILES_OFFICE_HOURS_ONLY: Final = "files_office_hours_only"  # "1": the cap binds in office hours
