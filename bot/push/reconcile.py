"""Task reconciliation: an accepted batch only means Kakao took the call; the task lookup later
says who got the message. Per-user failures are recorded on the notification (delivery =
failed, with Kakao's error), and the member is marked unreachable (is_friend = false) so later
pushes skip them until they add the channel again or talk to the bot as a friend. A failure of our
own skill server (errorType 201) is not the member's doing and does not mark them.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from bot.push.client import EventApiClient, TaskResult
from bot.push.settings import PushSettings
from core.clock import Clock, utcnow_naive
from core.db import Database
from core.models.members import Member
from core.models.outbox import Notification
from core.models.push import EventBatch
from core.sqla import rowcount

log = logging.getLogger("cpoint.push")

# Kakao errorTypes that are our fault, not the member's (201: "Bot skill server responded with an
# HTTP error").
NOT_THE_MEMBERS_FAULT = frozenset({"201"})
MAX_CHECK_GAP = timedelta(hours=6)


@dataclass
class ReconcileReport:
    checked: int = 0
    done: int = 0
    unverified: int = 0
    later: int = 0
    delivered: int = 0
    failed: int = 0
    unreachable: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def reconcile(db: Database, client: EventApiClient, *, clock: Clock, settings: PushSettings,
              limit: int = 50) -> ReconcileReport:
    """Look up the results of accepted batches whose check is due."""
    report = ReconcileReport()
    now = utcnow_naive(clock)
    with db.transaction() as s:
        due = s.execute(
            select(EventBatch.id, EventBatch.task_id, EventBatch.task_checks)
            .where(EventBatch.task_state == "pending", EventBatch.task_id.is_not(None),
                   or_(EventBatch.task_next_check_at.is_(None), EventBatch.task_next_check_at <= now))
            .order_by(EventBatch.task_next_check_at).limit(limit)
        ).all()
    for row in due:
        result = client.task(row.task_id)
        report.checked += 1
        apply_task_result(db, row.id, result, now=utcnow_naive(clock), settings=settings, report=report,
                          checks=row.task_checks or 0)
    return report


def apply_task_result(db: Database, batch_id: str, result: TaskResult, *, now, settings: PushSettings,
                      report: ReconcileReport, checks: int) -> None:
    checks += 1
    if not result.final:
        with db.transaction() as s:
            if checks >= settings.task_check_max:
                s.execute(update(EventBatch).where(EventBatch.id == batch_id).values(
                    task_state="unverified", task_checks=checks, task_checked_at=now,
                    error=f"task result not available after {checks} lookups: {result.error or result.status}"[:2000]))
                report.unverified += 1
            else:
                gap = timedelta(seconds=settings.task_check_delay_sec * (2 ** (checks - 1)))
                s.execute(update(EventBatch).where(EventBatch.id == batch_id).values(
                    task_checks=checks, task_checked_at=now, task_next_check_at=now + min(gap, MAX_CHECK_GAP)))
                report.later += 1
        return
    N = Notification
    with db.transaction() as s:
        rows = s.execute(select(N.id, N.member_id, N.recipient_id).where(N.batch_id == batch_id, N.state == "sent")).all()
        by_user = {r.recipient_id: r for r in rows}
        failed_ids, unreachable = [], set()
        for f in result.failures:
            row = by_user.get(f.user_id) if f.user_id else None
            if row is None:
                continue
            failed_ids.append(row.id)
            s.execute(update(N).where(N.id == row.id).values(
                delivery="failed", delivery_error=f"errorType {f.error_type}: {f.message or ''}".strip()[:2000]))
            if f.error_type not in NOT_THE_MEMBERS_FAULT:
                unreachable.add(row.member_id)
        fail_count = result.fail_count or 0
        complete = fail_count == 0 or len(result.failures) >= fail_count
        delivered = 0
        if complete:
            delivered = rowcount(s.execute(
                update(N).where(N.batch_id == batch_id, N.state == "sent", N.delivery.is_(None))
                .values(delivery="delivered").execution_options(synchronize_session=False)))
        if unreachable:
            report.unreachable += rowcount(s.execute(
                update(Member).where(Member.id.in_(unreachable), Member.is_friend.is_(True))
                .values(is_friend=False).execution_options(synchronize_session=False)))
        summary = {"status": result.status, "allRequestCount": result.all_count, "successCount": result.success_count,
                   "userKeyResolvingFailCount": result.resolving_fail_count, "failCount": result.fail_count,
                   "failuresMatched": len(failed_ids), "complete": complete}
        s.execute(update(EventBatch).where(EventBatch.id == batch_id).values(
            task_state="done", task_checks=checks, task_checked_at=now, success_count=result.success_count,
            fail_count=result.fail_count, task_result=summary))
    report.done += 1
    report.delivered += delivered
    report.failed += len(failed_ids)
    if failed_ids:
        log.info("task result: per-user failures recorded",
                 extra={"batch": batch_id, "failed": len(failed_ids), "unreachable": len(unreachable)})
