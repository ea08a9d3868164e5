"""The one error type of the server: an HTTP status, a stable code, a Vietnamese message.

Every refusal becomes a small JSON body ``{"error": code, "message": text, ...extra}``; bad
input is always a 4xx, never a 500 (a test throws junk at every endpoint).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}
