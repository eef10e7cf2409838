"""Builders of monthly readings for the points-engine tests (imported by basename)."""

from __future__ import annotations

from decimal import Decimal

from core.points.periods import Half


def spread(total, parts: int = 6) -> list[Decimal]:
    """Split an integer-valued total into ``parts`` near-equal monthly values that sum to it."""
    total = int(total)
    base, extra = divmod(total, parts)
    return [Decimal(base + (1 if i < extra else 0)) for i in range(parts)]


def readings(half: str | Half, baseline=None, actual=None, *, monthly_baseline=None,
             monthly_actual=None, years=(1, 2), skip_actual=()) -> dict[int, Decimal]:
    """Readings whose B(m) are equal in each earlier year of ``years`` (as in spec §13).

    baseline / actual: half totals spread over the six months; or give monthly lists
    (None entries = no reading). skip_actual: months (yyyymm) without an actual reading.
    """
    half = Half.parse(half)
    b_months = monthly_baseline if monthly_baseline is not None else (
        spread(baseline) if baseline is not None else [None] * 6)
    a_months = monthly_actual if monthly_actual is not None else (
        spread(actual) if actual is not None else [None] * 6)
    data: dict[int, Decimal] = {}
    for month, b, a in zip(half.months, b_months, a_months):
        if b is not None:
            for back in years:
                data[month - 100 * back] = Decimal(b)
        if a is not None and month not in skip_actual:
            data[month] = Decimal(a)
    return data
