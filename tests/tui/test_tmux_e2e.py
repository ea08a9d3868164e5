"""The real ``onestop`` command in a real terminal (tmux): log in, receive a dossier, find it.

``onestop demo`` builds an encrypted desk, ``onestop --db`` opens it inside a detached tmux
session of 80×24 with the clock frozen by ``ONESTOP_NOW``; the clerk logs in on the login screen
(a wrong password first), keys go in with ``send-keys`` and the screen comes back with
``capture-pane``. The session runs on a private tmux socket and is always
killed, whatever happens.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ONESTOP = Path(sys.executable).with_name("onestop")
NOW = "2026-11-20 10:00"
NAME = "Trần Thị Bưởi"

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or not ONESTOP.exists(),
    reason="needs tmux and the installed onestop command",
)


class Tmux:
    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env
        self.pressed = 0  # keystrokes sent: one per named key, one per typed character
        self.seen: list[str] = []  # every screen captured, for assertions over the whole run

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        self.pressed += len(keys)
        self.run("send-keys", "-t", "desk", *keys)

    def type(self, text: str) -> None:
        self.pressed += len(text)
        self.run("send-keys", "-t", "desk", "-l", text)

    def screen(self) -> str:
        screen = self.run("capture-pane", "-p", "-t", "desk")
        self.seen.append(screen)
        return screen

    def wait_for(self, check: Callable[[str], bool] | str, timeout: float = 10.0) -> str:
        """Poll the pane until ``check`` holds (a terminal has no "idle" event to wait on)."""
        test = (lambda s: check in s) if isinstance(check, str) else check
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if test(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {check!r}; the screen was:\n{screen}")


def terminal_env(tmp_path: Path) -> dict[str, str]:
    """A UTF-8 xterm, no developer config, no outer tmux or desk path leaking in."""
    env = {
        **os.environ,
        "ONESTOP_CONFIG_FILE": str(tmp_path / "no-config.toml"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
    }
    env.pop("ONESTOP_DB", None)
    env.pop("TMUX", None)
    return env


def _demo_desk(tmp_path: Path, name: str) -> tuple[Path, dict[str, str]]:
    """``onestop demo`` (40 dossiers) into ``tmp_path/name``, and the terminal's environment
    with the desk clock frozen at ``NOW``."""
    db = tmp_path / name
    env = {**terminal_env(tmp_path), "ONESTOP_NOW": NOW}
    subprocess.run(
        [str(ONESTOP), "demo", "--db", str(db), "--dossiers", "40"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return db, env


def test_receive_then_find_by_unaccented_name(tmp_path: Path) -> None:
    db, env = _demo_desk(tmp_path, "e2e.sqlite")
    tmux = Tmux(f"onestop-e2e-{os.getpid()}", env)
    try:
        tmux.run(
            "-u",
            "new-session",
            "-d",
            "-s",
            "desk",
            "-x",
            "80",
            "-y",
            "24",
            "-e",
            f"ONESTOP_NOW={NOW}",
            f"{ONESTOP} --db {db}",
        )
        tmux.wait_for("Đăng nhập quầy Một cửa")
        tmux.wait_for("onestop-demo")  # the demo desk shows its accounts
        tmux.type("canbo")
        tmux.keys("Enter")
        tmux.type("sai-mat-khau")
        tmux.keys("Enter")
        tmux.wait_for("Sai tên đăng nhập hoặc mật khẩu")
        tmux.type("onestop-demo")
        started = time.monotonic()
        tmux.keys("Enter")
        tmux.wait_for("Bảng điều khiển")
        tmux.wait_for("Tất cả hồ sơ")
        start_seconds = time.monotonic() - started

        tmux.keys("F2")
        tmux.wait_for("Gõ một phần tên")
        tmux.type("chung thuc chu ky")
        tmux.wait_for("2.000884")
        tmux.keys("Enter")
        screen = tmux.wait_for("Họ và tên")
        assert "Thủ tục: 2.000884 Chứng thực chữ ký" in screen, screen
        tmux.type("038190012345")
        tmux.keys("Enter")  # typed straight on: Enter must move on before the next key lands
        tmux.type(NAME)
        tmux.wait_for("Hợp lệ")
        tmux.keys("F8")
        tmux.wait_for("Giấy tờ đã nhận")
        tmux.keys("F8")
        screen = tmux.wait_for("HẸN TRẢ KẾT QUẢ")
        assert "17 giờ 00 phút, ngày 20 tháng 11 năm 2026" in screen
        tmux.keys("Down", "Enter")  # the fee: not collected yet
        tmux.wait_for("10.000 đ — chưa thu")
        tmux.keys("F10")
        screen = tmux.wait_for("Biên nhận hồ sơ")
        code = next(line.strip() for line in screen.splitlines() if "000.00.14.H56-" in line)
        assert code.startswith("000.00.14.H56-261120-")

        tmux.keys("Escape")
        tmux.wait_for("Bảng điều khiển")
        tmux.keys("F3")
        tmux.wait_for("Danh sách hồ sơ")
        tmux.type("tran thi buoi")
        screen = tmux.wait_for(lambda s: " · 1 hồ sơ" in s)  # "Trang 1 · …" or "Trang 1/1 · …"
        rows = [line for line in screen.splitlines() if NAME in line]
        assert len(rows) == 1
        assert code.split("-", 1)[1] in rows[0]  # the list shows the code without the unit
        assert "Mới tiếp nhận" in rows[0]
        tmux.keys("C-q")
        tmux.wait_for(lambda s: "Danh sách hồ sơ" not in s)
        assert start_seconds < 5, f"the desk took {start_seconds:.1f} s to show its dashboard"
    finally:
        subprocess.run(
            ["tmux", "-L", tmux.socket, "kill-server"], env=env, capture_output=True, timeout=10
        )


def test_plain_desk_counts_first_and_a_key_pressed_at_once_is_kept(tmp_path: Path) -> None:
    """A desk without accounts: the counts come from the glance, F3 pressed the moment they show
    (the desk is still opening behind them) opens the list once it can, and search works."""
    from datetime import datetime

    from onestop.services.demo import build_demo

    db = tmp_path / "plain.sqlite"
    build_demo(db, dossiers=60, now=datetime(2026, 11, 20, 10, 0))
    env = terminal_env(tmp_path)
    tmux = Tmux(f"onestop-e2e-plain-{os.getpid()}", env)
    try:
        tmux.run(
            *("-u", "new-session", "-d", "-s", "desk", "-x", "80", "-y", "24"),
            *("-e", f"ONESTOP_NOW={NOW}"),
            f"{ONESTOP} --db {db}",
        )
        tmux.wait_for(lambda s: "Tất cả hồ sơ" in s and " 60" in s, timeout=15)
        tmux.keys("F3")
        tmux.wait_for(" · 60 hồ sơ")
        tmux.type("nguyen")

        def only_nguyen(screen: str) -> bool:
            rows = [line for line in screen.splitlines() if " 261" in line]
            return bool(rows) and all("Nguyễn" in row for row in rows)

        screen = tmux.wait_for(only_nguyen)
        assert " · 60 hồ sơ" not in screen
        tmux.keys("C-q")
        tmux.wait_for(lambda s: "Danh sách hồ sơ" not in s)
    finally:
        subprocess.run(
            ["tmux", "-L", tmux.socket, "kill-server"], env=env, capture_output=True, timeout=10
        )


PASSWORD = "onestop-demo"
CCCD = "038190012345"
LIFE_KEYS_BEFORE = 354  # issue 17's measurement of the same life before the clerk's-day work


def _start(tmux: Tmux, db: Path) -> None:
    tmux.run(
        *("-u", "new-session", "-d", "-s", "desk", "-x", "80", "-y", "24"),
        *("-e", f"ONESTOP_NOW={NOW}"),
        f"{ONESTOP} --db {db}",
    )


def _menu(tmux: Tmux, first: str) -> str:
    """F4 on the dossier: the action menu, whose "1" must be ``first``."""
    tmux.keys("F4")
    screen = tmux.wait_for("Thao tác cho hồ sơ")
    # Notices at the right may cover the end of a long action's name: its first words do.
    assert f"1 {first}"[:28] in screen, screen
    return screen


def _done(tmux: Tmux, action: str) -> None:
    # The notice wraps when the action's name is long: its first words are enough. An earlier
    # notice of the same action may still be showing, so the form must be closed too.
    notice = f"Đã ghi: {action}"[:28]
    tmux.wait_for(lambda s: notice in s and "— hồ sơ" not in s)


def _switch(tmux: Tmux, user: str, shown: str) -> None:
    tmux.keys("C-o")
    tmux.wait_for("Đổi người làm việc")
    tmux.type(user)
    tmux.keys("Enter")
    tmux.type(PASSWORD)
    tmux.keys("Enter")
    # Notices at the right may cover the end of the top bar: the name and the dot are enough.
    screen = tmux.wait_for(shown.split(" · ")[0] + " · ")
    assert "Chi tiết hồ sơ" in screen, "the dossier stays on screen for the next person"


def test_a_dossier_life_across_three_people_on_one_desk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 17's day: one laptop, the clerk, the specialist and the leader. Receive → forward
    → take up → supplement asked and received → to the leader → decision → result back to the
    desk → returned → citizen's evaluation, switching person with Ctrl+O, never leaving the
    dossier's screen; no action the desk would refuse is ever offered. Keystrokes are counted
    (every named key and typed character) for the intake and for the whole life."""
    db, env = _demo_desk(tmp_path, "life.sqlite")
    tmux = Tmux(f"onestop-e2e-life-{os.getpid()}", env)
    try:
        _start(tmux, db)
        tmux.wait_for("Đăng nhập quầy Một cửa")
        tmux.type("canbo")
        tmux.keys("Enter")
        tmux.type(PASSWORD)
        tmux.keys("Enter")
        screen = tmux.wait_for("VIỆC CHỜ TÔI")
        assert "Lò Thị Mai · Một cửa" in screen  # who is logged in, always on top

        # Intake: the best match of every typed word first; the scanner-like burst of the
        # CCCD, Tab and the name lands field by field; the fee's state is asked.
        intake_start = tmux.pressed
        tmux.keys("F2")
        tmux.wait_for("Gõ một phần tên")
        tmux.type("chung thuc chu")
        tmux.wait_for("2.000884")
        tmux.keys("Enter")
        screen = tmux.wait_for("Thủ tục: 2.000884 Chứng thực chữ ký")
        tmux.type(CCCD)
        tmux.keys("Tab")
        tmux.type(NAME)
        tmux.wait_for(lambda s: "Hợp lệ" in s and NAME in s)
        tmux.keys("F8")
        tmux.wait_for("Giấy tờ đã nhận")
        tmux.keys("F8")
        screen = tmux.wait_for("Thu phí, lệ phí")
        assert "chọn đã thu hay chưa thu" in screen
        tmux.keys("Enter")  # collected now
        tmux.wait_for("10.000 đ — đã thu")
        tmux.keys("F10")
        screen = tmux.wait_for("Biên nhận hồ sơ")
        intake_keys = tmux.pressed - intake_start
        code = next(line.strip() for line in screen.splitlines() if "000.00.14.H56-" in line)
        assert "10.000 đ — đã thu" in screen and NAME in screen

        # The clerk hands it over to the specialist.
        tmux.keys("F4")
        tmux.wait_for("Chi tiết hồ sơ")
        _menu(tmux, "Chuyển xử lý")
        tmux.keys("1")
        tmux.wait_for("Chuyển xử lý — hồ sơ")
        tmux.type("chuyenvien")
        tmux.keys("F10")
        _done(tmux, "Chuyển xử lý")

        _switch(tmux, "chuyenvien", "Hà Văn Quân · Chuyên viên")
        _menu(tmux, "Nhận xử lý")
        tmux.keys("1")
        tmux.wait_for("Nhận xử lý — hồ sơ")
        tmux.keys("F10")
        _done(tmux, "Nhận xử lý")
        screen = _menu(tmux, "Chuyển xử lý")
        assert "Lãnh đạo thực hiện" in screen  # the decision is the leader's: shown, not offered
        tmux.keys("2")
        tmux.wait_for("Yêu cầu bổ sung hồ sơ — hồ sơ")
        tmux.type("Thiếu tờ khai")
        tmux.keys("F10")
        tmux.wait_for("không thể hoàn tác")
        tmux.keys("y")
        _done(tmux, "Yêu cầu bổ sung hồ sơ")
        _menu(tmux, "Nhận hồ sơ bổ sung")  # the citizen brought the papers back
        tmux.keys("1")
        tmux.wait_for("Nhận hồ sơ bổ sung — hồ sơ")
        tmux.keys("F10")
        _done(tmux, "Nhận hồ sơ bổ sung")
        _menu(tmux, "Chuyển xử lý")  # to the leader for the decision
        tmux.keys("1")
        tmux.wait_for("Chuyển xử lý — hồ sơ")
        tmux.type("lanhdao")
        tmux.keys("F10")
        _done(tmux, "Chuyển xử lý")

        _switch(tmux, "lanhdao", "Phạm Văn Sơn · Lãnh đạo")
        _menu(tmux, "Giải quyết")
        tmux.keys("1")
        tmux.wait_for("Kết quả giải quyết")
        tmux.keys("F10")  # approved
        tmux.wait_for("không thể hoàn tác")
        tmux.keys("y")
        _done(tmux, "Giải quyết")

        _switch(tmux, "chuyenvien", "Hà Văn Quân · Chuyên viên")
        _menu(tmux, "Chuyển kết quả về Bộ phận Một cửa")
        tmux.keys("1")
        tmux.wait_for("Chuyển kết quả về Bộ phận Một cửa — hồ sơ")
        tmux.keys("F10")
        _done(tmux, "Chuyển kết quả về Bộ phận Một cửa")

        _switch(tmux, "canbo", "Lò Thị Mai · Một cửa")
        _menu(tmux, "Trả kết quả")
        tmux.keys("1")
        tmux.wait_for("Hình thức trả")
        tmux.keys("F10")
        tmux.wait_for("không thể hoàn tác")
        tmux.keys("y")
        _done(tmux, "Trả kết quả")
        _menu(tmux, "Ghi nhận đánh giá của công dân")
        tmux.keys("1")
        screen = tmux.wait_for(lambda s: "Đánh giá của công dân — hồ sơ" in s and "chưa hỏi" in s)
        assert "chưa hỏi" in screen and "Thời gian giải quyết so với quy định" in screen, screen
        tmux.type("222222")  # the six indicators only the citizen can answer
        tmux.type("4")  # satisfied
        tmux.wait_for("Hài lòng")
        tmux.keys("F10")
        tmux.wait_for("không thể hoàn tác")
        tmux.keys("y")
        _done(tmux, "Ghi nhận đánh giá của công dân")
        life_keys = tmux.pressed

        tmux.keys("C-q")  # nothing unsaved: quits at once
        tmux.wait_for(lambda s: "Chi tiết hồ sơ" not in s)
    finally:
        subprocess.run(
            ["tmux", "-L", tmux.socket, "kill-server"], env=env, capture_output=True, timeout=10
        )

    assert not any("Không thực hiện được" in s for s in tmux.seen), "an action was refused"
    from onestop.domain.events import EventKind
    from onestop.domain.lifecycle import Status
    from onestop.services.accounts import open_logged_in

    desk = open_logged_in(db, "canbo", PASSWORD)
    try:
        state = desk.get(code)
        kinds = [(e.kind, e.actor) for e in desk.history(code)]
    finally:
        desk.close()
    assert state.status == Status.RETURNED and state.fee_paid == 10_000
    assert state.evaluation["satisfaction"] == 4 and None not in state.evaluation["scores"]
    assert kinds == [
        (EventKind.RECEIVE, "Lò Thị Mai"),
        (EventKind.RECORD_PAYMENT, "Lò Thị Mai"),
        (EventKind.FORWARD, "Lò Thị Mai"),
        (EventKind.START, "Hà Văn Quân"),
        (EventKind.REQUEST_SUPPLEMENT, "Hà Văn Quân"),
        (EventKind.RECORD_SUPPLEMENT, "Hà Văn Quân"),
        (EventKind.FORWARD, "Hà Văn Quân"),
        (EventKind.RESOLVE, "Phạm Văn Sơn"),
        (EventKind.MARK_READY, "Hà Văn Quân"),
        (EventKind.RETURN_RESULT, "Lò Thị Mai"),
        (EventKind.EVALUATE, "Lò Thị Mai"),
    ]
    with capsys.disabled():
        sys.stdout.write(
            f"\nkeystrokes: intake {intake_keys}, whole life (login to evaluation, three "
            f"people) {life_keys}; before: ~{LIFE_KEYS_BEFORE}\n"
        )
    assert life_keys <= LIFE_KEYS_BEFORE * 2 // 3, life_keys  # at least a third fewer
