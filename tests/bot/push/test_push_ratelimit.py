"""The token bucket: never above the rate, no initial burst, refunds, pauses (fake clock)."""
from __future__ import annotations

import threading
import time

import pytest

from bot.push.ratelimit import TokenBucket
from pushkit import FakeTime


def test_starts_empty_and_never_exceeds_the_rate():
    t = FakeTime(0.0)
    bucket = TokenBucket(100, capacity=200, clock=t.monotonic, sleep=t.sleep)
    sent = 0
    for _ in range(50):
        bucket.acquire(100)
        sent += 100
        # Over the whole run (from the start) no more than rate x elapsed messages.
        assert sent <= 100 * t.now + 1e-6
    assert t.now == pytest.approx(50.0)  # and no slower than the rate either


def test_waits_only_what_is_missing():
    t = FakeTime(0.0)
    bucket = TokenBucket(10, capacity=20, clock=t.monotonic, sleep=t.sleep)
    t.now = 1.5  # 15 tokens accrued
    bucket.acquire(10)
    assert t.slept == []
    bucket.acquire(10)  # 5 left: wait 0.5 s
    assert sum(t.slept) == pytest.approx(0.5)


def test_capacity_caps_the_burst_after_idle():
    t = FakeTime(0.0)
    bucket = TokenBucket(10, capacity=20, clock=t.monotonic, sleep=t.sleep)
    t.now = 1000.0
    assert bucket.tokens == pytest.approx(20)


def test_refund_returns_unused_tokens():
    t = FakeTime(0.0)
    bucket = TokenBucket(100, capacity=200, clock=t.monotonic, sleep=t.sleep)
    bucket.acquire(100)
    bucket.refund(60)  # the claim found only 40 messages
    assert bucket.tokens == pytest.approx(60)
    before = t.now
    bucket.acquire(100)
    assert t.now - before == pytest.approx(0.4)


def test_pause_stops_accrual_and_delays():
    t = FakeTime(0.0)
    bucket = TokenBucket(10, capacity=100, clock=t.monotonic, sleep=t.sleep)
    bucket.pause(5)
    bucket.acquire(10)
    assert t.now == pytest.approx(6.0)  # 5 s paused, then 1 s to accrue 10


def test_deadline_gives_up_without_taking():
    t = FakeTime(0.0)
    bucket = TokenBucket(10, capacity=100, clock=t.monotonic, sleep=t.sleep)
    assert bucket.acquire(50, deadline=2.0) is False
    assert t.now == 0.0
    assert bucket.acquire(10, deadline=2.0) is True


def test_refuses_more_than_capacity_and_bad_rates():
    with pytest.raises(ValueError):
        TokenBucket(10, capacity=5).acquire(6)
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_threads_share_one_rate():
    bucket = TokenBucket(400, capacity=40)  # real clock: 400/s
    taken = []
    start = time.monotonic()

    def work():
        for _ in range(10):
            bucket.acquire(10)
            taken.append(10)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - start
    assert sum(taken) == 400
    assert elapsed >= 0.95  # 400 messages at 400/s from an empty bucket
