"""Property tests of the settlement.

- The set-based arithmetic equals core.points.award.compute_statement on any input (the pure
  engine is the specification).
- Through the database: settling twice equals settling once; after corrected readings the
  ledger (settlement + adjustments) sums to the new statement, for every member.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.ledger import ledger_mismatches
from core.local_government_rates import LgInfo
from core.models import LedgerEntry, PointStatement
from core.points.baseline import format_rate
from core.points.periods import Half
from core.rules import default_rules, load_rules
from core.settlement import settle_half
from core.settlement.python_engine import Groups, Row, compute_member, plans_for, rate_display
from core.settlement.verification import verify_with_pure_engine
from core.usage_import import supply_key_hash
from core.utility_companies import default_company
from tests.auxil.engine import add_lg, add_member, snapshot
from tests.auxil.support import wipe as _wipe

RULES = default_rules()
RESOURCES = ("electricity", "water", "gas")

reading = st.one_of(st.none(), st.integers(0, 600_000))  # thousandths: 0 .. 600 units
six = st.tuples(*[reading] * 6)
full_six = st.tuples(*[st.integers(0, 600_000)] * 6)


@st.composite
def member_rows(draw):
    half = draw(st.sampled_from([Half(2022, 2), Half(2023, 1), Half(2025, 2), Half(2026, 1)]))
    member_type = draw(st.sampled_from(["individual", "foreigner", "commercial", "school"]))
    table = RULES.points_table_by_member_type[member_type]
    chosen = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=3, unique=True))
    rows = []
    for i, res in enumerate(chosen):
        a = draw(st.one_of(full_six, six))
        mode = draw(st.sampled_from(["separate", "separate", "managed_fee", "not_used"]))
        registered = draw(st.sampled_from([None, date(2020, 1, 1), half.start, date(half.year, half.first_month % 100 + 1, 2)]))
        tariff = draw(st.sampled_from([None, None, "late_night"]))
        rows.append(Row(1, i + 1, res, mode, tariff, registered, member_type, table, "41117", "경기도",
                        draw(st.integers(0, 5)), a, draw(six), draw(six)))
    group_n = draw(st.integers(1, 60))
    group_total = draw(st.integers(0, 120_000_000))
    return half, rows, group_n, group_total, draw(st.sampled_from(["2", "1.5", "0.75"])), draw(st.integers(0, 200_000))


@settings(max_examples=400, deadline=None)
@given(member_rows(), st.sampled_from(["resource", "household"]), st.booleans())
def test_set_based_result_equals_pure_engine(data, scope, requires_eval):
    half, rows, n, total, rate, earlier = data
    rules = RULES if scope == "resource" and requires_eval else load_rules(overrides={
        "settings.maintenance_streak_scope": scope,
        "settings.standard_usage_requires_evaluation": requires_eval})
    if scope == "household":
        rows = [r._replace(streak_before=rows[0].streak_before) for r in rows]
    tables = plans_for(rules, half)
    lgs = {"41117": LgInfo("41117", "경기도", "수원시 영통구", Decimal(rate), 202612, ())}
    sums = {}
    for r in rows:
        for key in (("sigungu", "41117", r.points_table, r.resource), ("sido", "경기도", r.points_table, r.resource),
                    ("national", r.points_table, r.resource)):
            sums[key] = [n, total]
    c, picked = compute_member(rows, half, rules, tables, lgs, Groups(sums, rules), earlier)
    verify_with_pure_engine(rows, c, picked, half, rules)  # raises on any difference


@given(st.integers(-10**12, 10**12), st.integers(1, 10**12))
def test_integer_rate_display_equals_the_decimal_one(diff, base3):
    assert rate_display(diff, base3) == format_rate(Decimal(100 * diff) / Decimal(base3))


# --- through the database ---------------------------------------------------------------------

amount = st.integers(50, 600)
history = st.lists(st.one_of(st.none(), amount), min_size=18, max_size=18)


def _load(db, cipher, members):
    """members: list of (resource, list of 18 values for 2024H1..2025H1 months x 3 years)."""
    from core.models import MeterReading

    half = Half(2025, 1)
    with db.transaction() as s:
        add_lg(s)
        for i, (res, values) in enumerate(members):
            number = f"{9000000000 + i}"
            add_member(s, cipher, accounts=[(res, number)])
            h = supply_key_hash(cipher, res, number)
            for j, month in enumerate([m - back for back in (0, 100, 200) for m in half.months]):
                if values[j] is not None:
                    s.add(MeterReading(resource=res, supply_key_hash=h, month=month,
                                       company=default_company(res, "41117"),
                                       amount=Decimal(values[j]), updated_at=date(2026, 1, 1)))


def _ledger_by_member(db):
    with db.session() as s:
        out = {}
        for e in s.scalars(select(LedgerEntry)):
            out.setdefault(e.member_id, []).append(e.points)
        points = {st.member_id: st.points for st in s.scalars(select(PointStatement))}
        assert ledger_mismatches(s) == []
    return out, points


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(RESOURCES), history), min_size=1, max_size=6))
def test_settling_twice_equals_settling_once(database, cipher, clock, members):
    _wipe(database)
    _load(database, cipher, members)
    settle_half(database, "2025H1", clock, verify=-1)
    once = snapshot(database)
    ledger_once = _ledger_by_member(database)
    res = settle_half(database, "2025H1", clock, verify=-1)
    assert (res.created, res.changed, res.adjustments) == (0, 0, 0)
    twice = snapshot(database)
    assert twice.pop("settlement_runs") == once.pop("settlement_runs") + 1
    assert twice == once and _ledger_by_member(database) == ledger_once
    _wipe(database)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(RESOURCES), history), min_size=1, max_size=5),
       st.lists(st.tuples(st.integers(0, 4), st.integers(0, 17), st.one_of(st.none(), amount)), max_size=8))
def test_corrected_readings_adjust_ledger_to_new_statement(database, cipher, clock, members, fixes):
    from core.models import MeterReading

    _wipe(database)
    _load(database, cipher, members)
    settle_half(database, "2025H1", clock, verify=-1)
    half = Half(2025, 1)
    months = [m - back for back in (0, 100, 200) for m in half.months]
    with database.transaction() as s:
        for idx, j, value in fixes:
            if idx >= len(members):
                continue
            res = members[idx][0]
            h = supply_key_hash(cipher, res, f"{9000000000 + idx}")
            company = default_company(res, "41117")  # add_lg's default region
            row = s.get(MeterReading, (res, h, company, months[j]))
            if value is None and row is not None:
                s.delete(row)
            elif value is not None and row is None:
                s.add(MeterReading(resource=res, supply_key_hash=h, month=months[j], company=company,
                                   amount=Decimal(value), updated_at=date(2026, 1, 1)))
            elif value is not None:
                row.amount = Decimal(value)
    settle_half(database, "2025H1", clock, verify=-1)
    ledger, points = _ledger_by_member(database)
    for member_id, total in points.items():
        entries = ledger.get(member_id, [])
        assert sum(entries) == total
        assert len(entries) <= 2  # one settlement, at most one adjustment per run
    _wipe(database)
