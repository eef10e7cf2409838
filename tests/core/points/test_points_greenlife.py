"""core.points.greenlife beyond the worked examples."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from core.points.greenlife import greenlife_dates, greenlife_month_award
from core.rules import default_rules, load_rules


@pytest.fixture(scope="module")
def rules():
    return default_rules()


def test_bonus_only_with_a_qualifying_action_and_once(rules):
    empty = greenlife_month_award(202501, {}, rules)
    assert (empty.won, empty.bonus_won, empty.bonus_granted) == (0, 0, False)
    zero = greenlife_month_award(202501, {"tumbler": 0}, rules)
    assert zero.bonus_won == 0
    first = greenlife_month_award(202502, {"tumbler": 1}, rules)
    assert (first.won, first.bonus_won, first.bonus_granted) == (5300, 5000, True)
    again = greenlife_month_award(202503, {"tumbler": 1}, rules, bonus_already_given=True,
                                  awarded_this_year=first.counted_toward_cap)
    assert (again.won, again.bonus_won) == (300, 0)


def test_disabled_and_not_accrued_items_are_listed_not_paid(rules):
    award = greenlife_month_award(202504, {"shared_bicycle": 30, "zero_food_waste": 2,
                                           "future_generation": 1}, rules)
    assert award.won == 0 and award.bonus_won == 0
    assert award.ignored_items == ("shared_bicycle", "zero_food_waste", "future_generation")


def test_input_errors(rules):
    with pytest.raises(ValueError):
        greenlife_month_award(202504, {"lottery": 1}, rules)
    with pytest.raises(ValueError):
        greenlife_month_award(202504, {"tumbler": -1}, rules)
    with pytest.raises(TypeError):
        greenlife_month_award(202504, {"tumbler": 1.5}, rules)
    with pytest.raises(ValueError):
        greenlife_month_award(202513, {"tumbler": 1}, rules)


def test_decimal_quantities_are_floored_per_item(rules):
    award = greenlife_month_award(202505, {"zev_rental": D("12.34"), "recyclables": D("3.256")},
                                  rules, bonus_already_given=True)
    assert dict(award.item_won) == {"zev_rental": 1234, "recyclables": 325}
    assert award.won == 1559


def test_bonus_counts_toward_cap_and_is_cut(rules):
    award = greenlife_month_award(202506, {"e_receipt": 10}, rules, awarded_this_year=68000)
    assert (award.accrued_won, award.bonus_won, award.won, award.cut_won) == (1000, 5000, 2000, 4000)


def test_bonus_outside_cap_setting():
    rules = load_rules(overrides={"greenlife.bonus_in_cap": False})
    award = greenlife_month_award(202506, {"e_receipt": 10}, rules, awarded_this_year=69500)
    assert (award.counted_toward_cap, award.won) == (500, 5500)
    full = greenlife_month_award(202507, {"e_receipt": 10}, rules, awarded_this_year=70000,
                                 bonus_already_given=True)
    assert full.won == 0


def test_item_caps_setting():
    rules = load_rules(overrides={"greenlife.item_caps": {"e_receipt": 10000}})
    award = greenlife_month_award(202508, {"e_receipt": 50, "tumbler": 1}, rules,
                                  bonus_already_given=True,
                                  item_awarded_this_year={"e_receipt": 8000})
    assert dict(award.item_won) == {"e_receipt": 2000, "tumbler": 300}


def test_dates_roll_into_next_year(rules):
    assert greenlife_dates(202512, rules) == (date(2026, 1, 16), date(2026, 1, 23))
    moved = load_rules(overrides={"greenlife.confirm_day": 10, "greenlife.pay_from_day": 20})
    assert greenlife_dates(202503, moved) == (date(2025, 4, 10), date(2025, 4, 20))
