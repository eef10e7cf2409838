"""Token bucket: at most `rate` messages per second on average, bursts up to `capacity`.

The bucket starts empty, so over any run measured from its start no more than rate x elapsed
messages go out (the benchmark's "never above the configured rate"). Clock and sleep are
injected; tests drive a fake clock. Thread-safe: one bucket may be shared by the sender threads
of one process."""
from __future__ import annotations

import threading
import time
from typing import Callable


class TokenBucket:
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

    def acquire(self, n: float = 1, *, deadline: float | None = None) -> bool:
        """Wait until `n` tokens are there and take them. With a `deadline` (clock time), give up
        and take nothing when it would be passed; returns whether the tokens were taken."""
        if n > self.capacity:
            raise ValueError(f"cannot take {n} tokens from a bucket of {self.capacity}")
        while True:
            with self._lock:
                now = self._clock()
                self._refill(now)
                if now >= self._paused_until and self._tokens >= n - 1e-9:
                    self._tokens -= n
                    return True
                wait = max(0.0, self._paused_until - now) + max(0.0, (n - self._tokens) / self.rate)
            if deadline is not None and self._clock() + wait > deadline:
                return False
            self.waited += wait
            self._sleep(wait)

    def refund(self, n: float) -> None:
        """Give back tokens taken but not used (a claim found fewer messages than expected)."""
        if n <= 0:
            return
        with self._lock:
            self._refill(self._clock())
            self._tokens = min(self.capacity, self._tokens + n)

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (429 Retry-After, repeated server errors); no tokens accrue."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._paused_until = max(self._paused_until, now + max(0.0, seconds))

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill(self._clock())
            return self._tokens
