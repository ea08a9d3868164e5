"""What every service and front end shares and must stay cheap to import: the desk's errors
(the clock is domain/clock.py). (The desk's first screen is drawn before the database libraries load.)"""

from __future__ import annotations


class DeskError(Exception):
    """Refused input or state a clerk can act on; ``str(e)`` says why, in Vietnamese."""


class NotInitialisedError(DeskError):
    pass


class IntakeError(DeskError):
    """Field-by-field validation errors of an intake form; nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("\n".join(f"- {msg}" for msg in errors.values()))
