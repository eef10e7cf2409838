"""Won per point and payout month of every 시군구 for a half (spec §8.3).

Shared by the settlement (statements), payouts (the finance file), monthly results and the
statement view: one place decides which rate is in force and when a 시군구 pays.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from core.models.members import LocalGovernment
from core.models.points import LocalGovernmentRate
from core.points.periods import Half
from core.rules import Rules, RulesError, validate_rate


class LocalGovernmentRateError(RuntimeError):
    """A 시군구's rate is outside what the rules allow."""


def payout_month_for(half: Half, lg_month: int | None, rules: Rules) -> int:
    """yyyymm of the payout: the 시군구's month (first such month after the half ends), else the
    rules' default calendar (spec §8.3)."""
    if lg_month is None:
        return half.payout_month(rules)
    last = half.months[-1]
    year = last // 100 if lg_month > last % 100 else last // 100 + 1
    return year * 100 + lg_month


@dataclass(frozen=True)
class LgInfo:
    code: str
    sido: str
    name: str
    rate: Decimal
    payout_month: int
    incentive_types: tuple[str, ...]


def local_government_table(conn_or_session, half: Half, rules: Rules) -> dict[str, LgInfo]:
    """Every 시군구 with the rate in force on the half's last day (effective-dated rates, else
    LocalGovernment.won_per_point) and its payout month for the half."""
    lgs = conn_or_session.execute(select(
        LocalGovernment.code, LocalGovernment.sido, LocalGovernment.name,
        LocalGovernment.won_per_point, LocalGovernment.payout_month_h1,
        LocalGovernment.payout_month_h2, LocalGovernment.incentive_types)).all()
    dated: dict[str, tuple[date, Decimal]] = {}
    for code, frm, rate in conn_or_session.execute(select(
            LocalGovernmentRate.local_government_code, LocalGovernmentRate.effective_from,
            LocalGovernmentRate.won_per_point).where(LocalGovernmentRate.effective_from <= half.end)):
        if code not in dated or frm > dated[code][0]:
            dated[code] = (frm, rate)
    out = {}
    for code, sido, name, rate, m1, m2, types in lgs:
        chosen = dated[code][1] if code in dated else (rate if rate is not None else rules.rate.default)
        try:
            chosen = validate_rate(Decimal(chosen).quantize(Decimal("0.01")), rules)
        except RulesError as exc:
            raise LocalGovernmentRateError(f"local government {code}: {exc}") from None
        month = m1 if half.number == 1 else m2
        out[code] = LgInfo(code, sido, name, chosen, payout_month_for(half, month, rules),
                           tuple(types or ()))
    return out
