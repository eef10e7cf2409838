"""Per-user turn rate limit: a double tap or a script hammering the skill must not cost
database work. A token bucket per botUserKey, kept in the process (each web process limits
on its own, so the effective limit is at most N times the setting with N processes)."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable


@dataclass
class _Bucket:
    tokens: float
    at: float


class UserRateLimiter:
    def __init__(self, turns: int, per_seconds: float, now: Callable[[], float], max_users: int = 100_000):
        if turns <= 0 or per_seconds <= 0:
            raise ValueError("rate limit needs positive turns and seconds")
        self.capacity = float(turns)
        self.refill = turns / per_seconds
        self._now = now
        self._max_users = max_users
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, user_key: str) -> bool:
        now = self._now()
        with self._lock:
            b = self._buckets.pop(user_key, None)
            if b is None:
                b = _Bucket(self.capacity, now)
            b.tokens = min(self.capacity, b.tokens + (now - b.at) * self.refill)
            b.at = now
            allowed = b.tokens >= 1.0
            if allowed:
                b.tokens -= 1.0
            self._buckets[user_key] = b  # most recently used last
            while len(self._buckets) > self._max_users:
                self._buckets.popitem(last=False)
            return allowed


def parse_rate(text: str) -> tuple[int, float]:
    """'20/10s' -> (20, 10.0); '30/m' -> (30, 60.0)."""
    count, _, window = text.strip().partition("/")
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    window = window.strip() or "s"
    if window[-1] in units:
        number = window[:-1] or "1"
        return int(count), float(number) * units[window[-1]]
    return int(count), float(window)


def turn_allowed(services, user_key: str) -> bool:
    """May this user's turn run now? Always, when no limit is configured. The one place that
    knows where the services keep the limiter (webhooks.create_app puts it there)."""
    limiter = services.extras.get("rate_limiter")
    return limiter is None or limiter.allow(user_key)
