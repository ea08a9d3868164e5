from __future__ import annotations

# Reuse the server suite's fixtures (in-process app + blocking client) and its cheap-scrypt
# autouse fixture, rather than copying them.
from tests.server.conftest import _fast_keys, server  # noqa: F401
