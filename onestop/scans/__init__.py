"""Capturing and normalising scanned pages: scanner (SANE), hot folder, files, phone photos.

The layer beside ``onestop.forms``: no database, no services. The attachment service calls:

* :func:`normalise_file` — an uploaded/selected file of ONE paper -> ``(pdf_bytes, page_count)``;
* :func:`normalise_pages` — pages already in memory (e.g. from :func:`scan_pages`);
* :func:`normalise_photos` — phone photos, straightened first;
* :func:`scan_pages` / :func:`list_devices` — a SANE scanner;
* :func:`render_page` — one page as a small image (the desk's preview);
* :func:`scan_folder` / :func:`split_stack` / :func:`stack_to_pdf` — a hot folder of stacks
  cut by separator sheets (:func:`render_separator_pdf`).

Every refusal is a :class:`ScanError` with a Vietnamese message.
"""

from __future__ import annotations

from onestop.scans.errors import ScanError
from onestop.scans.normalise import (
    DPI,
    MAX_PAGES,
    MAX_PIXELS,
    Normalised,
    Progress,
    Variant,
    normalise_pages,
)
from onestop.scans.sources import (
    ScannerDevice,
    Stack,
    list_devices,
    normalise_file,
    normalise_photos,
    pdf_page_count,
    render_page,
    render_separator_pdf,
    scan_folder,
    scan_pages,
    separator_payload,
    split_stack,
    stack_to_pdf,
)

__all__ = [
    "DPI",
    "MAX_PAGES",
    "MAX_PIXELS",
    "Normalised",
    "Progress",
    "ScanError",
    "ScannerDevice",
    "Stack",
    "Variant",
    "list_devices",
    "normalise_file",
    "normalise_pages",
    "normalise_photos",
    "pdf_page_count",
    "render_page",
    "render_separator_pdf",
    "scan_folder",
    "scan_pages",
    "separator_payload",
    "split_stack",
    "stack_to_pdf",
]
