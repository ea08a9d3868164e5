"""Shared pieces of the sync and server suites: desks with work, a real server process,
a throwaway PostgreSQL cluster, and the convergence checks every test ends with."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlmodel import col
from sqlmodel import select as sm_select

from onestop.domain.events import EventKind
from onestop.server import repo
from onestop.server.admin import new_enroll_code, open_db
from onestop.server.db import ServerDB
from onestop.services.demo import HANDLERS, PROCEDURES, SUPPLEMENT_REASONS, _person, demo_fee
from onestop.services.desk import Desk, DeskError, IntakeForm
from onestop.services.sync import apply as sync_apply
from onestop.services.sync import base as sync_base
from onestop.services.sync import enroll as sync_enroll
from onestop.store.models import DeskState, EventRow
from onestop.wire.state import digest
from tests.conftest import TEMPLATES

PASSPHRASE = "mật khẩu thử nghiệm"
START = datetime(2026, 11, 2, 8, 0)  # a Monday morning
FAST = sync_base.SyncOptions(
    timeout=3.0, connect_timeout=1.0, base_delay=0.05, max_delay=0.4, max_attempts=12, seed=7
)


def passphrase() -> str:
    return PASSPHRASE


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def make_desk(path: Path, *, n: int, desk_no: int = 1, clock: Clock | None = None) -> Desk:
    """A desk of test commune ``n`` (commune 2000n, unit 000.nn.14.H56: codes never collide)."""
    return TEMPLATES.initialise(
        path,
        unit_eid=f"000.{n:02d}.14.H56",
        commune_code=f"{20000 + n}",
        commune_name=f"Xã Thử {n}",
        province_code="38",
        desk_no=desk_no,
        desk_name=f"Quầy {desk_no}",
        clock=clock or Clock(),
        actor="Lò Thị Mai",
    )


def commune(n: int) -> str:
    return f"{20000 + n}"


_PARAMS: dict[EventKind, dict[str, Any]] = {
    EventKind.FORWARD: {"to": HANDLERS[0]},
    EventKind.START: {},
    EventKind.REQUEST_SUPPLEMENT: {"reason": SUPPLEMENT_REASONS[0]},
    EventKind.RECORD_SUPPLEMENT: {},
    EventKind.REQUEST_PAYMENT: {"amount": 20000},
    EventKind.RECORD_PAYMENT: {},
    EventKind.RESOLVE: {"decision": "approved"},
    EventKind.MARK_READY: {},
    EventKind.RETURN_RESULT: {"channel": "desk"},
    EventKind.WITHDRAW: {"reason": "Công dân đề nghị rút hồ sơ."},
    EventKind.EVALUATE: {"scores": [2] * 9, "satisfaction": 5},
}


def receive(desk: Desk, clock: Clock, rng: random.Random) -> str:
    proc = rng.choices([c for c, _ in PROCEDURES], [w for _, w in PROCEDURES])[0]
    form = IntakeForm(procedure_code=proc, applicant=_person(rng, clock.now))
    form.fee_vnd = demo_fee(desk.procedure(proc))
    form.fee_paid_now = rng.random() < 0.7
    return desk.receive(form).code


def act_randomly(desk: Desk, code: str, rng: random.Random) -> bool:
    state = desk.get(code)
    choices = [a for a in state.allowed_actions() if a in _PARAMS]
    if not choices:
        return False
    # Withdrawal ends a dossier; keep it rare so dossiers live through their lifecycle.
    weights = [0.05 if a == EventKind.WITHDRAW else 1.0 for a in choices]
    kind = rng.choices(choices, weights)[0]
    try:
        desk.act(code, kind, dict(_PARAMS[kind]))
    except DeskError:
        return False
    return True


def random_work(
    desk: Desk, clock: Clock, rng: random.Random, steps: int, codes: list[str] | None = None
) -> list[str]:
    """``steps`` clerk actions: new dossiers and lifecycle steps on known ones."""
    codes = codes if codes is not None else []
    for _ in range(steps):
        clock.advance(rng.uniform(1, 20))
        if not codes or rng.random() < 0.3:
            codes.append(receive(desk, clock, rng))
        else:
            act_randomly(desk, rng.choice(codes), rng)
    return codes


def own_events(desk: Desk) -> list[tuple[int, bytes]]:
    with desk.store.read() as db:
        rows = db.exec(
            sm_select(EventRow)
            .where(EventRow.desk_id == desk.identity.desk_id)
            .order_by(col(EventRow.seq))
        ).all()
    return [(r.seq, bytes(r.body)) for r in rows]


def last_seq(desk: Desk) -> int:
    with desk.store.read() as db:
        st = db.get(DeskState, desk.identity.desk_id)
    return st.last_seq if st else 0


# ----------------------------------------------------------------------------- server side


def enroll(desk: Desk, db_url: str, base_url: str, **kw: Any) -> sync_enroll.EnrollResult:
    db = open_db(db_url)
    try:
        code = new_enroll_code(
            db,
            commune=desk.identity.commune_code,
            desk_name=desk.identity.desk_name,
            desk_no=desk.identity.desk_no,
        ).code
    finally:
        db.close()
    return sync_enroll.enroll(desk, base_url, code, passphrase_provider=passphrase, **kw)


def server_events(db_url: str, desk_id: str) -> list[tuple[int, bytes]]:
    db = ServerDB(db_url)
    try:
        with db.read() as conn:
            rows = conn.execute(
                select(repo.EVENT.c.seq, repo.EVENT.c.body)
                .where(repo.EVENT.c.desk_id == desk_id)
                .order_by(repo.EVENT.c.seq)
            ).all()
            dupes = conn.execute(
                text(
                    "SELECT count(*) FROM (SELECT desk_id, seq FROM server_event "
                    "GROUP BY desk_id, seq HAVING count(*) > 1) d"
                )
            ).scalar_one()
    finally:
        db.close()
    assert dupes == 0
    return [(int(r[0]), bytes(r[1])) for r in rows]


def server_digest(db_url: str, commune_code: str) -> tuple[int, str]:
    db = ServerDB(db_url)
    try:
        with db.read() as conn:
            pairs = repo.dossier_states(conn=conn, commune=commune_code)
    finally:
        db.close()
    return len(pairs), digest(pairs)


def assert_exactly_once(desk: Desk, db_url: str) -> None:
    """The server holds each of this desk's events exactly once, byte for byte."""
    ours = own_events(desk)
    theirs = server_events(db_url, desk.identity.desk_id)
    assert [s for s, _ in theirs] == list(range(1, len(theirs) + 1))
    assert theirs == ours, (len(theirs), len(ours))


def assert_converged(desk: Desk, db_url: str) -> None:
    """Events exactly once, and the server's state of every dossier equals the desk's."""
    assert desk.outbox_size() == 0
    assert_exactly_once(desk, db_url)
    assert server_digest(db_url, desk.identity.commune_code) == sync_apply.desk_digest(desk)
    report = desk.rebuild(fix=False)
    assert report.ok, report


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _onestop_cmd() -> list[str]:
    """``onestop`` as the installed script runs it (``onestop serve ...``)."""
    return [sys.executable, "-m", "onestop.cli.main"]


class ServerProcess:
    """A real ``onestop serve`` subprocess on 127.0.0.1."""

    def __init__(self, db_url: str, *, port: int | None = None, workers: int = 1) -> None:
        self.db_url = db_url
        self.port = port or free_port()
        self.workers = workers
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="onestop-serve-", suffix=".log", delete=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        cmd = [
            *_onestop_cmd(),
            "serve",
            "--database-url",
            self.db_url,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log.name).read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/sync/v1/health", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not start: {Path(self.log.name).read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, whatever transaction was open is simply gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def close(self) -> None:
        self.stop()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@contextmanager
def running_server(db_url: str, **kw: Any) -> Iterator[ServerProcess]:
    server = ServerProcess(db_url, **kw)
    server.start()
    try:
        yield server
    finally:
        server.close()


# ----------------------------------------------------------------------------- PostgreSQL


PG_BIN = Path("/usr/lib/postgresql/15/bin")


def pg_bin() -> Path | None:
    if (PG_BIN / "initdb").exists():
        return PG_BIN
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True):
        return candidate.parent
    return None


@dataclass
class PgCluster:
    base: Path
    port: int
    bin: Path
    as_user: str | None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _run_pg(cluster_user: str | None, *args: str) -> None:
    cmd = list(args)
    if cluster_user:
        cmd = ["runuser", "-u", cluster_user, "--", *cmd]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


@contextmanager
def pg_cluster(base_parent: Path) -> Iterator[PgCluster]:
    """initdb + pg_ctl start on a free port, socket dir beside the data; stopped at the end.

    PostgreSQL refuses to run as root: when the tests run as root the cluster runs as the
    ``postgres`` system user, in a directory it owns (a mkdtemp under /tmp, because pytest's
    own base temp dir is private to root).
    """
    bindir = pg_bin()
    assert bindir is not None
    as_user = "postgres" if os.geteuid() == 0 else None
    if as_user:
        base = Path(tempfile.mkdtemp(prefix="onestop-pg-"))
        shutil.chown(base, as_user, as_user)
    else:
        base = Path(tempfile.mkdtemp(prefix="pg-", dir=base_parent))
    data = base / "data"
    port = free_port()
    try:
        _run_pg(
            as_user,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=100"
        _run_pg(
            as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(base / "log"),
            "-w",
            "start",
        )
        yield PgCluster(base, port, bindir, as_user)
    finally:
        try:
            _run_pg(as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError):
            pass
        shutil.rmtree(base, ignore_errors=True)


def digest_bytes(items: list[tuple[int, bytes]]) -> str:
    h = hashlib.sha256()
    for seq, body in items:
        h.update(seq.to_bytes(8, "big") + body)
    return h.hexdigest()
