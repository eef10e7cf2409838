"""The per-user rate limit: a burst is cut, the user gets a polite reply, others are unaffected."""
from __future__ import annotations

import pytest

from bot.kakao.validate import validate_response
from bot.ratelimit import UserRateLimiter, parse_rate
from support import make_payload, reply_texts


class FakeTime:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_bucket_refills_over_time():
    now = FakeTime()
    lim = UserRateLimiter(3, 3.0, now=now)
    assert [lim.allow("a") for _ in range(4)] == [True, True, True, False]
    assert lim.allow("b")  # another user has their own bucket
    now.t += 1.0
    assert lim.allow("a") and not lim.allow("a")


def test_least_recent_users_are_forgotten():
    lim = UserRateLimiter(1, 60, now=FakeTime(), max_users=2)
    lim.allow("a"), lim.allow("b"), lim.allow("c")
    assert lim.allow("a")  # 'a' was evicted, so it starts with a full bucket


@pytest.mark.parametrize("text,expected", [("20/10s", (20, 10.0)), ("30/m", (30, 60.0)), ("5/2", (5, 2.0)), ("100/h", (100, 3600.0))])
def test_parse_rate(text, expected):
    assert parse_rate(text) == expected


def test_burst_from_one_user_is_limited_politely(app, kakao):
    now = FakeTime()
    app.extensions["cpoint"].extras["rate_limiter"] = UserRateLimiter(5, 10, now=now)
    replies = [kakao.post("help", make_payload("u-burst", "도움말")).get_json() for _ in range(7)]
    limited = [r for r in replies if "너무 빨리" in reply_texts(r)]
    assert len(limited) == 2
    assert all(validate_response(r) == [] for r in replies)
    assert "너무 빨리" not in reply_texts(kakao.post("help", make_payload("u-other", "도움말")).get_json())
    now.t += 10
    assert "너무 빨리" not in reply_texts(kakao.post("help", make_payload("u-burst", "도움말")).get_json())


def test_turn_allowed_without_a_limiter():
    from types import SimpleNamespace

    from bot.ratelimit import turn_allowed

    services = SimpleNamespace(extras={})
    assert all(turn_allowed(services, "u-free") for _ in range(100))


def test_turn_allowed_asks_the_limiter():
    from types import SimpleNamespace

    from bot.ratelimit import turn_allowed

    services = SimpleNamespace(extras={"rate_limiter": UserRateLimiter(2, 10, now=FakeTime())})
    assert [turn_allowed(services, "u-fast") for _ in range(3)] == [True, True, False]
    assert turn_allowed(services, "u-slow")
