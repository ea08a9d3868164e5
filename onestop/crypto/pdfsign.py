"""PAdES signatures on PDF files (pyHanko), with the signing key behind one seam.

``PdfKey`` is the seam: ``SoftwarePdfKey`` (a private key in memory, loaded from the official's
encrypted key file) and ``TokenPdfKey`` (a PKCS#11 token: SoftHSM2 in tests and the demo, the
vendor's module in the field). Callers build one and hand it to ``sign_pdf``; they never see
which it is.

What a signature is:

* PAdES baseline B-B (``/SubFilter /ETSI.CAdES.detached``, SHA-256, the signing certificate and
  its chain embedded), made offline. B-LT (revocation data + a document timestamp) is a later
  step the province adds when a link exists (README).
* A visible appearance inside the form's signature block: "Ký bởi / Chức vụ / Thời gian ký" in
  Liberation Serif (the slips' font, so Vietnamese diacritics render), on an opaque background
  that covers the "(Chưa ký số)" mark the slip prints there, with the agency's red seal over
  the left third when the form wants a seal (ND 30/2020 electronic practice).
* P-256 tokens may refuse the combined CKM_ECDSA_SHA256 mechanism (SoftHSM2 does, measured):
  the token signer hashes here and asks the token for raw CKM_ECDSA (``use_raw_mechanism``).

Nothing half-signed is kept: ``sign_pdf`` checks the result (the new signature must be intact
and cryptographically valid) before returning it, and ``sign_file`` writes the checked bytes to
a temporary file beside the target, fsyncs and renames over it.
"""

from __future__ import annotations

import io
import logging
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from onestop.crypto import token as tok
from onestop.domain.clock import VN_TZ
from onestop.paths import asset_path, write_atomically

__all__ = [
    "Appearance",
    "PdfKey",
    "PdfSignError",
    "SignatureBox",
    "SoftwarePdfKey",
    "TokenPdfKey",
    "FieldInfo",
    "add_signature_field",
    "page_index",
    "pyhanko",
    "sign_file",
    "sign_pdf",
    "signature_fields",
]

_FONT: Final = "LiberationSerif-Regular.ttf"
_FONT_SIZE: Final = 8
_MAX_PDF_BYTES: Final = 200 * 1024 * 1024


class PdfSignError(Exception):
    """Signing did not happen (Vietnamese message); no file was changed."""


@cache
def pyhanko() -> dict[str, ModuleType]:
    """pyHanko's modules, imported once and quietly.

    pyHanko imports ``cryptography``'s DSA class at load time, which recent ``cryptography``
    answers with a deprecation warning; that is the library's business, not the clerk's (and an
    error under our test settings), so the import runs with that one warning silenced.
    """
    # pyHanko and fontTools log tracebacks at WARNING for things we report ourselves (an
    # unknown issuer, a font table not subset); with no handler Python would print them to
    # stderr, over the desk's screen. The desk's error log still receives them if configured.
    for name in ("pyhanko", "pyhanko_certvalidator", "fontTools"):
        logging.getLogger(name).addHandler(logging.NullHandler())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*DSA.*")
        warnings.filterwarnings("ignore", category=UserWarning, module="oscrypto")
        from pyhanko import stamp
        from pyhanko.pdf_utils import content, images, incremental_writer, layout, reader, text
        from pyhanko.pdf_utils.font import opentype
        from pyhanko.sign import fields, signers, validation
        from pyhanko.sign import pkcs11 as ph_pkcs11
        from pyhanko.sign.validation import errors as validation_errors
        from pyhanko_certvalidator import context as cv_context
        from pyhanko_certvalidator import registry as cv_registry
    return {
        "stamp": stamp,
        "content": content,
        "images": images,
        "incremental_writer": incremental_writer,
        "layout": layout,
        "reader": reader,
        "text": text,
        "opentype": opentype,
        "fields": fields,
        "signers": signers,
        "validation": validation,
        "pkcs11": ph_pkcs11,
        "validation_errors": validation_errors,
        "cv_context": cv_context,
        "cv_registry": cv_registry,
    }


def asn1_cert(cert: x509.Certificate) -> Any:
    """A ``cryptography`` certificate as the asn1crypto object pyHanko works with."""
    from asn1crypto import x509 as a_x509

    return a_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


@dataclass(frozen=True, slots=True)
class SignatureBox:
    """Where the visible signature goes: page index (0-based) and a rectangle in PDF points
    (origin bottom-left, as in the PDF file)."""

    page: int
    x1: float
    y1: float
    x2: float
    y2: float

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (round(self.x1), round(self.y1), round(self.x2), round(self.y2))

    def contains(self, other: tuple[float, float, float, float], slack: float = 1.0) -> bool:
        x1, y1, x2, y2 = other
        return (
            x1 >= self.x1 - slack
            and y1 >= self.y1 - slack
            and x2 <= self.x2 + slack
            and y2 <= self.y2 + slack
        )


@dataclass(frozen=True, slots=True)
class Appearance:
    """What the visible signature shows."""

    name: str
    title: str = ""
    seal_png: bytes | None = None
    reason: str = ""
    location: str = ""


class PdfKey(Protocol):
    """A key that can make a PDF signature: the seam between callers and key storage."""

    @property
    def kind(self) -> str:
        """ "software" or "token"."""
        ...

    def open(self) -> AbstractContextManager[Any]:
        """A context yielding a ready pyHanko ``Signer`` (token session open, PIN given)."""
        ...


class SoftwarePdfKey:
    """An official's private key in memory with its certificate and chain."""

    kind = "software"

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        certificate: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        if certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) != private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ):
            raise PdfSignError("Chứng thư số không khớp với khóa ký của cán bộ.")
        self._key = private_key
        self.certificate = certificate
        self.chain = tuple(chain)

    @contextmanager
    def open(self) -> Iterator[Any]:
        from asn1crypto import keys as a_keys

        ph = pyhanko()
        der = self._key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        registry = ph["cv_registry"].SimpleCertificateStore.from_certs(
            [asn1_cert(c) for c in self.chain]
        )
        yield ph["signers"].SimpleSigner(
            signing_cert=asn1_cert(self.certificate),
            signing_key=a_keys.PrivateKeyInfo.load(der),
            cert_registry=registry,
        )

    def __repr__(self) -> str:
        return f"SoftwarePdfKey({self.certificate.subject.rfc4514_string()!r})"


class TokenPdfKey:
    """A key on a PKCS#11 token; the certificate is read from the token at signing time.

    The PIN is held only for the life of this object (one signing); callers ask it each time.
    """

    kind = "token"

    def __init__(
        self, config: tok.TokenConfig, pin: str, chain: Sequence[x509.Certificate] = ()
    ) -> None:
        self.config = config
        self._pin = pin
        self.chain = tuple(chain)

    @contextmanager
    def open(self) -> Iterator[Any]:
        ph = pyhanko()
        with tok.open_session(self.config, self._pin) as session:
            try:
                der = tok.read_certificate(session, self.config)
                cert = x509.load_der_x509_certificate(der)
            except ValueError as exc:
                raise PdfSignError("Chứng thư số trên token bị hỏng.") from exc
            except Exception as exc:
                if tok.is_removal(exc):
                    raise tok.TokenRemovedError(tok.removed_message()) from exc
                raise
            ec_key = isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
            yield ph["pkcs11"].PKCS11Signer(
                session,
                signing_cert=asn1_cert(cert),
                ca_chain=[asn1_cert(c) for c in self.chain],
                key_label=self.config.key_label or None,
                key_id=self.config.key_id or None,
                # Only this official's chain: None would pull every certificate on the
                # token, i.e. embed other people's certificates in this document.
                other_certs_to_pull=(),
                # SoftHSM2 and several tokens refuse combined ECDSA-SHA256: hash here, sign raw.
                use_raw_mechanism=ec_key,
            )
        self._pin = ""

    def __repr__(self) -> str:  # never the PIN
        return f"TokenPdfKey(module={self.config.module.name!r}, key={self.config.key_label!r})"


def _check_pdf(data: bytes) -> None:
    if not isinstance(data, bytes) or not data.lstrip()[:5] == b"%PDF-":
        raise PdfSignError("Tệp không phải PDF.")
    if len(data) > _MAX_PDF_BYTES:
        raise PdfSignError("Tệp PDF quá lớn để ký.")


def _reader(data: bytes) -> Any:
    ph = pyhanko()
    try:
        return ph["reader"].PdfFileReader(io.BytesIO(data), strict=False)
    except Exception as exc:
        raise PdfSignError("Tệp PDF bị hỏng, không đọc được.") from exc


@dataclass(frozen=True, slots=True)
class FieldInfo:
    name: str
    signed: bool
    signer: str  # who must sign it (the field's /TU), "" if the document does not say


def signature_fields(data: bytes) -> list[FieldInfo]:
    """Every signature field of a PDF: name, whether signed, and its intended signer."""
    _check_pdf(data)
    ph = pyhanko()
    out = []
    for name, value, ref in ph["fields"].enumerate_sig_fields(_reader(data)):
        try:
            hint = str(ref.get_object().get("/TU", ""))
        except Exception:
            hint = ""
        out.append(FieldInfo(str(name), value is not None, hint))
    return out


def add_signature_field(data: bytes, name: str, box: SignatureBox, *, signer: str = "") -> bytes:
    """An empty signature field at ``box`` (to be signed later), as an incremental update.
    ``signer`` (the legal signer's name) goes in the field's /TU, which readers show as its
    tooltip and ``sign-pdf`` reads to know whose key signs it."""
    _check_pdf(data)
    ph = pyhanko()
    writer = ph["incremental_writer"].IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    spec = ph["fields"].SigFieldSpec(name, on_page=box.page, box=box.as_tuple())
    ph["fields"].append_signature_field(writer, spec)
    if signer:
        from pyhanko.pdf_utils import generic

        for field_ref in writer.root["/AcroForm"]["/Fields"]:
            field = field_ref.get_object()
            if str(field.get("/T")) == name:
                field["/TU"] = generic.TextStringObject(unicodedata.normalize("NFC", signer))
                writer.update_container(field)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@cache
def _font_bytes() -> bytes:
    """Liberation Serif cut to Latin + Vietnamese and rescaled to 1000 units per em.

    pyHanko writes glyph widths (``/W``) in the font's own units, which PDF reads as 1/1000 em:
    right for CFF fonts (1000 units), double-spaced text for TrueType fonts like ours (2048
    units, measured). Rescaling the font fixes the widths; subsetting first keeps the work
    (about 0.1 s, once per process) and the embedded program small.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    with TTFont(io.BytesIO(asset_path("fonts", _FONT).read_bytes())) as font:
        options = subset.Options()
        # Vietnamese needs the mark positioning features; hinting is useless at 8 pt in a
        # signature box and was most of the embedded program (measured: 10.3 -> 4 KB).
        options.layout_features = ["ccmp", "mark", "mkmk", "kern", "locl"]
        options.hinting = False
        options.name_IDs = ["*"]
        subsetter = subset.Subsetter(options)
        ranges = [(0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x323), (0x1EA0, 0x1EFF), (0x2010, 0x2026)]
        subsetter.populate(unicodes=[c for lo, hi in ranges for c in range(lo, hi + 1)])
        subsetter.subset(font)
        scale_upem(font, 1000)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()


@cache
def _font_factory() -> Any:
    """pyHanko's TrueType engine, fed from memory: its own factory opens the font file and
    never closes it (a ResourceWarning on every signature)."""
    opentype: Any = pyhanko()["opentype"]
    base: Any = opentype.GlyphAccumulatorFactory

    class MemoryFontFactory(base):  # type: ignore[misc]
        def create_font_engine(self, writer: Any, obj_stream: Any = None) -> Any:
            if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
                obj_stream = writer.prepare_object_stream()
            return opentype.GlyphAccumulator(
                writer=writer,
                font_handle=io.BytesIO(_font_bytes()),
                font_size=self.font_size,
                obj_stream=obj_stream,
            )

    return MemoryFontFactory(str(asset_path("fonts", _FONT)), font_size=_FONT_SIZE)


def _background(seal_png: bytes | None, box: SignatureBox) -> Any:
    """An opaque white background the size of the box (it hides the "(Chưa ký số)" mark),
    with the seal over its left third when the form wants one.

    Without a seal it is a vector rectangle (a few bytes); with one, the seal is an image of
    2 px per point drawn over that rectangle (measured: the seal costs about 6 KB that way,
    against 16 KB for a full-box bitmap at 4 px/pt).
    """
    ph = pyhanko()
    content: Any = ph["content"]
    layout = ph["layout"]
    width, height = box.x2 - box.x1, box.y2 - box.y1
    white = b"q 1 1 1 rg 0 0 %.2f %.2f re f Q" % (width, height)
    if not seal_png:
        return content.RawContent(white, box=layout.BoxConstraints(width, height))
    from PIL import Image

    side = min(height, width / 3)
    px = max(1, round(side * 2))
    with Image.open(io.BytesIO(seal_png)) as seal:
        rgba = seal.convert("RGBA").resize((px, px))
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, (0, 0), rgba)
    image = ph["images"].PdfImage(flat, box=layout.BoxConstraints(side, side))
    base: Any = content.PdfContent

    class SealBackground(base):  # type: ignore[misc]
        def render(self) -> bytes:
            image.set_writer(self.writer)
            inner: bytes = image.render()
            self.import_resources(image.resources)
            return white + b" q 1 0 0 1 0 %.2f cm " % ((height - side) / 2) + inner + b" Q"

    return SealBackground(box=layout.BoxConstraints(width, height))


def _style(appearance: Appearance, box: SignatureBox, when: datetime) -> tuple[Any, dict[str, str]]:
    ph = pyhanko()
    layout = ph["layout"]
    lines = ["Ký bởi: %(signer_name)s"]
    if appearance.title:
        lines.append("Chức vụ: %(signer_title)s")
    lines.append("Thời gian ký: %(when)s")
    params = {
        "signer_name": unicodedata.normalize("NFC", appearance.name),
        "signer_title": unicodedata.normalize("NFC", appearance.title),
        "when": when.astimezone(VN_TZ).strftime("%H:%M:%S %d/%m/%Y"),
    }
    inner = layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MID,
        y_align=layout.AxisAlignment.ALIGN_MID,
        margins=layout.Margins(left=(box.x2 - box.x1) / 3 if appearance.seal_png else 2, right=2),
        inner_content_scaling=layout.InnerScaling.SHRINK_TO_FIT,
    )
    style = ph["stamp"].TextStampStyle(
        stamp_text="\n".join(lines),
        text_box_style=ph["text"].TextBoxStyle(
            font=_font_factory(), font_size=_FONT_SIZE, leading=10
        ),
        inner_content_layout=inner,
        border_width=1,
        background=_background(appearance.seal_png, box),
        background_opacity=1.0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            inner_content_scaling=layout.InnerScaling.STRETCH_FILL,
        ),
    )
    return style, params


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    current: BaseException | None = exc
    last = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        last = current
        if tok.is_removal(current):
            return current
        current = current.__cause__ or current.__context__
    return last


def sign_pdf(
    data: bytes,
    key: PdfKey,
    *,
    field_name: str,
    appearance: Appearance,
    box: SignatureBox | None = None,
    when: datetime | None = None,
) -> bytes:
    """Sign ``data`` (PAdES B-B) into field ``field_name``: the existing empty field if the PDF
    has one (signing later), else a new one at ``box``. Returns the checked signed bytes."""
    _check_pdf(data)
    ph = pyhanko()
    existing = {f.name: f.signed for f in signature_fields(data)}
    if existing.get(field_name):
        raise PdfSignError(f"Ô chữ ký «{field_name}» của văn bản này đã được ký.")
    if field_name not in existing and box is None:
        raise PdfSignError(f"Văn bản không có ô chữ ký «{field_name}».")
    signed_at = when or datetime.now(VN_TZ)
    if box is None:
        box = _existing_box(data, field_name)
    style, params = _style(appearance, box, signed_at)
    meta = ph["signers"].PdfSignatureMetadata(
        field_name=field_name,
        subfilter=ph["fields"].SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=appearance.reason or None,
        location=appearance.location or None,
        name=appearance.name,
        # No tight_size_estimates: pyHanko sizes /Contents from a dry-run signature, and an
        # ECDSA signature's DER length varies by a few bytes from one signing to the next
        # (measured: "allocated 3176 bytes, but contents required 3178"). The default 50 %
        # margin costs about 1 KB of hex zeros.
    )
    new_field = (
        None
        if field_name in existing
        else ph["fields"].SigFieldSpec(field_name, on_page=box.page, box=box.as_tuple())
    )
    failure: Exception | None = None
    signed = b""
    try:
        with _quiet_finalisers(key.kind == "token"):
            signed = _run_signer(data, key, meta, style, new_field, params)
    except (PdfSignError, tok.TokenError):
        raise
    except Exception as exc:
        cause = _root_cause(exc)
        if tok.is_removal(cause):
            failure = tok.TokenRemovedError(tok.removed_message())
        else:
            failure = PdfSignError(f"Không ký được văn bản: {cause}")
        _forget(exc)
    if failure is not None:
        _collect_quietly()
        raise failure
    _self_check(signed, field_name)
    return signed


def _run_signer(
    data: bytes, key: PdfKey, meta: Any, style: Any, new_field: Any, params: dict[str, str]
) -> bytes:
    """The pyHanko part of ``sign_pdf``, in a frame of its own so that nothing of a failed
    token session outlives it (see ``_collect_quietly``)."""
    ph = pyhanko()
    with key.open() as signer:
        writer = ph["incremental_writer"].IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        pdf_signer = ph["signers"].PdfSigner(
            meta, signer=signer, stamp_style=style, new_field_spec=new_field
        )
        out = pdf_signer.sign_pdf(writer, appearance_text_params=params)
        return bytes(out.getvalue())


def _forget(exc: BaseException) -> None:
    """Drop the tracebacks of a failed token operation (see ``_collect_quietly``)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        todo += [current.__cause__, current.__context__]


@contextmanager
def _quiet_finalisers(active: bool = True) -> Iterator[None]:
    """Mute "Exception ignored in ..." while a token operation runs (and is cleaned up).

    When a token is pulled out, python-pkcs11's search and operation objects are finalised as
    the error unwinds; their ``__del__`` calls the token again, fails, and Python would print
    the failure on stderr, over the desk's screen. We report the removal ourselves.
    """
    if not active:
        yield
        return
    import sys

    previous = sys.unraisablehook
    sys.unraisablehook = lambda _info: None
    try:
        yield
    finally:
        sys.unraisablehook = previous


def _collect_quietly() -> None:
    """Finalise what a failed token operation left in reference cycles, quietly."""
    import gc

    with _quiet_finalisers():
        gc.collect()


def _existing_box(data: bytes, field_name: str) -> SignatureBox:
    ph = pyhanko()
    r = _reader(data)
    for name, _value, ref in ph["fields"].enumerate_sig_fields(r):
        if name != field_name:
            continue
        widget = ref.get_object()
        rect = [float(v) for v in widget["/Rect"]]
        page = page_index(r, widget) or 0
        return SignatureBox(page, rect[0], rect[1], rect[2], rect[3])
    raise PdfSignError(f"Văn bản không có ô chữ ký «{field_name}».")


def page_index(reader: Any, widget: Any) -> int | None:
    """The 0-based page a widget annotation sits on (its ``/P`` entry), or None."""
    try:
        target = widget.raw_get("/P").idnum
    except (KeyError, AttributeError):
        return None
    pages: list[int] = []

    def walk(node_ref: Any) -> None:
        node = node_ref.get_object()
        if node.get("/Type") == "/Pages":
            for kid in node["/Kids"]:
                walk(kid)
        else:
            pages.append(node_ref.idnum)

    walk(reader.root.raw_get("/Pages"))
    return pages.index(target) if target in pages else None


def _self_check(signed: bytes, field_name: str) -> None:
    """The new signature must be intact and valid before anyone keeps the file."""
    ph = pyhanko()
    try:
        r = ph["reader"].PdfFileReader(io.BytesIO(signed), strict=False)
        sig = next(s for s in r.embedded_signatures if s.field_name == field_name)
        context = ph["cv_context"].ValidationContext(trust_roots=[], allow_fetching=False)
        status = ph["validation"].validate_pdf_signature(sig, signer_validation_context=context)
        ok = bool(status.intact and status.valid)
    except Exception as exc:
        raise PdfSignError("Chữ ký vừa tạo không kiểm tra được; văn bản không được ký.") from exc
    if not ok:
        raise PdfSignError("Chữ ký vừa tạo không hợp lệ (token trả về chữ ký sai); chưa ký.")


def sign_file(
    path: Path,
    key: PdfKey,
    *,
    field_name: str,
    appearance: Appearance,
    box: SignatureBox | None = None,
    out: Path | None = None,
) -> bytes:
    """Sign the PDF at ``path`` and write it to ``out`` (default: over ``path``) atomically:
    temporary file, checked, fsynced, renamed. On any error the old file stays as it was."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PdfSignError(f"Không đọc được {path}: {exc.strerror or exc}.") from exc
    signed = sign_pdf(data, key, field_name=field_name, appearance=appearance, box=box)
    target = out or path
    try:
        write_atomically(target, signed, mode=0o600)
    except OSError as exc:
        raise PdfSignError(f"Không ghi được {target}: {exc.strerror or exc}.") from exc
    return signed
