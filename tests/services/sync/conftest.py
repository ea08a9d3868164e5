from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.sync.helpers import PgCluster, ServerProcess, pg_bin, pg_cluster
from tests.services.sync.proxy import FaultProxy

# Every server these suites start (in process, or `onestop serve` subprocesses, which inherit
# the environment) keeps its signing key encrypted at rest, as in production (server/keys.py).
os.environ.setdefault("ONESTOP_SERVER_PASSPHRASE", "mật khẩu khóa máy chủ thử nghiệm")


@pytest.fixture(autouse=True)
def _fast_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    # Cheap scrypt for the many desk keys the suites create (services/receipts.py honours it).
    monkeypatch.setenv("ONESTOP_SCRYPT_N", "1024")


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real `onestop serve` (SQLite) per module; tests use distinct communes on it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('server') / 'server.sqlite'}"
    server = ServerProcess(url)
    server.start()
    yield server
    server.close()


@pytest.fixture
def proxy(sqlite_server: ServerProcess) -> Iterator[FaultProxy]:
    p = FaultProxy(sqlite_server.port, on_restart=sqlite_server.restart).start()
    yield p
    p.close()


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgCluster]:
    if pg_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    with pg_cluster(tmp_path_factory.mktemp("pg")) as cluster:
        yield cluster


@pytest.fixture
def desk_dir(tmp_path: Path) -> Path:
    return tmp_path
