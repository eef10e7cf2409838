"""Read API of the points engine: what the chat (balance dialog) and the admin API show.

These functions are the contract with the bot; they return plain JSON-ready dicts (numbers as
ints, decimals as strings, months as "YYYY-MM"), never ORM objects, and never personal data
beyond the member's own figures. Each takes an open SQLAlchemy session (the caller's transaction).

``statement_view(session, member_id, half) -> dict | None``
    The settled statement of a half, or None when the half is not settled for the member::

        {"member_id": 7, "half": "2026H1", "status": "expected" | "held" | "paid" | "skipped",
         "hold_reason": "HOLD_NO_ACCOUNT" | None, "member_type": "individual",
         "points_table": "household", "schedule": "stacking_2023", "version": 1,
         "local_government": {"code": "41117", "name": "수원시 영통구", "figures_default": false} | None,
         "rate": "2.00",                      # won per point at the half's end
         "points": 15000, "points_before_cap": 15000, "cap_points_per_half": 33750,
         "won": 30000,                        # the payout line's figure once a batch exists
         "won_before_cap": 30000, "cap_won_per_year": 135000,
         "payout_month": "2026-12", "payout": {"batch_id": 3, "status": "expected", ...} | None,
         "resources": [{"resource": "electricity", "evaluated": true, "baseline": "1500",
                        "actual": "1320", "rate": "12.00", "band": "10", "points": 15000,
                        "reduction_points": 10000, "maintenance_points": 0,
                         "standard_points": 5000, "standard_usage": true,
                        "reason": None | "BELOW_THRESHOLD" | ..., "reason_params": {...},
                        "streak_before": 0, "streak_after": 1,
                        "filled_months": [], "fallback_months": []}, ...],
         "reasons": ["BELOW_THRESHOLD", ...]}

``current_half_view(session, member_id, today) -> dict``
    The provisional (예상) result of the half containing ``today`` (spec §10): per resource the
    months with data, use vs baseline so far, half-to-date rate, provisional band and points and
    the missing months; totals in points and won at the member's current rate. Nothing is paid
    from it. ``{"half": "2026H2", "provisional": True, "resources": [...], "points": 5000,
    "won": 10000, "rate": "2.00", "payout_month": "2027-06", "missing_months": [...]}``

``greenlife_year_view(session, greenlife_member_id, year) -> dict`` (the green-life membership's id)
    ``{"year": 2026, "cap": 70000, "awarded": 12000, "remaining": 58000, "bonus_received": True,
    "months": [{"month": "2026-03", "won": 15000, "bonus_won": 5000, "cut_won": 0,
    "confirm_date": "2026-04-16", "pay_from_date": "2026-04-23"}],
    "this_month": {"month": "2026-11", "items": [{"item": "tumbler", "name": "텀블러·다회용컵",
    "quantity": "3", "won": 900}], "accrued_won": 900, "confirmed": False}}``
    (this month's won is an estimate before the cap and bonus; ``this_month`` is only filled for
    the current year.)

``last_settled_half(session, member_id) -> str | None``
    The latest half with a statement for the member, e.g. "2026H1".

``settled_halves(session, member_id) -> list[str]``
    Every half with a statement for the member, newest first.

``member_terms(session, member_id, today) -> dict``
    What the member's 시군구 sets for the half containing ``today``: ``{"half": "2026H2",
    "local_government": {"code": "41117", "name": "수원시 영통구", "figures_default": false} | None, "rate": "2.00",
    "payout_month": "2027-06", "cap_points_per_half": 33750, "cap_won_per_year": 135000}``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.local_government_rates import local_government_table
from core.models.greenlife import GreenlifeActivity, GreenlifeAward
from core.models.members import LocalGovernment, Member, ResourceAccount
from core.models.points import PayoutLine, PointStatement, StatementLine
from core.models.usage import MeterReading
from core.points.periods import Half, month_of
from core.progress import AccountInfo, half_view, view_month, view_num
from core.rules import Rules, default_rules


def statement_view(session: Session, member_id: int, half: str | Half) -> dict | None:
    half = str(Half.parse(half))
    st = session.scalars(select(PointStatement).where(PointStatement.member_id == member_id,
                                                      PointStatement.half == half)).first()
    if st is None:
        return None
    lines = session.scalars(select(StatementLine).where(StatementLine.member_id == member_id,
                                                        StatementLine.half == half)).all()
    lg = session.get(LocalGovernment, st.local_government_code) if st.local_government_code else None
    payout = session.scalars(select(PayoutLine).where(PayoutLine.statement_id == st.id,
                                                      PayoutLine.status != "released")
                             .order_by(PayoutLine.id)).first()
    return build_statement_view(member_id, st, lines, lg, payout)


def build_statement_view(member_id: int, st: Any, lines: Iterable[Any], lg: Any, payout: Any) -> dict:
    """The view of one statement from its rows (ORM objects or Core rows of the same tables):
    the one place the settled view is shaped, for the live read and the bulk preparation."""
    rules = default_rules()
    order = {r: i for i, r in enumerate(rules.resources)}
    resources = []
    for ln in sorted(lines, key=lambda ln: order.get(ln.resource, 99)):
        detail = ln.detail or {}
        params = dict(ln.reason_params or {})
        if "months" in params:
            params["months"] = [view_month(m) for m in params["months"]]
        resources.append({
            "resource": ln.resource, "evaluated": bool(ln.evaluated), "baseline": view_num(ln.baseline),
            "actual": view_num(ln.actual), "rate": f"{Decimal(ln.rate):.2f}" if ln.rate is not None else None,
            "band": view_num(ln.band), "points": ln.points, "reduction_points": ln.reduction_points,
            "maintenance_points": ln.maintenance_points, "standard_points": ln.standard_points,
            "standard_usage": ln.standard_usage_qualified, "reason": ln.reason,
            "reason_params": params, "streak_before": ln.streak_before,
            "streak_after": ln.streak_after,
            "filled_months": [view_month(m) for m in detail.get("filled", [])],
            "fallback_months": [view_month(m) for m in detail.get("fallback", [])],
        })
    return {
        "member_id": member_id, "half": st.half, "status": st.status, "hold_reason": st.hold_reason,
        "member_type": st.member_type, "points_table": st.points_table, "schedule": st.schedule,
        "version": st.version,
        "local_government": _lg_ref(lg),
        "rate": f"{Decimal(st.rate):.2f}", "points": st.points, "points_before_cap": st.points_before_cap,
        "cap_points_per_half": st.cap_points_per_half,
        "won": payout.won if payout else st.won, "won_before_cap": st.won_before_cap,
        "cap_won_per_year": st.cap_won_per_year, "payout_month": view_month(st.payout_month),
        "payout": None if payout is None else {
            "batch_id": payout.batch_id, "status": payout.status, "hold_reason": payout.hold_reason,
            "won": payout.won, "incentive_type": payout.incentive_type,
            "result_reason": payout.result_reason},
        "resources": resources,
        "reasons": [r["reason"] for r in resources if r["reason"]],
    }


def _lg_ref(lg: LocalGovernment | None) -> dict | None:
    """The 시군구 of a view; `figures_default` while its rate, incentive types and payout months
    are the documented defaults of the shipped list (no operator has set them)."""
    if lg is None:
        return None
    return {"code": lg.code, "name": lg.name, "figures_default": bool(lg.figures_default)}


def last_settled_half(session: Session, member_id: int) -> str | None:
    halves = settled_halves(session, member_id)
    return halves[0] if halves else None


def settled_halves(session: Session, member_id: int) -> list[str]:
    """The halves with a statement for the member, newest first ("2026H1", "2025H2", ...)."""
    halves = session.scalars(select(PointStatement.half).where(PointStatement.member_id == member_id)).all()
    return [str(h) for h in sorted({Half.parse(h) for h in halves}, reverse=True)]


def _rate_for(session: Session, member: Member, half: Half, rules: Rules):
    lg = local_government_table(session, half, rules).get(member.local_government_code or "")
    return (lg.rate, lg.payout_month) if lg else (rules.rate.default, half.payout_month(rules))


def member_terms(session: Session, member_id: int, today: date, rules: Rules | None = None) -> dict:
    rules = rules or default_rules()
    half = Half.of_date(today)
    member = session.get(Member, member_id)
    if member is None:
        raise LookupError(f"no member {member_id}")
    rate, payout_month = _rate_for(session, member, half, rules)
    lg = session.get(LocalGovernment, member.local_government_code) if member.local_government_code else None
    try:
        schedule = rules.schedule_for(member.member_type, half)
        caps = (schedule.cap_points_per_half, schedule.cap_won_per_year)
    except ValueError:
        caps = (0, 0)
    return {"half": str(half), "local_government": _lg_ref(lg),
            "rate": f"{Decimal(rate):.2f}", "payout_month": view_month(payout_month),
            "cap_points_per_half": caps[0], "cap_won_per_year": caps[1]}


def current_half_view(session: Session, member_id: int, today: date, rules: Rules | None = None) -> dict:
    """Computed live from the readings (core.progress.half_view, the same code the prepared rows
    are made with); the balance turn reads the prepared row first (core.progress.read_prepared)."""
    rules = rules or default_rules()
    half = Half.of_date(today)
    through = month_of(today)
    member = session.get(Member, member_id)
    if member is None:
        raise LookupError(f"no member {member_id}")
    accounts = [AccountInfo(a.id, a.resource, a.billing_mode, a.supply_key_hash, a.tariff, a.registered_on,
                            a.company or "")
                for a in session.scalars(select(ResourceAccount).where(
                    ResourceAccount.member_id == member_id, ResourceAccount.ended_on.is_(None)))]
    prev = {ln.resource: ln.streak_after for ln in session.scalars(select(StatementLine).where(
        StatementLine.member_id == member_id, StatementLine.half == str(half.previous())))}
    months = [m - back for m in half.months for back in (0, 100, 200)]
    readings: dict[int, dict[int, Decimal]] = {}
    for acc in accounts:
        if acc.billing_mode == "not_used" or not acc.supply_key_hash:
            continue
        rows = list(session.scalars(select(MeterReading).where(
            MeterReading.resource == acc.resource, MeterReading.company == acc.company,
            MeterReading.supply_key_hash == acc.supply_key_hash,
            MeterReading.month.in_(months))))
        readings[acc.id] = {r.month: Decimal(r.amount).quantize(Decimal("0.001")) for r in rows}
        # spec E5: a month of this half billed under an excluded tariff excludes the resource
        excluded = {r.tariff for r in rows if r.month in half.months} & set(rules.excluded_electricity_tariffs)
        if acc.resource == "electricity" and excluded:
            accounts[accounts.index(acc)] = replace(acc, tariff=min(str(t) for t in excluded))
    won_earlier = 0
    if half.number == 2:
        won_earlier = session.scalar(select(PointStatement.won).where(
            PointStatement.member_id == member_id, PointStatement.half == f"{half.year}H1")) or 0
    rate, payout_month = _rate_for(session, member, half, rules)
    view = half_view(member.member_type, accounts, readings, prev, half, through, rules, Decimal(rate),
                     payout_month, won_earlier)
    view["comparison"] = []  # computed in bulk only (core.progress.prepare_progress)
    return view


def greenlife_year_view(session: Session, greenlife_member_id: int | None, year: int, today: date | None = None,
                        rules: Rules | None = None) -> dict:
    awards = session.scalars(select(GreenlifeAward).where(
        GreenlifeAward.greenlife_member_id == greenlife_member_id, GreenlifeAward.year == year)
        .order_by(GreenlifeAward.month)).all()
    bonus_ever = session.execute(text(
        "SELECT COUNT(*) FROM greenlife_awards WHERE greenlife_member_id = :m AND bonus_won > 0"),
        {"m": greenlife_member_id}).scalar_one() > 0
    activities: list[Any] = []
    if today is not None and today.year == year:
        activities = list(session.scalars(select(GreenlifeActivity).where(
            GreenlifeActivity.greenlife_member_id == greenlife_member_id,
            GreenlifeActivity.month == month_of(today))))
    return build_greenlife_view(year, awards, bonus_ever, activities, today, rules)


def build_greenlife_view(year: int, awards: Sequence[Any], bonus_ever: bool, activities: Iterable[Any],
                         today: date | None = None, rules: Rules | None = None) -> dict:
    """The green-life year from its rows (``awards`` by month; ``activities``: this month's):
    the one place the view is shaped, for the live read and the bulk preparation."""
    rules = rules or default_rules()
    counted = sum(a.counted_toward_cap for a in awards)
    view = {
        "year": year, "cap": rules.greenlife.cap_won, "awarded": sum(a.won for a in awards),
        "remaining": max(0, rules.greenlife.cap_won - counted), "bonus_received": bool(bonus_ever),
        "months": [{"month": view_month(a.month), "won": a.won, "accrued_won": a.accrued_won,
                    "bonus_won": a.bonus_won, "cut_won": a.cut_won,
                    "confirm_date": _iso(a.confirm_date),
                    "pay_from_date": _iso(a.pay_from_date)} for a in awards],
        "this_month": None,
    }
    if today is not None and today.year == year:
        m = month_of(today)
        items: dict[str, Decimal] = {}
        for act in activities:
            items[act.item] = items.get(act.item, Decimal(0)) + Decimal(act.quantity)
        listed = []
        for code, qty in sorted(items.items()):
            item = rules.greenlife.items.get(code)
            won = int(qty * item.won_per_unit) if item and item.enabled and item.won_per_unit else 0
            listed.append({"item": code, "name": item.name if item else code, "quantity": view_num(qty),
                           "won": won})
        view["this_month"] = {"month": view_month(m), "items": listed,
                              "accrued_won": sum(i["won"] for i in listed),
                              "confirmed": any(a.month == m for a in awards)}
    return view


def _iso(value: Any) -> str:
    """A date column as ISO text (a Core row on SQLite may hold it as text already)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)[:10]


