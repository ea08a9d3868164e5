"""X.509 certificates for officials' PDF signatures, issued by the province root.

The receipt QR keeps its compact COSE key (``crypto/signer.py``); a signed PDF needs what every
PDF reader understands: an X.509 certificate chain. In the field the certificates come from the
national CAs (the Government Cipher Committee, VNPT-CA, Viettel-CA...) on the official's token
and the province only configures their roots as trust anchors. For the demo and the tests the
province root key (the P-256 key that signs the trust list, ``root.key``) acts as a small CA:

* ``province_ca_certificate`` makes its self-signed root certificate (CA, path length 0: it
  only signs officials, never another CA);
* ``issue_official_certificate`` issues an official's certificate: subject CN = the name the
  slips print (NFC), ``title`` = the official's position (OID 2.5.4.12), O = the agency; key
  usage digitalSignature + nonRepudiation (contentCommitment), as PAdES signing certificates
  carry; Authority/Subject Key Identifiers so validators chain it without guessing;
* ``revocation_list`` signs a CRL of revoked serials, which ``verify-pdf`` takes offline.

Everything here is pure ``cryptography``; no file access, no clock (callers pass times).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from onestop.crypto.signer import SoftwareSigner

__all__ = [
    "CertError",
    "OfficialName",
    "certificate_pem",
    "issue_official_certificate",
    "load_certificates",
    "official_name",
    "private_key_of",
    "province_ca_certificate",
    "revocation_list",
]

#: Leeway before "now" on issued certificates, so a desk clock a little behind still accepts
#: a certificate issued a minute ago.
_BACKDATE: Final = timedelta(minutes=10)
_MAX_PEM_BYTES: Final = 1024 * 1024

IssuerKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
SubjectKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class CertError(ValueError):
    """A certificate problem, with a Vietnamese message that can be shown as is."""


@dataclass(frozen=True, slots=True)
class OfficialName:
    """Who a certificate names: the person (CN), their position and their agency."""

    name: str
    title: str
    agency: str


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def private_key_of(signer: SoftwareSigner) -> ec.EllipticCurvePrivateKey:
    """The ``cryptography`` key object behind a software signer (the province root)."""
    key = serialization.load_der_private_key(signer.private_key_pkcs8(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertError("Khóa gốc của tỉnh phải là khóa P-256 để cấp chứng thư số.")
    return key


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise CertError("Thời điểm cấp chứng thư phải có múi giờ.")
    return when.astimezone(UTC)


def province_ca_certificate(
    root_key: IssuerKey, *, province_name: str, not_before: datetime, years: int = 20
) -> x509.Certificate:
    """The self-signed certificate of the province root key (demo and test CA)."""
    start = _aware(not_before)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _nfc(province_name)),
            x509.NameAttribute(NameOID.COMMON_NAME, _nfc(f"{province_name} - CA cán bộ")),
        ]
    )
    public = root_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(root_key, hashes.SHA256())
    )


def issue_official_certificate(
    ca_key: IssuerKey,
    ca_cert: x509.Certificate,
    subject_key: SubjectKey,
    *,
    name: str,
    title: str,
    agency: str,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """An official's signing certificate, issued by the province CA."""
    name, title, agency = _nfc(name), _nfc(title), _nfc(agency)
    if not name or len(name) > 64:
        raise CertError("Họ tên trên chứng thư số phải có từ 1 đến 64 ký tự.")
    if len(title) > 64 or len(agency) > 64:
        raise CertError("Chức vụ và tên cơ quan trên chứng thư số không quá 64 ký tự.")
    start, end = _aware(not_before) - _BACKDATE, _aware(not_after)
    if end <= start:
        raise CertError("Ngày hết hạn của chứng thư số phải sau ngày cấp.")
    if end > ca_cert.not_valid_after_utc:
        end = ca_cert.not_valid_after_utc  # never outlive the CA: validators would refuse it
    attributes = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if agency:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, agency))
    if title:
        attributes.append(x509.NameAttribute(NameOID.TITLE, title))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, name))
    issuer_public = ca_key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca_cert.subject)
        .public_key(subject_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )


def revocation_list(
    ca_key: IssuerKey,
    ca_cert: x509.Certificate,
    revoked: Iterable[tuple[int, datetime]],
    *,
    issued_at: datetime,
    next_update: datetime,
) -> x509.CertificateRevocationList:
    """A CRL of (serial, revoked at) signed by the province CA."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(_aware(issued_at))
        .next_update(_aware(next_update))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.CRLNumber(int(_aware(issued_at).timestamp())), critical=False)
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(_aware(when))
            .build()
        )
    return builder.sign(ca_key, hashes.SHA256())


def official_name(cert: x509.Certificate) -> OfficialName:
    """Name, title and agency a certificate's subject gives (empty strings where absent)."""

    def first(oid: x509.ObjectIdentifier) -> str:
        found = cert.subject.get_attributes_for_oid(oid)
        value = found[0].value if found else ""
        return _nfc(value if isinstance(value, str) else value.decode("utf-8", "replace"))

    return OfficialName(
        name=first(NameOID.COMMON_NAME),
        title=first(NameOID.TITLE),
        agency=first(NameOID.ORGANIZATION_NAME),
    )


def certificate_pem(certs: Sequence[x509.Certificate]) -> bytes:
    """Certificates as concatenated PEM (what the desk stores and the province hands out)."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """Certificates from PEM (one or many) or a single DER certificate; ``CertError`` else."""
    if len(data) > _MAX_PEM_BYTES:
        raise CertError("Tệp chứng thư số quá lớn.")
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise CertError("Tệp không phải chứng thư số X.509 (PEM hoặc DER).") from exc
    if not certs:
        raise CertError("Tệp không chứa chứng thư số nào.")
    return certs
