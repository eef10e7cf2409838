"""Two scheduler processes (`flask --app webhooks cpoint scheduler`) against one database: one
leads; each job runs once for its period; the leader is killed mid-send and the other takes
over without doing anything twice (checked on JobRun, on the monthly source's own record and
on the stand-in's record of every message)."""
from __future__ import annotations

import signal
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.push.standin import StandIn
from core.clock import KST
from core.models import Campaign, CampaignBroadcast, JobLease, JobRun, Notification
from tests.auxil.push import add_members, add_notifications
from tests.auxil.pushproc import REST_KEY, cpoint, env_for, wait_for

N = 600


def monthly_day_and_hour(now: datetime) -> tuple[int, int]:
    """A SCHEDULE_MONTHLY_DAY/HOUR whose last firing lies within the 3-day grace before now."""
    for back in range(3):
        day = now - timedelta(days=back)
        if day.day <= 28:
            return day.day, now.hour
    if now.hour == 23:
        pytest.skip("31st after 23:00 KST: no day <= 28 within the monthly grace")
    return 28, 23


def quiet_hours_away_from(now: datetime) -> str:
    start = now + timedelta(hours=3)
    end = now + timedelta(hours=4)
    return f"{start:%H}:00-{end:%H}:00"


def leader_pid(db) -> int | None:
    with db.session() as s:
        row = s.get(JobLease, "scheduler")
        if row is None or row.expires_at <= datetime.now(UTC).replace(tzinfo=None):
            return None
        return int(row.holder.split(":")[1])


def test_two_schedulers_each_job_once_and_a_takeover(db, config, tmp_path):
    now = datetime.now(KST)
    day, hour = monthly_day_and_hour(now)
    probe = tmp_path / "monthly_calls.txt"
    add_members(db, N)
    add_notifications(db, range(1, N + 1), period=f"{now:%Y-%m}")
    with db.transaction() as s:
        s.add(Campaign(id="cmp-1", title="냉방 1도 올리기", summary="여름철 냉방 온도를 1도 높여요.",
                       starts_on=date(2000, 1, 1), ends_on=date(2100, 1, 1), active=True, created_at=datetime(2026, 1, 1)))
        s.add(CampaignBroadcast(campaign_id="cmp-1", segment="all", message="이번 주 캠페인에 참여해 보세요.",
                                scheduled_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1),
                                state="scheduled", created_at=datetime(2026, 1, 1), queued=0, skipped=0))
    with StandIn(key=REST_KEY, latency=0.01, keep_bodies=False) as standin:
        env = env_for(db, config, standin.url, SCHEDULE_LEASE_SEC=2, PUSH_INTERVAL_SEC=1, PUSH_RATE_PER_SEC=250,
                      SCHEDULE_MONTHLY_DAY=day, SCHEDULE_MONTHLY_HOUR=hour,
                      SCHEDULE_MONTHLY_SOURCE="scheduler_probe:record", SCHEDULER_PROBE_FILE=str(probe),
                      SCHEDULER_PROBE_DELAY="0.5", QUIET_HOURS=quiet_hours_away_from(now), QUIET_MARGIN_MINUTES=0)
        procs = [cpoint("scheduler", env=env, log_path=tmp_path / f"scheduler{i}.log") for i in range(2)]
        try:
            first = wait_for(lambda: leader_pid(db), 20, "a leader")
            assert first in {p.pid for p in procs}
            with db.session() as s:
                pass
            wait_for(lambda: standin.stats()["requests"] >= 3, 25, "the leader to send")
            leader = next(p for p in procs if p.pid == first)
            follower = next(p for p in procs if p.pid != first)
            leader.send_signal(signal.SIGKILL)
            leader.wait(10)
            second = wait_for(lambda: leader_pid(db) not in (None, first) and leader_pid(db), 20, "a takeover")
            assert second == follower.pid

            def settled():
                with db.session() as s:
                    left = s.scalars(select(Notification.state).where(
                        Notification.state.in_(("pending", "in_flight")))).all()
                    total = len(s.scalars(select(Notification.id)).all())
                return not left and total == 2 * N

            wait_for(settled, 30, "everything sent")
            follower.send_signal(signal.SIGTERM)
            assert follower.wait(20) == 0, (tmp_path / "scheduler1.log").read_text()[-3000:]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(5)
        stats = standin.stats()
        received = standin.received()

    # each job ran once for its period: JobRun, and the monthly source's own record
    with db.session() as s:
        runs = s.scalars(select(JobRun)).all()
        states = dict(s.execute(select(Notification.dedupe_key, Notification.state)).all())
        lease = s.get(JobLease, "scheduler")
    monthly = [r for r in runs if r.job == "monthly_result"]
    assert len(monthly) == 1 and monthly[0].state == "done" and monthly[0].attempts == 1
    assert [r for r in runs if r.job == "campaign_broadcast"][0].attempts == 1
    assert all(r.attempts == 1 for r in runs), [(r.job, r.period, r.attempts) for r in runs]
    assert len(probe.read_text().splitlines()) == 1
    assert lease is None  # the survivor released its lease on SIGTERM
    # every message once, except at most one uncertain batch of the killed leader
    assert stats["duplicates"] == 0
    uncertain = [k for k, st in states.items() if st == "uncertain"]
    assert len(uncertain) <= 100
    assert set(states.values()) <= {"sent", "uncertain"}
    assert sum(received.values()) >= 2 * N - len(uncertain)
