"""Signer, kid derivation and encrypted key files."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import sys
import unicodedata
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from onestop.crypto.keys import (
    KeyFileError,
    create_key_file,
    kid_for,
    load_key_file,
    public_key_from_bytes,
    read_key_file_info,
)
from onestop.crypto.signer import (
    EDDSA,
    ES256,
    InvalidPublicKeyError,
    Signer,
    SoftwareSigner,
    verify_signature,
)

PASS = "mật khẩu quầy một"
FAST_N = 2**10  # the production n=2**15 is exercised once, in default_key_file


@pytest.fixture(scope="module")
def default_key_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SoftwareSigner]:
    path = tmp_path_factory.mktemp("keys") / "desk.key"
    return path, create_key_file(path, PASS, label="Quầy 1 - UBND xã Quảng Phú")


def test_software_signer_is_a_signer() -> None:
    assert isinstance(SoftwareSigner.generate(), Signer)
    assert isinstance(SoftwareSigner.generate(EDDSA), Signer)


def test_es256_kid_is_sha256_of_uncompressed_point() -> None:
    signer = SoftwareSigner.generate()
    point = signer.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert point[0] == 4 and len(point) == 65
    assert signer.public_key_bytes() == point
    assert signer.kid == hashlib.sha256(point).digest()[:8]
    assert kid_for(ES256, point) == signer.kid


def test_ed25519_kid_is_sha256_of_raw_key() -> None:
    signer = SoftwareSigner.generate(EDDSA)
    raw = signer.public_key_bytes()
    assert len(raw) == 32
    assert signer.kid == hashlib.sha256(raw).digest()[:8]


def test_es256_signature_is_raw_r_s_and_verifies_with_plain_cryptography() -> None:
    signer = SoftwareSigner.generate()
    sig = signer.sign(b"payload")
    assert len(sig) == 64
    # Independent check: rebuild DER from r||s and verify with the library directly.
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    key = public_key_from_bytes(ES256, signer.public_key_bytes())
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(der, b"payload", ec.ECDSA(hashes.SHA256()))
    assert verify_signature(ES256, key, b"payload", sig)
    assert not verify_signature(ES256, key, b"payloaD", sig)
    assert not verify_signature(EDDSA, key, b"payload", sig)  # alg must match the key type


def test_ed25519_sign_verify() -> None:
    signer = SoftwareSigner.generate(EDDSA)
    key = public_key_from_bytes(EDDSA, signer.public_key_bytes())
    sig = signer.sign(b"x")
    assert len(sig) == 64
    assert verify_signature(EDDSA, key, b"x", sig)
    assert not verify_signature(ES256, key, b"x", sig)


def test_public_key_from_bytes_refuses_non_canonical_forms() -> None:
    signer = SoftwareSigner.generate()
    compressed = signer.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    with pytest.raises(InvalidPublicKeyError):
        public_key_from_bytes(ES256, compressed)  # would give the same key a second kid
    with pytest.raises(InvalidPublicKeyError):
        public_key_from_bytes(ES256, b"\x04" + b"\x01" * 64)  # not on the curve
    with pytest.raises(InvalidPublicKeyError):
        public_key_from_bytes(EDDSA, b"\x00" * 31)
    with pytest.raises(InvalidPublicKeyError):
        public_key_from_bytes(-35, signer.public_key_bytes())


def test_repr_never_shows_key_material() -> None:
    signer = SoftwareSigner.generate()
    assert signer.kid.hex() in repr(signer)
    assert "PRIVATE" not in repr(signer).upper()


# --- key files ---------------------------------------------------------------------------------


def test_key_file_round_trip_with_default_scrypt(
    default_key_file: tuple[Path, SoftwareSigner],
) -> None:
    path, created = default_key_file
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "onestop-key/1"
    assert document["kdf"] == {
        "name": "scrypt",
        "n": 2**15,
        "r": 8,
        "p": 1,
        "salt": document["kdf"]["salt"],
    }
    assert document["kid"] == created.kid.hex()
    assert document["label"] == "Quầy 1 - UBND xã Quảng Phú"
    loaded = load_key_file(path, PASS)
    assert loaded.kid == created.kid
    key = public_key_from_bytes(ES256, created.public_key_bytes())
    assert verify_signature(ES256, key, b"m", loaded.sign(b"m"))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_key_file_mode_is_0600(default_key_file: tuple[Path, SoftwareSigner]) -> None:
    path, _ = default_key_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # no temporary file left behind
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_wrong_passphrase_is_rejected(default_key_file: tuple[Path, SoftwareSigner]) -> None:
    path, _ = default_key_file
    with pytest.raises(KeyFileError, match=r"^Sai mật khẩu hoặc tệp khóa bị hỏng\.$"):
        load_key_file(path, PASS + "!")


def test_passphrase_is_nfc_normalised(tmp_path: Path) -> None:
    # Same visible passphrase typed with decomposed accents (some Vietnamese IMEs do that).
    created = create_key_file(
        tmp_path / "k", unicodedata.normalize("NFC", PASS), label="x", scrypt_n=FAST_N
    )
    loaded = load_key_file(tmp_path / "k", unicodedata.normalize("NFD", PASS))
    assert loaded.kid == created.kid


def test_short_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="ít nhất 8"):
        create_key_file(tmp_path / "k", "1234567", label="x", scrypt_n=FAST_N)
    assert not (tmp_path / "k").exists()


def test_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k"
    first = create_key_file(path, PASS, label="x", scrypt_n=FAST_N)
    with pytest.raises(KeyFileError, match="đã tồn tại"):
        create_key_file(path, PASS, label="y", scrypt_n=FAST_N)
    assert load_key_file(path, PASS).kid == first.kid


def test_ed25519_key_file(tmp_path: Path) -> None:
    created = create_key_file(tmp_path / "k", PASS, label="x", alg=EDDSA, scrypt_n=FAST_N)
    loaded = load_key_file(tmp_path / "k", PASS)
    assert loaded.alg == EDDSA and loaded.kid == created.kid
    assert read_key_file_info(tmp_path / "k").kid == created.kid


@pytest.fixture()
def small_key_file(tmp_path: Path) -> Path:
    path = tmp_path / "k"
    create_key_file(path, PASS, label="Quầy 2", scrypt_n=FAST_N)
    return path


def _edit(path: Path, **changes: object) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    document.update(changes)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_edited_label_fails_authentication(small_key_file: Path) -> None:
    # The header is AEAD associated data: relabelling a key file is detected.
    _edit(small_key_file, label="Quầy của người khác")
    with pytest.raises(KeyFileError, match="Sai mật khẩu"):
        load_key_file(small_key_file, PASS)


def test_swapped_public_key_is_detected(small_key_file: Path) -> None:
    other = SoftwareSigner.generate()
    _edit(
        small_key_file,
        public_key=base64.b64encode(other.public_key_bytes()).decode(),
        kid=other.kid.hex(),
    )
    with pytest.raises(KeyFileError):
        load_key_file(small_key_file, PASS)


def test_kid_must_match_public_key(small_key_file: Path) -> None:
    _edit(small_key_file, kid="00" * 8)
    with pytest.raises(KeyFileError, match="kid"):
        load_key_file(small_key_file, PASS)


def test_hostile_scrypt_parameters_are_refused_before_deriving(small_key_file: Path) -> None:
    document = json.loads(small_key_file.read_text(encoding="utf-8"))
    document["kdf"]["n"] = 2**30  # would need 1 TiB of memory
    small_key_file.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(KeyFileError, match="scrypt"):
        load_key_file(small_key_file, PASS)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"format": "onestop-key/0"}',
        b'{"format": "onestop-key/1"}',
    ],
)
def test_malformed_key_files_give_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k"
    path.write_bytes(content)
    with pytest.raises(KeyFileError, match="không đúng định dạng"):
        load_key_file(path, PASS)


def test_bad_base64_is_malformed(small_key_file: Path) -> None:
    _edit(small_key_file, ciphertext="***")
    with pytest.raises(KeyFileError, match="base64"):
        load_key_file(small_key_file, PASS)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="Không tìm thấy"):
        load_key_file(tmp_path / "nope", PASS)


def test_truncated_ciphertext_is_wrong_passphrase_or_malformed(small_key_file: Path) -> None:
    document = json.loads(small_key_file.read_text(encoding="utf-8"))
    ct = base64.b64decode(document["ciphertext"])
    _edit(small_key_file, ciphertext=base64.b64encode(ct[:-1]).decode())
    with pytest.raises(KeyFileError):
        load_key_file(small_key_file, PASS)
    assert os.path.exists(small_key_file)
