"""Retention work the scheduler's housekeeping runs (and the CLI can): members withdrawn more
than `withdrawn_days` ago lose what withdrawal left (core.withdrawn_purge), audit entries older
than `audit_days` go behind an anchor (core.audit.purge), unmatched questions older than
`unmatched_days` are deleted (core.unmatched), and so are not-understood streaks a day old
(bot.handoff: the next turn would ignore them; they hold masked questions). All idempotent; each purge of members is itself
audited as "system"."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from core import audit, unmatched
from core.clock import Clock, utcnow_naive
from core.db import Database
from core.models import MissStreak
from core.withdrawn_purge import purge_withdrawn


def run_retention(db: Database, clock: Clock, audit_key: bytes, *, withdrawn_days: int, audit_days: int,
                  unmatched_days: int | None = None) -> dict:
    now = utcnow_naive(clock)
    members = 0
    while True:
        with db.transaction() as s:
            result = purge_withdrawn(s, now, withdrawn_days)
            if result.members:
                audit.record(s, audit_key, now, "system", "member.purge", scope="all",
                             detail={"member_ids": result.members})
        members += len(result.members)
        if not result.members:
            break
    with db.transaction() as s:
        entries = audit.purge(s, audit_key, now, now - timedelta(days=audit_days))
    questions = 0
    if unmatched_days is not None:
        with db.transaction() as s:
            questions = unmatched.purge(s, now, unmatched_days)
    with db.transaction() as s:
        deleted = s.execute(delete(MissStreak).where(MissStreak.at < now - timedelta(days=1)))
        streaks = getattr(deleted, "rowcount", 0) or 0
    return {"withdrawn_purged": members, "audit_purged": entries, "unmatched_purged": questions,
            "streaks_purged": int(streaks)}
