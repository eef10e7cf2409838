"""JobRun: a job runs once per (job, period).

`run_once` inserts the run row before doing anything; the unique key makes the second process,
the re-run or the catch-up after a restart a no-op. A run that failed is retried by the next
attempt; a run left `running` by a process that died is taken over once it is `stale`. The work
itself is idempotent as well (notifications have dedupe keys), so a takeover never doubles a
message."""
from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.clock import Clock, utcnow_naive
from core.db import Database
from core.models.push import JobRun
from core.sqla import rowcount

log = logging.getLogger("cpoint.scheduler")


@dataclass(frozen=True)
class RunOutcome:
    job: str
    period: str
    ran: bool  # this call did the work
    state: str  # done | failed | running (someone else) | skipped
    detail: dict | None = None
    error: str | None = None


def claim_run(db: Database, job: str, period: str, *, holder: str, clock: Clock, stale: timedelta) -> bool:
    now = utcnow_naive(clock)
    try:
        with db.transaction() as s:
            s.add(JobRun(job=job, period=period, state="running", holder=holder, attempts=1,
                         started_at=now, heartbeat_at=now))
        return True
    except IntegrityError:
        pass
    with db.transaction() as s:
        taken = rowcount(s.execute(
            update(JobRun).where(
                JobRun.job == job, JobRun.period == period,
                or_(JobRun.state == "failed", and_(JobRun.state == "running", JobRun.heartbeat_at < now - stale)))
            .values(state="running", holder=holder, attempts=JobRun.attempts + 1, started_at=now, heartbeat_at=now,
                    finished_at=None, error=None)
            .execution_options(synchronize_session=False)
        ))
    return taken == 1


def run_once(db: Database, job: str, period: str, fn: Callable[[], dict | None], *, holder: str, clock: Clock,
             stale: timedelta = timedelta(hours=2)) -> RunOutcome:
    if not claim_run(db, job, period, holder=holder, clock=clock, stale=stale):
        with db.session() as s:
            state = s.scalar(select(JobRun.state).where(JobRun.job == job, JobRun.period == period))
        return RunOutcome(job, period, False, state or "skipped")
    log.info("job run started", extra={"job": job, "period": period, "holder": holder})
    try:
        detail = fn() or {}
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.error("job run failed", extra={"job": job, "period": period, "error": error})
        with db.transaction() as s:
            s.execute(update(JobRun).where(JobRun.job == job, JobRun.period == period, JobRun.holder == holder)
                      .values(state="failed", finished_at=utcnow_naive(clock),
                              error=(error + "\n" + traceback.format_exc(limit=5))[:4000]))
        return RunOutcome(job, period, True, "failed", error=error)
    with db.transaction() as s:
        s.execute(update(JobRun).where(JobRun.job == job, JobRun.period == period, JobRun.holder == holder)
                  .values(state="done", finished_at=utcnow_naive(clock), detail=_jsonable(detail)))
    log.info("job run done", extra={"job": job, "period": period, "detail": detail})
    return RunOutcome(job, period, True, "done", detail=detail)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
