"""No link at all: the desk's outbox as a signed, compressed bundle file for a USB stick, and
the import of another desk's bundle with the same idempotency rules as online sync."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onestop.crypto.signer import InvalidPublicKeyError, Signer, kid_for
from onestop.domain.events import GENESIS_HEAD, chain
from onestop.i18n import t
from onestop.paths import write_atomically
from onestop.services.desk import Desk
from onestop.services.keys import (
    trust_list,
)
from onestop.services.setting_keys import PEER_KEY_PREFIX, S_ACKED
from onestop.services.sync.apply import apply_foreign
from onestop.services.sync.base import SyncError, _Fatal
from onestop.services.sync.client import build_batch
from onestop.store.models import DeskState
from onestop.wire.base import WireError, b64e
from onestop.wire.bundle import decode_bundle, encode_bundle
from onestop.wire.codec import current_dictionary, decompress
from onestop.wire.messages import (
    split_batch,
    verify_message,
)

BUNDLE_SUFFIX = ".osb"


@dataclass(frozen=True)
class ImportResult:
    desk: str
    first_seq: int
    last_seq: int
    added: int


def export_bundle(
    desk: Desk,
    to_dir: Path,
    *,
    signer: Signer,
    from_seq: int | None = None,
    encoding: str = "zstd",
) -> Path | None:
    """Write this desk's events from ``from_seq`` (default: the outbox) as a signed bundle file.

    Returns None when there is nothing to export. The file is a batch exactly as it would go
    over HTTP, wrapped with the desk's public key (onestop-bundle/1).
    """
    if not to_dir.is_dir():
        raise SyncError(t("Thư mục {p} không tồn tại.", p=to_dir))
    last = 0
    with desk.store.read() as db:
        st = db.get(DeskState, desk.identity.desk_id)
        last = st.last_seq if st else 0
    first = from_seq if from_seq is not None else int(desk.setting(S_ACKED, "0") or 0) + 1
    first = max(first, 1)
    if first > last:
        return None
    dictionary = current_dictionary() if encoding == "zstd" else None
    if dictionary is None and encoding == "zstd":
        encoding = "gzip"
    try:
        env, body = build_batch(desk, signer, first, last, encoding, dictionary)
    except _Fatal as e:
        raise SyncError(str(e)) from e
    data = encode_bundle(
        desk=env.desk,
        alg=signer.alg,
        public_key=signer.public_key_bytes(),
        encoding=encoding,
        batch=body,
    )
    target = to_dir / f"{env.desk}_{first:07d}-{last:07d}{BUNDLE_SUFFIX}"
    write_atomically(target, data)
    return target


def read_bundle(path: Path) -> tuple[Any, bytes]:
    """(bundle, raw batch body after decompression) — raises SyncError on anything wrong."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SyncError(t("Không đọc được tệp {p}: {e}", p=path, e=e.strerror or e)) from e
    try:
        bundle = decode_bundle(data)
        return bundle, decompress(bundle.batch, bundle.encoding)
    except WireError as e:
        raise SyncError(t("Tệp gói đồng bộ không hợp lệ: {e}", e=e)) from e


def import_bundle(desk: Desk, path: Path) -> ImportResult:
    """Apply another desk's bundle here: signature, chain, then the same path as downloads.

    The signing key is checked against the province trust list when the desk holds one;
    otherwise the first bundle of a desk pins its key (trust on first use) and later bundles
    must carry the same key.
    """
    bundle, plain = read_bundle(path)
    try:
        raw = split_batch(plain)
        env = raw.envelope
        if env.desk != bundle.desk:
            raise WireError(t("Tệp gói ghi sai số hiệu quầy."))
        kid = kid_for(bundle.alg, bundle.public_key)
        verify_message(raw.message, {kid: (bundle.alg, bundle.public_key)})
    except (WireError, InvalidPublicKeyError) as e:
        raise SyncError(t("Tệp gói đồng bộ không hợp lệ: {e}", e=e)) from e
    if env.desk == desk.identity.desk_id:
        raise SyncError(t("Đây là gói của chính quầy này."))
    _check_peer_key(desk, env.desk, bundle.alg, bundle.public_key, kid)
    head = env.prev_head
    for b in raw.bodies:
        head = chain(head, b)
    if head != env.head:
        raise SyncError(t("Chuỗi băm trong tệp gói không khớp phong bì đã ký."))
    with desk.store.read() as db:
        st = db.get(DeskState, env.desk)
        held = st.last_seq if st else 0
        if env.first_seq == held + 1:
            ours = bytes(st.head) if st else GENESIS_HEAD
            if ours != env.prev_head:
                raise SyncError(
                    t("Chuỗi sự kiện của quầy {d} khác chuỗi quầy này đang giữ.", d=env.desk)
                )
    added = apply_foreign(desk, [(env.desk, env.first_seq, env.head, raw.bodies)])
    return ImportResult(env.desk, env.first_seq, env.last_seq, added)


def _check_peer_key(desk: Desk, desk_id: str, alg: int, public_key: bytes, kid: bytes) -> None:
    tl = trust_list(desk)
    if tl is not None:
        entries = [
            e
            for e in tl.entries_for(kid)
            if e.public_key == public_key and e.alg == alg and e.status == "active"
        ]
        if not entries or tl.revocation_time(entries[0]) is not None:
            raise SyncError(
                t("Khóa của quầy {d} không có trong danh sách tin cậy của tỉnh.", d=desk_id)
            )
        if entries[0].commune != desk_id.split("-")[0]:
            raise SyncError(t("Khóa của quầy {d} thuộc xã khác.", d=desk_id))
        return
    key = PEER_KEY_PREFIX + desk_id
    pinned = desk.setting(key)
    value = f"{alg}:{b64e(public_key)}"
    if pinned and pinned != value:
        raise SyncError(
            t("Gói của quầy {d} được ký bằng khóa khác khóa đã ghi nhận trước đây.", d=desk_id)
        )
    if not pinned:
        desk.set_setting(key, value)
