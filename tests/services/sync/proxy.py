"""A small HTTP/1.1 fault-injection proxy on 127.0.0.1 for the sync tests and the benchmark.

It runs its own asyncio loop in a background thread, relays requests one by one per
connection (parsing just enough HTTP: header block + Content-Length body), and applies the
next queued fault whose path prefix matches:

=================  ===========================================================================
refuse             stop listening for ``seconds``: connects fail (ECONNREFUSED)
drop_request       read the request, never forward it, close the client connection
drop_response      forward it (the server commits), read the answer, close without sending it
duplicate          forward it twice (second copy on a fresh upstream connection), answer once
reorder            hold it until the next matching request has been forwarded and answered
http500            answer 500 without forwarding
http415            answer 415 (unsupported Content-Encoding) without forwarding
cut                forward half the body, then stall: the client times out mid-request
truncate           forward it, answer with half the body (Content-Length says more), close
portal             answer a captive-portal style HTTP 200 HTML page without forwarding
restart            forward it, kill -9 the server right away, start it again, close the client
slow               forward it (the server commits), hold the answer ``seconds``, then relay it
                   (a slow server or link: a client with a shorter timeout gives up first)
delay              hold the request ``seconds`` before forwarding it, while other connections
                   go on (a batch overtaken by the next one: a slower path, a slower worker)
=================  ===========================================================================

``throttle(bytes_per_s, rtt_s, handshake_rtts=0)`` emulates a thin link shared by all
connections: each direction is a FIFO that serialises bytes at the given rate, then delays them
by half the RTT; ``handshake_rtts`` round trips are paid before the first request of every new
connection (1: TCP's SYN/SYN-ACK; 2: TCP + TLS 1.3), as on a real link.
Bytes in each direction are counted as they cross the proxy (the real bytes on the wire).

``stats.link_s()`` is the **link time** of what crossed since the last ``reset_stats()``: the
length of the union of the intervals during which the emulated link was busy — a byte being
serialised or within its one-way delay in either direction, or a connection's handshake round
trips. Time in which only the endpoints computed (the server ingesting, the desk building or
verifying) while the link stood idle is not in it, so it is the same on an idle and on a
loaded machine (load can only spread the messages apart, which tends to make it larger), and
on an idle machine it is the wall time minus the endpoints' CPU. ``stats.server_s`` is the
time spent waiting for the upstream server's answers (summed over requests, overlaps and all).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PORTAL_PAGE = (
    b"<!DOCTYPE html><html><head><title>Wi-Fi login</title></head><body>"
    b"<h1>Xin ch\xc3\xa0o! Please log in to use the hotel Wi-Fi</h1>"
    b"<form action='/login'><input name='room'></form></body></html>"
)


@dataclass
class Fault:
    kind: str
    path: str = "/sync/v1/batches"
    seconds: float = 0.5
    nth: int = 1  # apply to the nth matching request from now on


@dataclass
class Stats:
    up: int = 0  # client -> server bytes
    down: int = 0  # server -> client bytes
    requests: int = 0
    faults_applied: list[str] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)  # (path, status or fault)
    # (path, bytes up, bytes down, request body bytes) of every request answered normally
    per_request: list[tuple[str, int, int, int]] = field(default_factory=list)
    # (start, end) on the proxy loop's clock of every stretch the throttled link was busy
    busy: list[tuple[float, float]] = field(default_factory=list)
    connections: int = 0
    server_s: float = 0.0

    def link_s(self) -> float:
        """Seconds of link time: the length of the union of the busy intervals."""
        total, end = 0.0, float("-inf")
        for a, b in sorted(self.busy):
            if b <= end:
                continue
            total += b - max(a, end)
            end = b
        return total


class _Link:
    """One direction of a thin link: rate-limited FIFO, then a fixed one-way delay."""

    def __init__(self, rate: float, delay: float, owner: FaultProxy) -> None:
        self.rate = rate
        self.delay = delay
        self.busy_until = 0.0
        self.owner = owner

    async def send(self, writer: Any, data: bytes) -> None:
        """Reserve link time for the whole message now (FIFO with other connections), then
        deliver each packet when it has crossed the link plus the one-way delay."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        first = max(now, self.busy_until)  # queued behind another message: that one is busy
        schedule = []
        for i in range(0, len(data), 1460):
            chunk = data[i : i + 1460]
            start = max(now, self.busy_until)
            self.busy_until = start + len(chunk) / self.rate
            schedule.append((self.busy_until + self.delay, chunk))
        if schedule:
            self.owner.stats.busy.append((first, schedule[-1][0]))
        for at, chunk in schedule:
            await asyncio.sleep(max(0.0, at - loop.time()))
            writer.write(chunk)
        await writer.drain()


class FaultProxy:
    def __init__(self, upstream_port: int, *, on_restart: Callable[[], None] | None = None) -> None:
        self.upstream_port = upstream_port
        self.on_restart = on_restart
        self.faults: list[Fault] = []
        self.stats = Stats()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._up: _Link | None = None
        self._down: _Link | None = None
        self._held: asyncio.Event | None = None
        self._handshake = 0.0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ control (any thread)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def add(
        self, kind: str, *, path: str = "/sync/v1/batches", seconds: float = 0.5, nth: int = 1
    ) -> None:
        if kind == "refuse":
            asyncio.run_coroutine_threadsafe(self._refuse(seconds), self._loop).result(10)
            with self._lock:
                self.stats.faults_applied.append(kind)
            return
        with self._lock:
            self.faults.append(Fault(kind, path, seconds, nth))

    def throttle(self, bytes_per_s: float, rtt_s: float, handshake_rtts: int = 0) -> None:
        self._up = _Link(bytes_per_s, rtt_s / 2, self)
        self._down = _Link(bytes_per_s, rtt_s / 2, self)
        self._handshake = handshake_rtts * rtt_s

    def reset_stats(self) -> None:
        self.stats = Stats()

    # ------------------------------------------------------------------ the loop

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port or 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _refuse(self, seconds: float) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

        async def reopen() -> None:
            await asyncio.sleep(seconds)
            await self._listen()

        asyncio.get_running_loop().create_task(reopen())

    def _take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for i, f in enumerate(self.faults):
                if path.startswith(f.path):
                    if f.nth > 1:
                        f.nth -= 1
                        return None
                    self.stats.faults_applied.append(f.kind)
                    return self.faults.pop(i)
        return None

    async def _write(self, writer: asyncio.StreamWriter, data: bytes, *, up: bool) -> None:
        if up:
            self.stats.up += len(data)
        else:
            self.stats.down += len(data)
        link = self._up if up else self._down
        if link is not None:
            await link.send(writer, data)
        else:
            writer.write(data)
            await writer.drain()

    async def _client(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        fresh = True
        try:
            while True:
                request = await _read_message(creader, request=True)
                if request is None:
                    return
                head, body, method, path = request
                # Count what the client put on the wire even if we then drop it.
                self.stats.requests += 1
                if fresh:
                    fresh = False
                    self.stats.connections += 1
                    if self._up is not None and self._handshake > 0:
                        # The connection's handshake: round trips before the request can go.
                        t0 = asyncio.get_running_loop().time()
                        self.stats.busy.append((t0, t0 + self._handshake))
                        await asyncio.sleep(self._handshake)
                if self._up is not None:
                    # The bytes still cross the thin link before the proxy can act on them.
                    await self._up.send(_NullWriter(), head + body)
                self.stats.up += len(head) + len(body)
                fault = self._take(method, path)
                kind = fault.kind if fault else None
                if kind:
                    self.stats.log.append((path, kind))
                if kind == "drop_request":
                    return
                if kind == "http500":
                    msg = b'{"error":"proxy","message":"upstream broke"}'
                    await self._write(cwriter, _response(500, msg, b"application/json"), up=False)
                    continue
                if kind == "http415":
                    msg = b'{"error":"unsupported_encoding","message":"no zstd","accept":["gzip"]}'
                    await self._write(cwriter, _response(415, msg, b"application/json"), up=False)
                    continue
                if kind == "portal":
                    await self._write(cwriter, _response(200, PORTAL_PAGE, b"text/html"), up=False)
                    continue
                if kind == "delay" and fault is not None:
                    await asyncio.sleep(fault.seconds)
                if kind == "reorder":
                    held = asyncio.Event()
                    self._held = held
                    try:
                        await asyncio.wait_for(held.wait(), 3.0)
                    except TimeoutError:
                        pass
                if upstream is None or upstream[0].at_eof():
                    upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                ureader, uwriter = upstream
                if kind == "cut":
                    uwriter.write(head + body[: len(body) // 2])
                    await uwriter.drain()
                    await asyncio.sleep(3600)  # the client gives up first
                    return
                uwriter.write(head + body)
                await uwriter.drain()
                asked = asyncio.get_running_loop().time()
                if kind == "restart":
                    await asyncio.sleep(0.005)
                    assert self.on_restart is not None
                    await asyncio.get_running_loop().run_in_executor(None, self.on_restart)
                    return
                response = await _read_message(ureader, request=False)
                if response is None:
                    return
                self.stats.server_s += asyncio.get_running_loop().time() - asked
                rhead, rbody, _, _ = response
                self.stats.log.append((path, rhead.split(b" ", 2)[1].decode()))
                if kind == "slow" and fault is not None:
                    await asyncio.sleep(fault.seconds)
                if kind == "duplicate":
                    r2, w2 = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                    w2.write(head + body)
                    await w2.drain()
                    await _read_message(r2, request=False)
                    w2.close()
                if self._held is not None and kind != "reorder":
                    self._held.set()
                    self._held = None
                if kind == "drop_response":
                    return
                if kind == "truncate":
                    await self._write(cwriter, rhead + rbody[: len(rbody) // 2], up=False)
                    return
                await self._write(cwriter, rhead + rbody, up=False)
                self.stats.per_request.append(
                    (path, len(head) + len(body), len(rhead) + len(rbody), len(body))
                )
                if kind == "reorder":
                    self._held = None
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            return
        finally:
            cwriter.close()
            if upstream is not None:
                upstream[1].close()


class _NullWriter:
    """Stands in for a socket when only the link's timing is wanted."""

    def write(self, _data: bytes) -> None:
        return None

    async def drain(self) -> None:
        return None


def _response(status: int, body: bytes, ctype: bytes) -> bytes:
    reason = {200: b"OK", 415: b"Unsupported Media Type", 500: b"Internal Server Error"}[status]
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n"
        % (status, reason, ctype, len(body))
        + body
    )


async def _read_message(
    reader: asyncio.StreamReader, *, request: bool
) -> tuple[bytes, bytes, str, str] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    first = lines[0].split(" ")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0") or 0)
    if not request and first[1] in ("204", "304"):
        length = 0
    body = await reader.readexactly(length) if length else b""
    method, path = (first[0], first[1]) if request else ("", "")
    return head, body, method, path


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0
