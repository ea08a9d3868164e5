"""A real ``onestop serve`` subprocess with any options, and a look at its process tree via /proc.

(tests/services/sync/helpers.py's ServerProcess starts the default server; these suites need
the limit options and the worker pids.)
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tests.services.sync.helpers import _onestop_cmd


class Serve:
    def __init__(self, db_url: str, port: int, *options: str) -> None:
        self.port = port
        self.log = tempfile.NamedTemporaryFile(prefix="onestop-serve-", suffix=".log", delete=False)
        cmd = [*_onestop_cmd(), "serve", "--database-url", db_url, "--port", str(port), *options]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "ONESTOP_SCRYPT_N": "1024"}
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-3000:]

    def wait_healthy(self, timeout: float = 45.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.output()}")
            try:
                if httpx.get(f"{self.url}/sync/v1/health", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server did not answer /sync/v1/health: {self.output()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def children(pid: int) -> set[int]:
    """Direct children of ``pid`` (Linux /proc; empty if it is gone)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
