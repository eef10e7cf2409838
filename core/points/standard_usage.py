"""Standard-usage group test (spec §7.1).

The settlement aggregates, per level (sigungu, sido, national), the participants of the same
points table, resource and half whose resource was evaluated (the member included):
``n`` and ``Σ A_H``. This module picks the level and applies the exact test
``2 × A_H × n ≤ Σ A_H`` (A_H at most 50% of the group average; exactly 50% qualifies).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.rules import Rules


@dataclass(frozen=True)
class GroupStats:
    level: str              # "sigungu" | "sido" | "national"
    n: int                  # participants with the resource evaluated, member included
    total_actual: Decimal   # Σ A_H over them

    def __post_init__(self) -> None:
        if self.n < 1 or self.total_actual < 0:
            raise ValueError("group needs n >= 1 and a non-negative total")


def pick_standard_usage_group(groups: Mapping[str, GroupStats] | Iterable[GroupStats],
                              rules: Rules) -> GroupStats | None:
    """First level in ``rules.standard_usage_group`` order with n >= standard_usage_min_group;
    if none is large enough, the widest level given. None when no group is given."""
    by_level = groups if isinstance(groups, Mapping) else {g.level: g for g in groups}
    chosen = None
    for level in rules.standard_usage_group:
        group = by_level.get(level)
        if group is None:
            continue
        chosen = group
        if group.n >= rules.standard_usage_min_group:
            break
    return chosen


def qualifies_standard_usage(actual: Decimal, group: GroupStats) -> bool:
    """``2 × A × n ≤ Σ A``: cross-multiplied, never an averaged or rounded value."""
    return 2 * Fraction(actual) * group.n <= Fraction(group.total_actual)
