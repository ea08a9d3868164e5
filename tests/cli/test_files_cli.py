"""``onestop attach`` / ``files`` / ``file-get`` on an encrypted desk made through the CLI."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from onestop.store.files import files_dir
from tests.cli.login import LOGIN, NOW, init_desk, runner
from tests.services.attach_helpers import KNOWN_TEXT, make_pdf

run = runner({**NOW, **LOGIN})


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "desk.sqlite")
    init_desk(run, path)
    return path


def receive(db: str) -> str:
    code, out, err = run(
        "receive", "--db", db, "--procedure", "2.001035", "--name", "Nguyễn Văn An",
        "--id", "001099012345", "--json",
    )  # fmt: skip
    assert code == 0, err
    return str(json.loads(out)["code"])


def test_attach_list_get(db: str, tmp_path: Path):
    c = receive(db)
    pdf = tmp_path / "giay.pdf"
    data = make_pdf(3)
    pdf.write_bytes(data)
    code, out, err = run(
        "attach", "--db", db, c, "--component", "1", "--file", str(pdf), "--pages", "3",
        "--paper-pages", "2", "--sticky", "1", "--json",
    )  # fmt: skip
    assert code == 0, err
    a = json.loads(out)
    assert (a["pages"], a["paper_pages"], a["sticky_pages"]) == (3, 2, 1)
    code, out, _ = run("files", "--db", db, c, "--json")
    assert code == 0 and [x["id"] for x in json.loads(out)] == [a["id"]]
    code, out, _ = run("files", "--db", db, c)
    assert code == 0 and a["id"] in out and "Thành phần 1" in out
    dest = tmp_path / "out.pdf"
    code, _, err = run("file-get", "--db", db, c, a["id"], "--out", str(dest))
    assert code == 0, err
    assert dest.read_bytes() == data
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    # The encrypted desk's folder holds no page text.
    folder = files_dir(Path(db))
    blob = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert blob and KNOWN_TEXT.encode() not in blob


def test_refusals_exit_1_and_store_nothing(db: str, tmp_path: Path):
    c = receive(db)
    text = tmp_path / "note.txt"
    text.write_text("không phải PDF")
    code, _, err = run(
        "attach", "--db", db, c, "--component", "1", "--file", str(text), "--pages", "1",
        "--paper-pages", "1",
    )  # fmt: skip
    assert code == 1 and "không phải ảnh quét hay PDF" in err
    pdf = tmp_path / "giay.pdf"
    pdf.write_bytes(make_pdf(2))
    code, _, err = run(
        "attach", "--db", db, c, "--component", "1", "--file", str(pdf), "--pages", "3",
        "--paper-pages", "3",
    )  # fmt: skip
    assert code == 1 and "2 trang" in err
    code, _, err = run("attach", "--db", db, c, "--result", "--file", str(pdf), "--pages", "2")
    assert code == 1 and "đã được giải quyết" in err
    code, _, _ = run("attach", "--db", db, c, "--file", str(pdf), "--pages", "2")
    assert code == 2
    folder = files_dir(Path(db))
    assert not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]
    code, _, err = run("file-get", "--db", db, c, "abcdef", "--out", str(tmp_path / "x.pdf"))
    assert code == 1 and not (tmp_path / "x.pdf").exists()


def test_attach_shown_only(db: str):
    c = receive(db)
    code, out, err = run(
        "attach", "--db", db, c, "--component", "1", "--shown-only", "--paper-pages", "2",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    m = json.loads(out)
    assert (m["component"], m["shown_only"], m["paper_pages"]) == (1, True, 2)
    code, out, _ = run("files", "--db", db, c)
    assert code == 0 and "chỉ xuất trình" in out
    code, _, err = run("attach", "--db", db, c, "--component", "2", "--shown-only")
    assert code != 0 and "--paper-pages" in err
