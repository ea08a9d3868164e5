"""Request-size limit and gzip for the web pages and their API (never for ``/sync/``).

The sync API negotiates its own compression (zstd with a trained dictionary, or gzip where it
pays); compressing its CBOR again would only cost CPU. Everything else is text and shrinks 3-4x,
which is what keeps the receipt page under its 50 KB budget on 2G.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onestop.i18n import t

__all__ = ["BodyLimit", "WebGZip"]


def _is_web(scope: Scope) -> bool:
    return scope["type"] == "http" and not str(scope.get("path", "")).startswith("/sync/")


class WebGZip:
    def __init__(self, app: ASGIApp, minimum_size: int = 400) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_web(scope):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class BodyLimit:
    """Refuse (413) web request bodies over ``limit`` bytes, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = 16 * 1024) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {"error": "too_large", "message": t("Nội dung yêu cầu quá lớn.")}, ensure_ascii=False
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_web(scope):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.limit:
                    await self._refuse(send)
                    return
        seen = 0

        async def limited_receive() -> Message:
            # A body streamed without Content-Length: FastAPI re-raises an HTTPException met
            # while reading the body as is, so the app's handler answers 413 in JSON.
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, t("Nội dung yêu cầu quá lớn."))
            return message

        await self.app(scope, limited_receive, send)
