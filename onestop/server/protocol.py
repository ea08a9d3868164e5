"""The protocol gate of the sync API: wire/version.py's rule applied to every desk request.

A plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which buffers and costs a task
per request on the batch path): it reads one header, refuses an incompatible desk with 426
before the body is read, and stamps the server's protocol on every answer of the sync API.
``/health`` stays open to anyone (it says the server's protocol in its JSON too).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onestop.wire import version
from onestop.wire.base import API

_HEADER = version.HEADER.lower().encode("latin-1")
_OPEN = frozenset({f"{API}/health"})


class ProtocolGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API + "/"):
            await self.app(scope, receive, send)
            return
        mine = str(version.PROTOCOL).encode()
        if path not in _OPEN:
            raw = next((v for k, v in scope.get("headers", ()) if k == _HEADER), None)
            desk = version.parse(raw.decode("latin-1") if raw is not None else None)
            verdict = version.check_desk(desk)
            if not verdict.ok:
                await _refuse(send, verdict, mine)
                return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (_HEADER, mine)]
            await send(message)

        await self.app(scope, receive, stamped)


async def _refuse(send: Send, verdict: version.Verdict, mine: bytes) -> None:
    body = json.dumps(
        {"error": verdict.code, "message": verdict.message, "protocol": version.PROTOCOL},
        ensure_ascii=False,
    ).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (_HEADER, mine),
    ]
    await send({"type": "http.response.start", "status": 426, "headers": headers})
    await send({"type": "http.response.body", "body": body})
