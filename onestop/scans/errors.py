"""The one error of the capture layer: a Vietnamese sentence the desk shows as is."""

from __future__ import annotations

__all__ = ["ScanError"]


class ScanError(ValueError):
    """Input cannot be captured or normalised (message in Vietnamese, shown to the clerk).

    Raised before anything is stored: a refused file leaves no trace behind."""
