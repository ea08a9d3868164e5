"""The files lane of sync: scanned papers go to the province behind the events, never in front.

``client.run_sync`` calls :func:`upload_files` last, after the events lane (upload, download,
reference) of the run is done, so a dossier received after a big scan reaches the province as
fast as without files. Protocol: ``wire/chunks.py``.

**What is sent.** Every live ``attach`` of *this* desk whose event the server has already
acknowledged (``seq <= sync_acked_seq``: the commit names the event, and the server checks it
against the signed log) and whose file SHA-256 is not in ``sync_files_committed`` (a JSON list
of the files the server confirmed with a signed ``onestop-file/1``). Oldest first.

**Per file.** ``POST /files/commit`` first: a file the server already holds (the same ID card
copy re-used by another dossier, another desk's scan of the same paper, a re-send after a lost
answer) is done in that one round trip with no payload. Otherwise the 409 lists the missing
chunk ids (or, past 1024, the desk asks ``/chunks/missing`` page by page), each missing chunk
goes by ``PUT /chunks/{id}``, and the commit is repeated. Nothing is remembered between runs
but the committed list: after a cut, a crash or a restart, the server's answer *is* the state,
so a cut costs at most the chunk in flight.

**Budget** (desk settings): ``files_max_kbps`` caps the lane's upload rate in kbit/s (0 or
empty: no cap); with ``files_office_hours_only`` = ``1`` the cap binds only during the desk's
office hours on working days (the clerk shares the link then), and files go at full speed in
the evening and at weekends. Paced after each chunk, so the average stays under the cap.

**Status** for the UI: :func:`files_queue` (files waiting, bytes left, last progress, last
error) and a ``progress`` callback called after every chunk and every committed file.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from sqlmodel import col, select

from onestop.domain.attachments import Attachment, fold
from onestop.domain.events import EventKind, to_epoch
from onestop.i18n import t
from onestop.services.attachments import chunks_of, file_store
from onestop.services.desk import Desk
from onestop.services.setting_keys import (
    S_ACKED,
    S_FILES_COMMITTED,
    S_FILES_MAX_KBPS,
    S_FILES_OFFICE_HOURS_ONLY,
    S_FILES_STATUS,
)
from onestop.services.sync.base import (
    Failure,
    FailureKind,
    _Fatal,
    _GiveUp,
    _json_or_none,
    classify_exception,
    classify_response,
    failure,
)
from onestop.store.files import FileStore, FileStoreError
from onestop.store.models import EventRow
from onestop.store.repo_events import events_for
from onestop.wire.base import CBOR_MEDIA, WireError
from onestop.wire.chunks import (
    COMMIT_PATH,
    MAX_MISSING_IDS,
    MISSING_PATH,
    CommitRequest,
    body_digest,
    chunk_path,
    decode_ids,
    encode_ids,
    open_file_ack,
)
from onestop.wire.messages import auth_token

if TYPE_CHECKING:
    from onestop.services.sync.client import _Session

__all__ = [
    "FileJob",
    "FilesProgress",
    "FilesQueue",
    "FilesRun",
    "files_budget",
    "files_queue",
    "pending_files",
    "upload_files",
]


@dataclass(frozen=True)
class FileJob:
    """One file of this desk the province does not yet confirm holding."""

    dossier: str
    seq: int  # of its attach event
    sha256: str
    size: int
    attachment: Attachment


@dataclass(frozen=True)
class FilesQueue:
    files: int  # waiting (attached here, not yet confirmed by the province)
    bytes_left: int  # at most this much to send (chunks the server already has are skipped)
    last_progress: str | None = None  # ISO time of the last chunk or commit that went through
    last_error: str | None = None  # why the last files pass stopped, if it did


@dataclass(frozen=True)
class FilesProgress:
    """Passed to the ``progress`` callback after each chunk sent and each file committed."""

    sha256: str
    dossier: str
    file_bytes_sent: int  # chunk bytes of this file sent in this run
    file_size: int
    files_done: int  # committed in this run
    files_total: int  # to do in this run
    chunks_sent: int  # in this run
    bytes_left: int  # of the run's files, at most
    committed: bool  # this call reports a commit (else a chunk)


ProgressCallback = Callable[[FilesProgress], None]


@dataclass
class FilesRun:
    """What one files pass did (also stored, for the UI, in ``sync_files_status``)."""

    files_total: int = 0
    files_committed: int = 0
    chunks_sent: int = 0
    bytes_sent: int = 0  # chunk payload bytes
    requests: int = 0
    error: str | None = None
    throttled_s: float = 0.0


# ---------------------------------------------------------------------- the queue


def _committed(desk: Desk) -> set[str]:
    try:
        value = json.loads(desk.setting(S_FILES_COMMITTED, "[]") or "[]")
    except ValueError:
        return set()
    return {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()


def _mark_committed(desk: Desk, sha256: str) -> None:
    done = _committed(desk)
    done.add(sha256)
    desk.set_setting(S_FILES_COMMITTED, json.dumps(sorted(done)))


def pending_files(desk: Desk, *, acked_only: bool = True) -> list[FileJob]:
    """This desk's live attachments whose file the province has not confirmed, oldest first
    (one job per file: the same file in two dossiers is one upload); with ``acked_only``
    only those whose ``attach`` event the server already acknowledged."""
    desk_id = desk.identity.desk_id
    acked = int(desk.setting(S_ACKED, "0") or 0)
    done = _committed(desk)
    jobs: dict[str, FileJob] = {}
    with desk.store.read() as db:
        codes = db.exec(
            select(EventRow.dossier)
            .where(col(EventRow.kind) == EventKind.ATTACH.value, EventRow.desk_id == desk_id)
            .distinct()
        ).all()
        for code in codes:
            for a in fold(events_for(db=db, dossier=code)):
                if a.desk_id != desk_id or a.sha256 in done or (acked_only and a.seq > acked):
                    continue
                if a.sha256 not in jobs or a.seq < jobs[a.sha256].seq:
                    jobs[a.sha256] = FileJob(code, a.seq, a.sha256, a.size, a)
    return sorted(jobs.values(), key=lambda j: j.seq)


def _status(desk: Desk) -> dict[str, Any]:
    try:
        value = json.loads(desk.setting(S_FILES_STATUS, "{}") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def files_queue(desk: Desk) -> FilesQueue:
    """Files waiting to reach the province (acknowledged events or not) and the bytes left."""
    jobs = pending_files(desk, acked_only=False)
    st = _status(desk)
    return FilesQueue(
        files=len(jobs),
        bytes_left=sum(j.size for j in jobs),
        last_progress=st.get("progress_at") or None,
        last_error=st.get("error") or None,
    )


def files_budget(desk: Desk, now: datetime) -> int:
    """The lane's cap in bytes per second at ``now`` (0: none), from the desk settings."""
    try:
        kbps = int(desk.setting(S_FILES_MAX_KBPS, "0") or 0)
    except ValueError:
        kbps = 0
    if kbps <= 0:
        return 0
    if desk.setting(S_FILES_OFFICE_HOURS_ONLY, "0").strip().lower() in ("1", "true", "yes"):
        hours = desk.calendar.hours
        in_hours = desk.calendar.is_working_day(now.date()) and (
            hours.opening <= now.time() < hours.closing
        )
        if not in_hours:
            return 0
    return kbps * 1000 // 8


def _save_status(desk: Desk, run: FilesRun, progress_at: str | None) -> None:
    st = _status(desk)
    st.update(
        {
            "at": desk.clock().isoformat(timespec="seconds"),
            "files_committed": run.files_committed,
            "chunks_sent": run.chunks_sent,
            "bytes_sent": run.bytes_sent,
            "error": run.error or "",
        }
    )
    if progress_at:
        st["progress_at"] = progress_at
    desk.set_setting(S_FILES_STATUS, json.dumps(st, ensure_ascii=False))


# ---------------------------------------------------------------------- the lane


class _Stop(Exception):
    def __init__(self, found: Failure) -> None:
        self.failure = found


class _Lane:
    def __init__(self, session: _Session, progress: ProgressCallback | None) -> None:
        self.s = session
        self.desk = session.desk
        self.progress = progress
        self.run = FilesRun()
        self.store: FileStore | None = None
        self.started = time.monotonic()
        self.budget_bytes = 0  # bytes counted against the cap since ``started``
        self.progress_at: str | None = None

    def request(self, method: str, path: str, body: bytes) -> httpx.Request:
        s = self.s
        when = to_epoch(self.desk.clock()) + s.offset
        params = {"b": body_digest(body), "n": secrets.token_hex(4)}
        query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        token = auth_token(s.signer, s.desk_id, f"{method} {path}?{query}", when)
        headers = {"Authorization": f"Onestop {token}", "Content-Type": CBOR_MEDIA}
        if method == "PUT":
            headers["Content-Type"] = "application/octet-stream"
        return s.client.build_request(
            method, s.url + path, params=params, content=body, headers=headers
        )

    async def call(
        self, method: str, path: str, body: bytes, ok: tuple[int, ...]
    ) -> httpx.Response:
        """Send until an answer with a status in ``ok`` (or 409 for a commit) comes back;
        transient failures back off (``_GiveUp`` after too many), refusals stop the lane."""
        corrected = False
        while True:
            request = self.request(method, path, body)
            self.run.requests += 1
            try:
                resp = await self.s.send(request)
            except httpx.HTTPError as e:
                found = classify_exception(e)
            else:
                status = resp.status_code
                if status in ok:
                    self.s.failures = 0
                    return resp
                data = _json_or_none(resp)
                if status == 401 and not corrected:
                    corrected = self.s.corrected_time(request, data)
                    if corrected:
                        continue
                if status == 403 and self.s.revoked():
                    raise _Fatal(failure(FailureKind.REVOKED))
                found = classify_response(resp)
                if 400 <= status < 500 and status not in (408, 429):
                    raise _Stop(found)
            self.run.error = found.message
            await self.s.backoff()

    async def pace(self, sent: int) -> None:
        """Sleep so that the lane's average rate stays under the budget (if any)."""
        rate = files_budget(self.desk, self.desk.clock())
        if rate <= 0:
            self.started = time.monotonic()
            self.budget_bytes = 0
            return
        self.budget_bytes += sent
        wait = self.budget_bytes / rate - (time.monotonic() - self.started)
        if wait > 0:
            self.run.throttled_s += wait
            await asyncio.sleep(wait)

    async def commit(self, job: FileJob) -> tuple[bool, list[str], int]:
        """(done, listed missing ids, missing count)."""
        body = CommitRequest(self.s.desk_id, job.seq, job.sha256).encode()
        resp = await self.call("POST", COMMIT_PATH, body, (200, 409))
        if resp.status_code == 200:
            try:
                ack = open_file_ack(resp.content, self.s.server_keys)
            except WireError as e:
                # A portal's 200, a damaged or foreign answer: not a confirmation.
                raise _Stop(classify_response(resp)) from e
            if (ack.desk, ack.seq, ack.sha256) != (self.s.desk_id, job.seq, job.sha256):
                raise _Stop(failure(FailureKind.BAD_ANSWER))
            return True, [], 0
        data = _json_or_none(resp)
        listed = data.get("missing") if isinstance(data, dict) else None
        count = data.get("missing_count") if isinstance(data, dict) else None
        if not isinstance(listed, list) or not isinstance(count, int):
            raise _Stop(classify_response(resp))
        return False, [c for c in listed if isinstance(c, str)], count

    async def missing(self, ids: list[str]) -> list[str]:
        out: list[str] = []
        for i in range(0, len(ids), MAX_MISSING_IDS):
            page = ids[i : i + MAX_MISSING_IDS]
            resp = await self.call("POST", MISSING_PATH, encode_ids(page), (200,))
            try:
                lacking = decode_ids(resp.content, empty=True)
            except WireError as e:
                raise _Stop(classify_response(resp)) from e
            wanted = set(page)
            out.extend(c for c in lacking if c in wanted)
        return out

    async def send_file(self, job: FileJob, done: int, total: int, left: int) -> int:
        """Send what the server lacks of one file and commit it; returns bytes sent."""
        a = job.attachment
        assert self.store is not None
        try:
            ids = list(dict.fromkeys([*a.index, *chunks_of(self.store, a)]))
        except FileStoreError as e:
            raise _Stop(Failure(FailureKind.LOCAL, str(e))) from e
        sent = 0
        for _round in range(3):
            ok, listed, count = await self.commit(job)
            if ok:
                return sent
            lacking = listed if count <= len(listed) else await self.missing(ids)
            known = set(ids)
            for cid in lacking:
                if cid not in known:
                    raise _Stop(failure(FailureKind.BAD_ANSWER))
                try:
                    data = self.store.get_chunk(cid)
                except FileStoreError as e:
                    raise _Stop(Failure(FailureKind.LOCAL, str(e))) from e
                await self.call("PUT", chunk_path(cid), data, (200, 201))
                sent += len(data)
                self.run.chunks_sent += 1
                self.run.bytes_sent += len(data)
                self.progress_at = self.desk.clock().isoformat(timespec="seconds")
                if self.progress is not None:
                    self.progress(
                        FilesProgress(
                            job.sha256,
                            job.dossier,
                            sent,
                            job.size,
                            done,
                            total,
                            self.run.chunks_sent,
                            max(0, left - sent),
                            False,
                        )
                    )
                await self.pace(len(data))
        raise _Stop(
            Failure(
                FailureKind.SERVER_ERROR,
                t("Máy chủ vẫn báo thiếu khối của tệp {id} sau khi đã gửi.", id=job.sha256[:12]),
            )
        )

    async def go(self, jobs: list[FileJob]) -> FilesRun:
        self.store = file_store(self.desk)
        self.run.files_total = len(jobs)
        left = sum(j.size for j in jobs)
        try:
            for i, job in enumerate(jobs):
                try:
                    await self.send_file(job, i, len(jobs), left)
                except _Stop as e:
                    # This file cannot go now (a refusal, a local problem); the others may.
                    self.run.error = e.failure.message
                    continue
                _mark_committed(self.desk, job.sha256)
                self.run.files_committed += 1
                left -= job.size
                self.progress_at = self.desk.clock().isoformat(timespec="seconds")
                if self.progress is not None:
                    self.progress(
                        FilesProgress(
                            job.sha256,
                            job.dossier,
                            job.size,
                            job.size,
                            self.run.files_committed,
                            len(jobs),
                            self.run.chunks_sent,
                            left,
                            True,
                        )
                    )
            if self.run.files_committed == len(jobs):
                self.run.error = None
        except _GiveUp:
            self.run.error = self.run.error or failure(FailureKind.SERVER_ERROR).message
        finally:
            _save_status(self.desk, self.run, self.progress_at)
        return self.run


async def upload_files(session: _Session, progress: ProgressCallback | None = None) -> FilesRun:
    """One files pass over ``session`` (an open sync session whose events lane is done)."""
    jobs = pending_files(session.desk)
    if not jobs:
        return FilesRun()  # nothing to do: no request, no write
    session.failures = 0
    return await _Lane(session, progress).go(jobs)
