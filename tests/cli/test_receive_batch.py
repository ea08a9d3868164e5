"""``onestop receive --from-csv`` / ``--from-jsonl``: one login, every row checked as a single
receive, refused rows reported (row number + reason) without stopping the rest (issue 19 §3)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.cli.login import LOGIN, NOW, init_desk, runner

run = runner({**NOW, **LOGIN})


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "desk.sqlite")
    init_desk(run, path)  # as the admin: its env replaces LOGIN's user and password
    return path


CSV = """procedure,name,id,phone,paid
2.001035,Nguyễn Văn An,001099012345,0912345678,1
2.001035,Lò Thị Mai,12345,,0
9.999999,Hà Văn Gia,001099012346,,
2.001035,"Vi Ngọc Ánh, bản Na",038199012345,,không
"""


def test_csv_receives_the_good_rows_and_reports_the_refused(db: str, tmp_path: Path) -> None:
    src = tmp_path / "hoso.csv"
    src.write_text(CSV, encoding="utf-8")
    rejects = tmp_path / "loi.csv"
    code, out, err = run(
        "receive", "--db", db, "--from-csv", str(src), "--rejects", str(rejects), "--json"
    )
    assert code == 1, err
    summary = json.loads(out)
    assert [r["row"] for r in summary["received"]] == [2, 5]
    assert [r["row"] for r in summary["refused"]] == [3, 4]
    assert summary["count"] == {"received": 2, "refused": 2}
    reasons = " ".join(r["reason"] for r in summary["refused"])
    assert "CCCD" in reasons or "định danh" in reasons
    assert "9.999999" in reasons
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("row,procedure,name,id") and len(lines) == 3
    code, out, _ = run("dossier", "list", "--db", db, "--json")
    names = {d["applicant_name"] for d in json.loads(out)["dossiers"]}
    assert names == {"Nguyễn Văn An", "Vi Ngọc Ánh, bản Na"}
    paid = {d["applicant_name"]: d["fee_paid"] for d in json.loads(out)["dossiers"]}
    assert paid["Nguyễn Văn An"] > 0 and paid["Vi Ngọc Ánh, bản Na"] == 0


def test_jsonl_from_stdin_in_text_mode(db: str) -> None:
    lines = [
        json.dumps({"procedure": "2.001035", "name": "Nguyễn Văn An", "id": "001099012345"}),
        "không phải json",
        json.dumps({"procedure": "2.001035", "name": "Lò Thị Mai", "id": "038199012345"}),
    ]
    code, out, err = run("receive", "--db", db, "--from-jsonl", "-", input="\n".join(lines) + "\n")
    assert code == 1
    assert "Dòng 2 bị từ chối" in err and "JSON" in err
    assert "Đã tiếp nhận 2 hồ sơ; 1 dòng bị từ chối." in out
    assert "000.00.14.H56-261120-010002" in out


def test_a_file_with_unknown_columns_is_refused_whole(db: str, tmp_path: Path) -> None:
    src = tmp_path / "hoso.csv"
    src.write_text("procedure,ten,id\n2.001035,An,001099012345\n", encoding="utf-8")
    code, _, err = run("receive", "--db", db, "--from-csv", str(src))
    assert code == 1 and "ten" in err and "Cột không có trong mẫu" in err
    code, out, _ = run("dossier", "list", "--db", db, "--json")
    assert json.loads(out)["dossiers"] == []


def test_single_receive_still_needs_its_options(db: str) -> None:
    code, _, err = run("receive", "--db", db, "--procedure", "2.001035", "--name", "An")
    assert code == 2 and "Thiếu tùy chọn '--id'" in err


def test_help_documents_the_columns_with_an_example() -> None:
    code, out, _ = run("receive", "--help")
    assert code == 0
    assert "procedure,name,id,phone,paid" in out and "--from-csv" in out and "--rejects" in out
