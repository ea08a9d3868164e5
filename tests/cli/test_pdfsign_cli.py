"""``onestop slip`` → ``sign-pdf`` (signing later) → ``verify-pdf``, and ``signer``.

Exit codes of ``verify-pdf`` follow ``verify``: 0 valid, 3 changed after signing, 4 untrusted or
expired, 5 revoked, 6 no signature / not a PDF, 1 unreadable file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from onestop.services import signing
from onestop.services.accounts import open_logged_in
from tests.cli.login import PASSWORD
from tests.cli.test_receipts import _receive, run

CLERK = "Lò Thị Mai"


@pytest.fixture
def db(demo_db: str) -> str:
    """A desk whose clerk has a software signing key issued by the demo province CA."""
    desk = open_logged_in(Path(demo_db), "quantri", PASSWORD)
    try:
        signing.ensure_demo_signing(desk, [(CLERK, "Công chức Bộ phận Một cửa")])
    finally:
        desk.close()
    return demo_db


@pytest.fixture
def pin_file(demo_pass: str) -> str:
    """The PIN file: the demo signing keys are locked with the demo passphrase."""
    return demo_pass


def test_print_unsigned_then_sign_later_then_verify(db: str, pin_file: str, tmp_path: Path) -> None:
    code = _receive(db)
    out = tmp_path / "control.pdf"
    status, _, err = run("slip", code, "control", "--pdf", str(out), "--db", db, "--unsigned")
    assert status == 0, err

    status, text, _ = run("verify-pdf", str(out), "--db", db, "--json")
    report = json.loads(text)
    assert status == 6 and report["verdict"] == "unsigned"
    assert report["unsigned_fields"] == ["ChuKySo_BoPhanTNTKQ"]

    status, text, err = run("sign-pdf", str(out), "--db", db, "--pin-file", pin_file)
    assert status == 0, err
    assert CLERK in text

    status, text, _ = run("verify-pdf", str(out), "--db", db, "--json")
    report = json.loads(text)
    assert status == 0, report
    (sig,) = report["signatures"]
    assert sig["signer"] == CLERK and sig["title"] == "Công chức Bộ phận Một cửa"
    assert sig["intact"] and sig["trusted"] and sig["whole_document"]

    status, text, _ = run("verify-pdf", str(out), "--db", db)
    assert status == 0 and "Chữ ký số hợp lệ" in text and CLERK in text

    # A second signing of the same field is refused and leaves the file as it was.
    before = out.read_bytes()
    status, _, err = run("sign-pdf", str(out), "--db", db, "--pin-file", pin_file)
    assert status == 1 and "đã được ký" in err and out.read_bytes() == before

    # One flipped byte: exit 3, in plain Vietnamese.
    data = bytearray(before)
    data[len(data) // 3] ^= 0x01
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(data))
    status, text, _ = run("verify-pdf", str(bad), "--db", db)
    assert status == 3 and "đã bị sửa" in text


def test_wrong_passphrase_changes_nothing(db: str, tmp_path: Path) -> None:
    code = _receive(db)
    out = tmp_path / "receipt.pdf"
    assert run("slip", code, "control", "--pdf", str(out), "--db", db, "--unsigned")[0] == 0
    before = out.read_bytes()
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("sai mat khau 123\n")
    status, _, err = run("sign-pdf", str(out), "--db", db, "--pin-file", str(wrong))
    assert status == 1 and "Sai mật khẩu" in err and "Traceback" not in err
    assert out.read_bytes() == before


def test_verify_without_trust_is_untrusted_and_bad_files_are_refused(
    db: str, pin_file: str, tmp_path: Path
) -> None:
    code = _receive(db)
    out = tmp_path / "control.pdf"
    assert run("slip", code, "control", "--pdf", str(out), "--db", db, "--unsigned")[0] == 0
    assert run("sign-pdf", str(out), "--db", db, "--pin-file", pin_file)[0] == 0
    other = tmp_path / "elsewhere.sqlite"  # a desk that trusts no CA at all
    status, text, _ = run("verify-pdf", str(out), "--db", str(other))
    assert status == 4 and "không do tổ chức tin cậy cấp" in text
    ca = Path(db).parent / "desk.keys" / signing.CA_FILE
    status, _, _ = run("verify-pdf", str(out), "--db", str(other), "--trust", str(ca))
    assert status == 0
    status, _, err = run("verify-pdf", str(tmp_path / "missing.pdf"), "--db", db)
    assert status == 1 and "Không đọc được" in err
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"not a pdf at all")
    status, text, _ = run("verify-pdf", str(junk), "--db", db)
    assert status == 6 and "không phải PDF" in text


def test_signer_list_and_probe(db: str, tmp_path: Path) -> None:
    status, text, err = run("signer", "list", "--db", db, "--json")
    assert status == 0, err
    (person,) = json.loads(text)
    assert person["name"] == CLERK and person["kind"] == "software"
    status, _, err = run("signer", "probe", str(tmp_path / "nope.so"))
    assert status == 1 and "Không tìm thấy thư viện PKCS#11" in err
    module = signing.softhsm_module()
    if module is None or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM2 (Debian package softhsm2) is not installed")
    status, text, err = run("signer", "probe", str(module), "--json")
    assert status == 0, err
    assert "SoftHSM" in json.loads(text)["library"]
