"""No link at all: the desk's outbox as a signed, compressed, encrypted bundle file for a USB
stick, and the import of another desk's bundle with the same idempotency rules as online sync.

Who can read a bundle (wire/bundle.py ``onestop-bundle/2``, crypto/seal.py): the bundle is
sealed to every legitimate reader the exporting desk knows, with their P-256 keys —

* the province server, whose key the desk pinned at enrollment (S_SERVER_KEY);
* the commune's other desks: from the province trust list when the desk holds one (active,
  unrevoked entries of its own commune), otherwise the sibling keys it pinned when importing
  their bundles (PEER_KEY_PREFIX, own commune only).

Ed25519 keys cannot do key agreement and are left out (such a desk cannot open bundles). The
province root key is not a recipient: it is kept offline and is no reader of bundles. A desk
that knows no reader at all (never enrolled, no trust list, no pinned sibling) refuses to
export: writing personal data in clear is exactly what bundles must not do any more, and an
unencrypted fallback would be silent. Enrolling once, or importing the trust list the province
hands out on paper/USB (``onestop keys import-trust``), is enough for a field laptop.

**Scanned papers travel too** (``onestop-bundle/3``): the bundle carries, whole, the files of
this desk's live ``attach`` events in the exported range, up to ``MAX_CARRIED_BYTES`` (64 MiB,
about 1,100 pages) — oldest first; a file that does not fit, or whose chunks this desk cannot
read back, is left out and said (its events still go; the file follows by the files lane or the
next bundle). All of the range's files, not only those a reader lacks: the desk cannot know
offline what a sibling desk or the province holds, and a content-addressed store takes a chunk
it already has for free. On import every carried file is rebuilt from the carried chunks and
checked against its signed manifest (``wire.bundle.carried_files``) before anything is stored;
then the chunks are stored (encrypted, under this desk's key) and only then are the events
applied — the order ``attach`` itself keeps, so a failure in between leaves only orphan chunks
the garbage run removes, never a manifest without its chunks.

Importing needs the reader's private key: the desk key (unlocked with its passphrase; asked
only once the file has been checked to be addressed to this desk) or the server key. Plain
``onestop-bundle/1`` files written by earlier versions are still imported (same signature and
chain checks), so nothing already on a stick is lost; new files are always encrypted and
written with mode 0600.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from onestop.crypto.seal import NotARecipientError, Recipient, SealError, ecdh_key_for
from onestop.crypto.seal import open_sealed as _open_sealed
from onestop.crypto.seal import recipient_kids as _recipient_kids
from onestop.crypto.signer import ES256, InvalidPublicKeyError, Signer, kid_for
from onestop.domain.attachments import Attachment, fold
from onestop.domain.events import GENESIS_HEAD, Event, EventFormatError, EventKind, chain
from onestop.i18n import t
from onestop.paths import write_atomically
from onestop.services.attachments import chunks_of, file_store
from onestop.services.desk import Desk
from onestop.services.keys import (
    desk_key_info,
    trust_list,
)
from onestop.services.setting_keys import PEER_KEY_PREFIX, S_ACKED, S_SERVER_ALG, S_SERVER_KEY
from onestop.services.sync.apply import apply_foreign, check_foreign_source
from onestop.services.sync.base import PassphraseProvider, SyncError, _Fatal
from onestop.services.sync.client import build_batch
from onestop.services.sync.enroll import desk_signer
from onestop.store.files import FileStoreError
from onestop.store.models import DeskState, EventRow, Setting
from onestop.store.repo_events import events_for
from onestop.wire.base import WireError, b64d, b64e
from onestop.wire.bundle import (
    MAX_BUNDLE_READ_BYTES,
    MAX_CARRIED_BYTES,
    MAX_CARRIED_CHUNKS,
    Bundle,
    Opener,
    SealedBundle,
    carried_files,
    decode_bundle,
    encode_sealed_bundle,
)
from onestop.wire.codec import current_dictionary, decompress
from onestop.wire.files import is_truncated, read_bounded
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
    files: int = 0  # scanned files the bundle carried, checked and stored


@dataclass(frozen=True)
class BundleExport:
    path: Path
    first_seq: int
    last_seq: int
    files: int  # scanned files carried whole
    file_bytes: int  # their chunk bytes
    left_out: tuple[str, ...] = ()  # why each file not carried was left out (Vietnamese)


def export_bundle(
    desk: Desk,
    to_dir: Path,
    *,
    signer: Signer,
    from_seq: int | None = None,
    encoding: str = "zstd",
) -> Path | None:
    """Write this desk's events from ``from_seq`` (default: the outbox) as a signed bundle file.

    Returns None when there is nothing to export; :func:`export_bundle_files` says more (the
    scanned files carried and left out).
    """
    done = export_bundle_files(desk, to_dir, signer=signer, from_seq=from_seq, encoding=encoding)
    return done.path if done is not None else None


def _range_files(desk: Desk, first: int, last: int) -> list[Attachment]:
    """This desk's live attachments whose ``attach`` event is in ``first..last``, one per file,
    oldest first."""
    own = desk.identity.desk_id
    found: dict[str, Attachment] = {}
    with desk.store.read() as db:
        codes = db.exec(
            select(EventRow.dossier)
            .where(
                col(EventRow.kind) == EventKind.ATTACH.value,
                EventRow.desk_id == own,
                col(EventRow.seq) >= first,
                col(EventRow.seq) <= last,
            )
            .distinct()
        ).all()
        for code in codes:
            for a in fold(events_for(db=db, dossier=code)):
                if a.desk_id == own and first <= a.seq <= last:
                    found.setdefault(a.sha256, a)
    return sorted(found.values(), key=lambda a: a.seq)


def _carry(desk: Desk, first: int, last: int) -> tuple[list[str], list[bytes], list[str]]:
    """(files carried, their chunks once each, why others were left out) for the range."""
    store = file_store(desk)
    files: list[str] = []
    chunks: list[bytes] = []
    seen: set[str] = set()
    total = 0
    left: list[str] = []
    for a in _range_files(desk, first, last):
        try:
            ids = [*chunks_of(store, a), *a.index]
            new = [c for c in dict.fromkeys(ids) if c not in seen]
            pieces = [store.get_chunk(c) for c in new]
        except FileStoreError as e:
            left.append(t("Tệp {id}: không đọc được từ kho tệp ({e}).", id=a.id, e=e))
            continue
        size = sum(len(p) for p in pieces)
        if total + size > MAX_CARRIED_BYTES or len(chunks) + len(pieces) > MAX_CARRIED_CHUNKS:
            left.append(
                t(
                    "Tệp {id} ({kb} KB): vượt giới hạn {mb} MB của một gói, sẽ đi qua mạng "
                    "hoặc gói sau.",
                    id=a.id,
                    kb=(a.size + 1023) // 1024,
                    mb=MAX_CARRIED_BYTES // (1024 * 1024),
                )
            )
            continue
        files.append(a.sha256)
        chunks.extend(pieces)
        seen.update(new)
        total += size
    return files, chunks, left


def export_bundle_files(
    desk: Desk,
    to_dir: Path,
    *,
    signer: Signer,
    from_seq: int | None = None,
    encoding: str = "zstd",
    with_files: bool = True,
) -> BundleExport | None:
    """Write this desk's events from ``from_seq`` (default: the outbox) as a signed bundle file,
    with the scanned files of their ``attach`` events (module docstring).

    Returns None when there is nothing to export. The file is a batch exactly as it would go
    over HTTP, sealed to the server and the commune's desks (``bundle_recipients``), signed
    with the desk key (onestop-bundle/3), written atomically with mode 0600.
    """
    if not to_dir.is_dir():
        raise SyncError(t("Thư mục {p} không tồn tại.", p=to_dir))
    recipients = bundle_recipients(desk, signer)
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
    files, chunks, left = _carry(desk, first, last) if with_files else ([], [], [])
    data = encode_sealed_bundle(
        desk=env.desk,
        signer=signer,
        encoding=encoding,
        batch=body,
        recipients=recipients,
        files=files,
        chunks=chunks,
    )
    target = to_dir / f"{env.desk}_{first:07d}-{last:07d}{BUNDLE_SUFFIX}"
    try:
        write_atomically(target, data, mode=0o600)
    except OSError as e:
        raise SyncError(t("Không ghi được tệp gói {p}: {e}", p=target, e=e.strerror or e)) from e
    return BundleExport(target, first, last, len(files), sum(len(c) for c in chunks), tuple(left))


def bundle_recipients(desk: Desk, signer: Signer) -> list[Recipient]:
    """Every legitimate reader of this desk's bundles that it knows (see the module docstring).

    Refuses (SyncError) when there is none: the bundle would have no reader.
    """
    own_commune = desk.identity.commune_code
    found: dict[bytes, Recipient] = {}

    def add(alg: int, public_key: bytes) -> None:
        if alg != ES256 or public_key == signer.public_key_bytes():
            return
        try:
            found.setdefault(public_key, (kid_for(alg, public_key), public_key, alg))
        except InvalidPublicKeyError:
            return

    server_alg, server_key = desk.setting(S_SERVER_ALG), desk.setting(S_SERVER_KEY)
    if server_alg and server_key:
        add(int(server_alg), b64d(server_key))
    tl = trust_list(desk)
    if tl is not None:
        for e in tl.entries:
            if e.commune == own_commune and e.status == "active" and tl.revocation_time(e) is None:
                add(e.alg, e.public_key)
    else:
        with desk.store.read() as db:
            pins = db.exec(
                select(Setting).where(col(Setting.key).startswith(PEER_KEY_PREFIX))
            ).all()
        for pin in pins:
            peer = pin.key.removeprefix(PEER_KEY_PREFIX)
            alg_text, _, key_text = pin.value.partition(":")
            if peer.split("-")[0] != own_commune or not alg_text.lstrip("-").isdigit():
                continue
            try:
                add(int(alg_text), b64d(key_text))
            except WireError:
                continue
    if not found:
        raise SyncError(
            t(
                "Chưa thể xuất gói: gói chứa dữ liệu cá nhân nên phải được mã hóa cho máy chủ "
                "tỉnh hoặc các quầy cùng xã, nhưng quầy này chưa biết khóa của nơi nhận nào. "
                "Hãy đăng ký quầy với tỉnh («onestop enroll») hoặc nhập danh sách tin cậy của "
                "tỉnh («onestop keys import-trust») rồi xuất lại."
            )
        )
    return list(found.values())


def _desk_opener(
    desk: Desk, signer: Signer | None, passphrase_provider: PassphraseProvider | None
) -> Opener:
    """Decrypts a sealed bundle with this desk's key; the passphrase is asked only once the
    file is known to be addressed to this desk."""

    def open_(sb: SealedBundle) -> bytes:
        if sb.desk == desk.identity.desk_id:
            raise SyncError(t("Đây là gói của chính quầy này."))
        # A revoked desk's bundle is refused before the clerk is asked for any passphrase.
        check_foreign_source(desk, sb.desk, (sb.alg, sb.public_key))
        try:
            kids = _recipient_kids(sb.sealed)
        except SealError as e:
            raise SyncError(t("Tệp gói đồng bộ không hợp lệ: {e}", e=e)) from e
        info = desk_key_info(desk)
        mine = signer.kid if signer is not None else info.kid if info is not None else None
        if mine is None or mine not in kids:
            raise SyncError(
                t(
                    "Gói này không dành cho quầy này: gói của quầy {d} chỉ được mã hóa cho máy "
                    "chủ tỉnh và các quầy cùng xã mà quầy đó biết. Hãy nhập gói tại máy chủ "
                    "tỉnh, hoặc đăng ký quầy này rồi xuất lại gói ở quầy {d}.",
                    d=sb.desk,
                )
            )
        key = signer
        if key is None:
            if passphrase_provider is None:
                raise SyncError(t("Gói đã mã hóa: cần mật khẩu khóa của quầy để mở."))
            key = desk_signer(desk, passphrase_provider)
        try:
            return _open_sealed(sb.sealed, key.kid, ecdh_key_for(key), aad=sb.aad)
        except NotARecipientError as e:  # the unlocked key is not the one the header named
            raise SyncError(t("Khóa đã mở không phải khóa của quầy này.")) from e
        except SealError as e:
            raise SyncError(t("Tệp gói đồng bộ không hợp lệ: {e}", e=e)) from e

    return open_


def read_bundle(path: Path, opener: Opener | None = None) -> tuple[Any, bytes]:
    """(bundle, raw batch body after decompression) — raises SyncError on anything wrong."""
    try:
        # Bounded before reading: /dev/zero, a FIFO or a 2 GB file is refused, never loaded.
        data = read_bounded(path, MAX_BUNDLE_READ_BYTES)
    except OSError as e:
        raise SyncError(t("Không đọc được tệp {p}: {e}", p=path, e=e.strerror or e)) from e
    except WireError as e:
        raise SyncError(t("Tệp gói đồng bộ không hợp lệ: {e}", e=e)) from e
    try:
        bundle = decode_bundle(data, opener=opener)
        return bundle, decompress(bundle.batch, bundle.encoding)
    except WireError as e:
        if not data or is_truncated(e):  # a copy cut short (stick pulled out): say so
            raise SyncError(
                t(
                    "Tệp gói {p} không đầy đủ (bị cắt ngang khi chép). Hãy chép lại tệp từ "
                    "máy của quầy gửi rồi nhập lại.",
                    p=path.name,
                )
            ) from e
        raise SyncError(t("Tệp gói đồng bộ không hợp lệ: {e}", e=e)) from e


def import_bundle(
    desk: Desk,
    path: Path,
    *,
    signer: Signer | None = None,
    passphrase_provider: PassphraseProvider | None = None,
) -> ImportResult:
    """Apply another desk's bundle here: signature, decryption, chain, then the same path as
    downloads.

    An encrypted bundle is opened with this desk's key: ``signer`` when given, else the key
    unlocked with ``passphrase_provider`` (asked only if the bundle is addressed to this desk).
    A desk the province revoked is refused (``apply.check_foreign_source``: the server-signed
    revocations sync downloads, and the trust list's), as the province refuses it.
    The signing key is checked against the province trust list when the desk holds one;
    otherwise the first bundle of a desk pins its key (trust on first use) and later bundles
    must carry the same key. Nothing is stored before every check has passed.
    """
    bundle, plain = read_bundle(path, _desk_opener(desk, signer, passphrase_provider))
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
    stored = _store_carried(desk, bundle, env.desk, raw.bodies)
    added = apply_foreign(
        desk,
        [(env.desk, env.first_seq, env.head, raw.bodies)],
        signed_by=(bundle.alg, bundle.public_key),
    )
    return ImportResult(env.desk, env.first_seq, env.last_seq, added, stored)


def _store_carried(desk: Desk, bundle: Bundle, desk_id: str, bodies: list[bytes]) -> int:
    """Check every carried file against its manifest, then store its chunks (before the
    events: module docstring). Refused whole, with nothing stored, if any check fails."""
    if not bundle.files and not bundle.chunks:
        return 0
    try:
        events = [Event.from_body(desk_id, b) for b in bodies]
        files, by_id = carried_files(bundle, events)
    except (WireError, EventFormatError, ValueError) as e:
        raise SyncError(t("Tệp gói đồng bộ không hợp lệ: {e}. Chưa nhận gì.", e=e)) from e
    store = file_store(desk)
    try:
        for cid, piece in by_id.items():
            store.put_chunk(cid, piece)
    except FileStoreError as e:
        raise SyncError(
            t("Không lưu được tệp số hóa trong gói: {e}. Chưa nhận sự kiện nào.", e=e)
        ) from e
    return len(files)


def _check_peer_key(desk: Desk, desk_id: str, alg: int, public_key: bytes, kid: bytes) -> None:
    # Revocations first: the province's word on this desk, trust list or not (and before a
    # first bundle's key would be pinned).
    check_foreign_source(desk, desk_id, (alg, public_key))
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
