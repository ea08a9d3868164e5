"""Officials' digital signatures on slips and results (PAdES), at the desk.

Who signs what (the legal signer, never whoever happens to print):

* receipt, refusal, control slip: the receiving clerk; supplement request: the official who
  guided the applicant (forms/slips.py ``SIGNATURE_FIELDS``);
* apology/extension letter and stop notice: the head of the unit, with the agency seal;
* the result document: the decision maker (who recorded the decision), and optionally the
  agency's own signature with its seal (Decree 30/2020 Art. 8).

Where the keys are (beside the desk key, in the keys folder ``<db>.keys/``)::

    officials/<id>.json   one official: name, title, certificate chain, and either the key file
                          (onestop-key/1, encrypted under the official's own passphrase) or the
                          token configuration (PKCS#11 module path, token label, key label/id)
    province-ca.pem       the province CA certificate (demo and tests: issued from root.key)
    pdf-trust/            trust anchors for verify-pdf: the national CA roots the province
                          configures (*.pem / *.cer / *.crt), plus CRLs (*.crl) it hands out
    seal.png              the agency seal image put under the head's and the agency's signature

A slip is rendered unsigned with an empty signature field in its legal signer's block; if that
official's key is on this desk and the passphrase/PIN is given, the field is signed right away,
otherwise the slip says "(Chưa ký số)" and ``sign_document`` signs it later. Secrets are asked by
the caller (masked), used once and never stored.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from onestop.crypto import certs, pdfsign, pdfverify
from onestop.crypto import token as tok
from onestop.crypto.keys import KeyFileError, decrypt_key, encrypt_key, load_key_file
from onestop.crypto.signer import SoftwareSigner
from onestop.domain.clock import VN_TZ
from onestop.domain.events import EventKind
from onestop.forms.slips import SIGNATURE_FIELDS, SlipDocument, SlipKind
from onestop.i18n import t
from onestop.paths import write_atomically
from onestop.services.desk import S_HEAD_OF_UNIT, Desk, DeskError
from onestop.services.keys import DEMO_PASSPHRASE, ROOT_KEY_FILE, keys_dir

if TYPE_CHECKING:
    from onestop.forms.pdf_doc import SignatureBlock

__all__ = [
    "DEMO_TITLES",
    "Official",
    "Secret",
    "SignOffer",
    "SigningError",
    "SlipSigning",
    "enroll_software_official",
    "enroll_token_official",
    "ensure_demo_signing",
    "find_official",
    "legal_official",
    "no_secret",
    "officials",
    "province_ca",
    "result_signer",
    "sign_document",
    "sign_offer",
    "sign_slip_document",
    "trust_material",
    "verify_document",
]

OFFICIAL_FORMAT: Final = "onestop-official/1"
CA_FILE: Final = "province-ca.pem"
TRUST_DIR: Final = "pdf-trust"
SEAL_FILE: Final = "seal.png"
SOFTHSM_MODULES: Final = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)
RESULT_FIELD: Final = "ChuKySo_NguoiQuyetDinh"
AGENCY_FIELD: Final = "ChuKySo_CoQuan"
DEMO_TITLES: Final = {
    "clerk": "Công chức Bộ phận Một cửa",
    "specialist": "Chuyên viên",
    "leader": "Chủ tịch UBND xã",
    "admin": "Công chức Văn phòng",
}
_DEMO_TOKEN: Final = "onestop-demo"
_DEMO_PIN: Final = "123456"
_CERT_YEARS: Final = 3

#: Asks for an official's passphrase or token PIN (masked); None: not now (leave unsigned).
Secret = Callable[["Official"], str | None]


class SigningError(DeskError):
    """A refused signing operation; ``str(e)`` says why in Vietnamese; nothing was changed."""


@dataclass(frozen=True)
class Official:
    """An official whose signing key this desk knows."""

    id: str
    name: str
    title: str
    agency: str
    kind: str  # "software" | "token"
    chain: tuple[x509.Certificate, ...]  # the official's certificate first
    key_document: bytes = b""  # software: the onestop-key/1 document (encrypted)
    token: tok.TokenConfig | None = None

    @property
    def certificate(self) -> x509.Certificate:
        return self.chain[0]

    @property
    def secret_label(self) -> str:
        return t("mã PIN token") if self.kind == "token" else t("mật khẩu khóa ký số")


@dataclass(frozen=True)
class SlipSigning:
    """A slip after ``sign_slip_document``: its bytes and whether the legal signer signed."""

    pdf: bytes
    signed: bool
    signer: str  # the legal signer's name ("" when the form leaves it to be written by hand)
    reason: str  # why not signed (Vietnamese), "" when signed


def _dir(desk: Desk, *parts: str, create: bool = False) -> Path:
    path = keys_dir(desk.store.path).joinpath(*parts)
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _fold(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _slug(name: str) -> str:
    plain = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in plain if c.isascii())
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")
    return slug or "can-bo"


# ---------------------------------------------------------------------------- registry


def _official_from(path: Path) -> Official:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != OFFICIAL_FORMAT:
            raise ValueError("format")
        chain = tuple(certs.load_certificates(str(doc["chain"]).encode()))
        who = certs.official_name(chain[0])
        kind = str(doc["kind"])
        return Official(
            id=path.stem,
            name=who.name,
            title=who.title,
            agency=who.agency,
            kind=kind,
            chain=chain,
            key_document=str(doc.get("key") or "").encode(),
            token=tok.TokenConfig.from_json(doc["token"]) if kind == "token" else None,
        )
    except (OSError, ValueError, KeyError, TypeError, certs.CertError, tok.TokenError) as e:
        raise SigningError(
            t("Tệp khóa ký số của cán bộ {path} bị hỏng: {e}", path=path, e=str(e))
        ) from e


def officials(desk: Desk) -> list[Official]:
    """Every official with a signing key on this desk, by name."""
    folder = _dir(desk, "officials")
    if not folder.is_dir():
        return []
    return sorted((_official_from(p) for p in folder.glob("*.json")), key=lambda o: _fold(o.name))


def find_official(desk: Desk, name: str) -> Official | None:
    """The official named ``name`` (case and spacing ignored), or None."""
    wanted = _fold(name)
    if not wanted:
        return None
    return next((o for o in officials(desk) if _fold(o.name) == wanted), None)


def _save_official(desk: Desk, chain: Sequence[x509.Certificate], **doc: Any) -> Official:
    who = certs.official_name(chain[0])
    path = _dir(desk, "officials", create=True) / f"{_slug(who.name)}.json"
    document = {
        "format": OFFICIAL_FORMAT,
        "name": who.name,
        "title": who.title,
        "chain": certs.certificate_pem(chain).decode(),
        **doc,
    }
    write_atomically(
        path, (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode(), mode=0o600
    )
    return _official_from(path)


# ---------------------------------------------------------------------------- province CA


def province_ca(
    desk: Desk, root_passphrase: str | None = None, *, root: SoftwareSigner | None = None
) -> x509.Certificate | None:
    """The province CA certificate kept on this desk; made from ``root.key`` if the desk holds
    the root key (demo desk, the province's own machine) and ``root_passphrase`` is given."""
    path = _dir(desk, CA_FILE)
    if path.exists():
        try:
            return certs.load_certificates(path.read_bytes())[0]
        except (OSError, certs.CertError) as e:
            raise SigningError(t("Không đọc được {path}: {e}", path=path, e=str(e))) from e
    if root is None:
        if root_passphrase is None or not _dir(desk, ROOT_KEY_FILE).exists():
            return None
        root = _root_signer(desk, root_passphrase)
    root_key = certs.private_key_of(root)
    ca = certs.province_ca_certificate(
        root_key,
        province_name=f"Tỉnh {desk.identity.province_name}",
        not_before=_now(desk) - timedelta(days=3650),
        years=30,
    )
    _dir(desk, create=True)
    write_atomically(path, certs.certificate_pem([ca]), mode=0o644)
    return ca


def _root_signer(desk: Desk, passphrase: str) -> SoftwareSigner:
    if not _dir(desk, ROOT_KEY_FILE).exists():
        raise SigningError(
            t(
                "Quầy này không giữ khóa gốc của tỉnh nên không cấp được chứng thư số; chứng thư "
                "của cán bộ do tổ chức cung cấp dịch vụ chứng thực chữ ký số cấp trên token."
            )
        )
    try:
        return load_key_file(_dir(desk, ROOT_KEY_FILE), passphrase)
    except KeyFileError as e:
        raise SigningError(str(e)) from e


def _now(desk: Desk) -> datetime:
    now = desk.clock()
    return now.replace(tzinfo=VN_TZ) if now.tzinfo is None else now


def _issue(
    desk: Desk, root: SoftwareSigner, public: Any, *, name: str, title: str
) -> tuple[x509.Certificate, ...]:
    """Certificate chain for ``public``, issued with the unlocked root key (scrypt makes each
    unlock cost a tenth of a second, so callers that issue several certificates unlock once)."""
    ca = province_ca(desk, root=root)
    assert ca is not None  # made from ``root`` when missing
    key = certs.private_key_of(root)
    # Valid from well before the desk's history (the demo back-dates dossiers by months).
    start = min(_now(desk), datetime.now(VN_TZ)) - timedelta(days=400)
    cert = certs.issue_official_certificate(
        key,
        ca,
        public,
        name=name,
        title=title,
        agency=desk.identity.agency_name,
        not_before=start,
        not_after=datetime.now(VN_TZ) + timedelta(days=365 * _CERT_YEARS),
    )
    return (cert, ca)


def enroll_software_official(
    desk: Desk,
    *,
    name: str,
    title: str,
    passphrase: str,
    root_passphrase: str,
    scrypt_cost: int | None = None,
) -> Official:
    """A software signing key for ``name`` (encrypted under the official's ``passphrase``),
    with a certificate from the province CA held on this desk (demo, tests, training)."""
    return _enroll_software(
        desk,
        _root_signer(desk, root_passphrase),
        name=name,
        title=title,
        passphrase=passphrase,
        cost=scrypt_cost,
    )


def _enroll_software(
    desk: Desk, root: SoftwareSigner, *, name: str, title: str, passphrase: str, cost: int | None
) -> Official:
    signer = SoftwareSigner.generate()
    chain = _issue(desk, root, certs.private_key_of(signer).public_key(), name=name, title=title)
    scrypt_cost = cost
    try:
        key = encrypt_key(
            signer,
            passphrase,
            label=f"Khóa ký số - {name}",
            **({"scrypt_n": scrypt_cost} if scrypt_cost else {}),
        )
    except KeyFileError as e:
        raise SigningError(str(e)) from e
    return _save_official(desk, chain, kind="software", key=key.decode())


def enroll_token_official(
    desk: Desk,
    config: tok.TokenConfig,
    pin: str,
    *,
    chain: Sequence[x509.Certificate] = (),
) -> Official:
    """Register an official's token: probe the module in a child process, log in with ``pin``,
    read the certificate on the token (name and title come from it). ``chain``: the issuing
    CA certificates, if the token does not carry them."""
    result = tok.probe_module(config.module, env=config.env)
    _PROBED.add((str(config.module), config.env))
    if not any(
        (not config.token_label or tk.label == config.token_label)
        and (config.slot is None or tk.slot == config.slot)
        for tk in result.tokens
    ):
        raise SigningError(
            t("Không thấy token «{label}» trong máy.", label=config.token_label or "?")
        )
    with tok.open_session(config, pin) as session:
        der = tok.read_certificate(session, config)
    cert = x509.load_der_x509_certificate(der)
    return _save_official(desk, (cert, *chain), kind="token", token=config.to_json())


# ---------------------------------------------------------------------------- demo


def softhsm_module() -> Path | None:
    """The SoftHSM2 PKCS#11 module, if installed (tests and the demo use it as the token)."""
    return next((Path(p) for p in SOFTHSM_MODULES if Path(p).is_file()), None)


def _demo_token(desk: Desk) -> tok.TokenConfig | None:
    """A SoftHSM2 token in the demo desk's keys folder, or None without SoftHSM2."""
    module = softhsm_module()
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        return None
    folder = _dir(desk, "softhsm", create=True)
    tokens = folder / "tokens"
    tokens.mkdir(mode=0o700, exist_ok=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n",
        encoding="utf-8",
    )
    env = (("SOFTHSM2_CONF", str(conf)),)
    if not any(tokens.iterdir()):
        done = subprocess.run(  # noqa: S603 - fixed tool and arguments
            [
                util,
                "--init-token",
                "--free",
                "--label",
                _DEMO_TOKEN,
                "--so-pin",
                _DEMO_PIN + "00",
                "--pin",
                _DEMO_PIN,
            ],
            env={"SOFTHSM2_CONF": str(conf), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            return None
    return tok.TokenConfig(module=module, token_label=_DEMO_TOKEN, env=env)


def _demo_token_official(
    desk: Desk, root: SoftwareSigner, base: tok.TokenConfig, name: str, title: str, key_id: bytes
) -> Official:
    config = tok.TokenConfig(
        module=base.module,
        token_label=base.token_label,
        key_label=_slug(name),
        key_id=key_id,
        env=base.env,
    )
    with tok.open_session(config, _DEMO_PIN, rw=True) as session:
        spki = tok.generate_p256_key(session, label=config.key_label, key_id=key_id)
        public = serialization.load_der_public_key(spki)
        chain = _issue(desk, root, public, name=name, title=title)
        tok.store_certificate(
            session,
            chain[0].public_bytes(serialization.Encoding.DER),
            label=config.key_label,
            key_id=key_id,
            subject=chain[0].subject.public_bytes(),
        )
    return _save_official(desk, chain, kind="token", token=config.to_json())


def ensure_demo_signing(
    desk: Desk,
    people: Sequence[tuple[str, str]],
    *,
    use_token: bool = True,
    on_token: Sequence[str] = (),
) -> list[Official]:
    """Give a demo desk signing keys for ``people`` ((name, title) pairs), plus the province CA
    certificate and a seal image. The officials named in ``on_token`` get their key generated
    on a SoftHSM2 token when it is installed (PIN 123456); the others, and everyone without
    SoftHSM2, software keys under the demo passphrase. Key generation on SoftHSM2 costs about
    0.3 s per key plus 0.2 s to store the certificate (measured, file backend), which is why
    the demo keeps the token for the leader. Idempotent. Never on a production desk."""
    missing = [(n, title) for n, title in people if find_official(desk, n) is None]
    if not missing:
        return [o for n, _title in people if (o := find_official(desk, n)) is not None]
    if not _dir(desk, ROOT_KEY_FILE).exists():
        raise SigningError(t("Quầy mẫu chưa có khóa gốc của tỉnh (chạy lại onestop demo)."))
    root = _root_signer(desk, DEMO_PASSPHRASE)
    province_ca(desk, root=root)
    seal = _dir(desk, SEAL_FILE)
    if not seal.exists():
        write_atomically(seal, demo_seal_png(desk.identity.agency_name), mode=0o644)
    token_names = {_fold(n) for n in on_token}
    token = _demo_token(desk) if use_token and token_names else None
    out = []
    for i, (name, title) in enumerate(people, start=1):
        found = find_official(desk, name)
        if found is not None:
            out.append(found)
        elif token is not None and _fold(name) in token_names:
            out.append(_demo_token_official(desk, root, token, name, title, bytes([i])))
        else:
            out.append(
                _enroll_software(
                    desk, root, name=name, title=title, passphrase=DEMO_PASSPHRASE, cost=2**10
                )
            )
    return out


def demo_secret(official: Official) -> str:
    """The demo secret of a demo official (token PIN or key passphrase)."""
    return _DEMO_PIN if official.kind == "token" else DEMO_PASSPHRASE


def demo_seal_png(agency: str) -> bytes:
    """A plain red round seal for the demo (a real desk is given the agency's seal image)."""
    import io

    from PIL import Image, ImageDraw

    size = 240
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (205, 20, 30, 230)
    draw.ellipse((6, 6, size - 6, size - 6), outline=red, width=10)
    draw.ellipse((34, 34, size - 34, size - 34), outline=red, width=4)
    c = size / 2
    star = [
        (c + r * _cos(a), c - r * _sin(a))
        for k in range(10)
        for r, a in [((46 if k % 2 == 0 else 18), 90 + 36 * k)]
    ]
    draw.polygon(star, fill=red)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _cos(deg: float) -> float:
    import math

    return math.cos(math.radians(deg))


def _sin(deg: float) -> float:
    import math

    return math.sin(math.radians(deg))


# ---------------------------------------------------------------------------- signing


def _seal(desk: Desk) -> bytes | None:
    path = _dir(desk, SEAL_FILE)
    try:
        return path.read_bytes() if path.exists() else None
    except OSError:
        return None


#: Modules that answered a probe in this process. Once a module has been probed it is loaded
#: in-process for signing, so probing it again would protect nothing and cost a child process.
_PROBED: set[tuple[str, tuple[tuple[str, str], ...]]] = set()


def _probe_once(config: tok.TokenConfig) -> None:
    key = (str(config.module), config.env)
    if key not in _PROBED:
        tok.probe_module(config.module, env=config.env)
        _PROBED.add(key)


def _pdf_key(desk: Desk, official: Official, secret: str) -> pdfsign.PdfKey:
    chain = official.chain[1:]
    if official.kind == "token":
        assert official.token is not None
        _probe_once(official.token)
        return pdfsign.TokenPdfKey(official.token, secret, chain)
    try:
        signer = decrypt_key(official.key_document, secret)
    except KeyFileError as e:
        raise SigningError(
            t("Không mở được khóa ký số của {name}: {e}", name=official.name, e=str(e))
        ) from e
    try:
        return pdfsign.SoftwarePdfKey(
            certs.private_key_of(signer), official.certificate, official.chain[1:]
        )
    except pdfsign.PdfSignError as e:
        raise SigningError(str(e)) from e


def _sign_bytes(
    desk: Desk,
    data: bytes,
    official: Official,
    secret: str,
    *,
    field: str,
    box: pdfsign.SignatureBox | None,
    seal: bool,
    reason: str,
) -> bytes:
    # A desk the province locked (revoked key, stolen laptop) signs nothing, with any key.
    from onestop.services.lockdown import check_signing

    check_signing(desk)
    key = _pdf_key(desk, official, secret)
    appearance = pdfsign.Appearance(
        name=official.name,
        title=official.title,
        seal_png=_seal(desk) if seal else None,
        reason=reason,
        location=desk.identity.commune_name,
    )
    try:
        return pdfsign.sign_pdf(data, key, field_name=field, appearance=appearance, box=box)
    except (pdfsign.PdfSignError, tok.TokenError) as e:
        raise SigningError(str(e)) from e


def _box(block: SignatureBlock) -> pdfsign.SignatureBox:
    x1, y1, x2, y2 = block.rect_pt()
    return pdfsign.SignatureBox(block.page, x1, y1, x2, y2)


def _with_empty_fields(data: bytes, blocks: Sequence[SignatureBlock]) -> bytes:
    for block in blocks:
        data = pdfsign.add_signature_field(data, block.field, _box(block), signer=block.signer)
    return data


def sign_slip_document(
    desk: Desk, doc: SlipDocument, kind: SlipKind, secret: Secret | None
) -> SlipSigning:
    """Give a rendered slip its signature field(s) and sign them where the legal signer's key
    is here and ``secret`` yields its passphrase/PIN. Unsigned fields stay for later."""
    blocks = [b for b in doc.blocks if b.field == SIGNATURE_FIELDS[kind]]
    try:
        data = _with_empty_fields(doc.pdf, blocks)
    except pdfsign.PdfSignError as e:
        raise SigningError(str(e)) from e
    if not blocks:
        return SlipSigning(data, False, "", t("Phiếu không có ô chữ ký số."))
    block = blocks[0]
    if not block.signer.strip():
        return SlipSigning(
            data,
            False,
            "",
            t("Chưa ký số: phiếu chưa có tên người ký (đặt tên thủ trưởng trong slip-settings)."),
        )
    official = find_official(desk, block.signer)
    if official is None:
        return SlipSigning(
            data,
            False,
            block.signer,
            t(
                "Chưa ký số: khóa ký số của {name} không có ở quầy này; phiếu có thể ký sau "
                "(onestop sign-pdf).",
                name=block.signer,
            ),
        )
    value = secret(official) if secret is not None else None
    if value is None:
        return SlipSigning(
            data, False, block.signer, t("Chưa ký số: chưa nhập mã PIN/mật khẩu ký số.")
        )
    signed = _sign_bytes(
        desk,
        data,
        official,
        value,
        field=block.field,
        box=None,
        seal=block.seal,
        reason=t("Ký {kind}", kind=kind.value),
    )
    return SlipSigning(signed, True, official.name, "")


def no_secret(official: Official) -> None:
    """A ``Secret`` that never gives one: the slip stays "(Chưa ký số)" (even on a demo desk)."""
    return None


@dataclass(frozen=True)
class SignOffer:
    """The person at the desk is the legal signer of a slip and their key is here: what the
    PIN/passphrase prompt shows before asking (a token's label and what it says of its PIN)."""

    official: Official
    token_label: str = ""  # "" for a software key
    pin_state: str = ""  # the token's PIN flags as a sentence ("" for a software key)
    locked: bool = False  # the token's PIN is locked: no use asking for it
    problem: str = ""  # the token could not be read (not plugged in, broken module), why


def legal_official(desk: Desk, doc: SlipDocument, kind: SlipKind) -> Official | None:
    """The official to ask for a PIN/passphrase to sign slip ``doc`` now, if any.

    Only when the person at the desk IS its legal signer (a clerk printing the head's apology
    letter is not offered the head's key: it prints "(Chưa ký số)" for the head to sign later)
    and that official's key is on this desk. Never on a demo desk, which signs with the
    published demo secrets by itself (``receipts.sign_slip``). Cheap: no token is touched."""
    if desk.setting("demo") == "1":
        return None
    field = SIGNATURE_FIELDS[kind]
    block = next((b for b in doc.blocks if b.field == field), None)
    if block is None or not block.signer.strip() or _fold(block.signer) != _fold(desk.actor):
        return None
    return find_official(desk, block.signer)


def sign_offer(official: Official) -> SignOffer:
    """What to show before asking ``official``'s secret: for a token, its label and PIN state
    from a probe in a child process (with a timeout: up to ``token.PROBE_TIMEOUT`` seconds on
    a hung vendor module), so call it off the UI thread."""
    if official.kind != "token" or official.token is None:
        return SignOffer(official)
    config = official.token
    try:
        result = tok.probe_module(config.module, env=config.env)
    except tok.TokenError as e:
        return SignOffer(official, token_label=config.token_label, problem=str(e))
    _PROBED.add((str(config.module), config.env))
    found = next(
        (
            x
            for x in result.tokens
            if (not config.token_label or x.label == config.token_label)
            and (config.slot is None or x.slot == config.slot)
        ),
        None,
    )
    if found is None:
        return SignOffer(
            official,
            token_label=config.token_label,
            problem=t(
                "Không thấy token «{label}» trong máy: cắm token vào cổng USB rồi thử lại.",
                label=config.token_label or "?",
            ),
        )
    return SignOffer(
        official, token_label=found.label, pin_state=found.pin_state, locked=found.locked
    )


def result_signer(desk: Desk, code: str) -> str:
    """The decision maker of dossier ``code``: who recorded the decision (RESOLVE)."""
    found = [e for e in desk.history(code) if e.kind == EventKind.RESOLVE]
    if not found:
        raise SigningError(
            t("Hồ sơ {code} chưa có quyết định giải quyết nên chưa có kết quả để ký.", code=code)
        )
    return found[-1].actor


def _last_page_box(data: bytes, *, agency: bool) -> pdfsign.SignatureBox:
    import io

    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            count = len(pdf.pages)
            llx, lly, urx, ury = (float(v) for v in pdf.pages[-1].mediabox)
    except pikepdf.PdfError as e:
        raise SigningError(t("Tệp PDF bị hỏng, không đọc được: {e}", e=str(e))) from e
    width, height = urx - llx, ury - lly
    box_w, box_h = min(220.0, width * 0.42), 62.0
    x1 = llx + width * 0.05 if agency else urx - width * 0.05 - box_w
    y1 = lly + height * 0.05
    return pdfsign.SignatureBox(count - 1, x1, y1, x1 + box_w, y1 + box_h)


def sign_document(
    desk: Desk,
    data: bytes,
    secret: Secret,
    *,
    code: str = "",
    signer: str = "",
    agency: bool = False,
) -> bytes:
    """Sign an existing document later: a slip with an empty signature field (its legal
    signer, or ``signer``), or a result of dossier ``code`` (the decision maker; with
    ``agency`` the agency's second signature, with the seal). Returns checked signed bytes."""
    try:
        fields = pdfsign.signature_fields(data)
    except pdfsign.PdfSignError as e:
        raise SigningError(str(e)) from e
    empty = [f.name for f in fields if not f.signed]
    hints = {f.name: f.signer for f in fields}
    seal = False
    box: pdfsign.SignatureBox | None = None
    if agency:
        field = AGENCY_FIELD
        who = signer or desk.identity.agency_name
        seal = True
        if field not in empty:
            box = _last_page_box(data, agency=True)
    elif empty and not code:
        field = empty[0]
        who = signer or hints.get(field, "")
        seal = field == SIGNATURE_FIELDS[SlipKind.APOLOGY]
        if not who:
            raise SigningError(
                t("Hãy cho biết người ký (--signer) cho ô chữ ký «{field}».", field=field)
            )
    else:
        if not code and fields:
            raise SigningError(
                t(
                    "Các ô chữ ký của văn bản này đều đã được ký ({names}).",
                    names=", ".join(f.name for f in fields),
                )
            )
        if not code:
            raise SigningError(
                t("Văn bản không có ô chữ ký trống; với văn bản kết quả hãy cho mã hồ sơ (--code).")
            )
        field = RESULT_FIELD
        who = signer or result_signer(desk, code)
        if field not in empty:
            box = _last_page_box(data, agency=False)
    if any(f.name == field and f.signed for f in fields):
        raise SigningError(t("Ô chữ ký «{field}» đã được ký.", field=field))
    official = find_official(desk, who)
    if official is None:
        raise SigningError(
            t(
                "Khóa ký số của {name} không có ở quầy này: cắm token của người ký hoặc đăng ký "
                "khóa (onestop signer add-token) rồi ký lại.",
                name=who,
            )
        )
    value = secret(official)
    if value is None:
        raise SigningError(t("Chưa nhập mã PIN/mật khẩu ký số: văn bản chưa được ký."))
    return _sign_bytes(
        desk,
        data,
        official,
        value,
        field=field,
        box=box,
        seal=seal,
        reason=t("Ký kết quả giải quyết hồ sơ {code}", code=code) if code else "",
    )


# ---------------------------------------------------------------------------- verifying


def trust_material(
    keys: Path | None, extra: Sequence[Path] = ()
) -> tuple[list[x509.Certificate], list[x509.CertificateRevocationList]]:
    """Trust anchors and CRLs: the province CA and ``pdf-trust/`` folder of the keys folder
    ``keys`` (``keys_dir(db)``; no desk login needed), plus files given on the command line
    (certificates or CRLs, PEM or DER)."""
    roots: list[x509.Certificate] = []
    crls: list[x509.CertificateRevocationList] = []
    paths: list[Path] = list(extra)
    if keys is not None:
        ca = keys / CA_FILE
        if ca.exists():
            paths.append(ca)
        folder = keys / TRUST_DIR
        if folder.is_dir():
            paths.extend(sorted(p for p in folder.iterdir() if p.is_file()))
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise SigningError(t("Không đọc được {path}: {e}", path=path, e=str(e))) from e
        if path.suffix.lower() == ".crl" or b"X509 CRL" in data[:64]:
            try:
                crls.append(
                    x509.load_pem_x509_crl(data)
                    if data.lstrip().startswith(b"-----")
                    else x509.load_der_x509_crl(data)
                )
            except ValueError as e:
                raise SigningError(
                    t("Tệp {path} không phải danh sách thu hồi (CRL).", path=path)
                ) from e
            continue
        try:
            roots.extend(certs.load_certificates(data))
        except certs.CertError as e:
            raise SigningError(f"{path}: {e}") from e
    return roots, crls


def verify_document(
    data: bytes, desk: Desk | None, extra: Sequence[Path] = ()
) -> pdfverify.PdfReport:
    roots, crls = trust_material(keys_dir(desk.store.path) if desk else None, extra)
    return pdfverify.verify_pdf(data, roots, crls)


def revoke_certificate(desk: Desk, serial: int, root_passphrase: str) -> Path:
    """Province side (demo): add ``serial`` to the province CRL in ``pdf-trust/province.crl``."""
    ca = province_ca(desk, root_passphrase)
    if ca is None:
        raise SigningError(t("Quầy này không giữ khóa gốc của tỉnh."))
    path = _dir(desk, TRUST_DIR, create=True) / "province.crl"
    revoked: list[tuple[int, datetime]] = []
    if path.exists():
        old = x509.load_pem_x509_crl(path.read_bytes())
        revoked = [(r.serial_number, r.revocation_date_utc) for r in old]
    now = datetime.now(VN_TZ)
    revoked.append((serial, now - timedelta(seconds=1)))
    crl = certs.revocation_list(
        certs.private_key_of(_root_signer(desk, root_passphrase)),
        ca,
        revoked,
        issued_at=now - timedelta(minutes=1),
        next_update=now + timedelta(days=30),
    )
    write_atomically(path, crl.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return path


def ensure_head_of_unit(desk: Desk, name: str) -> None:
    """Demo: name the head of the unit (who signs the apology letter and stop notice)."""
    if not desk.setting(S_HEAD_OF_UNIT).strip():
        desk.set_setting(S_HEAD_OF_UNIT, name)
