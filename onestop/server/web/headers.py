"""Security headers on every response of the server (pure ASGI middleware).

Pages and their JSON API get the full browser set: a CSP without ``unsafe-inline`` (every
script and style is a static file of this server, so ``'self'`` is all they need), no framing,
no MIME sniffing, and ``Referrer-Policy: no-referrer``. The last one matters most here: the
receipt page's URL carries the signed receipt in its ``#fragment``; browsers do not put the
fragment in a Referer, and no-referrer also keeps ``/r1`` itself out of other sites' logs.

The desk sync API (``/sync/``) answers machines over links of a few kbit/s, where every byte of
every ack counts (README, "Benchmarks"), and a browser never renders its CBOR; it gets the
short set (nosniff, no-referrer, ``default-src 'none'; frame-ancestors 'none'``): about 110
bytes instead of about 450.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["API_HEADERS", "PAGE_HEADERS", "SecurityHeaders"]

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

API_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
)

_HSTS = ("strict-transport-security", "max-age=31536000")


class SecurityHeaders:
    """Adds the headers above to every HTTP response (without overriding ones already set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = API_HEADERS if path.startswith("/sync/") else PAGE_HEADERS
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                for name, value in extra:
                    if name.encode() not in have:
                        headers.append((name.encode(), value.encode()))
                if https and _HSTS[0].encode() not in have:
                    headers.append((_HSTS[0].encode(), _HSTS[1].encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
