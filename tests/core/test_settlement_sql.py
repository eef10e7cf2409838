"""The settlement's two executions agree: on PostgreSQL the lines and statements are computed in
SQL (core.settlement.sql_engine) and every member is compared with line_for and core.points
(``verify=-1``); on SQLite the same data runs the Python path against core.points.

Hypothesis varies what the SQL branches on: billing mode, tariff, registration, member type,
missing months, the previous half's streak, two 시군구 with their own rates, and the rules
(streak scope, maintenance keeping the streak, standard usage without evaluation, a half
before stacking, the second half of a year with the won cap)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.models import MeterReading, PointStatement, ResourceAccount, StatementLine
from core.points.periods import Half
from core.rules import default_rules, load_rules
from core.settlement import settle_half
from core.usage_import import supply_key_hash
from core.utility_companies import default_company
from tests.auxil.engine import add_lg, add_member
from tests.auxil.support import wipe

RESOURCES = ("electricity", "water", "gas")
amount = st.one_of(st.none(), st.integers(0, 900), st.integers(100, 140))

account = st.fixed_dictionaries({
    "resource": st.sampled_from(RESOURCES),
    "mode": st.sampled_from(["separate", "separate", "managed_fee", "not_used"]),
    "late": st.sampled_from([False, False, True]),   # registered after the half started
    "tariff": st.sampled_from([None, None, "late_night"]),
    "history": st.lists(amount, min_size=36, max_size=36),  # H-1 .. H and two years before
})
member = st.fixed_dictionaries({
    "type": st.sampled_from(["individual", "individual", "commercial", "school"]),
    "lg": st.sampled_from(["41117", "11680"]),
    "accounts": st.lists(account, min_size=1, max_size=3, unique_by=lambda a: a["resource"]),
})
variant = st.sampled_from([
    ("2025H1", {}),
    ("2025H1", {"settings.maintenance_streak_scope": "household"}),
    ("2025H1", {"settings.maintenance_keeps_streak": True,
                "settings.standard_usage_requires_evaluation": False}),
    ("2022H2", {}),                                   # before stacking: one incentive only
    ("2025H2", {"settings.standard_usage_min_group": 2}),  # won cap against the first half
])


def _months(half: Half) -> list[int]:
    """The previous half's and this half's months, and both one and two years before."""
    prev = half.previous()
    return [m - back for back in (0, 100, 200) for h in (prev, half) for m in h.months]


def _load(db, cipher, half: Half, members) -> None:
    with db.transaction() as s:
        add_lg(s)
        add_lg(s, code="11680", sido="서울특별시", name="강남구", rate="1.5")
        for i, spec in enumerate(members):
            accounts = []
            for acc in spec["accounts"]:
                registered = date(half.year, half.first_month % 100, 15) if acc["late"] else date(2019, 1, 1)
                accounts.append((acc["resource"], f"{7000000000 + i * 3 + RESOURCES.index(acc['resource'])}",
                                 acc["mode"], registered))
            m = add_member(s, cipher, lg=spec["lg"], member_type=spec["type"], accounts=accounts,
                           joined=date(2019, 1, 1))
            for acc, (res, number, mode, _) in zip(spec["accounts"], accounts):
                if acc["tariff"] and res == "electricity":
                    ra = s.scalars(select(ResourceAccount).where(
                        ResourceAccount.member_id == m.id, ResourceAccount.resource == res)).one()
                    ra.tariff = acc["tariff"]
                if mode == "not_used":
                    continue
                h = supply_key_hash(cipher, res, number)
                for month, value in zip(_months(half), acc["history"]):
                    if value is not None:
                        s.add(MeterReading(resource=res, supply_key_hash=h, month=month,
                                           company=default_company(res, spec["lg"]),
                                           amount=Decimal(value), updated_at=date(2026, 1, 1)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(member, min_size=1, max_size=8), variant)
def test_sql_and_python_executions_agree_with_the_pure_engine(database, cipher, clock, members, var):
    half_text, overrides = var
    half = Half.parse(half_text)
    rules = load_rules(overrides=overrides) if overrides else default_rules()
    wipe(database)
    _load(database, cipher, half, members)
    # the previous half first: streaks (and, for a second half, the won counted in the year)
    settle_half(database, str(half.previous()), clock, rules=rules, verify=-1)
    res = settle_half(database, half_text, clock, rules=rules, verify=-1)
    assert res.verified == res.members == len(members)
    with database.session() as s:
        statements = s.scalars(select(PointStatement).where(PointStatement.half == half_text)).all()
        lines = s.scalars(select(StatementLine).where(StatementLine.half == half_text)).all()
    assert len(statements) == len(members)
    assert len(lines) == sum(len(m["accounts"]) for m in members)
    for st_ in statements:
        assert 0 <= st_.points <= st_.cap_points_per_half and st_.won <= st_.won_before_cap
    again = settle_half(database, half_text, clock, rules=rules, verify=-1)
    assert (again.created, again.changed, again.unchanged) == (0, 0, len(members))
    wipe(database)
