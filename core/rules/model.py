"""Frozen value objects for the programme rules (filled by core.rules.loader)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from core.points.periods import Half

EMPTY: Mapping = MappingProxyType({})


class RulesError(ValueError):
    """The rules file (or an override) is malformed or inconsistent."""


class NoScheduleError(RulesError):
    """No point schedule is in force for the requested half."""


@dataclass(frozen=True)
class Band:
    """Reduction band: applies when r >= min_rate (percent). ``points`` per resource."""

    min_rate: Decimal
    points: Mapping[str, int]


@dataclass(frozen=True)
class Schedule:
    """One version of a points table, in force from ``effective_from`` (spec §7, §7.4)."""

    name: str
    effective_from: Half
    bands: tuple[Band, ...]                 # ascending min_rate
    maintenance: Mapping[str, int]          # empty: no maintenance incentive
    maintenance_min_streak: int
    standard_usage: Mapping[str, int]       # empty: no standard-usage incentive
    cap_points_per_half: int
    cap_won_per_year: int

    @property
    def lowest_band_rate(self) -> Decimal:
        return self.bands[0].min_rate


@dataclass(frozen=True)
class PointsTable:
    name: str                               # "household" | "commercial"
    schedules: tuple[Schedule, ...]         # ascending effective_from
    standard_usage_offered: bool            # commercial: commercial_standard_usage
    # half -> schedule in force, filled on first ask (the engine asks per line and statement)
    _in_force: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def schedule_for(self, half: Half) -> Schedule:
        found = self._in_force.get(half)
        if found is None:
            found = self._in_force[half] = self._schedule_for(half)
        return found

    def _schedule_for(self, half: Half) -> Schedule:
        current = None
        for schedule in self.schedules:
            if schedule.effective_from <= half:
                current = schedule
        if current is None:
            raise NoScheduleError(f"no {self.name} schedule in force for {half}")
        return current


@dataclass(frozen=True)
class RateRules:
    """Won per point bounds: min_exclusive < rate <= max, at most max_decimals places."""

    default: Decimal
    min_exclusive: Decimal
    max: Decimal
    max_decimals: int


@dataclass(frozen=True)
class PayoutRule:
    month: int          # 1..12
    year_offset: int    # 0 = same year as the half, 1 = next year


@dataclass(frozen=True)
class GreenlifeItem:
    code: str
    name: str                   # Korean label
    won_per_unit: int | None    # None when unconfirmed or not per action
    unit: str
    enabled: bool               # accrued by the engine
    accrued: bool               # False: not a per-action item (e.g. prizes)


@dataclass(frozen=True)
class GreenlifeRules:
    cap_won: int
    bonus_won: int
    bonus_in_cap: bool
    confirm_day: int
    pay_from_day: int
    excludes_seoul: bool
    item_caps: Mapping[str, int]
    items: Mapping[str, GreenlifeItem]


@dataclass(frozen=True)
class Rules:
    """All programme rules (spec §12). Build with core.rules.load_rules()."""

    source: str
    baseline_mode: str                       # rolling | fixed_at_join
    baseline_history: str                    # supply_point | member
    fallback_scope: str                      # month
    missing_actual: str                      # not_evaluated
    join_cutoff: str                         # half_start
    resources: tuple[str, ...]
    excluded_electricity_tariffs: frozenset[str]
    customer_number_formats: Mapping[str, str]   # resource -> regex
    maintenance_streak_scope: str            # resource | household
    maintenance_keeps_streak: bool
    standard_usage_group: tuple[str, ...]    # widening order
    standard_usage_min_group: int
    standard_usage_requires_evaluation: bool
    commercial_standard_usage: bool
    stacking_from: Half
    rate: RateRules
    rate_region: str
    payout_month: Mapping[int, PayoutRule]   # half number (1, 2) -> rule
    points_table_by_member_type: Mapping[str, str]  # member type -> table name
    tables: Mapping[str, PointsTable]
    incentive_types: Mapping[str, str]       # code -> Korean label
    default_incentive_type: str
    greenlife: GreenlifeRules

    def table_for(self, member_type: str) -> PointsTable:
        try:
            return self.tables[self.points_table_by_member_type[member_type]]
        except KeyError:
            raise ValueError(f"member type {member_type!r} has no points table") from None

    def schedule_for(self, member_type: str, half: Half) -> Schedule:
        return self.table_for(member_type).schedule_for(half)

    def stacking_applies(self, half: Half) -> bool:
        return half >= self.stacking_from
