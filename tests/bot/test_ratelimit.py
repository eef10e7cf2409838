"""Rate limits on one token bucket: the bucket itself (never above the rate, no initial burst,
refunds, pauses; fake clock), the per-user turn limit (a burst is cut, the user gets a polite
reply, others are unaffected) and the dashboard's login throttle."""
from __future__ import annotations

import threading
import time

import pytest

from bot.kakao.validate import validate_response
from bot.ratelimit import TokenBucket, UserRateLimiter, parse_rate
from pushkit import FakeTime
from support import make_payload, reply_texts


# -- the bucket -----------------------------------------------------------------------------
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


def test_take_never_waits():
    t = FakeTime(0.0)
    bucket = TokenBucket(1, capacity=2, clock=t.monotonic, sleep=t.sleep, start_full=True)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    assert t.slept == []
    bucket.pause(1)
    t.now = 0.5
    assert not bucket.take()


# -- per user -------------------------------------------------------------------------------

def test_bucket_refills_over_time():
    t = FakeTime()
    lim = UserRateLimiter(3, 3.0, now=t.monotonic)
    assert [lim.allow("a") for _ in range(4)] == [True, True, True, False]
    assert lim.allow("b")  # another user has their own bucket
    t.now += 1.0
    assert lim.allow("a") and not lim.allow("a")


def test_least_recent_users_are_forgotten():
    lim = UserRateLimiter(1, 60, now=FakeTime().monotonic, max_users=2)
    lim.allow("a"), lim.allow("b"), lim.allow("c")
    assert lim.allow("a")  # 'a' was evicted, so it starts with a full bucket


def test_exhausted_spends_nothing_and_forget_starts_afresh():
    """The dashboard's login throttle: wrong tokens spend tries, checking does not."""
    t = FakeTime()
    lim = UserRateLimiter(2, 60, now=t.monotonic)
    assert not lim.exhausted("10.0.0.1")
    lim.allow("10.0.0.1"), lim.allow("10.0.0.1")
    assert lim.exhausted("10.0.0.1") and lim.exhausted("10.0.0.1")
    t.now += 30  # one try back
    assert not lim.exhausted("10.0.0.1")
    lim.allow("10.0.0.1")
    lim.forget("10.0.0.1")
    assert not lim.exhausted("10.0.0.1")


@pytest.mark.parametrize("text,expected", [("20/10s", (20, 10.0)), ("30/m", (30, 60.0)), ("5/2", (5, 2.0)), ("100/h", (100, 3600.0))])
def test_parse_rate(text, expected):
    assert parse_rate(text) == expected


def test_burst_from_one_user_is_limited_politely(app, kakao):
    t = FakeTime()
    app.extensions["cpoint"].rate_limiter = UserRateLimiter(5, 10, now=t.monotonic)
    replies = [kakao.post("help", make_payload("u-burst", "도움말")).get_json() for _ in range(7)]
    limited = [r for r in replies if "너무 빨리" in reply_texts(r)]
    assert len(limited) == 2
    assert all(validate_response(r) == [] for r in replies)
    assert "너무 빨리" not in reply_texts(kakao.post("help", make_payload("u-other", "도움말")).get_json())
    t.now += 10
    assert "너무 빨리" not in reply_texts(kakao.post("help", make_payload("u-burst", "도움말")).get_json())
