"""The scheduler in one process with a fixed clock: periods, grace and catch-up, the leader
lease, JobRun once-only, payout notices and reminders from statements, broadcasts."""
from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
import scheduler_probe
from sqlalchemy import select

from bot.push.settings import PushSettings
from bot.scheduler import jobs
from bot.scheduler.clock import SchedulerClock, _QuietSkips, due_periods, periodic_jobs
from bot.scheduler.leader import Lease
from bot.scheduler.runs import run_once
from core.clock import KST, FixedClock
from core.models import Campaign, JobRun, LocalGovernment, Member, Notification, PointStatement, SettlementRun
from tests.auxil.push import add_members

SETTINGS = PushSettings(monthly_source="scheduler_probe:record")


def at(y, mo, d, h=10, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=KST)


@pytest.fixture(autouse=True)
def _probe():
    scheduler_probe.CALLS.clear()
    yield
    scheduler_probe.CALLS.clear()


def job(name):
    return next(j for j in periodic_jobs(SETTINGS) if j.name == name)


# -- periods --------------------------------------------------------------------------------

def test_monthly_results_are_for_the_previous_month():
    assert jobs.monthly_period(at(2026, 11, 20), SETTINGS) == "2026-10"
    assert jobs.monthly_period(at(2027, 1, 20), SETTINGS) == "2026-12"


def test_payout_notice_day_and_reminder_a_week_before():
    s = replace(SETTINGS, payout_day=10, reminder_days_before=7)
    assert jobs.payout_period(at(2026, 12, 10), s) == "2026-12"
    assert jobs.payout_period(at(2026, 12, 11), s) is None
    assert jobs.reminder_period(at(2026, 12, 3), s) == "2026-12"
    s1 = replace(SETTINGS, payout_day=3, reminder_days_before=7)
    assert jobs.reminder_period(at(2026, 5, 27), s1) == "2026-06"  # across the month end


@pytest.mark.parametrize("now,expected", [
    (at(2026, 11, 20, 10, 0), ["2026-10"]),
    (at(2026, 11, 22, 9, 0), ["2026-10"]),       # restarted two days late: still within grace
    (at(2026, 11, 23, 10, 1), []),               # past the 3-day grace: not sent that late
    (at(2026, 11, 20, 9, 59), []),               # not yet (October's run is long past)
])
def test_monthly_grace(now, expected):
    assert due_periods(job("monthly_result"), now, SETTINGS) == expected


def test_payout_grace_covers_a_missed_notice_day():
    s = replace(SETTINGS, payout_day=10)
    pj = next(j for j in periodic_jobs(s) if j.name == "payout_notice")
    assert due_periods(pj, at(2026, 12, 12, 11), s) == ["2026-12"]
    assert due_periods(pj, at(2026, 12, 14, 11), s) == []


# -- lease ----------------------------------------------------------------------------------

def test_one_leader_and_takeover_after_expiry(db):
    clock = FixedClock(at(2026, 11, 20, 9, 0))
    a = Lease(db, "scheduler", "a", timedelta(seconds=30), clock)
    b = Lease(db, "scheduler", "b", timedelta(seconds=30), clock)
    assert a.acquire() and a.held
    assert not b.acquire() and not b.held
    clock.advance(seconds=10)
    assert a.acquire()  # renewal
    clock.advance(seconds=29)
    assert not b.acquire()  # renewed lease still valid
    clock.advance(seconds=2)  # a died 31 s ago
    assert not a.held  # a stops believing before its row expires
    assert b.acquire() and b.held
    assert not a.acquire()
    assert b.current_holder() == "b"
    b.release()
    assert a.acquire()


def test_racing_first_acquisitions_have_one_winner(db):
    clock = FixedClock(at(2026, 11, 20, 9, 0))
    leases = [Lease(db, "race", f"h{i}", timedelta(seconds=30), clock) for i in range(6)]
    results = []
    barrier = threading.Barrier(6)

    def go(lease):
        barrier.wait()
        results.append(lease.acquire())

    threads = [threading.Thread(target=go, args=(l,)) for l in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


# -- JobRun -----------------------------------------------------------------------------------

def test_a_job_period_runs_once(db):
    clock = FixedClock(at(2026, 11, 20))
    calls = []
    first = run_once(db, "monthly_result", "2026-10", lambda: calls.append(1) or {"n": 1}, holder="a", clock=clock)
    second = run_once(db, "monthly_result", "2026-10", lambda: calls.append(2), holder="b", clock=clock)
    assert first.ran and first.state == "done" and not second.ran and second.state == "done"
    assert calls == [1]
    with db.session() as s:
        run = s.scalar(select(JobRun))
    assert (run.state, run.holder, run.attempts, run.detail) == ("done", "a", 1, {"n": 1})


def test_a_failed_run_is_retried_and_a_stale_one_taken_over(db):
    clock = FixedClock(at(2026, 11, 20))

    def boom():
        raise RuntimeError("no readings")

    assert run_once(db, "j", "p", boom, holder="a", clock=clock).state == "failed"
    assert run_once(db, "j", "p", lambda: {"ok": True}, holder="b", clock=clock).state == "done"
    # a run left `running` by a dead process
    from bot.scheduler.runs import claim_run

    assert claim_run(db, "j2", "p", holder="dead", clock=clock, stale=timedelta(hours=2))
    assert not run_once(db, "j2", "p", lambda: {}, holder="c", clock=clock).ran
    clock.advance(hours=3)
    out = run_once(db, "j2", "p", lambda: {}, holder="c", clock=clock)
    assert out.ran and out.state == "done"
    with db.session() as s:
        assert s.scalar(select(JobRun.attempts).where(JobRun.job == "j2")) == 2


def test_concurrent_runs_of_one_period_do_the_work_once(db):
    clock = FixedClock(at(2026, 11, 20))
    calls = []
    barrier = threading.Barrier(5)

    def go(i):
        barrier.wait()
        run_once(db, "monthly_result", "2026-10", lambda: calls.append(i), holder=f"h{i}", clock=clock)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


# -- the scheduler ----------------------------------------------------------------------------

def test_only_the_leader_runs_jobs_and_catch_up_runs_each_period_once(db):
    clock = FixedClock(at(2026, 11, 21, 15, 0))  # the 20th 10:00 was missed
    a = SchedulerClock(db, clock, SETTINGS, holder="a")
    b = SchedulerClock(db, clock, SETTINGS, holder="b")
    assert a.renew() and not b.renew()
    assert b.catch_up() == []
    outs = a.catch_up()
    assert [(o.job, o.period, o.ran) for o in outs] == [("monthly_result", "2026-10", True)]
    assert a.catch_up()[0].ran is False  # again: nothing
    assert scheduler_probe.CALLS == [("2026-10", scheduler_probe.os.getpid())]
    # the leader dies; b takes over after the lease and catches up: nothing to redo
    clock.advance(seconds=31)
    assert b.renew()
    assert [o.ran for o in b.catch_up()] == [False]
    assert len(scheduler_probe.CALLS) == 1


def test_missing_monthly_source_fails_the_run_and_it_is_retried(db):
    clock = FixedClock(at(2026, 11, 20, 10, 0))
    s = replace(SETTINGS, monthly_source="no_such_module_here:fn")
    a = SchedulerClock(db, clock, s, holder="a")
    a.renew()
    [out] = a.catch_up()
    assert out.state == "failed" and "no_such_module_here is not installed" in out.error
    a.settings = SETTINGS
    a.jobs = periodic_jobs(SETTINGS)
    a.context.settings = SETTINGS
    [again] = a.catch_up()
    assert again.ran and again.state == "done"


def test_failing_source_is_recorded_with_the_error(db):
    clock = FixedClock(at(2026, 11, 20, 10, 0))
    a = SchedulerClock(db, clock, replace(SETTINGS, monthly_source="scheduler_probe:broken"), holder="a")
    a.renew()
    [out] = a.catch_up()
    assert out.state == "failed"
    with db.session() as s:
        assert "readings not imported yet" in s.scalar(select(JobRun.error))


def _statement(s, run_id, member_id, *, half="2026H1", points=5000, won=10000, status="expected",
               hold=None, payout_month=202612):
    s.add(PointStatement(member_id=member_id, half=half, member_type="individual", points_table="household",
                         schedule="2023", rate=2, points_before_cap=points, points=points, won_before_cap=won,
                         won=won, cap_points_per_half=33750, cap_won_per_year=135000, payout_month=payout_month,
                         status=status, hold_reason=hold, version=1, result_hash="x" * 64, settlement_run_id=run_id,
                         created_at=datetime(2026, 7, 1), updated_at=datetime(2026, 7, 1)))


@pytest.fixture
def statements(db):
    with db.transaction() as s:
        s.add(LocalGovernment(code="41117", sido="경기도", name="수원시 영통구", address_prefixes=[], incentive_types=[]))
    add_members(db, 5, local_government_code="41117")
    with db.transaction() as s:
        s.get(Member, 2).incentive_type = "cash"  # cash without an account: would be held
        s.get(Member, 3).incentive_type = "cash"
        s.get(Member, 3).account_number_enc = "enc"
        s.get(Member, 3).account_holder = "김철수"  # not the member's name
        run = SettlementRun(half="2026H1", status="completed", started_at=datetime(2026, 7, 1),
                            heartbeat_at=datetime(2026, 7, 1))
        s.add(run)
        s.flush()
        _statement(s, run.id, 1)
        _statement(s, run.id, 2)
        _statement(s, run.id, 3)
        _statement(s, run.id, 4, points=0, won=0)  # nothing to pay: no notice
        _statement(s, run.id, 5, payout_month=202701)  # another local calendar


def test_payout_notices_from_statements_once(db, statements):
    clock = FixedClock(at(2026, 12, 10))
    ctx = jobs.JobContext(db, clock, SETTINGS, "a")
    detail = jobs.run_payout_notices(ctx, "2026-12")
    estimate = detail.pop("estimates")["payout_notice:2026H1"]  # issue 17: shown before it is sent
    assert detail == {"payout_month": "2026-12", "statements": 3, "notifications": 3}
    assert (estimate["recipients"], estimate["messages"], estimate["cost_won"]) == (3, 3, 45)
    assert jobs.run_payout_notices(ctx, "2026-12")["notifications"] == 0
    with db.session() as s:
        ns = {n.member_id: n for n in s.scalars(select(Notification))}
    assert set(ns) == {1, 2, 3}
    assert ns[1].dedupe_key == "payout_notice:1:2026H1" and ns[1].period == "2026H1"
    assert ns[1].payload == {"half": "2026H1", "points": 5000, "won": 10000, "payout_month": 202612,
                             "status": "expected", "hold_reason": None}
    assert ns[2].payload["hold_reason"] == "HOLD_NO_ACCOUNT"
    assert ns[3].payload["hold_reason"] == "HOLD_HOLDER_MISMATCH"


def test_payout_reminders_only_for_payments_that_would_be_held(db, statements):
    clock = FixedClock(at(2026, 12, 3))
    ctx = jobs.JobContext(db, clock, SETTINGS, "a")
    assert jobs.run_payout_reminders(ctx, "2026-12")["notifications"] == 2
    with db.session() as s:
        got = {(n.member_id, n.kind, n.dedupe_key) for n in s.scalars(select(Notification))}
    assert got == {(2, "payout_reminder", "payout_reminder:2:2026H1"), (3, "payout_reminder", "payout_reminder:3:2026H1")}


def test_payout_jobs_run_through_the_scheduler_on_their_days(db, statements):
    clock = FixedClock(at(2026, 12, 3, 10, 0))
    a = SchedulerClock(db, clock, SETTINGS, holder="a")
    a.renew()
    outs = [(o.job, o.period, o.state) for o in a.catch_up()]
    assert ("payout_reminder", "2026-12", "done") in outs and not any(j == "payout_notice" for j, _, _ in outs)
    clock.set(at(2026, 12, 10, 10, 0))
    assert not a.leading  # a week without renewals: the lease has lapsed
    a.renew()
    outs = [(o.job, o.period, o.state) for o in a.catch_up()]
    assert ("payout_notice", "2026-12", "done") in outs


def test_broadcasts_are_queued_once_when_due(db):
    from core import broadcasts
    clock = FixedClock(at(2026, 11, 20, 9, 0))
    add_members(db, 3)
    with db.transaction() as s:
        s.add(Campaign(id="cmp-1", title="t", summary="s", starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 1),
                       active=True, created_at=datetime(2026, 1, 1)))
    b = broadcasts.schedule(db, campaign_id="cmp-1", at=at(2026, 11, 20, 11, 0), now=clock.now())
    a = SchedulerClock(db, clock, SETTINGS, holder="a")
    a.renew()
    assert a.broadcast_tick() == []
    clock.set(at(2026, 11, 20, 11, 0, ))
    a.renew()
    [out] = a.broadcast_tick()
    assert out.ran and out.detail["queued"] == 3 and out.period == str(b.id)
    assert a.broadcast_tick() == []
    with db.session() as s:
        assert len(s.scalars(select(Notification)).all()) == 3


def test_outbox_tick_only_on_the_leader(db):
    clock = FixedClock(at(2026, 11, 20, 9, 0))
    made = []

    class StubSender:
        def run(self, **kw):
            made.append(kw)
            from bot.push.sender import SendReport

            return SendReport()

    a = SchedulerClock(db, clock, SETTINGS, make_sender=StubSender, holder="a")
    b = SchedulerClock(db, clock, SETTINGS, make_sender=StubSender, holder="b")
    a.renew()
    b.renew()
    assert b.outbox_tick() is None and made == []
    assert a.outbox_tick() is not None and len(made) == 1
    assert made[0]["stop"]() is False  # runs until the outbox is empty or leadership is lost
    a.stop()
    assert made[0]["stop"]() is True


def test_without_a_rest_key_pushes_are_off_with_one_warning(db, caplog):
    clock = FixedClock(at(2026, 11, 20, 9, 0))

    def refuse():
        raise ValueError("KAKAO_REST_API_KEY is not set")

    a = SchedulerClock(db, clock, SETTINGS, make_sender=refuse, holder="a")
    a.renew()
    with caplog.at_level("WARNING", logger="cpoint.scheduler"):
        assert a.outbox_tick() is None
        assert a.outbox_tick() is None
    assert [r.getMessage() for r in caplog.records].count(
        "pushes are off: KAKAO_REST_API_KEY is not set; notifications stay pending") == 1


def test_housekeeping_forgets_expired_dialogs_only(db):
    from core.models import DialogState

    clock = FixedClock(at(2026, 11, 22, 10))
    now = datetime(2026, 11, 22, 1, 0)  # naive UTC, as stored
    with db.transaction() as s:
        s.add(DialogState(user_key="old", dialog="signup", step="address", slots={"name": "홍길동"},
                          failures=0, expires_at=now - timedelta(minutes=1), updated_at=now, version=1))
        s.add(DialogState(user_key="fresh", dialog="signup", step="address", slots={"name": "김철수"},
                          failures=0, expires_at=now + timedelta(hours=1), updated_at=now, version=1))
    ctx = jobs.JobContext(db, clock, SETTINGS, "test")
    assert jobs.run_housekeeping(ctx) == {"dialogs_purged": 1}
    assert jobs.run_housekeeping(ctx) == {"dialogs_purged": 0}
    with db.transaction() as s:
        assert s.get(DialogState, "old").slots == {} and s.get(DialogState, "old").dialog is None
        assert s.get(DialogState, "fresh").slots == {"name": "김철수"}


def test_quiet_skips_hides_only_the_named_jobs_skipped_ticks():
    quiet = _QuietSkips({"outbox"})

    def record(msg, args):
        return logging.LogRecord("apscheduler.scheduler", logging.WARNING, __file__, 1, msg, args, None)

    skipped = "Execution of job %s skipped: maximum number of running instances reached (%d)"
    assert not quiet.filter(record(skipped, ("outbox (trigger: interval[0:00:05])", 1)))
    assert quiet.filter(record(skipped, ("reconcile (trigger: interval[0:01:00])", 1)))
    # One mapping argument becomes record.args itself: kept, not a KeyError out of the filter.
    assert quiet.filter(record("maximum number of running instances: %(job)s", ({"job": "outbox"},)))
