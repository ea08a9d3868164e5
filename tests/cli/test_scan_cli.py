"""``onestop scanners|scan|separator|hotfolder`` and ``attach`` of images, on a real desk with
SANE's real ``test`` backend and a hot folder fed with separator sheets the CLI printed."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import img2pdf
import pytest
from PIL import Image

from onestop.scans import render_separator_pdf
from onestop.scans.sources import parse_separator, pdf_page_images
from onestop.services import attachments as att
from onestop.services.desk import Desk
from tests.cli.login import NOW, runner
from tests.scans.pages import jpeg_bytes, render_page
from tests.services.test_attachments import receive

run = runner(NOW)


@pytest.fixture
def sane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("scanimage") is None:
        pytest.skip("scanimage (Debian sane-utils) not installed; .ci/run installs it")
    conf = tmp_path / "sane.d"
    conf.mkdir()
    (conf / "dll.conf").write_text("test\n")
    if Path("/etc/sane.d/test.conf").exists():
        shutil.copy("/etc/sane.d/test.conf", conf / "test.conf")
    monkeypatch.setenv("SANE_CONFIG_DIR", str(conf))
    return conf


def test_scanners_and_scan_attach_through_sane(desk: Desk, sane: Path) -> None:
    db = str(desk.store.path)
    code, out, err = run("scanners", "--json")
    assert code == 0, err
    assert "test:0" in [d["device"] for d in json.loads(out)]
    c = receive(desk)
    code, out, err = run(
        "scan", "--db", db, c, "--component", "1", "--paper-pages", "1", "--device", "test:0",
        "--mode", "Gray", "--json",
    )  # fmt: skip
    assert code == 0, err
    a = json.loads(out)
    assert (a["component"], a["pages"], a["paper_pages"]) == (1, 1, 1)
    assert att.open_file(desk, c, a["id"]).startswith(b"%PDF-")
    # The page count of the paper is the rule's: a mismatch is refused, nothing stored.
    code, _, err = run(
        "scan", "--db", db, c, "--component", "2", "--paper-pages", "3", "--device", "test:0"
    )
    assert code == 1 and "không khớp bản giấy" in err
    assert [x.component for x in att.list_attachments(desk, c)] == [1]
    code, _, err = run("scan", "--db", db, c, "--component", "2", "--paper-pages", "1",
                       "--device", "nosuch:0")  # fmt: skip
    assert code == 1 and "Không tìm thấy máy quét" in err


def test_attach_normalises_an_image_and_counts_its_pages(desk: Desk, tmp_path: Path) -> None:
    db = str(desk.store.path)
    c = receive(desk)
    photo = tmp_path / "trang.jpg"
    photo.write_bytes(jpeg_bytes(render_page(), dpi=200))
    code, _, err = run("attach", "--db", db, c, "--component", "1", "--file", str(photo))
    assert code == 2 and "--paper-pages" in err
    code, out, err = run(
        "attach", "--db", db, c, "--component", "1", "--file", str(photo), "--paper-pages", "1",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    a = json.loads(out)
    assert a["pages"] == 1
    assert att.open_file(desk, c, a["id"]).startswith(b"%PDF-")
    code, _, err = run(
        "attach", "--db", db, c, "--component", "2", "--file", str(photo), "--paper-pages", "2"
    )
    assert code == 1
    text = tmp_path / "x.txt"
    text.write_text("không phải bản quét")
    code, _, err = run(
        "attach", "--db", db, c, "--component", "2", "--file", str(text), "--paper-pages", "1"
    )
    assert code == 1 and "không phải ảnh quét hay PDF" in err


def _decode(pdf: bytes) -> list[tuple[str, int]]:
    import zxingcpp

    found = []
    for page in pdf_page_images(pdf):
        for r in zxingcpp.read_barcodes(page.convert("L")):
            hit = parse_separator(r.text or "")
            if hit:
                found.append(hit)
    return found


def test_separator_then_hotfolder_attaches_to_two_dossiers(desk: Desk, tmp_path: Path) -> None:
    db = str(desk.store.path)
    a, b = receive(desk, "Nguyễn Văn An"), receive(desk, "Lò Thị Bình")
    sheets_a, sheets_b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    code, out, err = run("separator", "--db", db, a, "--component", "1", "--component", "2",
                         "--pdf", str(sheets_a), "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["components"] == [1, 2]
    assert stat.S_IMODE(sheets_a.stat().st_mode) == 0o600
    assert _decode(sheets_a.read_bytes()) == [(a, 1), (a, 2)]
    code, _, err = run("separator", "--db", db, b, "--component", "1", "--pdf", str(sheets_b))
    assert code == 0, err
    assert _decode(sheets_b.read_bytes()) == [(b, 1)]
    code, _, err = run(
        "separator", "--db", db, a, "--component", "99", "--pdf", str(tmp_path / "x.pdf")
    )
    assert code == 1 and "không có thành phần số 99" in err

    sep_a1, sep_a2 = pdf_page_images(sheets_a.read_bytes())
    (sep_b1,) = pdf_page_images(sheets_b.read_bytes())
    (sep_x,) = pdf_page_images(render_separator_pdf("XX-NOSUCH", 1, "Tờ khai"))

    def stack(pages: list[Image.Image]) -> bytes:
        pdf: bytes = img2pdf.convert([jpeg_bytes(p, quality=60, dpi=200) for p in pages])
        return pdf

    p1, p2, p3 = (render_page(seed=s) for s in (1, 2, 3))
    hot = tmp_path / "hot"
    hot.mkdir()
    (hot / "001.pdf").write_bytes(stack([sep_a1, p1, p2, sep_a2, p3]))
    (hot / "002.pdf").write_bytes(stack([sep_b1, p1]))
    (hot / "003.pdf").write_bytes(stack([sep_x, p2]))  # a dossier this desk does not have
    old = 1_000_000_000
    for f in hot.iterdir():
        os.utime(f, (old, old))
    code, out, err = run("hotfolder", "--db", db, str(hot), "--json")
    assert code == 1, err
    parts = [json.loads(line) for line in out.splitlines()]
    assert [(p["code"], p["component"], p["pages"], p["status"]) for p in parts] == [
        (a, 1, 2, "attached"),
        (a, 2, 1, "attached"),
        (b, 1, 1, "attached"),
        ("XX-NOSUCH", 1, 1, "left"),
    ]
    assert "Không tìm thấy hồ sơ" in parts[-1]["message"]
    assert sorted(f.name for f in (hot / "done").iterdir()) == ["001.pdf", "002.pdf"]
    assert (hot / "003.pdf").exists()
    got_a = att.list_attachments(desk, a)
    assert [(x.component, x.pages, x.paper_pages) for x in got_a] == [(1, 2, 2), (2, 1, 1)]
    assert [(x.component, x.pages) for x in att.list_attachments(desk, b)] == [(1, 1)]
    # A second pass: the left stack is still refused, nothing attached twice.
    code, out, _ = run("hotfolder", "--db", db, str(hot), "--json")
    assert code == 1 and [json.loads(x)["status"] for x in out.splitlines()] == ["left"]
    assert len(att.list_attachments(desk, a)) == 2
