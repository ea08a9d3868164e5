"""Security headers on every response of the server (pure ASGI middleware).

Pages and their JSON API get the full browser set: a CSP without ``unsafe-inline`` (every
script and style is a static file of this server, so ``'self'`` is all they need), no framing,
no MIME sniffing, and ``Referrer-Policy: no-referrer``. The last one matters most here: the
receipt page's URL carries the signed receipt in its ``#fragment``; browsers do not put the
fragment in a Referer, and no-referrer also keeps ``/r1`` itself out of other sites' logs.

The desk sync API (``/sync/``) answers machines over links of a few kbit/s, where every byte of
every ack counts (README, "Benchmarks"). Its answers are CBOR (or a short JSON error) that no
browser renders, frames or follows links from, so these headers protect nothing there; even a
short set (nosniff, no-referrer, a ``default-src 'none'`` CSP) was 132 bytes on every answer,
29-35 % of the bytes a daily sync brings down (issue 19). The sync API therefore gets none,
except on the unlikely HTML answer (a ``text/html`` content type), which gets the page set.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PAGE_HEADERS", "SecurityHeaders"]

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

PAGE_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", PAGE_CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)

_HSTS = ("strict-transport-security", "max-age=31536000")


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)


class SecurityHeaders:
    """Adds the headers above to every web response (without overriding ones already set), and
    to no answer of the sync API unless it is HTML."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        sync_api = path.startswith("/sync/")
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if sync_api and not _is_html(headers):
                    await send(message)
                    return
                have = {k.lower() for k, _ in headers}
                for name, value in PAGE_HEADERS:
                    if name.encode() not in have:
                        headers.append((name.encode(), value.encode()))
                if https and _HSTS[0].encode() not in have:
                    headers.append((_HSTS[0].encode(), _HSTS[1].encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
