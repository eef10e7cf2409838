"""core.points.award / evaluation / standard_usage beyond the worked examples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from points_factories import readings

from core.points import reasons
from core.points.award import (
    ResourceInput,
    band_for,
    compute_statement,
    next_streak,
    provisional_award,
    won_for,
)
from core.points.baseline import half_to_date
from core.points.evaluation import evaluate_resource, is_registered_for_half
from core.points.periods import Half
from core.points.standard_usage import GroupStats, pick_standard_usage_group
from core.rules import NoScheduleError, RulesError, default_rules, load_rules


@pytest.fixture(scope="module")
def rules():
    return default_rules()


def line_of(rules, half, resource, b, a, **kw):
    member_type = kw.pop("member_type", "individual")
    item = ResourceInput(resource, readings(half, b, a), **kw)
    return compute_statement(member_type, half, [item], rules, 2).lines[0]


GROUP_OK = GroupStats("sigungu", 30, D(30 * 3000))  # average 3,000: A <= 1,500 qualifies


def test_not_registered_for_half(rules):
    half = Half(2025, 1)
    assert is_registered_for_half(date(2025, 1, 1), half, rules)
    assert not is_registered_for_half(date(2025, 1, 2), half, rules)
    assert is_registered_for_half(None, half, rules)
    item = ResourceInput("electricity", readings(half, 2000, 1000), registered_on=date(2025, 3, 20),
                         streak_before=4, group=GROUP_OK)
    line = compute_statement("individual", half, [item], rules).lines[0]
    assert line.reason == reasons.NOT_REGISTERED_FOR_HALF and line.points == 0
    assert line.streak_after == 0
    # joined 20 Mar 2025: first evaluated for 2025H2
    later = compute_statement("individual", "2025H2", [
        ResourceInput("electricity", readings("2025H2", 2000, 1800),
                      registered_on=date(2025, 3, 20))], rules)
    assert later.points == 10000


def test_excluded_tariff_and_not_used(rules):
    line = line_of(rules, "2025H1", "electricity", 2000, 1000, tariff="late_night")
    assert line.reason == reasons.EXCLUDED_TARIFF and line.points == 0
    assert line_of(rules, "2025H1", "electricity", 2000, 1000, tariff="residential").points == 15000
    assert line_of(rules, "2025H1", "water", 100, 50, tariff="late_night").points == 2000


def test_not_evaluated_gets_no_standard_usage_by_default(rules):
    item = ResourceInput("electricity", readings("2025H1", None, 100), group=GROUP_OK)
    line = compute_statement("individual", "2025H1", [item], rules).lines[0]
    assert line.reason == reasons.NO_BASELINE and line.standard_points == 0

    lenient = load_rules(overrides={"settings.standard_usage_requires_evaluation": False})
    line = compute_statement("individual", "2025H1", [item], lenient).lines[0]
    assert line.reason == reasons.NO_BASELINE and line.standard_points == 5000


def test_below_threshold_reason_names_the_rate(rules):
    line = line_of(rules, "2025H1", "water", 100, 97)
    assert line.reason == reasons.BELOW_THRESHOLD
    assert dict(line.reason_params) == {"rate": "3.00", "threshold": "5"}
    assert line_of(rules, "2025H1", "water", 100, 100).reason == reasons.NO_REDUCTION


def test_maintenance_streak_minimum_per_table(rules):
    assert line_of(rules, "2025H1", "gas", 1000, 970, streak_before=2).maintenance_points == 1800
    assert line_of(rules, "2025H1", "gas", 1000, 970, streak_before=1).maintenance_points == 0
    shop = dict(member_type="commercial")
    assert line_of(rules, "2025H1", "gas", 1000, 970, streak_before=3, **shop).points == 0
    assert line_of(rules, "2025H1", "gas", 1000, 970, streak_before=4, **shop).points == 7200


def test_streak_rules(rules):
    assert line_of(rules, "2025H1", "gas", 1000, 900, streak_before=5).streak_after == 6
    assert line_of(rules, "2025H1", "gas", 1000, 970, streak_before=5).streak_after == 0
    keeps = load_rules(overrides={"settings.maintenance_keeps_streak": True})
    assert line_of(keeps, "2025H1", "gas", 1000, 970, streak_before=5).streak_after == 5
    assert line_of(keeps, "2025H1", "gas", 1000, 990, streak_before=1).streak_after == 0
    assert next_streak(3, False, True, rules) == 0 and next_streak(3, False, True, keeps) == 3


def test_household_streak_scope():
    household = load_rules(overrides={"settings.maintenance_streak_scope": "household"})
    items = [ResourceInput("electricity", readings("2025H1", 2000, 1800), streak_before=2),
             ResourceInput("gas", readings("2025H1", 1000, 970), streak_before=2)]
    st = compute_statement("individual", "2025H1", items, household)
    assert dict(st.streak_after) == {"electricity": 3, "gas": 3}
    assert st.lines[1].maintenance_points == 1800
    with pytest.raises(ValueError):
        compute_statement("individual", "2025H1", [
            ResourceInput("electricity", readings("2025H1", 2000, 1800), streak_before=2),
            ResourceInput("gas", readings("2025H1", 1000, 970), streak_before=1)], household)


def test_no_stacking_before_stacking_from(rules):
    # 2022H2: three-band table, only the largest single incentive
    reduction = line_of(rules, "2022H2", "electricity", 2000, 1400, group=GROUP_OK)
    assert (reduction.reduction_points, reduction.standard_points, reduction.points) == (15000, 0, 15000)
    assert reduction.standard_usage_qualified and reduction.streak_after == 1
    tie = line_of(rules, "2022H2", "electricity", 1500, 1425, group=GROUP_OK)  # 5% = 5,000 = standard
    assert (tie.reduction_points, tie.standard_points) == (5000, 0)
    assert tie.earned_reduction and tie.streak_after == 1
    standard = line_of(rules, "2022H2", "electricity", 1450, 1400, streak_before=3, group=GROUP_OK)
    assert (standard.maintenance_points, standard.standard_points) == (0, 5000)
    assert standard.streak_after == 0
    after = line_of(rules, "2023H1", "electricity", 2000, 1400, group=GROUP_OK)
    assert after.points == 20000


def test_two_band_2011_schedule(rules):
    line = line_of(rules, "2015H1", "electricity", 2000, 1000, group=GROUP_OK)
    assert line.band == 10 and line.points == 10000
    st = compute_statement("individual", "2015H1", [
        ResourceInput("gas", readings("2015H1", 1000, 980), streak_before=9)], rules)
    assert st.points == 0 and st.lines[0].reason == reasons.BELOW_THRESHOLD  # no maintenance
    assert st.cap_won_per_year == 70000
    with pytest.raises(NoScheduleError):
        line_of(rules, "2010H1", "electricity", 2000, 1000)


def test_caps_cut_points_and_won():
    tight = load_rules(overrides={
        "tables.household.schedules.stacking_2023.cap_points_per_half": 12000,
        "tables.household.schedules.stacking_2023.cap_won_per_year": 30000,
    })
    items = [ResourceInput("electricity", readings("2025H2", 2000, 1600)),
             ResourceInput("gas", readings("2025H2", 1000, 800))]
    st = compute_statement("individual", "2025H2", items, tight, 2, won_paid_earlier_in_year=20000)
    assert (st.points_before_cap, st.points, st.points_cut) == (23000, 12000, 11000)
    assert (st.won_before_cap, st.won, st.won_cut) == (24000, 10000, 14000)
    over = compute_statement("individual", "2025H2", items, tight, 2, won_paid_earlier_in_year=40000)
    assert over.won == 0


def test_statement_inputs_checked(rules):
    item = ResourceInput("electricity", readings("2025H1", 2000, 1900))
    with pytest.raises(ValueError):
        compute_statement("complex", "2025H1", [item], rules)
    with pytest.raises(ValueError):
        compute_statement("individual", "2025H1", [item, item], rules)
    with pytest.raises(ValueError):
        compute_statement("individual", "2025H1", [ResourceInput("heat")], rules)
    with pytest.raises(ValueError):
        compute_statement("individual", "2025H1", [ResourceInput("gas", billing_mode="x")], rules)
    with pytest.raises(RulesError):
        compute_statement("individual", "2025H1", [item], rules, "2.5")
    with pytest.raises(ValueError):
        compute_statement("individual", "2025H1", [item], rules, 2, won_paid_earlier_in_year=-1)


def test_statement_defaults_and_order(rules):
    items = [ResourceInput("gas", billing_mode="not_used"),
             ResourceInput("electricity", readings("2025H1", 2000, 1900))]
    st = compute_statement("foreigner", Half(2025, 1), items, rules, payout_month=202511)
    assert st.rate == 2 and st.payout_month == 202511
    assert [line.resource for line in st.lines] == ["electricity", "gas"]
    assert st.reason_codes == (reasons.RESOURCE_NOT_USED,)


def test_evaluation_exposes_actual_for_groups(rules):
    ev = evaluate_resource(ResourceInput("water", readings("2025H1", 90, 60)), Half(2025, 1), rules)
    assert ev.evaluated and ev.actual_total == 60 and ev.baseline.total == 90


def test_pick_standard_usage_group_widens(rules):
    small = GroupStats("sigungu", 12, D(12000))
    sido = GroupStats("sido", 29, D(29000))
    nation = GroupStats("national", 5000, D(5000000))
    assert pick_standard_usage_group([small, sido, nation], rules) == nation
    assert pick_standard_usage_group({"sigungu": GroupStats("sigungu", 30, D(1))}, rules).n == 30
    assert pick_standard_usage_group([small, sido], rules) == sido  # widest given
    assert pick_standard_usage_group([], rules) is None
    with pytest.raises(ValueError):
        GroupStats("sigungu", 0, D(0))


def test_won_for_and_band_for(rules):
    assert won_for(7000, D("1.5")) == 10500
    assert won_for(3333, D("0.33")) == 1099  # 1099.89 floored
    bands = rules.schedule_for("individual", Half(2025, 1)).bands
    assert band_for(D(100), D(85), bands).min_rate == 15
    assert band_for(D(100), D("95.01"), bands) is None


def test_provisional_award(rules):
    data = readings("2025H2", monthly_baseline=[310, 380, 300, None, 270, 290],
                    monthly_actual=[270, 330, None, None, None, None])
    td = half_to_date(data, Half(2025, 2), rules, through_month=202508)
    prov = provisional_award("individual", "electricity", td, rules)
    assert prov.band == 10 and prov.points == 10000
    assert provisional_award("individual", "electricity",
                             half_to_date({}, Half(2025, 2), rules), rules).points == 0
