"""``onestop detach``: confirmation, clear messages, the event recorded, nothing changed on a no."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onestop.cli import files as files_cli
from tests.cli.login import LOGIN, NOW, init_desk, runner
from tests.services.attach_helpers import make_pdf

run = runner({**NOW, **LOGIN})


@pytest.fixture
def attached(tmp_path: Path) -> tuple[str, str, str]:
    db = str(tmp_path / "desk.sqlite")
    init_desk(run, db)
    code, out, err = run(
        "receive", "--db", db, "--procedure", "2.001035", "--name", "Nguyễn Văn An",
        "--id", "001099012345", "--json",
    )  # fmt: skip
    assert code == 0, err
    c = str(json.loads(out)["code"])
    pdf = tmp_path / "giay.pdf"
    pdf.write_bytes(make_pdf(2))
    code, out, err = run(
        "attach", "--db", db, c, "--component", "1", "--file", str(pdf), "--paper-pages", "2",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    return db, c, str(json.loads(out)["id"])


def listed(db: str, c: str) -> list[str]:
    code, out, _ = run("files", "--db", db, c, "--json")
    assert code == 0
    return [x["id"] for x in json.loads(out)]


def test_detach_with_yes(attached: tuple[str, str, str]):
    db, c, fid = attached
    code, out, err = run("detach", "--db", db, c, fid, "--yes", "--note", "quét nhầm")
    assert code == 0, err
    assert f"Đã gỡ tệp {fid} (thành phần 1, 2 trang)" in out
    assert listed(db, c) == []
    code, out, _ = run("dossier", "show", "--db", db, c, "--json")
    assert code == 0 and "detach" in out


def test_without_a_terminal_refuses_and_keeps_the_file(attached: tuple[str, str, str]):
    db, c, fid = attached
    code, _, err = run("detach", "--db", db, c, fid)
    assert code == 1 and "--yes" in err and "Chưa gỡ gì" in err
    assert listed(db, c) == [fid]


def test_asks_in_a_terminal(attached: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch):
    db, c, fid = attached
    monkeypatch.setattr(files_cli, "_interactive", lambda: True)
    code, _, err = run("detach", "--db", db, c, fid, input="n\n")
    assert code == 1 and "Đã hủy; chưa gỡ gì" in err
    assert listed(db, c) == [fid]
    code, out, err = run("detach", "--db", db, c, fid, input="y\n")
    assert code == 0, err
    assert listed(db, c) == []


def test_unknown_id_and_shown_only(attached: tuple[str, str, str]):
    db, c, fid = attached
    code, _, err = run("detach", "--db", db, c, "abcdef", "--yes")
    assert code == 1 and "không có tệp đính kèm mã abcdef" in err
    code, _, err = run(
        "attach", "--db", db, c, "--component", "2", "--shown-only", "--paper-pages", "1"
    )
    assert code == 0, err
    code, out, err = run("detach", "--db", db, c, "shown-2", "--yes", "--json")
    assert code == 0, err
    assert json.loads(out)["detached"] == "shown-2"
    code, out, _ = run("files", "--db", db, c)
    assert "chỉ xuất trình" not in out
