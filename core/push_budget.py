"""What a push will cost before it is sent, and the monthly budget cap per operator scope.

Every broadcast and scheduled push is estimated before it goes out (`estimate_group` for
notifications already queued, `estimate_broadcast` for a broadcast not yet written): the
recipients after opt-outs, blocks and topic switches (the sender's own rule,
core.outbox.skip_reason), those the quiet hours move to a later hour, the number of messages
(one per recipient: the Event API charges per user) and the cost at PUSH_PRICE_WON.

A monthly budget (won) per scope, ``national`` or a 시·군·구 code, caps what is committed in a
KST month: messages sent or waiting (pending, in flight, sent, uncertain) created that month.
Defaults come from the settings (PUSH_BUDGET_NATIONAL_WON, PUSH_BUDGET_LOCAL_WON; 0 = no cap),
a row of `push_budgets` overrides one scope (`cpoint budget`). `apply_budget` runs right after a
group is queued: what would exceed a cap is set `held` with the reason (never dropped: listed
on the dashboard and by `cpoint outbox`), until an operator releases it (`release_held`).
Critical kinds (payout notices, held-payment warnings) are counted but never held.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session

from core.clock import KST
from core.db import Database
from core.models.members import Member
from core.models.outbox import Notification
from core.models.push import PushBudget
from core.outbox import AD_KINDS, CRITICAL_KINDS, STAGED, QuietHours, skip_reason
from core.sqla import rowcount

NATIONAL = "national"
HELD = "held"
COMMITTED_STATES = ("pending", "in_flight", "sent", "uncertain")
NO_LG = "-"  # members without a 시·군·구 (counted nationally only)


@dataclass(frozen=True)
class BudgetSettings:
    price_won: int = 15
    national_won: int = 0  # 0: no cap
    local_won: int = 0  # default cap of every 시·군·구; 0: no cap


@dataclass
class Estimate:
    """What a group of notifications will do when sent."""

    recipients: int = 0  # will receive it
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> members left out
    quiet_until: datetime | None = None  # inside the quiet hours: recipients get it then (KST)
    by_scope: dict[str, int] = field(default_factory=dict)  # 시·군·구 code -> recipients
    price_won: int = 15

    @property
    def messages(self) -> int:
        return self.recipients

    @property
    def cost_won(self) -> int:
        return self.messages * self.price_won

    def lines(self) -> list[str]:
        out = [f"recipients: {self.recipients} (after opt-outs, blocks and topic switches)",
               f"left out: {sum(self.skipped.values())}" + (f" ({self._reasons()})" if self.skipped else "")]
        if self.quiet_until is not None:
            out.append(f"quiet hours: the {self.recipients} recipients get it at {self.quiet_until:%Y-%m-%d %H:%M} KST")
        out.append(f"messages: {self.messages}")
        out.append(f"cost: {self.cost_won:,} won at {self.price_won} won a message")
        return out

    def _reasons(self) -> str:
        """'no marketing consent: 4, opted out: 1'."""
        return ", ".join(f"{reason.replace('_', ' ')}: {n}" for reason, n in sorted(self.skipped.items()))

    def as_dict(self) -> dict:
        return {"recipients": self.recipients, "skipped": dict(self.skipped), "messages": self.messages,
                "cost_won": self.cost_won, "price_won": self.price_won,
                "quiet_until_kst": self.quiet_until.isoformat() if self.quiet_until else None,
                "by_scope": dict(self.by_scope)}


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _quiet_until(kinds_ad: bool, quiet: QuietHours | None, now: datetime) -> datetime | None:
    at = now if now.tzinfo else now.replace(tzinfo=UTC)
    if kinds_ad and quiet is not None and quiet.contains(at):
        return quiet.reopens_at(at)
    return None


def _count(est: Estimate, reason: str | None, lg: str | None, n: int = 1) -> None:
    if reason:
        est.skipped[reason] = est.skipped.get(reason, 0) + n
        return
    est.recipients += n
    key = lg or NO_LG
    est.by_scope[key] = est.by_scope.get(key, 0) + n


def _reason(kind: str, m) -> str | None:
    return skip_reason(kind, status=m.status, blocked_at=m.blocked_at, is_friend=m.is_friend,
                       bot_user_key=m.bot_user_key, app_user_id=m.app_user_id, campaign_opt_out=m.campaign_opt_out,
                       marketing_opt_in=m.marketing_opt_in, monthly_off=m.push_monthly_off,
                       reminders_off=m.push_reminders_off)


_MEMBER_COLUMNS = (Member.status, Member.blocked_at, Member.is_friend, Member.bot_user_key, Member.app_user_id,
                   Member.campaign_opt_out, Member.marketing_opt_in, Member.push_monthly_off,
                   Member.push_reminders_off, Member.local_government_code)


def estimate_group(session: Session, kind: str, period: str, *, now: datetime, quiet: QuietHours | None,
                   price_won: int, state: str = "pending") -> Estimate:
    """The pending (or held) notifications of one (kind, period), as the sender would treat them."""
    N = Notification
    est = Estimate(price_won=price_won, quiet_until=_quiet_until(kind in AD_KINDS, quiet, now))
    # Counted per combination of what the sender's rule (core.outbox.skip_reason) looks at, set-
    # based (a month's group is every member): of the timestamp and the two user ids it only
    # asks whether they are there, so those are grouped as such and handed to the rule as
    # stand-ins ("b": blocked; "k": a non-empty botUserKey or appUserId).
    blocked = case((Member.blocked_at.is_not(None), literal("b")), else_=None)
    reachable = case((or_(and_(Member.bot_user_key.is_not(None), Member.bot_user_key != ""),
                          and_(Member.app_user_id.is_not(None), Member.app_user_id != "")), literal("k")),
                     else_=None)
    cols = (Member.status, blocked, Member.is_friend, reachable, Member.campaign_opt_out, Member.marketing_opt_in,
            Member.push_monthly_off, Member.push_reminders_off, Member.local_government_code)
    rows = session.execute(select(*cols, func.count()).select_from(N).join(Member, Member.id == N.member_id)
                           .where(N.kind == kind, N.period == period, N.state == state).group_by(*cols)).all()
    for status, blocked_at, friend, key, opt_out, opt_in, monthly_off, reminders_off, lg, n in rows:
        reason = skip_reason(kind, status=status, blocked_at=blocked_at, is_friend=friend, bot_user_key=key,
                             app_user_id=None, campaign_opt_out=opt_out, marketing_opt_in=opt_in,
                             monthly_off=monthly_off, reminders_off=reminders_off)
        _count(est, reason, lg, n)
    return est


def estimate_members(rows, kind: str, *, now: datetime, quiet: QuietHours | None, price_won: int,
                     extra_reason=None) -> Estimate:
    """Members (rows with the skip columns and local_government_code) a group would be written for;
    `extra_reason(row)` adds a reason of the caller's (e.g. not in the campaign's audience)."""
    est = Estimate(price_won=price_won, quiet_until=_quiet_until(kind in AD_KINDS, quiet, now))
    for r in rows:
        reason = _reason(kind, r) or (extra_reason(r) if extra_reason else None)
        _count(est, reason, r.local_government_code)
    return est


# -- budget -----------------------------------------------------------------------------------

def month_start(now: datetime) -> datetime:
    """The start of `now`'s KST month, naive UTC."""
    local = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(KST)
    return _naive_utc(local.replace(day=1, hour=0, minute=0, second=0, microsecond=0))


def caps(session: Session, settings: BudgetSettings) -> tuple[int, dict[str, int], int]:
    """(national cap, caps set per 시·군·구, default 시·군·구 cap); 0 = no cap."""
    rows: dict[str, int] = {scope: won for scope, won in session.execute(select(PushBudget.scope, PushBudget.month_won))}
    national = rows.pop(NATIONAL, settings.national_won)
    return int(national or 0), {k: int(v or 0) for k, v in rows.items()}, settings.local_won


def set_cap(session: Session, scope: str, won: int, *, now: datetime, by: str | None = None) -> None:
    if won < 0:
        raise ValueError("a budget is 0 (no cap) or more won")
    row = session.get(PushBudget, scope)
    if row is None:
        session.add(PushBudget(scope=scope, month_won=won, updated_at=_naive_utc(now), updated_by=by))
    else:
        row.month_won, row.updated_at, row.updated_by = won, _naive_utc(now), by
    session.flush()


def committed(session: Session, *, now: datetime, exclude: tuple[str, str] | None = None) -> Counter:
    """Messages committed this KST month per 시·군·구 (NO_LG for none), excluding one group."""
    N = Notification
    q = (select(Member.local_government_code, func.count()).select_from(N).join(Member, Member.id == N.member_id)
         .where(N.created_at >= month_start(now), N.state.in_(COMMITTED_STATES))
         .group_by(Member.local_government_code))
    if exclude is not None:
        q = q.where(~and_(N.kind == exclude[0], N.period == exclude[1]))
    return Counter({(lg or NO_LG): n for lg, n in session.execute(q).all()})


@dataclass
class Check:
    over: dict[str, str]  # scope -> reason, for the scopes the estimate would exceed

    @property
    def ok(self) -> bool:
        return not self.over


def check(session: Session, est: Estimate, settings: BudgetSettings, *, now: datetime,
          exclude: tuple[str, str] | None = None) -> Check:
    """Would sending `est` on top of what is committed this month exceed a cap?"""
    national, per_lg, default_lg = caps(session, settings)
    spent = committed(session, now=now, exclude=exclude)
    price = settings.price_won
    over: dict[str, str] = {}
    if national:
        before, adds = sum(spent.values()) * price, est.cost_won
        if before + adds > national:
            over[NATIONAL] = (f"budget {NATIONAL}: {before:,} won committed this month + {adds:,} won "
                              f"> cap {national:,} won")
    for lg, n in est.by_scope.items():
        if lg == NO_LG:
            continue
        cap = per_lg.get(lg, default_lg)
        if cap:
            before, adds = spent.get(lg, 0) * price, n * price
            if before + adds > cap:
                over[lg] = f"budget {lg}: {before:,} won committed this month + {adds:,} won > cap {cap:,} won"
    return Check(over)


@dataclass
class BudgetOutcome:
    estimate: Estimate
    held: int
    reasons: dict[str, str]


def apply_budget(db: Database, kind: str, period: str, settings: BudgetSettings, *, now: datetime,
                 quiet: QuietHours | None, staged: bool = False) -> BudgetOutcome:
    """Right after a group is queued: estimate it and hold what would exceed a cap (all of it
    when the national cap is exceeded, else the rows of the 시·군·구 that are).

    `staged`: the group was written `staged` (core.outbox.STAGED), which no sender claims; what
    the caps allow becomes `pending` in the same transaction as the holds, so nothing is sent
    before the budget has been applied. (A group written `pending` could start going out in
    the moment between its write and this check.)"""
    state = STAGED if staged else "pending"
    N = Notification
    with db.transaction() as s:
        est = estimate_group(s, kind, period, now=now, quiet=quiet, price_won=settings.price_won, state=state)
        outcome = BudgetOutcome(est, 0, {})
        if kind not in CRITICAL_KINDS and est.recipients:
            result = check(s, est, settings, now=now, exclude=(kind, period))
            if not result.ok:
                held = 0
                if NATIONAL in result.over:
                    held = rowcount(s.execute(update(N).where(N.kind == kind, N.period == period, N.state == state)
                                              .values(state=HELD, last_error=result.over[NATIONAL][:2000])
                                              .execution_options(synchronize_session=False))) or 0
                else:
                    for lg, reason in result.over.items():
                        held += rowcount(s.execute(
                            update(N).where(N.kind == kind, N.period == period, N.state == state,
                                            N.member_id.in_(select(Member.id).where(Member.local_government_code == lg)))
                            .values(state=HELD, last_error=reason[:2000])
                            .execution_options(synchronize_session=False))) or 0
                outcome = BudgetOutcome(est, held, result.over)
        if staged:
            s.execute(update(N).where(N.kind == kind, N.period == period, N.state == STAGED)
                      .values(state="pending").execution_options(synchronize_session=False))
        return outcome


@dataclass(frozen=True)
class HeldGroup:
    kind: str
    period: str
    reason: str
    count: int


def held_groups(session: Session, codes: frozenset[str] | None = None) -> list[HeldGroup]:
    """Held notifications by (kind, period, reason); `codes` limits to members of those 시·군·구."""
    N = Notification
    q = select(N.kind, N.period, N.last_error, func.count()).where(N.state == HELD)
    if codes is not None:
        q = q.where(N.member_id.in_(select(Member.id).where(Member.local_government_code.in_(sorted(codes)))))
    q = q.group_by(N.kind, N.period, N.last_error).order_by(N.kind, N.period)
    return [HeldGroup(k, p, r or "", n) for k, p, r, n in session.execute(q).all()]


def release_held(session: Session, kind: str, period: str, *, now: datetime,
                 codes: frozenset[str] | None = None, by: str | None = None) -> int:
    """An operator sends held notifications after all: back to pending, due now."""
    N = Notification
    q = update(N).where(N.kind == kind, N.period == period, N.state == HELD)
    if codes is not None:
        q = q.where(N.member_id.in_(select(Member.id).where(Member.local_government_code.in_(sorted(codes)))))
    note = f"released from the budget hold by {by}" if by else "released from the budget hold"
    return rowcount(session.execute(q.values(state="pending", not_before=_naive_utc(now), last_error=note[:2000])
                                    .execution_options(synchronize_session=False))) or 0


def pending_groups(session: Session) -> list[tuple[str, str]]:
    N = Notification
    return [(k, p) for k, p in session.execute(select(N.kind, N.period).where(N.state == "pending")
                                                .group_by(N.kind, N.period).order_by(N.kind, N.period)).all()]
