"""core.rules: the bundled file, validation, overrides, the env var and the cache."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.points.periods import Half
from core.rules import (
    DEFAULT_FILE,
    ENV_VAR,
    NoScheduleError,
    RulesError,
    default_rules,
    load_rules,
    validate_rate,
)


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def test_bundled_rules_hold_the_spec_settings(rules):
    assert rules.baseline_mode == "rolling" and rules.baseline_history == "supply_point"
    assert rules.fallback_scope == "month" and rules.missing_actual == "not_evaluated"
    assert rules.join_cutoff == "half_start" and rules.rate_region == "address_at_half_end"
    assert rules.resources == ("electricity", "water", "gas")
    assert rules.excluded_electricity_tariffs == {"agricultural", "late_night"}
    assert rules.customer_number_formats["electricity"] == r"^\d{10}$"
    assert rules.maintenance_streak_scope == "resource" and rules.maintenance_keeps_streak is False
    assert rules.standard_usage_group == ("sigungu", "sido", "national")
    assert rules.standard_usage_min_group == 30 and rules.standard_usage_requires_evaluation
    assert rules.commercial_standard_usage is False
    assert rules.stacking_from == Half(2023, 1)
    assert rules.rate.default == Decimal(2) and isinstance(rules.rate.default, Decimal)
    assert (rules.payout_month[1].month, rules.payout_month[1].year_offset) == (12, 0)
    assert (rules.payout_month[2].month, rules.payout_month[2].year_offset) == (6, 1)
    assert rules.points_table_by_member_type["public"] == "commercial"
    assert rules.points_table_by_member_type["foreigner"] == "household"
    assert "complex" not in rules.points_table_by_member_type


def test_bundled_2023_tables(rules):
    household = rules.schedule_for("individual", Half(2025, 1))
    assert household.name == "stacking_2023"
    assert [b.min_rate for b in household.bands] == [5, 10, 15]
    assert dict(household.bands[2].points) == {"electricity": 15000, "water": 2000, "gas": 8000}
    assert dict(household.maintenance) == {"electricity": 3000, "water": 450, "gas": 1800}
    assert dict(household.standard_usage) == {"electricity": 5000, "water": 750, "gas": 3000}
    assert (household.cap_points_per_half, household.cap_won_per_year) == (33750, 135000)
    assert household.maintenance_min_streak == 2
    commercial = rules.schedule_for("school", Half(2025, 1))
    assert dict(commercial.bands[0].points) == {"electricity": 20000, "water": 3000, "gas": 12000}
    assert dict(commercial.maintenance) == {"electricity": 12000, "water": 1800, "gas": 7200}
    assert not commercial.standard_usage and commercial.maintenance_min_streak == 4
    assert (commercial.cap_points_per_half, commercial.cap_won_per_year) == (100000, 400000)


def test_schedule_versions_by_half(rules):
    assert rules.schedule_for("individual", Half(2011, 2)).name == "two_band_2011"
    assert len(rules.schedule_for("individual", Half(2019, 1)).bands) == 2
    assert rules.schedule_for("individual", Half(2019, 2)).name == "three_band_2019"
    assert rules.schedule_for("individual", Half(2022, 2)).cap_won_per_year == 100000
    assert rules.schedule_for("individual", Half(2023, 1)).name == "stacking_2023"
    with pytest.raises(NoScheduleError):
        rules.schedule_for("individual", Half(2011, 1))
    with pytest.raises(NoScheduleError):
        rules.schedule_for("commercial", Half(2015, 1))
    with pytest.raises(ValueError):
        rules.table_for("complex")


def test_incentive_types_and_greenlife(rules):
    assert rules.default_incentive_type == "donation"
    assert set(rules.incentive_types) == {
        "cash", "kakao_pay", "green_card", "local_currency", "garbage_bags", "local_tax",
        "transit_card", "facility_voucher", "certificate", "donation"}
    assert rules.incentive_types["donation"] == "기부"
    gl = rules.greenlife
    assert (gl.cap_won, gl.bonus_won, gl.bonus_in_cap) == (70000, 5000, True)
    assert (gl.confirm_day, gl.pay_from_day, gl.excludes_seoul) == (16, 23, False)
    assert dict(gl.item_caps) == {}
    assert gl.items["tumbler"].won_per_unit == 300 and gl.items["tumbler"].name == "텀블러·다회용컵"
    assert not gl.items["shared_bicycle"].enabled and not gl.items["zero_food_waste"].enabled
    assert not gl.items["future_generation"].accrued
    enabled = {code for code, item in gl.items.items() if item.enabled}
    assert len(enabled) == 9


@pytest.mark.parametrize("rate", ["0", "-1", "2.01", "3", "1.234", "0.001", "abc", True])
def test_bad_rate_rejected(rules, rate):
    with pytest.raises(RulesError):
        validate_rate(rate, rules)
    with pytest.raises(RulesError):
        load_rules(overrides={"rate.default": rate})


@pytest.mark.parametrize("rate, expected", [("2", "2"), (1, "1"), ("1.5", "1.5"), ("0.01", "0.01"),
                                            (Decimal("1.50"), "1.5"), ("2.000", "2")])
def test_good_rate_accepted(rules, rate, expected):
    assert validate_rate(rate, rules) == Decimal(expected)


def test_overrides_dotted_and_nested():
    rules = load_rules(overrides={
        "settings.baseline_mode": "fixed_at_join",
        "settings": {"maintenance_keeps_streak": True, "stacking_from": "2024h1"},
        "rate": {"default": "1.5"},
        "tables.household.schedules.stacking_2023.cap_points_per_half": 20000,
        "greenlife": {"item_caps": {"e_receipt": 10000}},
    })
    assert rules.baseline_mode == "fixed_at_join" and rules.maintenance_keeps_streak is True
    assert rules.stacking_from == Half(2024, 1) and rules.rate.default == Decimal("1.5")
    assert rules.schedule_for("individual", Half(2025, 1)).cap_points_per_half == 20000
    assert rules.schedule_for("individual", Half(2025, 1)).cap_won_per_year == 135000  # merged
    assert dict(rules.greenlife.item_caps) == {"e_receipt": 10000}
    assert load_rules().baseline_mode == "rolling"  # the file itself is untouched


@pytest.mark.parametrize("overrides, message", [
    ({"settings.baseline_mode": "fixed"}, "baseline_mode"),
    ({"settings.stacking_from": "2023H3"}, "stacking_from"),
    ({"settings.typo_key": 1}, "unknown key"),
    ({"settings.standard_usage_group": ["sigungu", "city"]}, "standard_usage_group"),
    ({"settings.standard_usage_min_group": 0}, "standard_usage_min_group"),
    ({"rate.max_decimals": "2"}, "max_decimals"),
    ({"payout_month.H1.month": 13}, "month"),
    ({"customer_number_formats.water": "("}, "water"),
    ({"incentive_types.default": "bitcoin"}, "bitcoin"),
    ({"points_table_by_member_type.commercial": ["commercial", "individual"]}, "two tables"),
    ({"tables.household.schedules.stacking_2023.bands": [
        {"min_rate": "10", "electricity": 1, "water": 1, "gas": 1},
        {"min_rate": "5", "electricity": 2, "water": 2, "gas": 2}]}, "ascending"),
    ({"tables.household.schedules.stacking_2023.bands": [
        {"min_rate": "5", "electricity": 9, "water": 9, "gas": 9},
        {"min_rate": "10", "electricity": 2, "water": 9, "gas": 9}]}, "fall"),
    ({"tables.household.schedules.stacking_2023.bands": [
        {"min_rate": "0", "electricity": 1, "water": 1, "gas": 1}]}, "above 0"),
    ({"tables.household.schedules.stacking_2023.bands": [
        {"min_rate": "5", "electricity": 1, "water": 1}]}, "each of"),
    ({"tables.household.schedules.stacking_2023.maintenance.electricity": 6000}, "lowest band"),
    ({"tables.household.schedules.stacking_2023.cap_won_per_year": 1.5}, "integer"),
    ({"tables.household.schedules.stacking_2023.effective_from": "2019H2"}, "same half"),
    ({"settings.commercial_standard_usage": True}, "commercial standard_usage"),
    ({"greenlife.items.zero_food_waste.enabled": True}, "won_per_unit"),
    ({"greenlife.item_caps": {"lottery": 5}}, "unknown items"),
    ({"greenlife.pay_from_day": 10}, "pay_from_day"),
])
def test_invalid_rules_rejected(overrides, message):
    with pytest.raises(RulesError, match=message):
        load_rules(overrides=overrides)


def test_env_var_points_to_alternative_file(tmp_path, monkeypatch):
    text = DEFAULT_FILE.read_text(encoding="utf-8").replace(
        'stacking_from = "2023H1"', 'stacking_from = "2024H2"')
    alt = tmp_path / "alt.toml"
    alt.write_text(text, encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(alt))
    assert load_rules().stacking_from == Half(2024, 2)
    assert load_rules().source == str(alt)
    default_rules.cache_clear()
    try:
        assert default_rules().stacking_from == Half(2024, 2)
    finally:
        monkeypatch.delenv(ENV_VAR)
        default_rules.cache_clear()
    assert default_rules().stacking_from == Half(2023, 1)


def test_default_rules_cached():
    assert default_rules() is default_rules()


def test_unreadable_file(tmp_path):
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[settings\n", encoding="utf-8")
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(broken)


def test_rules_are_frozen(rules):
    with pytest.raises(AttributeError):
        rules.baseline_mode = "fixed_at_join"
    with pytest.raises(TypeError):
        rules.tables["household"] = None


def test_override_through_a_non_table_is_rejected():
    with pytest.raises(RulesError, match="not a table"):
        load_rules(overrides={"settings.resources.extra": 1})
