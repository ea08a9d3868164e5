"""What every service and front end shares and must stay cheap to import: the desk's errors
and its clock. (The desk's first screen is drawn before the database libraries load.)"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7))


def vn_now() -> datetime:
    """Wall-clock time in Vietnam, whatever the machine's timezone (laptops are often set to UTC)."""
    return datetime.now(VN_TZ).replace(tzinfo=None)


class DeskError(Exception):
    """Refused input or state a clerk can act on; ``str(e)`` says why, in Vietnamese."""


class NotInitialisedError(DeskError):
    pass


class IntakeError(DeskError):
    """Field-by-field validation errors of an intake form; nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("\n".join(f"- {msg}" for msg in errors.values()))
