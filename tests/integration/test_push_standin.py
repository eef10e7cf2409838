"""A real sender (real HTTP, real database) against the loopback stand-in of the Event API."""
from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import select

from bot.push.runtime import build_push
from bot.push.standin import StandIn
from core.models import EventBatch, Member
from pushkit import add_members, add_notifications, rows
from pushproc import BOT, REST_KEY, cpoint, env_for, last_json_line, notification_states


@pytest.fixture
def standin():
    with StandIn(key=REST_KEY) as s:
        yield s


def real_push(app, standin, **settings):
    cfg, services = app.config["CPOINT"], app.extensions["cpoint"]
    cfg.event_api.api_base = standin.url
    cfg.event_api.rest_api_key = REST_KEY
    services.push = replace(services.push, **settings)
    return build_push(app.extensions["cpoint"])


def test_real_sender_against_the_stand_in(app, db, clock, standin):
    add_members(db, 420)
    add_members(db, 30, start=421, bot_id=BOT + "!")           # development channel
    add_members(db, 10, start=451, blocked_at=datetime(2026, 11, 1))
    add_notifications(db, range(1, 461), clock=clock)
    add_notifications(db, range(1, 51), kind="payout_notice", period="2026H1", clock=clock)
    push = real_push(app, standin, rate_per_sec=1000)
    sender = push.sender()
    started = time.monotonic()
    report = sender.run()
    elapsed = time.monotonic() - started
    sender.close()
    assert report.sent == 500 and report.skipped == {"blocked": 10} and report.error is None
    assert elapsed >= 500 / 1000 * 0.95  # the rate holds on the wire (messages per second)
    stats = standin.stats()
    assert stats == {"requests": 7, "users": 500, "distinct": 500, "duplicates": 0, "max_users": 100,
                     "bad_requests": 0}
    by_bot = {}
    for call in standin.calls:
        by_bot.setdefault((call["bot"], call["event"]), 0)
        by_bot[(call["bot"], call["event"])] += len(call["users"])
        assert len({(c) for c in call["users"]}) == len(call["users"]) <= 100
    assert by_bot == {(BOT, "monthly_result"): 420, (BOT + "!", "monthly_result"): 30, (BOT, "payout_notice"): 50}

    # task results: two members turned out unreachable
    standin.control({"unreachable": ["user-000005", "user-000007"]})
    clock.advance(seconds=push.settings.task_check_delay_sec + 1)
    rec = push.reconcile()
    assert rec.done == 7 and rec.failed == 4 and rec.unreachable == 2  # both in two batches
    with db.session() as s:
        assert s.scalar(select(Member.is_friend).where(Member.id == 5)) is False
        assert {b.task_state for b in s.scalars(select(EventBatch))} == {"done"}
    assert {n.delivery for n in rows(db, member_id=1)} == {"delivered"}


def test_wrong_key_is_refused_by_the_stand_in_and_nothing_is_spent(app, db, clock, standin):
    add_members(db, 5)
    add_notifications(db, range(1, 6), clock=clock)
    push = real_push(app, standin)
    push.client._key = "wrong"
    report = push.sender().run()
    assert report.error and report.sent == 0
    assert {n.state for n in rows(db)} == {"pending"} and {n.attempts for n in rows(db)} == {0}


def test_server_errors_then_success(app, db, clock, standin):
    add_members(db, 5)
    add_notifications(db, range(1, 6), clock=clock)
    standin.control({"statuses": [503]})
    push = real_push(app, standin, backoff_base_sec=0.01, backoff_max_sec=0.02)
    s = push.sender()
    assert s.run().retried == 5
    clock.advance(seconds=1)
    assert s.run().sent == 5
    assert standin.stats()["duplicates"] == 0


def test_two_senders_side_by_side_send_each_message_once(db, config, clock, standin, tmp_path):
    n = 3000
    add_members(db, n)
    add_notifications(db, range(1, n + 1), clock=clock)
    env = env_for(db, config, standin.url, PUSH_RATE_PER_SEC=4000)
    procs = [cpoint("push", "--json", env=env, log_path=tmp_path / f"s{i}.log") for i in range(2)]
    for p in procs:
        assert p.wait(30) == 0
    reports = [last_json_line(tmp_path / f"s{i}.log") for i in range(2)]
    assert sum(r["sent"] for r in reports) == n
    stats = standin.stats()
    assert stats["duplicates"] == 0 and stats["distinct"] == n
    assert {s for s, _b in notification_states(db).values()} == {"sent"}
