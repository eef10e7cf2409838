"""The next-band projection against the engine, with the months that then actually arrive."""
from decimal import Decimal

import pytest

from core.points.award import compute_statement
from core.points.evaluation import ResourceInput
from core.points.periods import Half
from core.points.projection import project, unit_prices
from core.rules import default_rules

RULES = default_rules()
HALF = Half.parse("2026H2")
THROUGH = 202609
LEFT = (202610, 202611, 202612)


def readings(so_far: int, base: int = 100, months=(202607, 202608, 202609)) -> dict[int, Decimal]:
    out = {}
    for m in HALF.months:
        out[m - 100] = out[m - 200] = Decimal(base)
    for m in months:
        out[m] = Decimal(so_far)
    return out


def arrive(item: ResourceInput, per_month: Decimal) -> ResourceInput:
    return ResourceInput(item.resource, {**item.readings, **{m: per_month for m in LEFT}},
                         streak_before=item.streak_before)


def engine(items, won_earlier=0):
    return compute_statement("individual", HALF, items, RULES, None, won_earlier)


def test_pace_and_next_band_match_the_engine_at_the_band_edge():
    item = ResourceInput("electricity", readings(96))
    p = project("individual", HALF, THROUGH, [item], RULES)
    r = p.resources[0]
    assert r.rate_to_date == Decimal(4) and r.pace_band is None and r.pace_points == 0
    assert r.months_left == 3 and r.next_band == Decimal(5) and r.less_per_month == 2
    assert r.bill_won_per_month == 2 * unit_prices()["electricity"]
    # The months that arrive: at the pace (96) no band; 2 less a month (94) is exactly 5.00 %.
    at_pace = engine([arrive(item, Decimal(96))])
    assert at_pace.points == p.pace.points == 0
    reached = engine([arrive(item, Decimal(94))])
    assert reached.lines[0].band == Decimal(5)
    assert reached.lines[0].rate == Decimal(5)  # the band edge, met exactly
    assert (reached.points, reached.won) == (r.gain_points, r.gain_won) == (5000, 5000 * int(RULES.rate.default))
    one_short = engine([arrive(item, Decimal(95))])
    assert one_short.lines[0].band is None


def test_pace_band_is_the_engine_band_when_pace_holds():
    item = ResourceInput("electricity", readings(88))
    p = project("individual", HALF, THROUGH, [item], RULES)
    r = p.resources[0]
    assert r.pace_band == Decimal(10) and r.pace_points == engine([arrive(item, Decimal(88))]).lines[0].points
    assert r.next_band == Decimal(15)
    got = engine([arrive(item, Decimal(88) - r.less_per_month)])
    assert got.lines[0].band == Decimal(15)
    assert got.points - p.pace.points == r.gain_points
    assert engine([arrive(item, Decimal(88) - r.less_per_month + 1)]).lines[0].band == Decimal(10)


def test_maintenance_streak_and_what_keeps_it():
    item = ResourceInput("water", readings(97), streak_before=2)
    p = project("individual", HALF, THROUGH, [item], RULES)
    r = p.resources[0]
    assert r.maintenance and r.streak == 2 and r.pace_band is None
    kept = engine([arrive(item, Decimal(97))])
    assert kept.lines[0].maintenance_points > 0 and kept.lines[0].maintenance_points == r.pace_points
    # Using as much as the baseline loses it.
    assert engine([arrive(item, Decimal(100) + 9)]).lines[0].maintenance_points == 0
    assert r.next_band == Decimal(5)


def test_yearly_cap_limits_the_gain():
    item = ResourceInput("electricity", readings(96))
    cap = RULES.schedule_for("individual", HALF).cap_won_per_year
    earlier = cap - 1000
    p = project("individual", HALF, THROUGH, [item], RULES, won_paid_earlier_in_year=earlier)
    r = p.resources[0]
    st = engine([arrive(item, Decimal(96) - r.less_per_month)], earlier)
    assert st.won == 1000 and r.gain_won == 1000 and r.gain_points == 5000


def test_top_band_and_no_months_left():
    item = ResourceInput("electricity", readings(80))
    assert project("individual", HALF, THROUGH, [item], RULES).resources[0].top_band
    full = ResourceInput("electricity", readings(96, months=HALF.months))
    r = project("individual", HALF, 202612, [full], RULES).resources[0]
    assert r.months_left == 0 and r.next_band is None


def test_no_rate_yet():
    item = ResourceInput("gas", readings(96, months=()))
    r = project("individual", HALF, THROUGH, [item], RULES).resources[0]
    assert r.rate_to_date is None and r.next_band is None


@pytest.mark.parametrize("so_far", [90, 91, 93, 95, 99, 100])
def test_advice_always_reaches_the_band_it_names(so_far):
    item = ResourceInput("gas", readings(so_far, base=137))
    r = project("individual", HALF, THROUGH, [item], RULES).resources[0]
    if r.next_band is None:
        return
    pace = project("individual", HALF, THROUGH, [item], RULES)
    # what arrives: the pace values (from the projection's own readings) less the advice
    from core.points.projection import pace_readings
    full = pace_readings(item, HALF, THROUGH, RULES)
    got = engine([ResourceInput("gas", {**full, **{m: full[m] - r.less_per_month for m in LEFT}})])
    assert got.lines[0].band == r.next_band
    assert got.points - pace.pace.points == r.gain_points
