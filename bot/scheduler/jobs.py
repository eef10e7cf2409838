"""What the scheduled jobs do. Each periodic job has a period (its JobRun key) computed from the
time it was due, so a catch-up after a restart runs exactly the run that was missed.

| job              | when (KST, settings)                          | period    | writes                               |
|------------------|-----------------------------------------------|-----------|--------------------------------------|
| monthly_result   | SCHEDULE_MONTHLY_DAY, _HOUR (20th 10:00)      | last month | core.monthly (SCHEDULE_MONTHLY_SOURCE) |
| payout_notice    | SCHEDULE_PAYOUT_DAY of each month, _HOUR      | YYYY-MM   | one notice per statement paid that month |
| payout_reminder  | SCHEDULE_REMINDER_DAYS_BEFORE days earlier     | YYYY-MM   | one reminder per statement that would be held |
| campaign_broadcast | every minute, broadcasts whose time came     | broadcast id | the broadcast's notifications     |

Payout months come from the statements (PointStatement.payout_month, the local government's
calendar: H1 in December, H2 in June by default), so the payout jobs run every month and find
nothing in most.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from bot.push.settings import PushSettings
from bot.scheduler.runs import RunOutcome, run_once
from core import broadcasts, outbox, push_budget
from core.clock import KST, Clock, utcnow_naive
from core.db import Database
from core.models.members import Member
from core.models.points import PointStatement

log = logging.getLogger("cpoint.scheduler")

PAYABLE = ("expected", "held")


class JobUnavailable(RuntimeError):
    """A job's source of data is not installed or configured (the run fails and is retried)."""


@dataclass
class JobContext:
    db: Database
    clock: Clock
    settings: PushSettings
    holder: str


# -- periods ----------------------------------------------------------------------------------

def _kst(at: datetime) -> datetime:
    return at.astimezone(KST)


def month_text(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(day: date) -> str:
    first = day.replace(day=1) - timedelta(days=1)
    return month_text(first)


def monthly_period(fire: datetime, settings: PushSettings) -> str | None:
    """Results of the month before the run (run on the 20th of November: October)."""
    return previous_month(_kst(fire).date())


def payout_period(fire: datetime, settings: PushSettings) -> str | None:
    day = _kst(fire).date()
    return month_text(day) if day.day == settings.payout_day else None


def reminder_period(fire: datetime, settings: PushSettings) -> str | None:
    """A week (SCHEDULE_REMINDER_DAYS_BEFORE) before the payout notice of a month."""
    target = _kst(fire).date() + timedelta(days=settings.reminder_days_before)
    return month_text(target) if target.day == settings.payout_day else None


def _month_int(period: str) -> int:
    year, month = period.split("-")
    return int(year) * 100 + int(month)


# -- monthly results --------------------------------------------------------------------------

def load_source(spec: str) -> Callable:
    module, _, name = spec.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise JobUnavailable(f"{module} is not installed (SCHEDULE_MONTHLY_SOURCE={spec})") from None
        raise
    fn = getattr(mod, name, None)
    if not callable(fn):
        raise JobUnavailable(f"{module} has no function {name} (SCHEDULE_MONTHLY_SOURCE={spec})")
    return fn


def run_monthly(ctx: JobContext, period: str) -> dict:
    """Calls the points engine's writer of monthly-result notifications:
    fn(db, month 'YYYY-MM', *, clock, budget, quiet) -> the number written, or a result with
    `.written` and `.budget` (dedupe keys f"monthly_result:{member_id}:{month}", so a second
    call writes nothing). core.monthly writes them staged and applies the push budget itself
    before any can be sent; for a writer that returns no `.budget` (it wrote them pending) the
    budget is applied here, after the fact."""
    fn = load_source(ctx.settings.monthly_source)
    out = fn(ctx.db, period, clock=ctx.clock, budget=ctx.settings.budget(), quiet=ctx.settings.quiet())
    count = out if isinstance(out, int) else getattr(out, "written", None)
    budget = getattr(out, "budget", None)
    if budget is None:  # the estimate; what a budget cap cannot afford is held
        budget = push_budget.apply_budget(ctx.db, "monthly_result", period, ctx.settings.budget(),
                                          now=ctx.clock.now(), quiet=ctx.settings.quiet())
    if budget.held:
        log.warning("monthly results held over budget", extra={"month": period, "held": budget.held,
                                                               "reasons": budget.reasons})
    return {"month": period, "notifications": count if isinstance(count, int) else None,
            "estimate": budget.estimate.as_dict(), "held_over_budget": budget.held}


# -- payouts ----------------------------------------------------------------------------------

def would_hold(member: Member) -> str | None:
    """Why a payment to this member would be held (spec §8.4), from what we know now: the same
    rule the payout file applies (core.payouts.hold_reason)."""
    from core.payouts import hold_reason

    return hold_reason(member.incentive_type, member.name, member.address, member.local_government_code,
                       member.account_number_enc, member.account_holder)


def _statements(session, payout_month: int, after_id: int, chunk: int):
    return session.execute(
        select(PointStatement, Member)
        .join(Member, Member.id == PointStatement.member_id)
        .where(PointStatement.payout_month == payout_month, PointStatement.status.in_(PAYABLE),
               PointStatement.points > 0, PointStatement.id > after_id)
        .order_by(PointStatement.id).limit(chunk)
    ).all()


def _notify_from_statements(ctx: JobContext, period: str, chunk: int, notification) -> dict:
    """Walk the statements paid in `period`'s month in id order, a chunk per transaction, and
    enqueue what `notification(statement, member)` returns (None: nothing for this member)."""
    payout_month, written, seen, after = _month_int(period), 0, 0, 0
    now = utcnow_naive(ctx.clock)
    groups: set[tuple[str, str]] = set()
    while True:
        with ctx.db.transaction() as s:
            rows = _statements(s, payout_month, after, chunk)
            if not rows:
                break
            batch = [n for n in (notification(st, member) for st, member in rows) if n is not None]
            groups |= {(n["kind"], n["period"]) for n in batch}
            written += outbox.enqueue_many(s, batch, now=now)
            seen += len(rows)
            after = rows[-1][0].id
    # The estimate before anything is sent (critical notices: counted, never held).
    estimates = {f"{kind}:{p}": push_budget.apply_budget(ctx.db, kind, p, ctx.settings.budget(), now=ctx.clock.now(),
                                                           quiet=ctx.settings.quiet()).estimate.as_dict()
                 for kind, p in sorted(groups)}
    return {"payout_month": period, "statements": seen, "notifications": written, "estimates": estimates}


def run_payout_notices(ctx: JobContext, period: str, *, chunk: int = 1000) -> dict:
    """One payout notice per statement paid in this month (points > 0, not skipped)."""

    def notice(st, member):
        return {"member_id": st.member_id, "kind": "payout_notice", "period": st.half,
                "payload": {"half": st.half, "points": st.points, "won": st.won,
                            "payout_month": st.payout_month, "status": st.status,
                            "hold_reason": st.hold_reason or would_hold(member)}}

    return _notify_from_statements(ctx, period, chunk, notice)


def run_payout_reminders(ctx: JobContext, period: str, *, chunk: int = 1000) -> dict:
    """A reminder to check account details, for members whose payment this month would be held."""

    def reminder(st, member):
        hold = st.hold_reason or would_hold(member)
        if not hold:
            return None
        return {"member_id": st.member_id, "kind": "payout_reminder", "period": st.half,
                "payload": {"half": st.half, "won": st.won, "payout_month": st.payout_month,
                            "hold_reason": hold}}

    return _notify_from_statements(ctx, period, chunk, reminder)


# -- broadcasts -------------------------------------------------------------------------------

def run_broadcasts(ctx: JobContext) -> list[RunOutcome]:
    """Queue every broadcast whose time has come, each once (JobRun campaign_broadcast/<id>)."""
    out = []
    quiet = ctx.settings.quiet()
    for bid in broadcasts.due(ctx.db, now=utcnow_naive(ctx.clock)):
        def work(bid=bid):
            e = broadcasts.expand(ctx.db, bid, now=ctx.clock.now(), quiet=quiet, budget=ctx.settings.budget())
            if e.held:
                log.warning("broadcast held over budget", extra={"broadcast": bid, "held": e.held,
                                                                 "reasons": e.held_reasons})
            return {"broadcast": bid, "queued": e.queued, "skipped": e.skipped, "state": e.state,
                    "held_until_utc": e.held_until.isoformat() if e.held_until else None,
                    "held_over_budget": e.held, "budget_reasons": e.held_reasons}
        out.append(run_once(ctx.db, "campaign_broadcast", str(bid), work, holder=ctx.holder, clock=ctx.clock,
                            stale=timedelta(minutes=30)))
    return out


def run_housekeeping(ctx: JobContext) -> dict:
    """Forget unfinished dialogs past their TTL (a half-done signup holds a name, a mobile and
    an address): personal data should not wait for the user to write again. Idempotent."""
    from core.members import purge_expired_dialogs

    with ctx.db.transaction() as s:
        purged = purge_expired_dialogs(s, ctx.clock)
    if purged:
        log.info("expired dialogs purged", extra={"count": purged})
    return {"dialogs_purged": purged}
