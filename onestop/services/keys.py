"""The desk's keys and the province trust list.

Where things live (beside the desk database, so a backup of the folder takes both)::

    <db>.sqlite
    <db>.keys/            keys_dir(db_path), mode 0700
        desk.key          the desk's private key, encrypted under the official's passphrase
                          (onestop.crypto.keys: scrypt + AES-256-GCM, mode 0600)
        trust.cbor        the province trust list last imported (signed container)
        root.key          the province ROOT key: only on a demo desk (ensure_demo_keys), or on
                          the province's own machine (``onestop keys create-root --out``)

The pinned province root key and the highest trust-list version seen are kept in the desk
database (settings ``trust_root`` and ``trust_version``), not in the keys folder: the stored
list is re-verified against that pin every time it is read, and a list older than the highest
version ever imported is refused, so a deleted or swapped ``trust.cbor`` cannot roll back a
revocation.

Flow (file based, works with no network; online enrollment through the province server can
produce the same trust list later):

1. ``create_desk_key(desk, passphrase)`` at the desk;
2. ``desk_public_export(desk)`` -> a small JSON request (public key, kid, province, commune,
   unit e-ID, desk number and label), carried to the province;
3. at the province: ``issue_trust_list(...)`` + ``trust.export_trust_file`` with the root key
   (``onestop keys issue-trust``); the kid is confirmed with the commune by phone or letter;
4. ``import_trust(desk, path, pinned_root_fingerprint)`` at the desk: the first import pins the
   province root fingerprint, which the operator compares with the one the province announced;
5. receipts are then signed (services/receipts.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from onestop.crypto import kdf
from onestop.crypto.keys import (
    KeyFileError,
    KeyFileInfo,
    create_key_file,
    load_key_file,
    read_key_file_info,
)
from onestop.crypto.signer import (
    ALG_NAMES,
    SUPPORTED_ALGS,
    InvalidPublicKeyError,
    SoftwareSigner,
    kid_for,
)
from onestop.crypto.trust import (
    STATUS_ACTIVE,
    STATUS_REVOKED,
    Revocation,
    RootKey,
    TrustBundle,
    TrustEntry,
    TrustError,
    TrustList,
    import_trust_file,
    make_trust_container,
    read_trust_bundle,
    write_public_file,
)
from onestop.domain import b64
from onestop.domain.clock import VN_TZ
from onestop.domain.codes import validate_unit_eid
from onestop.domain.receipt import validate_host
from onestop.domain.roles import Permission
from onestop.i18n import t
from onestop.services.desk import Desk, DeskError
from onestop.services.lockdown import with_downloaded_revocations

DEFAULT_HOST: Final = "dvc.example.gov.vn"


DEMO_PASSPHRASE: Final = "onestop-demo"


DESK_KEY_FILE: Final = "desk.key"


TRUST_FILE: Final = "trust.cbor"


ROOT_KEY_FILE: Final = "root.key"


REQUEST_FORMAT: Final = "onestop-key-request/1"


SETTING_HOST: Final = "receipt_host"


_SETTING_ROOT: Final = "trust_root"


_SETTING_VERSION: Final = "trust_version"


_SETTING_KEY_CREATED: Final = "desk_key_created_at"


_MAX_REQUEST_BYTES: Final = 16 * 1024


class ReceiptError(DeskError):
    """A refused key, trust or receipt operation; ``str(e)`` says why, in Vietnamese."""


def keys_dir(db_path: Path) -> Path:
    """The folder that holds the desk key and trust list of the database at ``db_path``."""
    return db_path.parent / f"{db_path.stem}.keys"


def _dir(desk: Desk, *, create: bool = False) -> Path:
    path = keys_dir(desk.store.path)
    if create and not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _scrypt_n() -> int:
    try:
        return kdf.scrypt_n()
    except kdf.KdfSettingError as e:
        raise ReceiptError(str(e)) from e


def _epoch(local: datetime) -> int:
    return int(
        local.replace(tzinfo=VN_TZ).timestamp() if local.tzinfo is None else local.timestamp()
    )


def desk_key_path(desk: Desk) -> Path:
    return _dir(desk) / DESK_KEY_FILE


def _desk_label(desk: Desk) -> str:
    ident = desk.identity
    return f"{ident.desk_name} - {ident.agency_name}"


def create_desk_key(desk: Desk, passphrase: str, *, scrypt_cost: int | None = None) -> bytes:
    """Create the desk's signing key (P-256), encrypted under ``passphrase``; return its kid.

    Refused if the desk already has a key: overwriting it would orphan every receipt it signed
    and the trust-list entry the province issued for it. Admin only (``Permission.DESK_KEY``).
    """
    desk.require(Permission.DESK_KEY)
    path = _dir(desk, create=True) / DESK_KEY_FILE
    if path.exists():
        raise ReceiptError(
            t(
                "Quầy đã có khóa ký ({path}); không tạo khóa mới để tránh mất khóa cũ.",
                path=path,
            )
        )
    try:
        signer = create_key_file(
            path,
            passphrase,
            label=_desk_label(desk),
            scrypt_n=scrypt_cost if scrypt_cost is not None else _scrypt_n(),
        )
    except KeyFileError as e:
        raise ReceiptError(str(e)) from e
    desk.set_setting(_SETTING_KEY_CREATED, desk.clock().isoformat(timespec="seconds"))
    return signer.kid


def desk_key_info(desk: Desk) -> KeyFileInfo | None:
    """The desk key's public header (kid, alg, label), or None if the desk has no key yet."""
    path = desk_key_path(desk)
    if not path.exists():
        return None
    try:
        return read_key_file_info(path)
    except KeyFileError as e:
        raise ReceiptError(str(e)) from e


def unlock_desk_key(desk: Desk, passphrase: str) -> SoftwareSigner:
    """Decrypt the desk key. Wrong passphrase, missing or damaged file: ``ReceiptError``."""
    path = desk_key_path(desk)
    if not path.exists():
        raise ReceiptError(
            t("Quầy chưa có khóa ký. Tạo khóa bằng «onestop keys create-desk» trước.")
        )
    try:
        return load_key_file(path, passphrase)
    except KeyFileError as e:
        raise ReceiptError(str(e)) from e


@dataclass(frozen=True)
class KeyRequest:
    """What the province needs to put a desk key on the trust list."""

    alg: int
    public_key: bytes
    kid: bytes
    province: str
    commune: str
    unit_eid: str
    desk_no: int
    desk_label: str
    created_at: int  # epoch seconds: the key cannot have signed anything before

    def to_json(self) -> bytes:
        doc = {
            "format": REQUEST_FORMAT,
            "alg": self.alg,
            "public_key": b64.std_encode(self.public_key),
            "kid": self.kid.hex(),
            "province": self.province,
            "commune": self.commune,
            "unit_eid": self.unit_eid,
            "desk_no": self.desk_no,
            "desk_label": self.desk_label,
            "created_at": self.created_at,
        }
        return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def desk_public_export(desk: Desk) -> bytes:
    """The desk's key request for the province (UTF-8 JSON, no secret in it)."""
    info = desk_key_info(desk)
    if info is None:
        raise ReceiptError(
            t("Quầy chưa có khóa ký. Tạo khóa bằng «onestop keys create-desk» trước.")
        )
    ident = desk.identity
    created = desk.setting(_SETTING_KEY_CREATED)
    try:
        created_at = datetime.fromisoformat(created) if created else desk.clock()
    except ValueError:
        created_at = desk.clock()
    return KeyRequest(
        alg=info.alg,
        public_key=info.public_key,
        kid=info.kid,
        province=ident.province_code,
        commune=ident.commune_code,
        unit_eid=ident.unit_eid,
        desk_no=ident.desk_no,
        desk_label=info.label,
        created_at=_epoch(created_at),
    ).to_json()


def parse_key_request(data: bytes) -> KeyRequest:
    """Read and check a desk's key request; ``ReceiptError`` (Vietnamese) on anything odd."""

    def bad(why: str) -> ReceiptError:
        return ReceiptError(t("Tệp yêu cầu cấp khóa không hợp lệ: {why}", why=why))

    if len(data) > _MAX_REQUEST_BYTES:
        raise bad(t("tệp quá lớn"))
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise bad(t("không phải JSON")) from None
    if not isinstance(doc, dict) or doc.get("format") != REQUEST_FORMAT:
        raise bad(t("cần định dạng «{f}»", f=REQUEST_FORMAT))
    alg, kid_hex, pub_b64 = doc.get("alg"), doc.get("kid"), doc.get("public_key")
    if not isinstance(alg, int) or isinstance(alg, bool) or alg not in SUPPORTED_ALGS:
        raise bad(t("thuật toán không được hỗ trợ"))
    if not isinstance(pub_b64, str) or not isinstance(kid_hex, str):
        raise bad(t("thiếu khóa công khai hoặc mã khóa"))
    try:
        public = b64.std_decode(pub_b64)
        kid = kid_for(alg, public)
    except (ValueError, InvalidPublicKeyError):
        raise bad(t("khóa công khai hỏng")) from None
    if kid.hex() != kid_hex.lower():
        raise bad(t("mã khóa không khớp khóa công khai"))
    province, commune, unit = doc.get("province"), doc.get("commune"), doc.get("unit_eid")
    desk_no, label, created = doc.get("desk_no"), doc.get("desk_label"), doc.get("created_at")
    if not (isinstance(province, str) and len(province) == 2 and province.isdigit()):
        raise bad(t("mã tỉnh phải gồm 2 chữ số"))
    if not (isinstance(commune, str) and len(commune) == 5 and commune.isdigit()):
        raise bad(t("mã xã phải gồm 5 chữ số"))
    if not isinstance(unit, str):
        raise bad(t("thiếu mã định danh đơn vị"))
    try:
        unit = validate_unit_eid(unit)
    except ValueError as e:
        raise bad(str(e)) from None
    if not isinstance(desk_no, int) or isinstance(desk_no, bool) or not 1 <= desk_no <= 99:
        raise bad(t("số hiệu quầy phải từ 1 đến 99"))
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        raise bad(t("nhãn quầy phải có từ 1 đến 200 ký tự"))
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise bad(t("thời điểm tạo khóa không hợp lệ"))
    return KeyRequest(
        alg=alg,
        public_key=public,
        kid=kid,
        province=province,
        commune=commune,
        unit_eid=unit,
        desk_no=desk_no,
        desk_label=label.strip(),
        created_at=created,
    )


def create_root_key(
    path: Path, passphrase: str, *, label: str, scrypt_cost: int | None = None
) -> SoftwareSigner:
    """Create a province root key file (the province's machine, or a demo desk)."""
    try:
        return create_key_file(
            path,
            passphrase,
            label=label,
            scrypt_n=scrypt_cost if scrypt_cost is not None else _scrypt_n(),
        )
    except KeyFileError as e:
        raise ReceiptError(str(e)) from e


def issue_trust_list(
    *,
    province: str,
    issued_at: int,
    requests: Sequence[KeyRequest] = (),
    revoke: Iterable[bytes] = (),
    revoked_at: int | None = None,
    version: int | None = None,
    host: str | None = None,
    base: TrustList | None = None,
    valid_from: int | None = None,
) -> TrustList:
    """Build the next trust list: ``base`` (if any) plus new desk keys, minus revoked ones.

    * A request whose key is already listed is skipped (issuing twice is harmless); a request
      of another province is refused.
    * Each new entry is valid from ``valid_from`` or else from the key's creation time.
    * ``revoke``: kids revoked at ``revoked_at`` (default ``issued_at``); set it to the last
      moment the key was known good (e.g. the desk's last synced event), because receipts
      signed before it stay valid. A kid that is not listed goes to the revocation list.
    * ``version`` defaults to the base version + 1 and must be higher than it.
    Sign the result with ``trust.export_trust_file`` / ``make_trust_container``.
    """
    if base is not None and base.province != province:
        raise ReceiptError(
            t(
                "Danh sách tin cậy hiện có thuộc tỉnh {a}, không phải tỉnh {b}.",
                a=base.province,
                b=province,
            )
        )
    next_version = version if version is not None else (base.version + 1 if base else 1)
    if base is not None and next_version <= base.version:
        raise ReceiptError(
            t(
                "Phiên bản mới ({v}) phải lớn hơn phiên bản hiện có ({b}).",
                v=next_version,
                b=base.version,
            )
        )
    entries = list(base.entries) if base else []
    revocations = list(base.revocations) if base else []
    try:
        for req in requests:
            if req.province != province:
                raise ReceiptError(
                    t(
                        "Yêu cầu của quầy {label} thuộc tỉnh {p}, không phải tỉnh {q}.",
                        label=req.desk_label,
                        p=req.province,
                        q=province,
                    )
                )
            if any(e.public_key == req.public_key for e in entries):
                continue
            entries.append(
                TrustEntry.for_key(
                    req.alg,
                    req.public_key,
                    commune=req.commune,
                    unit_eid=req.unit_eid,
                    desk_label=req.desk_label,
                    valid_from=valid_from if valid_from is not None else req.created_at,
                )
            )
        when = revoked_at if revoked_at is not None else issued_at
        for kid in revoke:
            hits = [i for i, e in enumerate(entries) if e.kid == kid]
            for i in hits:
                old = entries[i]
                at = when if old.revoked_at is None else min(old.revoked_at, when)
                entries[i] = replace(old, status=STATUS_REVOKED, revoked_at=at)
            if not hits and not any(r.kid == kid for r in revocations):
                revocations.append(Revocation(kid=kid, revoked_at=when))
        return TrustList(
            version=next_version,
            province=province,
            issued_at=issued_at,
            entries=tuple(entries),
            revocations=tuple(revocations),
            host=validate_host(host) if host else (base.host if base else None),
        )
    except ValueError as e:
        raise ReceiptError(str(e)) from e


def normalise_fingerprint(text: str) -> str:
    """``"A1B2 c3d4 …"`` -> ``"a1b2c3d4…"`` (16 hex digits), or ``ReceiptError``."""
    value = "".join(text.split()).replace(":", "").replace("-", "").lower()
    if len(value) != 16 or any(c not in "0123456789abcdef" for c in value):
        raise ReceiptError(
            t(
                "Dấu vân tay khóa gốc phải gồm 16 chữ số hệ 16, ví dụ «a1b2 c3d4 e5f6 0718»; "
                "nhận được «{v}».",
                v=text,
            )
        )
    return value


def _stored_root(desk: Desk) -> RootKey | None:
    raw = desk.setting(_SETTING_ROOT)
    if not raw:
        return None
    alg_s, _, pub_hex = raw.partition(":")
    try:
        return RootKey(alg=int(alg_s), public_key=bytes.fromhex(pub_hex))
    except (ValueError, TrustError) as e:
        raise ReceiptError(
            t("Khóa gốc đã ghim trong cơ sở dữ liệu bị hỏng: {e}", e=str(e))
        ) from None


def trust_bundle(desk: Desk) -> TrustBundle | None:
    """The imported trust list, re-verified against the pinned root; None if none imported."""
    root = _stored_root(desk)
    path = _dir(desk) / TRUST_FILE
    if root is None:
        return None
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ReceiptError(t("Không đọc được {path}: {e}", path=path, e=str(e))) from e
    min_version = int(desk.setting(_SETTING_VERSION, "0") or 0) or None
    try:
        bundle = read_trust_bundle(data, root, min_version=min_version)
        # Plus the revocations the pinned server signed since (services/lockdown.py).
        return replace(bundle, trust_list=with_downloaded_revocations(desk, bundle.trust_list))
    except TrustError as e:
        raise ReceiptError(
            t("Danh sách tin cậy đã lưu ({path}) không dùng được: {e}", path=path, e=str(e))
        ) from e


def trust_list(desk: Desk) -> TrustList | None:
    bundle = trust_bundle(desk)
    return bundle.trust_list if bundle else None


@dataclass(frozen=True)
class TrustImport:
    trust_list: TrustList
    root_fingerprint: str
    first_use: bool  # this import pinned the province root key
    own_entry: TrustEntry | None  # the desk key's entry, if the desk has a key and it is listed


def import_trust(
    desk: Desk,
    path: Path,
    pinned_root_fingerprint: str | None = None,
    *,
    allow_first_use: bool = False,
) -> TrustImport:
    """Verify and store a trust list from the province.

    After the first import the root key is pinned: later lists must be signed by it and be at
    least as new as the newest one seen. On the first import the list's root fingerprint must
    equal ``pinned_root_fingerprint`` (as announced by the province); without one it is
    accepted only with ``allow_first_use=True`` (the caller showed the fingerprint and the
    operator confirmed it). Pinning the root is an admin's act (``Permission.TRUST_ROOT``);
    anyone may import a later list, which must verify under the pinned root.
    """
    require_trust_import(desk)
    return _import_trust(desk, path, pinned_root_fingerprint, allow_first_use=allow_first_use)


def require_trust_import(desk: Desk) -> None:
    """Refuse a person's trust-list import that would pin the province root (no root pinned
    yet) unless their role holds ``Permission.TRUST_ROOT``; the CLI asks it before prompting."""
    if _stored_root(desk) is None:
        desk.require(Permission.TRUST_ROOT)


def import_trust_from_server(desk: Desk, path: Path) -> TrustImport:
    """A trust list that sync received over the channel signed by the server key an admin
    pinned at enrollment: no role check (whoever runs the sync), first use allowed."""
    return _import_trust(desk, path, None, allow_first_use=True)


def _import_trust(
    desk: Desk,
    path: Path,
    pinned_root_fingerprint: str | None,
    *,
    allow_first_use: bool,
) -> TrustImport:
    pinned = _stored_root(desk)
    # The version floor is kept in the database; a damaged or deleted trust.cbor must not
    # prevent importing a good list over it.
    floor = int(desk.setting(_SETTING_VERSION, "0") or 0)
    try:
        bundle = import_trust_file(path, pinned, min_version=floor or None)
    except TrustError as e:
        raise ReceiptError(str(e)) from e
    fingerprint = bundle.root.fingerprint()
    if pinned_root_fingerprint is not None:
        if normalise_fingerprint(pinned_root_fingerprint) != bundle.root.kid.hex():
            raise ReceiptError(
                t(
                    "Dấu vân tay khóa gốc của tệp ({fp}) khác dấu vân tay đã cho; "
                    "không nhập danh sách này.",
                    fp=fingerprint,
                )
            )
    elif pinned is None and not allow_first_use:
        raise ReceiptError(
            t(
                "Lần đầu nhập danh sách tin cậy: hãy đối chiếu dấu vân tay khóa gốc {fp} với "
                "dấu vân tay tỉnh đã công bố, rồi chạy lại với --pin «{fp}».",
                fp=fingerprint,
            )
        )
    tl = bundle.trust_list
    if tl.province != desk.identity.province_code:
        raise ReceiptError(
            t(
                "Danh sách tin cậy của tỉnh {a}, quầy này thuộc tỉnh {b}.",
                a=tl.province,
                b=desk.identity.province_code,
            )
        )
    target = _dir(desk, create=True) / TRUST_FILE
    try:
        write_public_file(target, bundle.raw)
    except OSError as e:
        raise ReceiptError(t("Không ghi được {path}: {e}", path=target, e=str(e))) from e
    if pinned is None:
        root = bundle.root
        desk.set_setting(_SETTING_ROOT, f"{root.alg}:{root.public_key.hex()}")
    desk.set_setting(_SETTING_VERSION, str(max(floor, tl.version)))
    return TrustImport(
        trust_list=tl,
        root_fingerprint=fingerprint,
        first_use=pinned is None,
        own_entry=own_entry(desk, tl),
    )


def own_entry(desk: Desk, tl: TrustList | None = None) -> TrustEntry | None:
    """The trust-list entry of this desk's key (active first), or None."""
    info = desk_key_info(desk)
    tl = tl if tl is not None else trust_list(desk)
    if info is None or tl is None:
        return None
    found = [e for e in tl.entries_for(info.kid) if e.public_key == info.public_key]
    found.sort(key=lambda e: e.status != STATUS_ACTIVE)
    return found[0] if found else None


def receipt_host(desk: Desk, tl: TrustList | None = None) -> str:
    """Host of the receipt URL: setting ``receipt_host``, else the trust list's, else default."""
    configured = desk.setting(SETTING_HOST).strip()
    if configured:
        try:
            return validate_host(configured)
        except ValueError as e:
            raise ReceiptError(str(e)) from e
    tl = tl if tl is not None else trust_list(desk)
    return tl.host if tl is not None and tl.host else DEFAULT_HOST


def ensure_demo_keys(desk: Desk, passphrase: str = DEMO_PASSPHRASE) -> bytes:
    """Give a demo desk everything to sign real receipts: a province root key (``root.key`` in
    the keys folder, which a real desk never has), the desk key, and a trust list from that
    root listing the desk key (valid for the past ten years, so the demo's back-dated dossiers
    verify). Idempotent; returns the desk key's kid. Never use this on a production desk."""
    folder = _dir(desk, create=True)
    ident = desk.identity
    root_path = folder / ROOT_KEY_FILE
    if not root_path.exists():
        create_root_key(root_path, passphrase, label=f"Khóa gốc tỉnh {ident.province_name} (DEMO)")
    if desk_key_info(desk) is None:
        create_desk_key(desk, passphrase)
    if own_entry(desk) is not None:
        info = desk_key_info(desk)
        assert info is not None
        return info.kid
    try:
        root = load_key_file(root_path, passphrase)
    except KeyFileError as e:
        raise ReceiptError(str(e)) from e
    bundle = trust_bundle(desk)
    base = bundle.trust_list if bundle and bundle.root == RootKey.of(root) else None
    now = desk.clock()
    tl = issue_trust_list(
        province=ident.province_code,
        issued_at=_epoch(now),
        requests=[parse_key_request(desk_public_export(desk))],
        host=None if base else DEFAULT_HOST,
        base=base,
        valid_from=_epoch(now - timedelta(days=3650)),
    )
    staging = folder / ".demo-trust.cbor"
    write_public_file(staging, make_trust_container(root, tl))
    try:
        import_trust(desk, staging, RootKey.of(root).fingerprint())
    finally:
        staging.unlink(missing_ok=True)
    info = desk_key_info(desk)
    assert info is not None
    return info.kid


def key_summary(desk: Desk) -> dict[str, Any]:
    """What ``onestop keys show`` prints: the desk key, the trust list, the receipt host."""
    info = desk_key_info(desk)
    bundle = trust_bundle(desk)
    tl = bundle.trust_list if bundle else None
    entry = own_entry(desk, tl)
    out: dict[str, Any] = {
        "keys_dir": str(_dir(desk)),
        "desk_key": None
        if info is None
        else {
            "kid": info.kid.hex(),
            "alg": ALG_NAMES.get(info.alg, str(info.alg)),
            "label": info.label,
            "path": str(desk_key_path(desk)),
        },
        "trust": None,
        "own_entry": None,
        "receipt_host": receipt_host(desk, tl),
    }
    if bundle is not None and tl is not None:
        out["trust"] = {
            "version": tl.version,
            "province": tl.province,
            "issued_at": datetime.fromtimestamp(tl.issued_at, VN_TZ)
            .replace(tzinfo=None)
            .isoformat(sep=" ", timespec="minutes"),
            "host": tl.host,
            "root_fingerprint": bundle.root.fingerprint(),
            "entries": len(tl.entries),
            "active": sum(1 for e in tl.entries if tl.revocation_time(e) is None),
            "revoked": [e.kid.hex() for e in tl.entries if tl.revocation_time(e) is not None]
            + [r.kid.hex() for r in tl.revocations],
        }
    if entry is not None and tl is not None:
        out["own_entry"] = {
            "status": "revoked" if tl.revocation_time(entry) is not None else "active",
            "commune": entry.commune,
            "unit_eid": entry.unit_eid,
            "desk_label": entry.desk_label,
        }
    return out
