"""Green-life practice points: the award of one member for one activity month (spec §9).

Amounts are won. Month award = ``min(Σ quantity × unit + bonus, cap − counted so far this
activity year)``, never below 0 (bonus outside the cap when ``bonus_in_cap`` is false).
Each item's ``quantity × unit`` is floored to whole won (quantities such as km or kg may be
decimal); item caps, when configured, apply per item and activity year before the yearly cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING

from core.points.baseline import usage
from core.points.periods import add_months, check_month

if TYPE_CHECKING:
    from core.rules import Rules


@dataclass(frozen=True)
class GreenlifeAward:
    activity_month: int                 # yyyymm
    item_won: Mapping[str, int]         # per enabled item, after item caps
    ignored_items: tuple[str, ...]      # reported but disabled or not accrued (미래세대 etc.)
    accrued_won: int                    # Σ item_won
    bonus_won: int                      # first-action bonus granted with this month, else 0
    won: int                            # the month's award after the yearly cap
    counted_toward_cap: int             # part of `won` to add to the year's running total
    cut_won: int                        # accrued + bonus - won
    confirm_date: date                  # 16th of the next month
    pay_from_date: date                 # 23rd of the next month

    @property
    def bonus_granted(self) -> bool:
        """True once the bonus was given (even if the cap then cut it): never give it again."""
        return self.bonus_won > 0


def greenlife_dates(activity_month: int, rules: Rules) -> tuple[date, date]:
    """(confirmed on, paid from) for an activity month: days of month + 1."""
    following = add_months(check_month(activity_month), 1)
    year, month = divmod(following, 100)
    return (date(year, month, rules.greenlife.confirm_day),
            date(year, month, rules.greenlife.pay_from_day))


def greenlife_month_award(activity_month: int, quantities: Mapping[str, Decimal | int],
                          rules: Rules, *, awarded_this_year: int = 0,
                          bonus_already_given: bool = False,
                          item_awarded_this_year: Mapping[str, int] | None = None,
                          ) -> GreenlifeAward:
    """Award of one activity month.

    quantities: {item code: quantity} reported by partners for the month (receipts, cups, km...).
    awarded_this_year: Σ counted_toward_cap of the earlier months of the same activity year.
    bonus_already_given: the member already received the first-action bonus (ever).
    item_awarded_this_year: per item won earlier this year (only used with greenlife.item_caps).
    Unknown item codes raise ValueError; disabled / not accrued items are listed, not paid.
    """
    gl = rules.greenlife
    if awarded_this_year < 0:
        raise ValueError("awarded_this_year must be >= 0")
    earlier_items = item_awarded_this_year or {}
    item_won: dict[str, int] = {}
    ignored: list[str] = []
    acted = False
    for code, raw in quantities.items():
        item = gl.items.get(code)
        if item is None:
            raise ValueError(f"unknown green-life item {code!r}")
        quantity = usage(raw, f"quantity of {code}")
        if not (item.enabled and item.accrued):
            ignored.append(code)
            continue
        if item.won_per_unit is None:  # the loader refuses such an item; Rules built in code may not
            raise ValueError(f"green-life item {code!r} is accrued but has no won_per_unit")
        acted = acted or quantity > 0
        won = int((quantity * item.won_per_unit).to_integral_value(rounding=ROUND_FLOOR))
        if code in gl.item_caps:
            won = min(won, max(0, gl.item_caps[code] - earlier_items.get(code, 0)))
        item_won[code] = won

    accrued = sum(item_won.values())
    bonus = gl.bonus_won if acted and not bonus_already_given else 0
    room = max(0, gl.cap_won - awarded_this_year)
    if gl.bonus_in_cap:
        won = counted = min(accrued + bonus, room)
    else:
        counted = min(accrued, room)
        won = counted + bonus
    confirm, pay_from = greenlife_dates(activity_month, rules)
    return GreenlifeAward(
        activity_month=activity_month, item_won=MappingProxyType(item_won),
        ignored_items=tuple(ignored), accrued_won=accrued, bonus_won=bonus, won=won,
        counted_toward_cap=counted, cut_won=accrued + bonus - won,
        confirm_date=confirm, pay_from_date=pay_from,
    )
