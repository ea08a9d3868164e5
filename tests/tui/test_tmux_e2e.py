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
        self.run("send-keys", "-t", "desk", *keys)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "desk", "-l", text)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "desk")

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


def test_receive_then_find_by_unaccented_name(tmp_path: Path) -> None:
    db = tmp_path / "e2e.sqlite"
    env = {**terminal_env(tmp_path), "ONESTOP_NOW": NOW}
    subprocess.run(
        [str(ONESTOP), "demo", "--db", str(db), "--dossiers", "40"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
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
        tmux.type(NAME)
        tmux.keys("Enter")  # typed straight on: Enter must move on before the next key lands
        tmux.type("038190012345")
        tmux.wait_for("Hợp lệ")
        tmux.keys("F8")
        tmux.wait_for("Giấy tờ đã nhận")
        tmux.keys("F8")
        screen = tmux.wait_for("HẸN TRẢ KẾT QUẢ")
        assert "17 giờ 00 phút, ngày 20 tháng 11 năm 2026" in screen
        tmux.keys("F10")
        screen = tmux.wait_for("Biên nhận hồ sơ")
        code = next(line.strip() for line in screen.splitlines() if "000.00.14.H56-" in line)
        assert code.startswith("000.00.14.H56-261120-")

        tmux.keys("Escape")
        tmux.wait_for("Bảng điều khiển")
        tmux.keys("F3")
        tmux.wait_for("Danh sách hồ sơ")
        tmux.type("tran thi buoi")
        screen = tmux.wait_for(lambda s: "Trang 1 · 1 hồ sơ" in s)
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
        tmux.wait_for("Trang 1 · 60 hồ sơ")
        tmux.type("nguyen")

        def only_nguyen(screen: str) -> bool:
            rows = [line for line in screen.splitlines() if " 261" in line]
            return bool(rows) and all("Nguyễn" in row for row in rows)

        screen = tmux.wait_for(only_nguyen)
        assert "Trang 1 · 60 hồ sơ" not in screen
        tmux.keys("C-q")
        tmux.wait_for(lambda s: "Danh sách hồ sơ" not in s)
    finally:
        subprocess.run(
            ["tmux", "-L", tmux.socket, "kill-server"], env=env, capture_output=True, timeout=10
        )
