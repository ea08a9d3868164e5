"""An in-process token bucket per client key (the receipt lookup, the staff login).

Each key (a client IP) holds up to ``burst`` tokens, refilled at ``rate`` tokens per second; a
request takes one token or is refused with the number of seconds until the next one.

Scope: **per worker process**. Behind ``onestop serve --workers 4`` a client can get up to four
times the budget, and a restart forgets every bucket. That is enough for what it is for (making
receipt lookups and password guessing slow and noisy, not impossible); a province that needs a
hard, shared limit puts it in the reverse proxy (nginx ``limit_req``) in front of the workers.
The table of buckets is bounded: idle full buckets are dropped, and at ``max_keys`` the oldest
half goes, so a flood of spoofed addresses cannot grow memory without limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter"]


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """``take(key)`` → 0.0 when allowed, else seconds to wait (> 0)."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._evict(now)
                bucket = _Bucket(float(self.burst), now)
                self._buckets[key] = bucket
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def wait(self, key: str) -> float:
        """Seconds until ``key`` has a token again, without taking one (0.0 when it has one):
        for limits that count only failures, checked before the work and taken after it."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return 0.0
            tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
            return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def retry_after(self, wait: float) -> str:
        """The ``Retry-After`` header value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait)))

    def _evict(self, now: float) -> None:
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self.rate >= self.burst
        ]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self._max_keys:
            oldest = sorted(self._buckets, key=lambda k: self._buckets[k].stamp)
            for k in oldest[: len(oldest) // 2 + 1]:
                del self._buckets[k]

    def __len__(self) -> int:
        return len(self._buckets)
