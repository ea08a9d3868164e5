"""The province trust list: which desk keys may sign receipts, and which are revoked.

Two tiers, as in the EU DCC: the province root key (kept offline; a ``Signer``, so later an HSM
or token) signs a trust list; verifiers pin the root public key and need nothing else to check
any receipt of the province offline. Being on the current list is the validity test.

Signed payload (canonical CBOR, integer keys), inside a COSE_Sign1 with content type
``"onestop-trust/1"`` made by the root key::

    {1: version (int, monotonic), 2: province code ("38"), 3: issued_at (epoch s),
     4: [entry...], 5: [revocation...] [, 6: receipt host ("tracuu.thanhhoa.gov.vn")]}
    entry      = {1: kid (8 B), 2: alg, 3: public key bytes, 4: commune code, 5: desk label,
                  6: valid_from (epoch s), 7: valid_to (epoch s) / null,
                  8: "active" / "revoked", 9: revoked_at (epoch s) / null,
                  10: unit electronic ID ("000.00.14.H56")}
    revocation = {1: kid, 2: revoked_at (epoch s)}

The province issues one key per desk of a unit, so the unit electronic ID is a property of the
key: it lives in the entry (key 10), not in every receipt. A verifier rebuilds a receipt's full
dossier code from the entry that verified its signature (``RawClaims.with_unit``), which saves
the QR some 14-35 bytes and means a desk key can only ever vouch for its own unit's codes.

The optional host (key 6) is the verify host the province wants printed in receipt QR codes
(``https://<host>/r1#...``); desks take it from the list they imported unless configured
otherwise. It is signed like the rest, so nobody can point a province's receipts elsewhere.

File container (what ``export_trust_file`` writes and ``onestop keys import-trust`` reads),
canonical CBOR with text keys so a human with a CBOR dump tool can tell what it is::

    {"format": "onestop-trust/1",
     "root":   {"alg": -7, "pub": h'04…'},     # NOT trusted by itself, see below
     "signed": h'd2…'}                          # the COSE_Sign1 above

The embedded root key lets the very first import pin the province key (trust on first use):
``import_trust_file(path)`` with no pin verifies the signature with the embedded key and returns
it, and the caller shows ``RootKey.fingerprint()`` so the operator can compare it with the one
the province announced (phone, official letter). Every later import passes the pinned key(s)
and the embedded copy is ignored; a list signed by any other key is refused. Pins are a mapping
kid -> (alg, public key) so a root key rotation can pin old and new together.

Versions only go up: importing a version lower than the one already held is refused
(``min_version``), so an attacker cannot replay an older list from before a revocation.

Revocation semantics (see ``TrustList.revocation_time`` and ``verify.verify_receipt``): a key
revoked at time R still validates receipts whose signed "received" time (claim 7) is before R,
and rejects receipts claiming R or later. Old receipts of a retired desk stay valid that way.
The cost: whoever steals a key can back-date receipts to before R. Mitigations: the province
sets R to the last moment the key was known good (e.g. the desk's last synced event, not the
day the theft was reported), the sync log exposes receipts that were never logged, and
verifiers may pass ``strict_revocation=True`` to reject every receipt of a revoked key. An entry
with status "revoked" and no revoked_at is revoked since its valid_from, i.e. nothing it signed
is valid. A receipt claiming a time outside the entry's [valid_from, valid_to) is refused too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeAlias

import cbor2

from onestop.crypto.cose import MalformedError, parse_sign1, sign1, verify_sign1
from onestop.crypto.signer import (
    KID_LENGTH,
    SUPPORTED_ALGS,
    InvalidPublicKeyError,
    Signer,
    kid_for,
    public_key_from_bytes,
)
from onestop.domain.cbor import decode_cbor_strict
from onestop.domain.codes import validate_unit_eid
from onestop.domain.receipt import validate_host
from onestop.paths import write_atomically

__all__ = [
    "TRUST_CONTENT_TYPE",
    "TRUST_FILE_FORMAT",
    "RootKey",
    "RootPins",
    "Revocation",
    "TrustBundle",
    "TrustEntry",
    "TrustError",
    "TrustList",
    "export_trust_file",
    "import_trust_file",
    "load_trust_list",
    "make_trust_container",
    "read_trust_bundle",
    "sign_trust_list",
]

TRUST_CONTENT_TYPE: Final = "onestop-trust/1"
TRUST_FILE_FORMAT: Final = "onestop-trust/1"
STATUS_ACTIVE: Final = "active"
STATUS_REVOKED: Final = "revoked"
_MAX_FILE_BYTES: Final = 16 * 1024 * 1024

#: kid -> (alg, public key bytes) of the pinned province root key(s).
RootPins: TypeAlias = Mapping[bytes, tuple[int, bytes]]


class TrustError(Exception):
    """A trust list or trust file that must not be used; Vietnamese message for the operator."""


def _int(value: object, what: str, *, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 2**63:
        raise ValueError(f"{what} phải là số nguyên không âm.")
    return value


def _str(value: object, what: str, max_len: int = 200) -> str:
    if not isinstance(value, str) or len(value) > max_len:
        raise ValueError(f"{what} phải là chuỗi ký tự (tối đa {max_len}).")
    return value


@dataclass(frozen=True, slots=True)
class TrustEntry:
    """One desk (or official) key the province vouches for."""

    kid: bytes
    alg: int
    public_key: bytes
    commune: str
    unit_eid: str
    desk_label: str
    valid_from: int
    valid_to: int | None = None
    status: str = STATUS_ACTIVE
    revoked_at: int | None = None

    def __post_init__(self) -> None:
        if self.alg not in SUPPORTED_ALGS or isinstance(self.alg, bool):
            raise ValueError(f"Thuật toán {self.alg!r} không được hỗ trợ.")
        try:
            expected = kid_for(self.alg, self.public_key)
        except InvalidPublicKeyError as exc:
            raise ValueError(str(exc)) from exc
        if self.kid != expected:
            raise ValueError("Mã khóa (kid) không khớp với khóa công khai.")
        _str(self.commune, "Mã xã", 5)
        if not (self.commune.isascii() and self.commune.isdigit() and len(self.commune) == 5):
            raise ValueError("Mã xã phải gồm 5 chữ số.")
        # Canonical form only: one unit, one spelling (dossier codes are rebuilt from it).
        if validate_unit_eid(_str(self.unit_eid, "Mã định danh đơn vị", 35)) != self.unit_eid:
            raise ValueError(f"Mã định danh đơn vị {self.unit_eid!r} không ở dạng chuẩn.")
        _str(self.desk_label, "Nhãn quầy")
        _int(self.valid_from, "valid_from")
        valid_to = _int(self.valid_to, "valid_to", nullable=True)
        if valid_to is not None and valid_to <= self.valid_from:
            raise ValueError("valid_to phải sau valid_from.")
        if self.status not in (STATUS_ACTIVE, STATUS_REVOKED):
            raise ValueError(f"Trạng thái khóa {self.status!r} không hợp lệ.")
        revoked_at = _int(self.revoked_at, "revoked_at", nullable=True)
        if self.status == STATUS_ACTIVE and revoked_at is not None:
            raise ValueError("Khóa đang hoạt động không được có revoked_at.")

    @classmethod
    def for_key(
        cls,
        alg: int,
        public_key: bytes,
        *,
        commune: str,
        unit_eid: str,
        desk_label: str,
        valid_from: int,
        valid_to: int | None = None,
        status: str = STATUS_ACTIVE,
        revoked_at: int | None = None,
    ) -> TrustEntry:
        """An entry for a public key, active by default (the kid is computed)."""
        return cls(
            kid=kid_for(alg, public_key),
            alg=alg,
            public_key=public_key,
            commune=commune,
            unit_eid=unit_eid,
            desk_label=desk_label,
            valid_from=valid_from,
            valid_to=valid_to,
            status=status,
            revoked_at=revoked_at,
        )

    def to_map(self) -> dict[int, object]:
        return {
            1: self.kid,
            2: self.alg,
            3: self.public_key,
            4: self.commune,
            5: self.desk_label,
            6: self.valid_from,
            7: self.valid_to,
            8: self.status,
            9: self.revoked_at,
            10: self.unit_eid,
        }

    @classmethod
    def from_map(cls, value: object) -> TrustEntry:
        if not isinstance(value, dict) or set(value) != set(range(1, 11)):
            raise ValueError("Mục khóa phải có đúng các trường 1..10.")
        if not isinstance(value[1], bytes) or not isinstance(value[3], bytes):
            raise ValueError("kid và khóa công khai phải là chuỗi byte.")
        return cls(
            kid=value[1],
            alg=value[2],
            public_key=value[3],
            commune=value[4],
            unit_eid=value[10],
            desk_label=value[5],
            valid_from=value[6],
            valid_to=value[7],
            status=value[8],
            revoked_at=value[9],
        )


@dataclass(frozen=True, slots=True)
class Revocation:
    """A kid revoked at ``revoked_at`` (also covers kids no longer listed as entries)."""

    kid: bytes
    revoked_at: int

    def __post_init__(self) -> None:
        if not isinstance(self.kid, bytes) or len(self.kid) != KID_LENGTH:
            raise ValueError("kid thu hồi phải dài 8 byte.")
        _int(self.revoked_at, "revoked_at")


@dataclass(frozen=True, slots=True)
class TrustList:
    """The signed content of a trust list."""

    version: int
    province: str
    issued_at: int
    entries: tuple[TrustEntry, ...] = ()
    revocations: tuple[Revocation, ...] = ()
    #: Verify host for receipt QR codes chosen by the province (None: the desk's own setting).
    host: str | None = None
    _by_kid: dict[bytes, tuple[TrustEntry, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        object.__setattr__(self, "revocations", tuple(self.revocations))
        if _int(self.version, "Phiên bản") == 0:
            raise ValueError("Phiên bản danh sách tin cậy bắt đầu từ 1.")
        if not isinstance(self.province, str) or not (
            len(self.province) == 2 and self.province.isascii() and self.province.isdigit()
        ):
            raise ValueError("Mã tỉnh phải gồm 2 chữ số.")
        _int(self.issued_at, "issued_at")
        if self.host is not None and validate_host(self.host) != self.host:
            raise ValueError(f"Tên máy chủ {self.host!r} phải viết thường, không khoảng trắng.")
        by_kid: dict[bytes, list[TrustEntry]] = {}
        for entry in self.entries:
            if not isinstance(entry, TrustEntry):
                raise ValueError("entries phải là TrustEntry.")
            by_kid.setdefault(entry.kid, []).append(entry)
        for revocation in self.revocations:
            if not isinstance(revocation, Revocation):
                raise ValueError("revocations phải là Revocation.")
        object.__setattr__(self, "_by_kid", {k: tuple(v) for k, v in by_kid.items()})

    def entries_for(self, kid: bytes) -> tuple[TrustEntry, ...]:
        """Every entry with this kid (8-byte kids may collide; try them all)."""
        return self._by_kid.get(kid, ())

    def revocation_time(self, entry: TrustEntry) -> int | None:
        """Earliest moment the entry's key stopped being valid, or None if never revoked."""
        times = [r.revoked_at for r in self.revocations if r.kid == entry.kid]
        if entry.status == STATUS_REVOKED:
            times.append(entry.valid_from if entry.revoked_at is None else entry.revoked_at)
        return min(times) if times else None

    def to_map(self) -> dict[int, object]:
        out: dict[int, object] = {
            1: self.version,
            2: self.province,
            3: self.issued_at,
            4: [e.to_map() for e in self.entries],
            5: [{1: r.kid, 2: r.revoked_at} for r in self.revocations],
        }
        if self.host is not None:
            out[6] = self.host
        return out

    def to_cbor(self) -> bytes:
        return cbor2.dumps(self.to_map(), canonical=True)

    @classmethod
    def from_cbor(cls, data: bytes) -> TrustList:
        """Strict decode; ``TrustError`` on anything unexpected."""
        try:
            value = decode_cbor_strict(data, max_depth=4)
            if not isinstance(value, dict) or set(value) not in ({1, 2, 3, 4, 5}, set(range(1, 7))):
                raise ValueError("cần đúng các trường 1..5 (và 6 nếu có)")
            host = value.get(6)
            if 6 in value and not isinstance(host, str):
                raise ValueError("tên máy chủ phải là chuỗi ký tự")
            if not isinstance(value[4], list) or not isinstance(value[5], list):
                raise ValueError("trường 4 và 5 phải là mảng")
            revocations = []
            for item in value[5]:
                if not isinstance(item, dict) or set(item) != {1, 2}:
                    raise ValueError("mục thu hồi phải có trường 1 và 2")
                revocations.append(Revocation(kid=item[1], revoked_at=item[2]))
            return cls(
                version=value[1],
                province=value[2],
                issued_at=value[3],
                entries=tuple(TrustEntry.from_map(item) for item in value[4]),
                revocations=tuple(revocations),
                host=host,
            )
        except (MalformedError, ValueError, TypeError) as exc:
            raise TrustError(f"Nội dung danh sách tin cậy không hợp lệ: {exc}") from exc


@dataclass(frozen=True, slots=True)
class RootKey:
    """A province root public key."""

    alg: int
    public_key: bytes

    def __post_init__(self) -> None:
        try:
            public_key_from_bytes(self.alg, self.public_key)
        except InvalidPublicKeyError as exc:
            raise TrustError(f"Khóa gốc của tỉnh không hợp lệ: {exc}") from exc

    @property
    def kid(self) -> bytes:
        return kid_for(self.alg, self.public_key)

    def fingerprint(self) -> str:
        """The kid as 4 groups of 4 hex digits, for reading aloud over the phone."""
        h = self.kid.hex()
        return " ".join(h[i : i + 4] for i in range(0, len(h), 4))

    def as_pins(self) -> dict[bytes, tuple[int, bytes]]:
        return {self.kid: (self.alg, self.public_key)}

    @classmethod
    def of(cls, signer: Signer) -> RootKey:
        return cls(alg=signer.alg, public_key=signer.public_key_bytes())


@dataclass(frozen=True, slots=True)
class TrustBundle:
    """A verified trust list with the root key that verified it and the container bytes."""

    trust_list: TrustList
    root: RootKey
    raw: bytes


def sign_trust_list(root_signer: Signer, tl: TrustList) -> bytes:
    """The COSE_Sign1 bytes of ``tl``, signed by the province root key."""
    return sign1(root_signer, tl.to_cbor(), content_type=TRUST_CONTENT_TYPE)


def _container(root: RootKey, signed: bytes) -> bytes:
    return cbor2.dumps(
        {
            "format": TRUST_FILE_FORMAT,
            "root": {"alg": root.alg, "pub": root.public_key},
            "signed": signed,
        },
        canonical=True,
    )


def make_trust_container(root_signer: Signer, tl: TrustList) -> bytes:
    """Sign ``tl`` and wrap it in the file container (see the module docstring)."""
    return _container(RootKey.of(root_signer), sign_trust_list(root_signer, tl))


def _as_pins(pins: RootPins | RootKey | Iterable[RootKey] | None) -> RootPins | None:
    if pins is None or isinstance(pins, Mapping):
        return pins
    if isinstance(pins, RootKey):
        return pins.as_pins()
    merged: dict[bytes, tuple[int, bytes]] = {}
    for root in pins:
        merged.update(root.as_pins())
    return merged


def _split(data: bytes) -> tuple[bytes, RootKey | None]:
    """(COSE bytes, embedded root or None) from a container or a bare COSE_Sign1."""
    try:
        top = decode_cbor_strict(data, max_depth=6)
    except MalformedError as exc:
        raise TrustError("Tệp danh sách tin cậy không đúng định dạng (không phải CBOR).") from exc
    if isinstance(top, cbor2.CBORTag):
        return bytes(data), None
    if not isinstance(top, dict) or top.get("format") != TRUST_FILE_FORMAT:
        raise TrustError(f"Tệp danh sách tin cậy không đúng định dạng (cần '{TRUST_FILE_FORMAT}').")
    signed = top.get("signed")
    root = top.get("root")
    if not isinstance(signed, bytes) or not isinstance(root, dict):
        raise TrustError("Tệp danh sách tin cậy thiếu phần 'signed' hoặc 'root'.")
    alg, pub = root.get("alg"), root.get("pub")
    if not isinstance(alg, int) or isinstance(alg, bool) or not isinstance(pub, bytes):
        raise TrustError("Khóa gốc trong tệp danh sách tin cậy không hợp lệ.")
    return signed, RootKey(alg=alg, public_key=pub)


def read_trust_bundle(
    data: bytes,
    root_public_keys: RootPins | RootKey | Iterable[RootKey] | None = None,
    *,
    min_version: int | None = None,
) -> TrustBundle:
    """Verify a trust list (container or bare COSE) and return it with its root key.

    ``root_public_keys`` None means first use: trust the root embedded in the container (the
    caller must show ``bundle.root.fingerprint()`` to the operator and then pin it). With pins,
    the list must be signed by one of them. ``min_version`` refuses rollbacks.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TrustError("Danh sách tin cậy phải là chuỗi byte.")
    data = bytes(data)
    pins = _as_pins(root_public_keys)
    signed, embedded = _split(data)
    try:
        msg = parse_sign1(signed)
    except MalformedError as exc:
        raise TrustError(f"Chữ ký danh sách tin cậy không đúng định dạng: {exc}") from exc
    if msg.content_type != TRUST_CONTENT_TYPE:
        raise TrustError("Dữ liệu này không phải danh sách tin cậy (sai kiểu nội dung).")

    if pins is None:
        if embedded is None:
            raise TrustError("Chưa có khóa gốc của tỉnh để kiểm tra danh sách tin cậy.")
        root = embedded
        if root.kid != msg.kid:
            raise TrustError("Khóa gốc ghi trong tệp không phải khóa đã ký danh sách.")
    else:
        pinned = pins.get(msg.kid)
        if pinned is None:
            raise TrustError(
                "Danh sách tin cậy được ký bởi khóa gốc khác với khóa của tỉnh đã ghim "
                f"(kid {msg.kid.hex()})."
            )
        root = RootKey(alg=pinned[0], public_key=pinned[1])
    if root.alg != msg.alg or not verify_sign1(
        msg, public_key_from_bytes(root.alg, root.public_key)
    ):
        raise TrustError("Chữ ký của danh sách tin cậy không hợp lệ: tệp đã bị sửa hoặc giả mạo.")

    tl = TrustList.from_cbor(msg.payload)
    if min_version is not None and tl.version < min_version:
        raise TrustError(
            f"Danh sách tin cậy phiên bản {tl.version} cũ hơn phiên bản đang dùng ({min_version})."
        )
    return TrustBundle(trust_list=tl, root=root, raw=_container(root, signed))


def load_trust_list(
    data: bytes, root_public_keys: RootPins | RootKey | Iterable[RootKey] | None = None
) -> TrustList:
    """Verify and decode a trust list; see ``read_trust_bundle``."""
    return read_trust_bundle(data, root_public_keys).trust_list


def write_public_file(path: Path, data: bytes) -> None:
    """Write a public file (a trust list) atomically: temp file, fsync, rename, mode 0644."""
    # The trust list is public; 0644 so a verifier running as another user can read it.
    write_atomically(path, data, mode=0o644)


def export_trust_file(path: str | os.PathLike[str], root_signer: Signer, tl: TrustList) -> bytes:
    """Sign ``tl`` with the root key and write the container to ``path`` atomically."""
    data = make_trust_container(root_signer, tl)
    target = Path(path)
    try:
        write_public_file(target, data)
    except OSError as exc:
        raise TrustError(
            f"Không ghi được tệp danh sách tin cậy {target}: {exc.strerror or exc}."
        ) from exc
    return data


def import_trust_file(
    path: str | os.PathLike[str],
    pinned_root: RootPins | RootKey | Iterable[RootKey] | None = None,
    *,
    min_version: int | None = None,
) -> TrustBundle:
    """Read and verify a trust file. Store ``bundle.raw``; pin ``bundle.root`` on first use."""
    target = Path(path)
    try:
        with target.open("rb") as handle:
            data = handle.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError as exc:
        raise TrustError(f"Không tìm thấy tệp danh sách tin cậy {target}.") from exc
    except OSError as exc:
        raise TrustError(f"Không đọc được tệp {target}: {exc.strerror or exc}.") from exc
    if len(data) > _MAX_FILE_BYTES:
        raise TrustError("Tệp danh sách tin cậy quá lớn.")
    return read_trust_bundle(data, pinned_root, min_version=min_version)
