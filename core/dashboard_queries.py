"""Read-only, aggregated queries behind the operator dashboard (/admin).

Every figure is computed by the database (GROUP BY, CASE, SUM); nothing here loads members one
by one, and nothing here returns personal data: counts, sums and codes only. Each function takes
a Session and returns plain rows (dataclasses / tuples) the page renders as tables or charts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import DateTime, Integer, and_, case, cast, extract, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from core import texts
from core.models import (
    Campaign,
    CampaignPledge,
    ImportRun,
    LocalGovernment,
    Member,
    MeterReading,
    Notification,
    PointStatement,
    ResourceAccount,
    SettlementRun,
    StatementLine,
)
from core.points.periods import add_months, month_of

# Every query takes an optional `scope` (core.operators.Scope): the 시군구 an operator may see.
# None or a national scope: everything.


def _within(q, column, scope):
    clause = scope.where(column) if scope is not None else None
    return q if clause is None else q.where(clause)

MEMBER_TYPES = ("individual", "commercial", "public", "school", "foreigner")
# Reduction-rate buckets (percent): lower bound (inclusive), upper bound (exclusive); their
# labels are core/texts/<lang>/dashboard.toml `rate_buckets`, in the same order.
RATE_BOUNDS = (
    (None, Decimal("0")),
    (Decimal("0"), Decimal("5")),
    (Decimal("5"), Decimal("10")),
    (Decimal("10"), Decimal("15")),
    (Decimal("15"), None),
)
RATE_BUCKETS = tuple((label, lo, hi) for label, (lo, hi) in zip(texts.raw("dashboard.rate_buckets"), RATE_BOUNDS,
                                                                 strict=True))
UNSET = texts.t("dashboard.unset")  # the name of a local government that is not known
PUSH_COLUMNS = ("sent", "failed", "dead", "pending", "in_flight", "uncertain", "skipped")


def _sql_text(value: str):
    """A text constant of ours inlined into SQL (not bound), quoted."""
    return literal_column("'" + value.replace("'", "''") + "'")


class _InKorea(FunctionElement):
    """A stored DateTime (naive UTC) moved to Korean time, so that a member who joined on
    1 December (midnight KST, 30 November in UTC) counts in December."""
    type = DateTime()
    inherit_cache = True


@compiles(_InKorea)
def _in_korea(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} + INTERVAL '9 hours')"


@compiles(_InKorea, "sqlite")
def _in_korea_sqlite(element, compiler, **kw):
    return f"datetime({compiler.process(element.clauses, **kw)}, '+9 hours')"


def _ym(column):
    """yyyymm in Korea of a DateTime column as an integer, on SQLite and PostgreSQL alike."""
    local = _InKorea(column)
    return cast(extract("year", local), Integer) * 100 + cast(extract("month", local), Integer)


# --- headline -------------------------------------------------------------------------------

@dataclass
class Headline:
    active_members: int
    withdrawn_members: int
    local_governments: int
    readings: int
    latest_reading_month: int | None
    outbox_pending: int
    latest_settled_half: str | None


def headline(session: Session, scope=None) -> Headline:
    lg = Member.local_government_code
    active = session.scalar(_within(select(func.count()).select_from(Member).where(Member.status == "active"), lg, scope)) or 0
    withdrawn = session.scalar(_within(select(func.count()).select_from(Member).where(Member.status == "withdrawn"), lg, scope)) or 0
    lgs = session.scalar(_within(select(func.count(func.distinct(Member.local_government_code)))
                                 .where(Member.status == "active"), lg, scope)) or 0
    readings, latest = session.execute(select(func.count(), func.max(MeterReading.month))).one()
    pending_q = select(func.count()).select_from(Notification).where(Notification.state == "pending")
    if scope is not None and not scope.national:
        pending_q = pending_q.join(Member, Member.id == Notification.member_id)
    pending = session.scalar(_within(pending_q, lg, scope)) or 0
    half = session.scalar(select(func.max(SettlementRun.half)).where(SettlementRun.status == "completed"))
    return Headline(int(active), int(withdrawn), int(lgs), int(readings or 0), latest, int(pending), half)


# --- members ----------------------------------------------------------------------------------

@dataclass
class MembersByLg:
    code: str | None
    name: str
    by_type: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_type.values())


def members_by_lg_and_type(session: Session, scope=None) -> list[MembersByLg]:
    """Active members now, per 시군구 and member type."""
    rows = session.execute(_within(
        select(Member.local_government_code, LocalGovernment.sido, LocalGovernment.name, Member.member_type, func.count())
        .select_from(Member).outerjoin(LocalGovernment, LocalGovernment.code == Member.local_government_code)
        .where(Member.status == "active")
        .group_by(Member.local_government_code, LocalGovernment.sido, LocalGovernment.name, Member.member_type),
        Member.local_government_code, scope)).all()
    out: dict[str | None, MembersByLg] = {}
    for code, sido, name, member_type, n in rows:
        label = f"{sido} {name}" if name and sido and sido != name else (name or UNSET)
        item = out.setdefault(code, MembersByLg(code, label, {}))
        item.by_type[member_type] = item.by_type.get(member_type, 0) + int(n)
    return sorted(out.values(), key=lambda r: (-r.total, r.name))


@dataclass
class MembersOverTime:
    months: list[int]                       # yyyymm, oldest first
    by_type: dict[str, list[int]]           # members at each month's end, per type
    by_lg: dict[str, list[int]] = field(default_factory=dict)  # per 시군구 name

    def total(self) -> list[int]:
        return [sum(v[i] for v in self.by_type.values()) for i in range(len(self.months))]


def members_over_time(session: Session, today: date, months: int = 24, scope=None) -> MembersOverTime:
    """Members at the end of each of the last `months` months (joined by then, not yet
    withdrawn), per member type and per 시군구. Two GROUP BY queries, cumulated here."""
    last = month_of(today)
    first = add_months(last, -(months - 1))
    axis = [add_months(first, i) for i in range(months)]
    joined = _ym(Member.joined_at)
    left = _ym(Member.withdrawn_at)
    lg_name = func.coalesce(LocalGovernment.name, _sql_text(UNSET))

    def series(key):
        base = select(key, joined, left, func.count()).select_from(Member).outerjoin(
            LocalGovernment, LocalGovernment.code == Member.local_government_code
        ).group_by(key, joined, left)
        base = _within(base, Member.local_government_code, scope)
        out: dict[str, list[int]] = {}
        for k, j, w, n in session.execute(base).all():
            row = out.setdefault(k or UNSET, [0] * months)
            for i, m in enumerate(axis):
                if j is not None and j <= m and (w is None or w > m):
                    row[i] += int(n)
        return out

    return MembersOverTime(axis, series(Member.member_type), series(lg_name))


# --- reduction rates ------------------------------------------------------------------------

@dataclass
class RateDistribution:
    label: str                    # "2026H1" or "2026-10"
    buckets: list[tuple[str, int]]
    evaluated: int
    median_hint: Decimal | None = None


def _bucket_case(rate):
    whens: list[tuple[ColumnElement[bool], ColumnElement[str]]] = []
    for label, lo, hi in RATE_BUCKETS:
        cond = []
        if lo is not None:
            cond.append(rate >= lo)
        if hi is not None:
            cond.append(rate < hi)
        whens.append((and_(*cond), _sql_text(label)))  # our own constants, inlined
    return case(*whens, else_=literal_column("'?'"))


def _ordered(counts: dict[str, int]) -> list[tuple[str, int]]:
    return [(label, int(counts.get(label, 0))) for label, _lo, _hi in RATE_BUCKETS]


def half_rate_distribution(session: Session, half: str | None = None, scope=None) -> RateDistribution | None:
    """Reduction rates of the evaluated statement lines of a settled half (default: the latest)."""
    if half is None:
        half = session.scalar(select(func.max(StatementLine.half)))
    if half is None:
        return None
    bucket = _bucket_case(StatementLine.rate)
    q = (select(bucket, func.count()).where(StatementLine.half == half, StatementLine.evaluated.is_(True),
                                            StatementLine.rate.is_not(None)).group_by(bucket))
    if scope is not None and not scope.national:
        q = _within(q.join(PointStatement, PointStatement.id == StatementLine.statement_id),
                    PointStatement.local_government_code, scope)
    rows = session.execute(q).all()
    counts = {label: n for label, n in rows}
    return RateDistribution(half, _ordered(counts), sum(int(n) for n in counts.values()))


def month_rate_distribution(session: Session, month: int | None = None, scope=None) -> RateDistribution | None:
    """Reduction rate of one month per registered supply point of an active member: usage of
    the month against B(m) (mean of the same month one and two years before, or the one there
    is; spec §5). Default month: the latest with readings. All in one SQL statement."""
    if month is None:
        month = session.scalar(select(func.max(MeterReading.month)))
    if month is None:
        return None
    now_r, y1, y2 = aliased(MeterReading), aliased(MeterReading), aliased(MeterReading)

    def same(alias, m):
        return and_(alias.resource == ResourceAccount.resource, alias.company == ResourceAccount.company,
                    alias.supply_key_hash == ResourceAccount.supply_key_hash,
                    alias.month == m)

    baseline = case(
        (and_(y1.amount.is_not(None), y2.amount.is_not(None)), (y1.amount + y2.amount) / 2),
        else_=func.coalesce(y1.amount, y2.amount),
    )
    sub = _within(
        select(((baseline - now_r.amount) * 100 / baseline).label("rate"))
        .select_from(ResourceAccount)
        .join(Member, and_(Member.id == ResourceAccount.member_id, Member.status == "active"))
        .join(now_r, same(now_r, month))
        .outerjoin(y1, same(y1, add_months(month, -12)))
        .outerjoin(y2, same(y2, add_months(month, -24)))
        .where(ResourceAccount.ended_on.is_(None), ResourceAccount.supply_key_hash.is_not(None), baseline > 0),
        Member.local_government_code, scope).subquery()
    bucket = _bucket_case(sub.c.rate)
    rows = session.execute(select(bucket, func.count()).select_from(sub).group_by(bucket)).all()
    counts = {label: n for label, n in rows}
    return RateDistribution(f"{month // 100:04d}-{month % 100:02d}", _ordered(counts), sum(int(n) for n in counts.values()))


# --- points and payouts ---------------------------------------------------------------------

@dataclass
class PointsRow:
    half: str
    code: str | None
    name: str
    statements: int
    points: int
    won: int            # won to pay: expected + held
    won_held: int
    won_paid: int


def points_by_half_and_lg(session: Session, limit_halves: int = 4, scope=None) -> list[PointsRow]:
    """Settled points and won per half and 시군구 (the 시군구 at the half's end)."""
    halves = session.scalars(select(PointStatement.half).distinct().order_by(PointStatement.half.desc())
                             .limit(limit_halves)).all()
    if not halves:
        return []
    to_pay = case((PointStatement.status.in_(("expected", "held")), PointStatement.won), else_=0)
    held = case((PointStatement.status == "held", PointStatement.won), else_=0)
    paid = case((PointStatement.status == "paid", PointStatement.won), else_=0)
    rows = session.execute(_within(
        select(PointStatement.half, PointStatement.local_government_code, LocalGovernment.name, func.count(),
               func.sum(PointStatement.points), func.sum(to_pay), func.sum(held), func.sum(paid))
        .select_from(PointStatement)
        .outerjoin(LocalGovernment, LocalGovernment.code == PointStatement.local_government_code)
        .where(PointStatement.half.in_(halves))
        .group_by(PointStatement.half, PointStatement.local_government_code, LocalGovernment.name)
        .order_by(PointStatement.half.desc(), func.sum(PointStatement.points).desc()),
        PointStatement.local_government_code, scope)).all()
    return [PointsRow(h, c, n or (c or UNSET), int(k), int(p or 0), int(w or 0), int(hw or 0), int(pw or 0))
            for h, c, n, k, p, w, hw, pw in rows]


def holds_by_reason(session: Session, scope=None) -> list[tuple[str, str, int, int]]:
    """(half, reason, statements, won) of payouts on hold."""
    # constants inlined (not bound) so SELECT and GROUP BY are the same expression on PostgreSQL
    reason = func.coalesce(PointStatement.hold_reason, literal_column("'UNKNOWN'"))
    rows = session.execute(_within(
        select(PointStatement.half, reason, func.count(), func.sum(PointStatement.won))
        .where(PointStatement.status == "held")
        .group_by(PointStatement.half, reason)
        .order_by(PointStatement.half.desc(), func.count().desc()),
        PointStatement.local_government_code, scope)).all()
    return [(h, r, int(n), int(w or 0)) for h, r, n, w in rows]


# --- pushes ---------------------------------------------------------------------------------

@dataclass
class PushRow:
    kind: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def push_delivery(session: Session, scope=None) -> list[PushRow]:
    """Notifications per kind: sent, failed (waiting for a retry after an error), dead,
    pending (not tried yet), in flight, uncertain, skipped."""
    state = case(
        (and_(Notification.state == literal_column("'pending'"), Notification.attempts > 0), literal_column("'failed'")),
        else_=Notification.state,
    )
    q = select(Notification.kind, state, func.count()).group_by(Notification.kind, state)
    if scope is not None and not scope.national:
        q = _within(q.join(Member, Member.id == Notification.member_id), Member.local_government_code, scope)
    rows = session.execute(q).all()
    out: dict[str, PushRow] = {}
    for kind, st, n in rows:
        out.setdefault(kind, PushRow(kind, {c: 0 for c in PUSH_COLUMNS})).counts[st] = int(n)
    return sorted(out.values(), key=lambda r: r.kind)


@dataclass
class CampaignReach:
    id: str
    title: str
    active: bool
    starts_on: date
    ends_on: date
    pledges: int
    messages_sent: int
    messages_skipped: int
    messages_pending: int


def campaign_reach(session: Session, scope=None) -> list[CampaignReach]:
    """Per campaign: pledges, and the campaign messages sent / skipped / waiting (when the
    broadcasts table is there: core.models.CampaignBroadcast)."""
    import core.models as models

    pledges: dict[str, int] = {cid: n for cid, n in session.execute(
        select(CampaignPledge.campaign_id, func.count()).group_by(CampaignPledge.campaign_id)).all()}
    sent: dict[str, dict[str, int]] = {}
    broadcast = getattr(models, "CampaignBroadcast", None)
    if broadcast is not None:
        # A campaign notification's period names its broadcast (core.broadcasts.period_of).
        from core.broadcasts import period_of

        ids = session.execute(select(broadcast.id, broadcast.campaign_id)).all()
        by_period = {period_of(i): c for i, c in ids}
        if by_period:
            for p, st, n in session.execute(
                select(Notification.period, Notification.state, func.count())
                .where(Notification.kind == "campaign", Notification.period.in_(list(by_period)))
                .group_by(Notification.period, Notification.state)
            ).all():
                c = by_period[p]
                sent.setdefault(c, {})[st] = sent.setdefault(c, {}).get(st, 0) + int(n)
    out = []
    campaigns = select(Campaign).order_by(Campaign.active.desc(), Campaign.starts_on.desc())
    if scope is not None and not scope.national:  # their own and the national ones
        campaigns = campaigns.where(Campaign.local_government_code.is_(None) | scope.where(Campaign.local_government_code))
    for c in session.scalars(campaigns).all():
        counts = sent.get(c.id, {})
        out.append(CampaignReach(c.id, c.title, bool(c.active), c.starts_on, c.ends_on, int(pledges.get(c.id, 0)),
                                 counts.get("sent", 0), counts.get("skipped", 0),
                                 counts.get("pending", 0) + counts.get("in_flight", 0)))
    return out


# --- runs -----------------------------------------------------------------------------------

def import_runs(session: Session, limit: int = 10) -> list[ImportRun]:
    return list(session.scalars(select(ImportRun).order_by(ImportRun.started_at.desc(), ImportRun.id.desc()).limit(limit)))


def settlement_runs(session: Session, limit: int = 10) -> list[SettlementRun]:
    return list(session.scalars(select(SettlementRun).order_by(SettlementRun.started_at.desc(), SettlementRun.id.desc()).limit(limit)))


@dataclass
class Dashboard:
    generated_at: datetime
    headline: Headline
    members_by_lg: list[MembersByLg]
    members_over_time: MembersOverTime
    month_rates: RateDistribution | None
    half_rates: RateDistribution | None
    points: list[PointsRow]
    holds: list[tuple[str, str, int, int]]
    pushes: list[PushRow]
    campaigns: list[CampaignReach]
    imports: list[ImportRun]
    settlements: list[SettlementRun]


def dashboard(session: Session, today: date, now: datetime, scope=None) -> Dashboard:
    """Everything the page shows, read in one session (one consistent snapshot on PostgreSQL
    when the caller opens a REPEATABLE READ transaction; close enough otherwise)."""
    return Dashboard(
        generated_at=now, headline=headline(session, scope), members_by_lg=members_by_lg_and_type(session, scope),
        members_over_time=members_over_time(session, today, scope=scope),
        month_rates=month_rate_distribution(session, scope=scope),
        half_rates=half_rate_distribution(session, scope=scope), points=points_by_half_and_lg(session, scope=scope),
        holds=holds_by_reason(session, scope), pushes=push_delivery(session, scope),
        campaigns=campaign_reach(session, scope),
        # runs are national work; a 시군구 operator sees none
        imports=import_runs(session) if scope is None or scope.national else [],
        settlements=settlement_runs(session) if scope is None or scope.national else [],
    )
