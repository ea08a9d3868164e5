"""Vietnamese typed with Unikey/EVKey through a real terminal into every text field of intake.

The real ``onestop`` desk runs in tmux; ``send-keys -H`` writes the very bytes an IME sends
(tests/tui/vietnamese_ime.py): base letters, then backspaces and the corrected letters at each
tone or shape key, in one burst per field. Backspace is 0x08 in some fields and 0x7F in others,
swapped between the Telex and the VNI run, so every field sees both; one field of the VNI run
gets Unikey's decomposed output ("Unicode tổ hợp"). The dossier is then read back with
``onestop dossier show --json``: every stored text must be exactly the NFC string the clerk
meant. Without the desk's backspace fix (tui/_typing.py) the first field already fails: the
backspaces of a burst land after the letters that follow them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest

from tests.tui.test_tmux_e2e import NOW, ONESTOP, Tmux, terminal_env
from tests.tui.vietnamese_ime import BS_CTRL_H, BS_DEL, final_text, stream

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or not ONESTOP.exists(),
    reason="needs tmux and the installed onestop command",
)

# What the clerk types into each text field, in Telex and in VNI.
KEYS = {
    "query": ("chuwngs thuwcj chuwx kys", "chu7ng1 thu7c5 chu74 ky1"),
    "name": ("Nguyeenx Thij Hueej", "Nguye6n4 Thi5 Hue65"),
    "address": (
        "Soos 12 dduwowngf Traanf Phus, xax DDuwcs Thoj",
        "So61 12 d9u7o7ng2 Tra6n2 Phu1, xa4 D9u7c1 Tho5",
    ),
    "proxy_name": ("Lee Vawn Duxng", "Le6 Va8n Du4ng"),
    "proxy_paper": (
        "Giaays uyr quyeenf soos 05/UQ ngayf 02/11/2026",
        "Gia6y1 u3y quye6n2 so61 05/UQ nga2y 02/11/2026",
    ),
    "note": (
        "DDax nhaanj ddur giaays towf, hejn trar ddusng hajn",
        "D9a4 nha65n d9u3 gia6y1 to72, he5n tra3 d9u1ng ha5n",
    ),
}
EXPECTED = {
    "query": "chứng thực chữ ký",
    "name": "Nguyễn Thị Huệ",
    "address": "Số 12 đường Trần Phú, xã Đức Thọ",
    "proxy_name": "Lê Văn Dũng",
    "proxy_paper": "Giấy ủy quyền số 05/UQ ngày 02/11/2026",
    "note": "Đã nhận đủ giấy tờ, hẹn trả đúng hạn",
}
APPLICANT_ID = "038190012345"
PROXY_ID = "001090004321"


def test_the_recorded_streams_spell_what_the_clerk_meant() -> None:
    for field, (telex, vni) in KEYS.items():
        assert final_text(telex, "telex") == EXPECTED[field]
        assert final_text(vni, "vni") == EXPECTED[field]
    # The shape of a real IME stream: base letters, then backspace and the precomposed letter.
    assert stream("Nguyeenx", "telex", BS_DEL) == "Nguye\x7fên\x7f\x7fễn".encode()
    assert stream("Nguye6n4", "vni", BS_CTRL_H) == "Nguye\x08ên\x08\x08ễn".encode()


def _tab_to_note(tmux: Tmux, screen: str) -> None:
    """From the paper list (step 3's first stop) to the note: past the channel and the fee,
    and past the "Đã thu" box and the appointment row when this procedure shows them."""
    lines = [ln.strip() for ln in screen.splitlines()]
    tabs = 3 + any(ln.startswith("Hẹn trả") for ln in lines) + ("Đã thu" in screen)
    tmux.keys(*["Tab"] * tabs)


def _hex(data: bytes) -> list[str]:
    return [f"{b:02x}" for b in data]


@pytest.mark.parametrize("method", ["telex", "vni"])
def test_every_intake_text_field_stores_nfc(tmp_path: Path, method: str) -> None:
    from onestop.services.demo import build_demo

    which = 0 if method == "telex" else 1
    db = tmp_path / "desk.sqlite"
    build_demo(db, dossiers=3, now=datetime(2026, 11, 20, 10, 0))
    env = terminal_env(tmp_path)
    tmux = Tmux(f"onestop-ime-{method}-{os.getpid()}", env)
    backspaces = [BS_CTRL_H, BS_DEL]
    used: dict[str, bytes] = {}

    def ime(field: str, *, decomposed: bool = False) -> None:
        """Type ``field``'s text as one burst, as the IME sends it; wait until it shows."""
        bs = backspaces[(len(used) + which) % 2]
        used[field] = bs
        data = stream(KEYS[field][which], method, bs, decomposed=decomposed)
        tmux.run("send-keys", "-t", "desk", "-H", *_hex(data))
        # The pane shows what the field holds; decomposed input is stored NFC, shown as typed.
        tmux.wait_for(lambda s: EXPECTED[field] in unicodedata.normalize("NFC", s))

    try:
        tmux.run(
            *("-u", "new-session", "-d", "-s", "desk", "-x", "100", "-y", "32"),
            *("-e", f"ONESTOP_NOW={NOW}"),
            f"{ONESTOP} --db {db}",
        )
        tmux.wait_for(lambda s: "Tất cả hồ sơ" in s and "Đang mở" not in s, timeout=20)
        tmux.keys("F2")
        tmux.wait_for("Gõ một phần tên")
        ime("query")
        tmux.wait_for("2.000884  Chứng thực chữ ký")
        tmux.keys("Enter")
        tmux.wait_for("Thủ tục: 2.000884")
        tmux.type(APPLICANT_ID)  # the CCCD field has the focus first (issue 17)
        tmux.wait_for("Hợp lệ")
        tmux.keys("Enter")
        ime("name")
        tmux.keys("Enter", "Enter", "Enter")  # phone, email: left empty
        ime("address")
        tmux.keys("Enter")  # to "Có người nộp thay"
        tmux.keys("Space")  # ticks it: the proxy name gets the focus
        tmux.wait_for("Người nộp thay *")
        ime("proxy_name")
        tmux.keys("Enter")
        tmux.type(PROXY_ID)
        tmux.keys("Enter", "Enter")  # proxy phone left empty
        ime("proxy_paper")
        tmux.keys("F8")
        _tab_to_note(tmux, tmux.wait_for("Giấy tờ đã nhận"))
        ime("note", decomposed=method == "vni")
        note_line = next(ln for ln in tmux.screen().splitlines() if "Ghi chú" in ln)
        assert EXPECTED["note"] in unicodedata.normalize("NFC", note_line), note_line
        tmux.keys("F8")
        screen = tmux.wait_for("HẸN TRẢ KẾT QUẢ")
        if "Thu phí, lệ phí *" in screen:  # the fee's state is asked, never defaulted
            tmux.keys("Enter")  # "Đã thu ngay", the highlighted choice
            tmux.wait_for("— đã thu")  # the preview is checked again: F10 waits for it
        tmux.keys("F10")
        screen = tmux.wait_for("Biên nhận hồ sơ")
        code = next(line.strip() for line in screen.splitlines() if "000.00.14.H56-" in line)
        tmux.keys("C-q")
    finally:
        subprocess.run(
            ["tmux", "-L", tmux.socket, "kill-server"], env=env, capture_output=True, timeout=10
        )
    assert set(used.values()) == {BS_CTRL_H, BS_DEL}

    shown = subprocess.run(
        [str(ONESTOP), "dossier", "show", code, "--db", str(db), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data = json.loads(shown.stdout)
    dossier = data["dossier"]
    receive = next(e for e in data["events"] if e["kind"] == "receive")
    stored = {
        "name": dossier["applicant_name"],
        "address": dossier["applicant_address"],
        "proxy_name": dossier["proxy"]["name"],
        "proxy_paper": dossier["proxy"]["paper"],
        "note": receive["note"],
    }
    assert dossier["applicant_id"] == APPLICANT_ID
    assert dossier["proxy"]["id"] == PROXY_ID
    for field, value in stored.items():
        assert value == EXPECTED[field], (field, used[field])
        assert unicodedata.is_normalized("NFC", value), field
