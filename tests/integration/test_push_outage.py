"""An Event API that cannot be reached for a long time, then a SIGTERM: a real scheduler process
(`flask --app webhooks cpoint scheduler`) keeps every notification (no connection spends no
attempt, so nothing dies however long the outage lasts; the rows wait pending with a growing,
capped next-attempt time), stops within a couple of seconds of SIGTERM even in the middle of a
long pause, leaves nothing claimed, and the next sender delivers everything exactly once."""
from __future__ import annotations

import signal
import socket
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.push.standin import StandIn
from core.models import EventBatch, Notification
from tests.auxil.push import add_members, add_notifications
from tests.auxil.pushproc import REST_KEY, cpoint, env_for, last_json_line, notification_states, wait_for

N = 250


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def failed_batches(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(EventBatch).where(EventBatch.state == "retry")) or 0


def test_an_outage_loses_nothing_and_sigterm_stops_at_once(db, config, clock, tmp_path):
    add_members(db, N)
    add_notifications(db, range(1, N + 1), clock=clock)
    # One attempt only: were a refused connection counted, every notification would die at once.
    env = env_for(db, config, closed_port_url(), SCHEDULE_LEASE_SEC=2, PUSH_INTERVAL_SEC=0.5,
                  PUSH_MAX_ATTEMPTS=1, PUSH_BACKOFF_BASE_SEC=0.3, PUSH_BACKOFF_MAX_SEC=30)
    log = tmp_path / "scheduler.log"
    proc = cpoint("scheduler", env=env, log_path=log)
    try:
        wait_for(lambda: failed_batches(db) >= 5 or proc.poll() is not None, 40, "five refused connections")
        assert proc.poll() is None, log.read_text()[-3000:]
        time.sleep(0.5)  # now well inside a pause of several seconds
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Notification).where(Notification.state == "dead")) == 0
            assert s.scalar(select(func.max(Notification.attempts))) == 0  # no attempt was spent
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, log.read_text()[-3000:]
        assert time.monotonic() - started < 3.0, "SIGTERM took too long"
    finally:
        if proc.poll() is None:
            proc.kill()
    states = notification_states(db)
    assert {s for s, _b in states.values()} == {"pending"}  # nothing left claimed or dead
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(EventBatch).where(EventBatch.state == "in_flight")) == 0
        latest = s.scalar(select(func.max(Notification.not_before)))
        now = datetime.now(UTC).replace(tzinfo=None)
        assert latest is not None and latest <= now + timedelta(seconds=31)  # capped by PUSH_BACKOFF_MAX_SEC
    with StandIn(key=REST_KEY, latency=0.002, keep_bodies=False) as standin:
        env = env_for(db, config, standin.url, PUSH_RATE_PER_SEC=20000)
        deadline = time.monotonic() + 40
        while True:  # rows come due as their backoff ends
            push = cpoint("push", "--json", env=env, log_path=tmp_path / "push.log")
            assert push.wait(30) == 0, (tmp_path / "push.log").read_text()[-3000:]
            if {s for s, _b in notification_states(db).values()} == {"sent"} or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert last_json_line(tmp_path / "push.log")["dead"] == 0
        assert {s for s, _b in notification_states(db).values()} == {"sent"}
        assert standin.stats()["duplicates"] == 0
        assert len(standin.received()) == N and set(standin.received().values()) == {1}
