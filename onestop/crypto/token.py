"""PKCS#11 tokens: probing a vendor module safely, opening a session, keys on the token.

An official's certificate lives on a USB token; the token vendor ships a PKCS#11 module
(``viettel-ca_v6.dll``, ``vnpt-ca_csp11.dll``, SafeNet ``eTPKCS11.dll``, SoftHSM2's
``libsofthsm2.so`` in the tests and the demo). The desk is configured with its path.

Why the probe runs in a child process: loading a module runs the vendor's code inside our
process; a wrong module (32-bit on 64-bit Python, another vendor's, a broken driver) can hang
in ``C_Initialize`` or crash the interpreter, and python-pkcs11 keeps one module per process,
so a bad one cannot even be unloaded. ``probe_module`` starts ``python -m
onestop.crypto._pkcs11_probe`` with a timeout, reads one JSON line back and kills the child if
it hangs: the desk keeps working whatever the module does. Only a module that answered the
probe is then loaded in the desk process for signing (``open_session``).

PIN handling: the PIN is asked by the caller (masked), passed straight to ``C_Login`` and never
stored or logged. PKCS#11 does not report a number of tries; tokens report flags instead
(CKF_USER_PIN_COUNT_LOW: a wrong PIN was entered since the last good one, CKF_USER_PIN_FINAL_TRY:
one try left, CKF_USER_PIN_LOCKED: locked), and ``pin_state`` turns them into a sentence. The
desk counts the wrong PINs of its own session on top (``PinCounter``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from pkcs11 import Session

__all__ = [
    "PIN_COUNT_LOW",
    "PIN_FINAL_TRY",
    "PIN_LOCKED",
    "PinCounter",
    "ProbeResult",
    "TokenConfig",
    "TokenError",
    "TokenInfo",
    "TokenPinError",
    "TokenRemovedError",
    "load_pkcs11",
    "open_session",
    "pin_state",
    "probe_module",
]

PIN_COUNT_LOW: Final = 0x00010000
PIN_FINAL_TRY: Final = 0x00020000
PIN_LOCKED: Final = 0x00040000
#: Seconds a vendor module may take to list its tokens before the probe gives up on it.
PROBE_TIMEOUT: Final = 15.0
_MISSING = (
    "Chưa cài gói python-pkcs11 nên không dùng được token ký số; cài lại onestop "
    "(pip install onestop) hoặc chạy «pip install python-pkcs11»."
)


class TokenError(Exception):
    """A token or module problem, with a Vietnamese message a clerk can act on."""


class TokenPinError(TokenError):
    """Wrong or locked PIN; ``state`` is what the token says about the tries left."""

    def __init__(self, message: str, *, wrong_count: int = 0, locked: bool = False) -> None:
        super().__init__(message)
        self.wrong_count = wrong_count
        self.locked = locked


class TokenRemovedError(TokenError):
    """The token went away (pulled out) before or during signing: nothing was signed."""


@dataclass(frozen=True, slots=True)
class TokenConfig:
    """Where an official's key is: module path, and which token/slot and key on it."""

    module: Path
    token_label: str = ""
    slot: int | None = None
    key_label: str = ""
    key_id: bytes = b""
    #: Environment the module needs (SoftHSM2 finds its token folder through SOFTHSM2_CONF).
    env: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "module": str(self.module),
            "token_label": self.token_label,
            "slot": self.slot,
            "key_label": self.key_label,
            "key_id": self.key_id.hex(),
            "env": dict(self.env),
        }

    @classmethod
    def from_json(cls, value: object) -> TokenConfig:
        if not isinstance(value, dict) or not isinstance(value.get("module"), str):
            raise TokenError("Cấu hình token không hợp lệ: thiếu đường dẫn thư viện PKCS#11.")
        slot = value.get("slot")
        env = value.get("env") or {}
        if not isinstance(env, dict):
            raise TokenError("Cấu hình token không hợp lệ: biến môi trường phải là bảng.")
        try:
            return cls(
                module=Path(value["module"]),
                token_label=str(value.get("token_label") or ""),
                slot=int(slot) if slot is not None else None,
                key_label=str(value.get("key_label") or ""),
                key_id=bytes.fromhex(str(value.get("key_id") or "")),
                env=tuple((str(k), str(v)) for k, v in sorted(env.items())),
            )
        except (TypeError, ValueError) as exc:
            raise TokenError("Cấu hình token không hợp lệ.") from exc


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One token as the probe saw it."""

    slot: int
    label: str
    manufacturer: str
    model: str
    serial: str
    flags: int

    @property
    def pin_state(self) -> str:
        return pin_state(self.flags)

    @property
    def locked(self) -> bool:
        return bool(self.flags & PIN_LOCKED)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    module: Path
    library: str  # the module's own description (manufacturer, version)
    tokens: tuple[TokenInfo, ...] = field(default_factory=tuple)


def pin_state(flags: int) -> str:
    """What the token's flags say about the PIN tries left, as a sentence."""
    if flags & PIN_LOCKED:
        return (
            "Mã PIN đã bị khóa do nhập sai quá số lần cho phép; liên hệ nơi cấp token để mở khóa."
        )
    if flags & PIN_FINAL_TRY:
        return "Chỉ còn MỘT lần nhập mã PIN; nhập sai nữa token sẽ bị khóa."
    if flags & PIN_COUNT_LOW:
        return "Đã có lần nhập sai mã PIN; số lần thử còn lại đang ít."
    return "Mã PIN chưa bị nhập sai lần nào gần đây."


def _check_module_path(module: Path) -> Path:
    path = Path(module).expanduser()
    if not path.is_file():
        raise TokenError(
            f"Không tìm thấy thư viện PKCS#11 {path}: kiểm tra đường dẫn (tệp .dll/.so/.dylib "
            "do hãng token cung cấp, ví dụ viettel-ca_v6.dll)."
        )
    return path


def probe_module(
    module: Path, *, timeout: float = PROBE_TIMEOUT, env: tuple[tuple[str, str], ...] = ()
) -> ProbeResult:
    """List the tokens of a PKCS#11 module from a child process (see the module docstring)."""
    path = _check_module_path(module)
    command = [sys.executable, "-m", "onestop.crypto._pkcs11_probe", str(path)]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
            command,
            capture_output=True,
            timeout=timeout,
            env=os.environ.copy() | dict(env),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TokenError(
            f"Thư viện PKCS#11 {path.name} không phản hồi sau {timeout:g} giây (đã dừng): có thể "
            "sai thư viện, driver token bị treo hoặc token đang bận. Rút token ra, cắm lại và "
            "thử lại; quầy vẫn làm việc bình thường."
        ) from exc
    except OSError as exc:
        raise TokenError(f"Không chạy được bước kiểm tra token: {exc.strerror or exc}.") from exc
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        answer = None
    if done.returncode != 0 or not isinstance(answer, dict):
        if isinstance(answer, dict) and isinstance(answer.get("error"), str):
            raise TokenError(answer["error"])
        raise TokenError(
            f"Thư viện PKCS#11 {path.name} bị lỗi khi nạp (mã thoát {done.returncode}): có thể "
            "không đúng thư viện của token, hoặc khác kiến trúc 32/64-bit với chương trình. "
            "Quầy vẫn làm việc bình thường."
        )
    tokens = tuple(
        TokenInfo(
            slot=int(t["slot"]),
            label=str(t["label"]),
            manufacturer=str(t["manufacturer"]),
            model=str(t["model"]),
            serial=str(t["serial"]),
            flags=int(t["flags"]),
        )
        for t in answer.get("tokens", [])
    )
    return ProbeResult(module=path, library=str(answer.get("library", "")), tokens=tokens)


def load_pkcs11() -> Any:
    """The ``pkcs11`` package, or a ``TokenError`` saying how to install it."""
    try:
        import pkcs11
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise TokenError(_MISSING) from exc
    return pkcs11


class PinCounter:
    """Wrong PINs typed at this desk per token serial, for the message (the token counts too)."""

    def __init__(self) -> None:
        self._wrong: dict[str, int] = {}

    def wrong(self, serial: str) -> int:
        self._wrong[serial] = self._wrong.get(serial, 0) + 1
        return self._wrong[serial]

    def reset(self, serial: str) -> None:
        self._wrong.pop(serial, None)


PIN_COUNTER: Final = PinCounter()


def removed_message() -> str:
    return (
        "Token ký số đã bị rút ra hoặc mất kết nối trong khi ký: văn bản KHÔNG được ký và không "
        "có tệp nào bị thay đổi. Cắm lại token rồi ký lại."
    )


def _find_token(lib: Any, config: TokenConfig) -> Any:
    pkcs11 = load_pkcs11()
    for slot in lib.get_slots(token_present=True):
        if config.slot is not None and slot.slot_id != config.slot:
            continue
        try:
            token = slot.get_token()
        except pkcs11.exceptions.PKCS11Error:
            continue
        if config.token_label and token.label != config.token_label:
            continue
        return token
    wanted = f" «{config.token_label}»" if config.token_label else ""
    raise TokenRemovedError(
        f"Không thấy token{wanted} trong máy: cắm token vào cổng USB rồi thử lại."
    )


@contextmanager
def open_session(config: TokenConfig, pin: str, *, rw: bool = False) -> Iterator[Session]:
    """A logged-in session on the configured token (closed on exit; the PIN is not kept).

    Probe the module with ``probe_module`` first: this loads it into the desk process.
    """
    pkcs11 = load_pkcs11()
    exc_mod = pkcs11.exceptions
    path = _check_module_path(config.module)
    os.environ.update(dict(config.env))
    try:
        lib = pkcs11.lib(str(path))
    except (OSError, RuntimeError, exc_mod.PKCS11Error) as exc:
        raise TokenError(f"Không nạp được thư viện PKCS#11 {path.name}: {exc}") from exc
    try:
        # A desk runs for weeks: refresh the slot list so a token plugged in later is seen.
        lib.reinitialize()
    except exc_mod.PKCS11Error:
        pass
    token = _find_token(lib, config)
    serial = str(token.serial.decode() if isinstance(token.serial, bytes) else token.serial)
    try:
        session = token.open(user_pin=pin, rw=rw)
    except exc_mod.PinIncorrect as exc:
        count = PIN_COUNTER.wrong(serial)
        flags = int(_find_token(lib, config).flags)
        raise TokenPinError(
            f"Sai mã PIN của token «{token.label}» (lần sai thứ {count} tại quầy này). "
            + pin_state(flags),
            wrong_count=count,
            locked=bool(flags & PIN_LOCKED),
        ) from exc
    except exc_mod.PinLocked as exc:
        raise TokenPinError(pin_state(PIN_LOCKED), locked=True) from exc
    except (exc_mod.PinLenRange, exc_mod.PinInvalid) as exc:
        raise TokenPinError("Mã PIN không đúng độ dài hoặc có ký tự không hợp lệ.") from exc
    except (
        exc_mod.TokenNotPresent,
        exc_mod.DeviceRemoved,
        exc_mod.DeviceError,
        exc_mod.SlotIDInvalid,
    ) as exc:
        raise TokenRemovedError(removed_message()) from exc
    PIN_COUNTER.reset(serial)
    try:
        yield session
    finally:
        try:
            session.close()
        except exc_mod.PKCS11Error:
            pass  # the token is gone; nothing to close


def is_removal(exc: BaseException) -> bool:
    """Whether a PKCS#11 error means the token or its session went away."""
    try:
        exc_mod = load_pkcs11().exceptions
    except TokenError:
        return False
    return isinstance(
        exc,
        exc_mod.TokenNotPresent
        | exc_mod.DeviceRemoved
        | exc_mod.DeviceError
        | exc_mod.SessionHandleInvalid
        | exc_mod.SessionClosed
        | exc_mod.ObjectHandleInvalid
        | exc_mod.KeyHandleInvalid
        | exc_mod.UserNotLoggedIn,
    )


def generate_p256_key(session: Session, *, label: str, key_id: bytes) -> bytes:
    """Generate a P-256 key pair ON the token (the private key never leaves it); return the
    public key as DER SubjectPublicKeyInfo, for the certificate request."""
    pkcs11 = load_pkcs11()
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    params = session.create_domain_parameters(
        pkcs11.KeyType.EC,
        {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
        local=True,
    )
    public, _private = params.generate_keypair(store=True, label=label, id=key_id)
    return bytes(encode_ec_public_key(public))


def store_certificate(
    session: Session, der: bytes, *, label: str, key_id: bytes, subject: bytes
) -> None:
    """Write a certificate object beside its key on the token (what a CA does at issuance)."""
    pkcs11 = load_pkcs11()
    attribute = pkcs11.Attribute
    session.create_object(
        {
            attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE,
            attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
            attribute.VALUE: der,
            attribute.LABEL: label,
            attribute.ID: key_id,
            attribute.SUBJECT: subject,
            attribute.TOKEN: True,
        }
    )


def read_certificate(session: Session, config: TokenConfig) -> bytes:
    """The DER certificate stored on the token for the configured key (by id, else label)."""
    pkcs11 = load_pkcs11()
    attribute = pkcs11.Attribute
    query: dict[Any, Any] = {attribute.CLASS: pkcs11.ObjectClass.CERTIFICATE}
    if config.key_id:
        query[attribute.ID] = config.key_id
    elif config.key_label:
        query[attribute.LABEL] = config.key_label
    found = list(session.get_objects(query))
    if not found:
        raise TokenError(
            "Token không có chứng thư số cho khóa đã cấu hình: kiểm tra nhãn/ID khóa, hoặc nhờ "
            "nơi cấp token nạp chứng thư số."
        )
    return bytes(found[0][attribute.VALUE])
