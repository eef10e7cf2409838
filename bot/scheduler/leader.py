"""The leader lease: a row in job_leases held by one scheduler until it expires.

The holder renews it every third of its length; another scheduler takes it only once it has
expired, so after a leader dies a follower leads within one lease length. The holder stops
acting as leader a safety margin before its own lease would expire if a renewal failed (e.g. the
database was unreachable), so two schedulers never both believe they lead. JobRun's unique
(job, period) key is the second guard."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError

from core.clock import Clock, utcnow_naive
from core.db import Database
from core.models.push import JobLease

log = logging.getLogger("cpoint.scheduler")


class Lease:
    def __init__(self, db: Database, name: str, holder: str, ttl: timedelta, clock: Clock) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a lease needs a positive length")
        self.db, self.name, self.holder, self.ttl, self.clock = db, name, holder, ttl, clock
        self._until = None  # naive UTC: when our own belief in the lease ends

    @property
    def held(self) -> bool:
        return self._until is not None and utcnow_naive(self.clock) < self._until

    def acquire(self) -> bool:
        """Take the lease if free or expired, renew it if ours. Returns whether we hold it."""
        now = utcnow_naive(self.clock)
        expires = now + self.ttl
        try:
            with self.db.transaction() as s:
                row = s.execute(select(JobLease).where(JobLease.name == self.name).with_for_update()).scalar_one_or_none()
                if row is None:
                    s.add(JobLease(name=self.name, holder=self.holder, acquired_at=now, expires_at=expires))
                elif row.holder == self.holder:
                    row.expires_at = expires
                elif row.expires_at <= now:
                    log.warning("taking over the expired lease", extra={"lease": self.name, "from": row.holder,
                                                                         "expired_at": str(row.expires_at)})
                    row.holder, row.acquired_at, row.expires_at = self.holder, now, expires
                else:
                    self._until = None
                    return False
        except (IntegrityError, OperationalError) as exc:
            # Another scheduler created the row first, or the database is busy/unreachable.
            log.info("lease not acquired", extra={"lease": self.name, "why": type(exc).__name__})
            self._until = None
            return False
        # Believe in it a little less long than the row says (clock drift, slow renewals).
        self._until = now + self.ttl * 2 / 3
        return True

    def release(self) -> None:
        if self._until is None:
            return
        self._until = None
        try:
            with self.db.transaction() as s:
                s.execute(delete(JobLease).where(JobLease.name == self.name, JobLease.holder == self.holder))
        except Exception:  # best effort: the lease expires anyway
            log.exception("could not release the lease")

    def current_holder(self) -> str | None:
        with self.db.session() as s:
            row = s.get(JobLease, self.name)
            if row is None or row.expires_at <= utcnow_naive(self.clock):
                return None
            return row.holder
