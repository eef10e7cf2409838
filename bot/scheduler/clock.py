"""The scheduler process: APScheduler 3 (BackgroundScheduler, Asia/Seoul) driving the jobs.

Every process runs the same triggers; only the holder of the leader lease acts on them. Periodic
jobs are keyed by (job, period) in JobRun, and each firing also looks back over the job's grace
(`misfire grace sized to the job`): a scheduler that was down at 10:00 on the 20th and starts
on the 21st still sends October's results, once; one that starts after the grace does not.

| job              | trigger                         | grace   | leader only |
|------------------|---------------------------------|---------|-------------|
| lease            | every SCHEDULE_LEASE_SEC / 3    | -       | no (it is how leadership is won) |
| monthly_result   | cron day/hour (settings)        | 3 days  | yes |
| payout_notice    | daily at SCHEDULE_PAYOUT_HOUR   | 3 days  | yes |
| payout_reminder  | daily at SCHEDULE_PAYOUT_HOUR   | 2 days  | yes |
| catch_up         | on becoming leader, every 10 min| -       | yes (retries failed runs within grace) |
| broadcasts       | every 60 s                      | 60 s    | yes |
| outbox           | every PUSH_INTERVAL_SEC         | coalesced | yes (runs until empty or leadership lost) |
| reconcile        | every 60 s                      | coalesced | yes |
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.push.settings import PushSettings
from bot.scheduler import jobs
from bot.scheduler.leader import Lease
from bot.scheduler.runs import RunOutcome, run_once
from core.clock import KST, Clock
from core.db import Database

if TYPE_CHECKING:
    from bot.push.sender import SendReport

log = logging.getLogger("cpoint.scheduler")

LEADER_LEASE = "scheduler"


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    trigger: CronTrigger
    grace: timedelta
    period_for: Callable[[datetime, PushSettings], str | None]
    work: Callable[[jobs.JobContext, str], dict]
    stale: timedelta = timedelta(hours=2)


def periodic_jobs(settings: PushSettings) -> list[PeriodicJob]:
    s = settings
    return [
        PeriodicJob("monthly_result", CronTrigger(day=s.monthly_day, hour=s.monthly_hour, minute=0, timezone=KST),
                    timedelta(days=3), jobs.monthly_period, jobs.run_monthly),
        PeriodicJob("payout_notice", CronTrigger(hour=s.payout_hour, minute=0, timezone=KST),
                    timedelta(days=3), jobs.payout_period, jobs.run_payout_notices),
        PeriodicJob("payout_reminder", CronTrigger(hour=s.payout_hour, minute=0, timezone=KST),
                    timedelta(days=2), jobs.reminder_period, jobs.run_payout_reminders),
    ]


def fire_times(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """The trigger's fire times in (start, end]."""
    out: list[datetime] = []
    t = trigger.get_next_fire_time(None, start + timedelta(microseconds=1))
    while t is not None and t <= end and len(out) < 10000:
        out.append(t)
        t = trigger.get_next_fire_time(t, t + timedelta(microseconds=1))
    return out


def due_periods(job: PeriodicJob, now: datetime, settings: PushSettings) -> list[str]:
    """Periods whose firing lies within the job's grace before `now` (oldest first)."""
    now = now.astimezone(KST)
    periods: list[str] = []
    for t in fire_times(job.trigger, now - job.grace, now):
        p = job.period_for(t, settings)
        if p and p not in periods:
            periods.append(p)
    return periods


class _QuietSkips(logging.Filter):
    """APScheduler warns each time a tick of a still-running job is skipped; for the outbox
    drain that is the normal case (it runs until the outbox is empty)."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args  # a tuple, or a mapping when the only argument was one
        if "maximum number of running instances" in str(record.msg) and isinstance(args, tuple) and args:
            return not any(str(args[0]).startswith(f"{n} ") for n in self.names)
        return True


class OutboxDrain(Protocol):
    """What the clock uses of bot.push.sender.Sender."""

    def run(self, *, until_empty: bool = ..., stop: Callable[[], bool] | None = ...) -> SendReport: ...

    def close(self) -> None: ...


@dataclass
class SchedulerClock:
    db: Database
    clock: Clock
    settings: PushSettings
    make_sender: Callable[[], OutboxDrain] | None = None  # -> bot.push.sender.Sender
    reconcile: Callable[[], object] | None = None
    retention: Callable[[], dict | None] | None = None  # core.retention, bound by the edge's settings
    holder: str = field(default_factory=lambda: f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}")

    def __post_init__(self) -> None:
        self.lease = Lease(self.db, LEADER_LEASE, self.holder, timedelta(seconds=self.settings.lease_sec), self.clock)
        self.jobs = periodic_jobs(self.settings)
        self.context = jobs.JobContext(self.db, self.clock, self.settings, self.holder)
        self._stopping = threading.Event()
        self._sender: OutboxDrain | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._catch_up_lock = threading.Lock()
        self._warned = False

    # -- leadership -----------------------------------------------------------------------
    def renew(self) -> bool:
        was = self.lease.held
        held = self.lease.acquire() and not self._stopping.is_set()
        if held and not was:
            log.info("became the scheduler leader", extra={"holder": self.holder})
            self._soon(self.catch_up, "catch_up_now")
        elif was and not held:
            log.warning("lost the scheduler lead", extra={"holder": self.holder})
        return held

    def _soon(self, fn, job_id: str) -> None:
        """Run `fn` now in a worker thread (never in the lease thread: renewals must not wait)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.add_job(fn, id=job_id, name=job_id, replace_existing=True, misfire_grace_time=None)

    @property
    def leading(self) -> bool:
        return self.lease.held and not self._stopping.is_set()

    # -- jobs -------------------------------------------------------------------------------
    def run_job(self, job: PeriodicJob) -> list[RunOutcome]:
        """A cron firing of `job`: run every period due within its grace that has not run."""
        if not self.leading:
            return []
        out: list[RunOutcome] = []
        for period in due_periods(job, self.clock.now(), self.settings):
            out.append(run_once(self.db, job.name, period, partial(job.work, self.context, period),
                                holder=self.holder, clock=self.clock, stale=job.stale))
        return out

    def catch_up(self) -> list[RunOutcome]:
        """Every periodic job, e.g. after becoming leader (a restart, a takeover)."""
        if not self._catch_up_lock.acquire(blocking=False):
            return []
        try:
            out = []
            for job in self.jobs:
                out.extend(self.run_job(job))
            return out
        finally:
            self._catch_up_lock.release()

    def broadcast_tick(self) -> list[RunOutcome]:
        return jobs.run_broadcasts(self.context) if self.leading else []

    def outbox_tick(self):
        if not self.leading or self.make_sender is None:
            return None
        if self._sender is None:
            try:
                self._sender = self.make_sender()
            except ValueError as exc:  # not configured (e.g. no KAKAO_REST_API_KEY on a laptop)
                if not self._warned:
                    log.warning("pushes are off: %s; notifications stay pending", exc)
                    self._warned = True
                return None
        report = self._sender.run(until_empty=True, stop=lambda: not self.leading)
        if report.batches or report.recovered or report.error or report.skipped:
            log.info("outbox drained", extra={"report": report.as_dict()})
        if report.error:
            log.error("push sender stopped: %s", report.error)
        return report

    def reconcile_tick(self):
        if not self.leading or self.reconcile is None:
            return None
        return self.reconcile()

    def housekeeping_tick(self):
        if not self.leading:
            return None
        report = jobs.run_housekeeping(self.context)
        if self.retention is not None:
            report = {**report, **(self.retention() or {})}
        return report

    # -- the process ------------------------------------------------------------------------
    def build(self) -> BackgroundScheduler:
        s = self.settings
        sched = BackgroundScheduler(timezone=KST, executors={"default": ThreadPoolExecutor(8)},
                                    job_defaults={"coalesce": True, "max_instances": 1})
        lease_every = max(0.5, s.lease_sec / 3)
        sched.add_job(self.renew, IntervalTrigger(seconds=lease_every, timezone=KST), id="lease", name="lease",
                      next_run_time=datetime.now(KST), misfire_grace_time=int(max(1, lease_every)))
        for job in self.jobs:
            sched.add_job(self.run_job, job.trigger, args=[job], id=job.name, name=job.name,
                          misfire_grace_time=int(job.grace.total_seconds()))
        sched.add_job(self.catch_up, IntervalTrigger(minutes=10, timezone=KST), id="catch_up", name="catch_up",
                      misfire_grace_time=600)
        sched.add_job(self.broadcast_tick, IntervalTrigger(seconds=60, timezone=KST), id="broadcasts", name="broadcasts",
                      next_run_time=datetime.now(KST) + timedelta(seconds=lease_every), misfire_grace_time=60)
        sched.add_job(self.outbox_tick, IntervalTrigger(seconds=s.interval_sec, timezone=KST), id="outbox", name="outbox",
                      misfire_grace_time=max(1, int(s.interval_sec)))
        sched.add_job(self.reconcile_tick, IntervalTrigger(seconds=60, timezone=KST), id="reconcile", name="reconcile",
                      misfire_grace_time=60)
        sched.add_job(self.housekeeping_tick, IntervalTrigger(minutes=15, timezone=KST), id="housekeeping",
                      name="housekeeping", misfire_grace_time=900)
        logging.getLogger("apscheduler.scheduler").addFilter(_QuietSkips({"outbox", "reconcile", "catch_up", "housekeeping"}))
        self._scheduler = sched
        return sched

    def stop(self) -> None:
        self._stopping.set()

    def run_forever(self, *, install_signals: bool = True, until: threading.Event | None = None) -> None:
        """Start, run until SIGTERM/SIGINT (or `until` is set), then stop cleanly: running jobs
        finish their current step, the sender deregisters, the lease is released."""
        done = until or threading.Event()
        if install_signals:
            def _stop(signum, _frame):
                log.info("scheduler stopping", extra={"signal": signum})
                self._stopping.set()  # the sender sees it within a fraction of a second
                done.set()

            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
        sched = self.build()
        sched.start()
        log.info("scheduler started", extra={"holder": self.holder, "jobs": [j.id for j in sched.get_jobs()]})
        try:
            while not done.wait(0.5):
                pass
        finally:
            self._stopping.set()
            sched.shutdown(wait=True)
            if self._sender is not None:
                self._sender.close()
            self.lease.release()
            log.info("scheduler stopped", extra={"holder": self.holder})
