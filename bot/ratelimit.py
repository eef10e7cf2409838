"""Rate limits, all built on one primitive: `TokenBucket`, a token bucket on an injected clock.

- pushes (bot/push): one shared bucket paces the Event API sends, `acquire` waits for tokens;
- skill turns: `UserRateLimiter` keeps a bucket per botUserKey, so a double tap or a script
  hammering the skill does not cost database work;
- dashboard logins (webhooks/routes/dashboard.py): a `UserRateLimiter` per address spends a token
  per wrong token.

Everything is kept in the process: each web process limits on its own, so the effective limit
is at most N times the setting with N processes."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBucket:
    """At most `rate` tokens per second on average, bursts up to `capacity`.

    By default the bucket starts empty, so over any run measured from its start no more than
    rate x elapsed tokens are taken (the push benchmark's "never above the configured rate").
    Clock and sleep are injected; tests drive a fake clock. Thread-safe: one bucket may be
    shared by the sender threads of one process."""

    def __init__(self, rate: float, capacity: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 start_full: bool = False) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else max(1.0, rate))
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._clock, self._sleep = clock, sleep
        self._tokens = self.capacity if start_full else 0.0
        self._stamp = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # seconds spent waiting, for reports

    def _refill(self, now: float) -> None:
        start = max(self._stamp, self._paused_until)  # nothing accrues while paused
        if now > start:
            self._tokens = min(self.capacity, self._tokens + (now - start) * self.rate)
        self._stamp = max(self._stamp, now)

    def _take_or_wait(self, n: float) -> float | None:
        """Take `n` tokens if they are there (None), else how long until they are (takes nothing)."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            if now >= self._paused_until and self._tokens >= n - 1e-9:
                self._tokens -= n
                return None
            return max(0.0, self._paused_until - now) + max(0.0, (n - self._tokens) / self.rate)

    def take(self, n: float = 1) -> bool:
        """Take `n` tokens if they are there now; never waits."""
        return self._take_or_wait(n) is None

    def acquire(self, n: float = 1, *, deadline: float | None = None) -> bool:
        """Wait until `n` tokens are there and take them. With a `deadline` (clock time), give up
        and take nothing when it would be passed; returns whether the tokens were taken."""
        if n > self.capacity:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self.capacity}")
        while (wait := self._take_or_wait(n)) is not None:
            if deadline is not None and self._clock() + wait > deadline:
                return False
            self.waited += wait
            self._sleep(wait)
        return True

    def refund(self, n: float) -> None:
        """Give back tokens taken but not used (a claim found fewer messages than expected)."""
        if n <= 0:
            return
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self.capacity, self._tokens + n)

    def pause(self, seconds: float) -> None:
        """Hand out nothing for `seconds` (429 Retry-After, repeated server errors); no tokens accrue."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._paused_until = max(self._paused_until, now + max(0.0, seconds))

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill(self._clock())
            return self._tokens


class UserRateLimiter:
    """`turns` per `per_seconds` for each key (a botUserKey, an address): a full `TokenBucket` per
    key, the least recently used keys forgotten beyond `max_users` (bounded memory)."""

    def __init__(self, turns: int, per_seconds: float, now: Callable[[], float], max_users: int = 100_000):
        if turns <= 0 or per_seconds <= 0:
            raise ValueError("rate limit needs positive turns and seconds")
        self.capacity = float(turns)
        self.refill = turns / per_seconds
        self._now = now
        self._max_users = max_users
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._lock = threading.Lock()

    def _bucket(self, key: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.pop(key, None)
            if bucket is None:
                bucket = TokenBucket(self.refill, self.capacity, clock=self._now, start_full=True)
            self._buckets[key] = bucket  # most recently used last
            while len(self._buckets) > self._max_users:
                self._buckets.popitem(last=False)
            return bucket

    def allow(self, key: str) -> bool:
        """Spend one turn of `key`; False when none is left."""
        return self._bucket(key).take()

    def exhausted(self, key: str) -> bool:
        """No turn left for `key` (spends nothing)."""
        with self._lock:
            bucket = self._buckets.get(key)
        return bucket is not None and bucket.tokens < 1 - 1e-9

    def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)


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
    limiter = services.rate_limiter
    return limiter is None or limiter.allow(user_key)
