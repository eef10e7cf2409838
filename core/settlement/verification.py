"""Verification of the settlement against the pure engine (core.points).

The set-based engines (core.settlement.python_engine, core.settlement.sql_engine) are
executions of the rules; core.points.award.compute_statement is their specification. Every run
recomputes ``verify`` members (spread over the members) with it, and on PostgreSQL also with
the Python engine; any difference raises SettlementError and the run is marked failed.
"""
from __future__ import annotations

import json
from decimal import Decimal

from core.points.award import compute_statement
from core.points.evaluation import ResourceInput
from core.points.periods import Half
from core.rules import Rules
from core.settlement.python_engine import MILLI, Computed, Row, SettlementError


def comparable(c: Computed) -> tuple:
    """Everything a statement and its lines store, as plain values (engines compared)."""
    lines = tuple((ln.resource, ln.account_id, ln.evaluated, ln.reason,
                   json.dumps(ln.params or {}, sort_keys=True), ln.baseline, ln.actual,
                   ln.rate_display, ln.band, ln.reduction, ln.maintenance, ln.standard,
                   ln.qualified, ln.earned_reduction, ln.streak_before, ln.streak_after,
                   (ln.group.level, ln.group.n, ln.group.total_actual) if ln.group else None,
                   json.dumps(ln.detail, sort_keys=True) if ln.detail else None)
                  for ln in c.lines)
    return (c.member_id, c.member_type, c.points_table, c.schedule, c.lg_code, c.rate,
            c.points_before_cap, c.points, c.won_before_cap, c.won, c.cap_points, c.cap_won,
            c.payout_month, c.won_earlier, c.result_hash, lines)


def verify_with_pure_engine(rows: list[Row], c: Computed, groups, half: Half, rules: Rules) -> None:
    """Recompute one member with core.points.award.compute_statement; raise on any difference."""
    order = {r: i for i, r in enumerate(rules.resources)}
    rows = sorted(rows, key=lambda r: order.get(r.resource, len(order)))
    items = []
    for row, group in zip(rows, groups):
        readings = {}
        for prefix, back in (("a", 0), ("p", 100), ("q", 200)):
            for i, m in enumerate(half.months):
                v = getattr(row, prefix)[i]
                if v is not None:
                    readings[m - back] = Decimal(v) / MILLI
        items.append(ResourceInput(row.resource, readings, row.billing_mode, row.registered_on,
                                   row.tariff, row.streak_before, group))
    st = compute_statement(c.member_type, half, items, rules, c.rate,
                           won_paid_earlier_in_year=c.won_earlier, payout_month=c.payout_month)
    mine = [(ln.resource, ln.evaluated, ln.reason, json.dumps(ln.params, sort_keys=True, default=list),
             ln.baseline, ln.actual, ln.rate_display, ln.band, ln.reduction, ln.maintenance,
             ln.standard, ln.qualified, ln.earned_reduction, ln.streak_before, ln.streak_after)
            for ln in c.lines]
    pure = [(ln.resource, ln.evaluated, ln.reason,
             json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in ln.reason_params.items()},
                        sort_keys=True, default=list),
             ln.baseline, ln.actual, ln.rate_display, ln.band, ln.reduction_points,
             ln.maintenance_points, ln.standard_points, ln.standard_usage_qualified,
             ln.earned_reduction, ln.streak_before, ln.streak_after) for ln in st.lines]
    totals_mine = (c.points_before_cap, c.points, c.won_before_cap, c.won, c.payout_month)
    totals_pure = (st.points_before_cap, st.points, st.won_before_cap, st.won, st.payout_month)
    if mine != pure or totals_mine != totals_pure:
        raise SettlementError(
            f"member {c.member_id}: set-based result differs from core.points "
            f"(set-based {mine} {totals_mine}; pure {pure} {totals_pure})")
