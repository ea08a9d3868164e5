"""``onestop keys / receipt / verify / slip`` as an operator and a verifier use them.

The commands run through ``onestop.cli.main.main`` (importing ``onestop.cli_receipts`` attaches
them). Exit codes: 0 ok, 1 refused, 2 usage; ``verify`` 0/3/4/5/6 by verdict.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from onestop.crypto.verify import EXIT_CODES, Verdict
from onestop.services import keys as keys_svc
from tests.cli.login import ADMIN, LOGIN, init_desk, runner

NOW = "2026-11-20 10:00"
ENV = {"ONESTOP_NOW": NOW, "ONESTOP_SCRYPT_N": "1024", **LOGIN}
NAME = "Nguyễn Thị Phương Thảo Tôn Nữ Hoàng Anh"
DESK_PASS = "mật khẩu quầy một"
ROOT_PASS = "mật khẩu khóa gốc tỉnh"


run = runner(ENV)


def _init(path: Path) -> None:
    init_desk(run, path)


def _receive(db: str) -> str:
    code, out, err = run(
        "receive",
        "--db",
        db,
        "--procedure",
        "2.001035",
        "--name",
        NAME,
        "--id",
        "001099012345",
        "--phone",
        "0912345678",
        "--json",
    )
    assert code == 0, err
    return str(json.loads(out)["code"])


def test_receipt_verify_tamper_revoke_unknown(demo_db: str, demo_pass: str, tmp_path: Path) -> None:
    code = _receive(demo_db)
    rc_, text, err = run(
        "receipt", code, "--db", demo_db, "--qr-text", "--passphrase-file", demo_pass
    )
    assert rc_ == 0, err
    text = text.strip()
    assert text.startswith("https://dvc.example.gov.vn/r1#")

    status, out, err = run("verify", text, "--db", demo_db)
    assert status == 0, err
    assert "Hợp lệ" in out and code in out and NAME in out
    assert "001099012345" not in out and "0912345678" not in out

    status, out, _ = run("verify", text, "--db", demo_db, "--json")
    doc = json.loads(out)
    assert status == 0 and doc["verdict"] == "valid" and doc["proven"] is True
    assert doc["claims"]["dossier_code"] == code
    assert doc["claims"]["applicant_name"] == NAME

    # Alter one character of the fragment: never valid, a bad signature or malformed.
    fragment = text.index("#") + 1
    for pos in range(fragment, len(text), 37):
        digit = "7" if text[pos] != "7" else "3"
        status, _, _ = run("verify", text[:pos] + digit + text[pos + 1 :], "--db", demo_db)
        assert status in (3, 6), (pos, status)

    # Province revokes the desk key (as of before this receipt) in a new list: exit 5.
    keys = keys_svc.keys_dir(Path(demo_db))
    extended = tmp_path / "province-list.cbor"
    shutil.copy(keys / "trust.cbor", extended)  # the province's current list, to extend
    status, out, err = run("keys", "show", "--db", demo_db, "--json")
    kid = json.loads(out)["desk_key"]["kid"]
    status, out, err = run(
        "keys",
        "issue-trust",
        "--root",
        str(keys / "root.key"),
        "--revoke",
        kid,
        "--revoked-at",
        "2026-11-20 09:00",
        "--province",
        "38",
        "--out",
        str(extended),
        "--passphrase-file",
        demo_pass,
        "--json",
    )
    assert status == 0, err
    assert json.loads(out)["revoked"] == [kid] and json.loads(out)["version"] == 2
    status, out, _ = run("verify", text, "--trust", str(extended))
    assert status == EXIT_CODES[Verdict.REVOKED_KEY] == 5
    assert "thu hồi" in out
    # Revoked only after the receipt was signed: still valid, unless the verifier is strict.
    later = tmp_path / "later.cbor"
    shutil.copy(keys / "trust.cbor", later)
    status, _, err = run(
        "keys",
        "issue-trust",
        "--root",
        str(keys / "root.key"),
        "--revoke",
        kid,
        "--revoked-at",
        "2026-11-20 11:00",
        "--province",
        "38",
        "--out",
        str(later),
        "--passphrase-file",
        demo_pass,
    )
    assert status == 0, err
    assert run("verify", text, "--trust", str(later))[0] == 0
    assert run("verify", text, "--trust", str(later), "--strict-revocation")[0] == 5

    # A trust list of another root that does not list this desk: unknown key, exit 4.
    other_root = tmp_path / "other-root.key"
    status, _, err = run(
        "keys", "create-root", "--out", str(other_root), env={"ONESTOP_PASSPHRASE": ROOT_PASS}
    )
    assert status == 0, err
    foreign = tmp_path / "foreign.cbor"
    status, _, err = run(
        "keys",
        "issue-trust",
        "--root",
        str(other_root),
        "--province",
        "38",
        "--out",
        str(foreign),
        env={"ONESTOP_PASSPHRASE": ROOT_PASS},
    )
    assert status == 0, err
    status, out, _ = run("verify", text, "--trust", str(foreign), "--json")
    assert status == 4 and json.loads(out)["verdict"] == "unknown_key"
    assert json.loads(out)["claims"]["dossier_code"] is None  # no entry, no unit e-ID
    assert code.endswith(json.loads(out)["claims"]["dossier_code_tail"])

    # Junk is malformed (6); the trust file's root can be pinned.
    assert run("verify", "hello", "--db", demo_db)[0] == 6
    assert run("verify", text, "--trust", str(foreign), "--pin", "0000000000000000")[0] == 1


def test_png_and_pdf(demo_db: str, demo_pass: str, tmp_path: Path) -> None:
    code = _receive(demo_db)
    png, pdf = tmp_path / "qr.png", tmp_path / "receipt.pdf"
    status, out, err = run(
        "receipt",
        code,
        "--db",
        demo_db,
        "--png",
        str(png),
        "--pdf",
        str(pdf),
        "--passphrase-file",
        demo_pass,
    )
    assert status == 0, err
    assert png.read_bytes().startswith(b"\x89PNG") and pdf.read_bytes().startswith(b"%PDF")
    assert "phiên bản 11" in out or "phiên bản 10" in out

    status, out, err = run("verify", str(png), "--db", demo_db)
    assert status == 0, (out, err)
    assert "Hợp lệ" in out and code in out

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed: cannot read the PDF back")
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert code in text and "Liên 2" in text and "Liên 1" in text
    assert "Mã khóa" in text  # the signature metadata in the footer

    missing = tmp_path / "missing.png"
    status, _, err = run("verify", str(missing), "--db", demo_db)
    assert status == 1 and "Không tìm thấy tệp ảnh" in err


def test_wrong_passphrase_exit_1_in_vietnamese(demo_db: str) -> None:
    code = _receive(demo_db)
    status, out, err = run(
        "receipt", code, "--db", demo_db, env={"ONESTOP_PASSPHRASE": "không phải mật khẩu"}
    )
    assert status == 1 and out == ""
    assert "Lỗi: Sai mật khẩu" in err
    # A hidden prompt when neither a file nor the variable gives it.
    status, _, err = run("receipt", code, "--db", demo_db, "--qr-text", input="sai mật khẩu nữa\n")
    assert status == 1 and "Sai mật khẩu" in err
    status, out, _ = run(
        "receipt", code, "--db", demo_db, "--qr-text", input=keys_svc.DEMO_PASSPHRASE + "\n"
    )
    assert status == 0 and out.strip().startswith("https://")
    # There is no way to put a passphrase on the command line.
    status, _, err = run("receipt", code, "--db", demo_db, "--passphrase", keys_svc.DEMO_PASSPHRASE)
    assert status == 2 and "Không có tùy chọn «--passphrase»" in err


def test_slip_command(demo_db: str, demo_pass: str, tmp_path: Path) -> None:
    code = _receive(demo_db)
    out_pdf = tmp_path / "control.pdf"
    status, _, err = run(
        "slip",
        code,
        "control",
        "--pdf",
        str(out_pdf),
        "--db",
        demo_db,
        "--passphrase-file",
        demo_pass,
    )
    assert status == 0, err
    assert b"kid=" in out_pdf.read_bytes()
    status, _, err = run(
        "slip", code, "supplement", "--pdf", str(out_pdf), "--db", demo_db, "--unsigned"
    )
    assert status == 1 and "bổ sung" in err
    status, _, _ = run("slip", code, "nonsense", "--pdf", str(out_pdf), "--db", demo_db)
    assert status == 2
    status, _, _ = run(
        "slip", code, "receipt", "--pdf", str(out_pdf), "--db", demo_db, "--unsigned"
    )
    assert status == 0 and b"unsigned" in out_pdf.read_bytes()


def test_desk_enrolment_by_files(tmp_path: Path) -> None:
    """The full offline flow: desk key -> request -> province list -> pinned import -> receipt."""
    db = tmp_path / "desk.sqlite"
    _init(db)
    env = {"ONESTOP_PASSPHRASE": DESK_PASS}
    admin = {**ADMIN, **env}  # the desk key and the root pin are the admin's
    status, out, err = run("keys", "show", "--db", str(db))
    assert status == 0 and "chưa có" in out
    status, out, err = run("keys", "create-desk", "--db", str(db), "--json", env=admin)
    assert status == 0, err
    kid = json.loads(out)["kid"]
    assert run("keys", "create-desk", "--db", str(db), env=admin)[0] == 1  # never overwritten
    request = tmp_path / "request.json"
    status, out, err = run("keys", "export-public", "--db", str(db), "--out", str(request))
    assert status == 0 and kid in out

    root_env = {"ONESTOP_PASSPHRASE": ROOT_PASS}
    root = tmp_path / "root.key"
    status, out, err = run("keys", "create-root", "--out", str(root), "--json", env=root_env)
    assert status == 0, err
    fingerprint = json.loads(out)["fingerprint"]
    trust = tmp_path / "trust.cbor"
    args = ["keys", "issue-trust", "--root", str(root), "--province", "38", "--out", str(trust)]
    status, out, err = run(
        *args, "--add", str(request), "--host", "tracuu.thanhhoa.gov.vn", env=root_env
    )
    assert status == 0, err
    assert run(*args, "--version", "1", env=root_env)[0] == 1  # versions only go up

    # First import: without --pin the operator must confirm the fingerprint shown.
    status, _, err = run(
        "keys", "import-trust", str(trust), "--db", str(db), input="n\n", env=ADMIN
    )
    assert status == 1 and fingerprint in err
    status, _, err = run(
        "keys", "import-trust", str(trust), "--db", str(db), "--pin", "ab" * 8, env=ADMIN
    )
    assert status == 1 and "khác dấu vân tay" in err
    status, out, err = run(
        "keys", "import-trust", str(trust), "--db", str(db), "--pin", fingerprint, env=ADMIN
    )
    assert status == 0, err
    status, out, _ = run("keys", "show", "--db", str(db), "--json")
    summary = json.loads(out)
    assert summary["desk_key"]["kid"] == kid and summary["own_entry"]["status"] == "active"
    assert summary["receipt_host"] == "tracuu.thanhhoa.gov.vn"
    assert summary["trust"]["root_fingerprint"] == fingerprint

    code = _receive(str(db))
    status, out, err = run("receipt", code, "--db", str(db), "--json", env=env)
    assert status == 0, err
    issued = json.loads(out)
    assert issued["kid"] == kid and issued["qr_version"] <= 11
    assert issued["qr_text"].startswith("https://tracuu.thanhhoa.gov.vn/r1#")
    # Anyone with only the trust file verifies offline, pinning the announced root.
    status, out, _ = run("verify", issued["qr_text"], "--trust", str(trust), "--pin", fingerprint)
    assert status == 0 and "Hợp lệ" in out
    # From stdin, as a scanner would pipe it.
    status, out, _ = run("verify", "-", "--trust", str(trust), input=issued["qr_text"] + "\n")
    assert status == 0


def test_verify_needs_a_trust_list(tmp_path: Path) -> None:
    status, _, err = run("verify", "https://x.vn/r1#123", "--db", str(tmp_path / "none.sqlite"))
    assert status == 2 and "--trust" in err
    db = tmp_path / "desk.sqlite"
    _init(db)
    status, _, err = run("verify", "https://x.vn/r1#123", "--db", str(db))
    assert status == 2 and "import-trust" in err
    bad = tmp_path / "bad.cbor"
    bad.write_bytes(b"junk")
    status, _, err = run("verify", "x", "--trust", str(bad))
    assert status == 1 and "Lỗi:" in err


def test_english_messages(demo_db: str) -> None:
    code = _receive(demo_db)
    status, _, err = run(
        "receipt",
        code,
        "--db",
        demo_db,
        env={"ONESTOP_PASSPHRASE": "không phải mật khẩu", "ONESTOP_LANGUAGE": "en"},
    )
    assert status == 1 and err.startswith("Error:")
    status, out, _ = run("keys", "show", "--db", demo_db, env={"ONESTOP_LANGUAGE": "en"})
    assert status == 0 and "Desk key:" in out and "Lookup host" in out
