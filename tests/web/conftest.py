from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# Reuse the server suite's fixtures (in-process app + blocking client) and its cheap-scrypt
# autouse fixture, rather than copying them.
from tests.server.conftest import _fast_keys, server  # noqa: F401


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module of the browser suites (they skip without it)."""
    from tests.web.helpers import CHROMIUM, CHROMIUM_ARGS

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
