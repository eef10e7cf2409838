"""Parse and validate the rules TOML into frozen :mod:`core.rules.model` objects.

Reading is strict: an unknown key is an error, so a typo in a file or an override never
silently falls back to a default.
"""

from __future__ import annotations

import builtins  # _Section's str/bool/int methods hide the built-in names in its annotations
import copy
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from core.points.periods import Half
from core.rules.model import (
    Band,
    GreenlifeItem,
    GreenlifeRules,
    PayoutRule,
    PointsTable,
    RateRules,
    Rules,
    RulesError,
    Schedule,
)

_CHOICES = {
    "baseline_mode": {"rolling", "fixed_at_join"},
    "baseline_history": {"supply_point", "member"},
    "fallback_scope": {"month"},
    "missing_actual": {"not_evaluated"},
    "join_cutoff": {"half_start"},
    "maintenance_streak_scope": {"resource", "household"},
    "rate_region": {"address_at_half_end"},
}
_GROUP_LEVELS = ("sigungu", "sido", "national")
_TABLES = ("household", "commercial")


def merge_overrides(doc: dict, overrides: Mapping[str, Any] | None) -> dict:
    """Deep-merge ``overrides`` into a copy of ``doc``.

    Keys may be nested dicts or dotted paths: ``{"settings.stacking_from": "2024H1"}`` equals
    ``{"settings": {"stacking_from": "2024H1"}}``. Tables merge; any other value replaces.
    """
    merged = copy.deepcopy(doc)
    for key, value in (overrides or {}).items():
        *parents, leaf = str(key).split(".")
        target = merged
        for part in parents:
            target = target.setdefault(part, {}) if isinstance(target, dict) else None
            if not isinstance(target, dict):
                raise RulesError(f"override {key!r}: {part!r} is not a table")
        if isinstance(value, Mapping) and isinstance(target.get(leaf), dict):
            target[leaf] = merge_overrides(target[leaf], value)
        else:
            target[leaf] = copy.deepcopy(value)
    return merged


class _Section:
    """A TOML table read key by key; ``done()`` rejects keys nobody asked for."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, Mapping):
            raise RulesError(f"{path}: expected a table")
        self.data, self.path = data, path
        self.used: set[str] = set()

    def _get(self, key: str, default: Any = ...) -> Any:
        self.used.add(key)
        if key in self.data:
            return self.data[key]
        if default is ...:
            raise RulesError(f"{self.path}.{key}: missing")
        return default

    def sub(self, key: str) -> _Section:
        return _Section(self._get(key, {}), f"{self.path}.{key}")

    def str(self, key: str, choices: set[str] | None = None) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value:
            raise RulesError(f"{self.path}.{key}: expected a non-empty string")
        if choices is not None and value not in choices:
            raise RulesError(f"{self.path}.{key}: {value!r} not one of {sorted(choices)}")
        return value

    def bool(self, key: builtins.str, default: Any = ...) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise RulesError(f"{self.path}.{key}: expected true or false")
        return value

    def int(self, key: builtins.str, low: int = 0, high: int | None = None, default: Any = ...) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise RulesError(f"{self.path}.{key}: expected an integer")
        if value < low or (high is not None and value > high):
            raise RulesError(f"{self.path}.{key}: {value} outside {low}..{high}")
        return value

    def decimal(self, key: builtins.str) -> Decimal:
        return to_decimal(self._get(key), f"{self.path}.{key}")

    def half(self, key: builtins.str) -> Half:
        try:
            return Half.parse(self._get(key))
        except ValueError as exc:
            raise RulesError(f"{self.path}.{key}: {exc}") from None

    def str_list(self, key: builtins.str) -> tuple[builtins.str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise RulesError(f"{self.path}.{key}: expected a list of strings")
        if len(set(value)) != len(value):
            raise RulesError(f"{self.path}.{key}: duplicates")
        return tuple(value)

    def keys(self) -> list[builtins.str]:
        self.used.update(self.data)
        return list(self.data)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise RulesError(f"{self.path}: unknown key(s) {unknown}")


def to_decimal(value: Any, where: str) -> Decimal:
    """Exact Decimal from a TOML string or int (a float goes through its shortest repr)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise RulesError(f"{where}: expected a decimal number")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise RulesError(f"{where}: not a decimal number: {value!r}") from None
    if not result.is_finite():
        raise RulesError(f"{where}: not finite")
    return result


def check_rate(rate: Any, bounds: RateRules) -> Decimal:
    """Validate a won-per-point rate against ``bounds``; returns it as Decimal."""
    value = to_decimal(rate, "rate")
    if not (bounds.min_exclusive < value <= bounds.max):
        raise RulesError(f"rate {value} outside ({bounds.min_exclusive}, {bounds.max}]")
    if value != value.quantize(Decimal(1).scaleb(-bounds.max_decimals)):
        raise RulesError(f"rate {value} has more than {bounds.max_decimals} decimals")
    return value


def build_rules(doc: Mapping[str, Any], source: str) -> Rules:
    root = _Section(doc, "rules")
    settings = root.sub("settings")
    resources = settings.str_list("resources")
    if not resources:
        raise RulesError("settings.resources: empty")

    rate = _rate(root.sub("rate"))
    tables_by_type = _member_types(root.sub("points_table_by_member_type"))
    commercial_standard = settings.bool("commercial_standard_usage")
    tables = _tables(root.sub("tables"), resources, commercial_standard)
    labels, default_type = _incentives(root.sub("incentive_types"))

    group = settings.str_list("standard_usage_group")
    if not group or any(level not in _GROUP_LEVELS for level in group):
        raise RulesError(f"settings.standard_usage_group: levels must be from {_GROUP_LEVELS}")

    rules = Rules(
        source=source,
        baseline_mode=settings.str("baseline_mode", _CHOICES["baseline_mode"]),
        baseline_history=settings.str("baseline_history", _CHOICES["baseline_history"]),
        fallback_scope=settings.str("fallback_scope", _CHOICES["fallback_scope"]),
        missing_actual=settings.str("missing_actual", _CHOICES["missing_actual"]),
        join_cutoff=settings.str("join_cutoff", _CHOICES["join_cutoff"]),
        resources=resources,
        excluded_electricity_tariffs=frozenset(settings.str_list("excluded_electricity_tariffs")),
        customer_number_formats=_formats(root.sub("customer_number_formats"), resources),
        maintenance_streak_scope=settings.str(
            "maintenance_streak_scope", _CHOICES["maintenance_streak_scope"]),
        maintenance_keeps_streak=settings.bool("maintenance_keeps_streak"),
        standard_usage_group=group,
        standard_usage_min_group=settings.int("standard_usage_min_group", low=1),
        standard_usage_requires_evaluation=settings.bool("standard_usage_requires_evaluation"),
        commercial_standard_usage=commercial_standard,
        stacking_from=settings.half("stacking_from"),
        rate=rate,
        rate_region=settings.str("rate_region", _CHOICES["rate_region"]),
        payout_month=_payout(root.sub("payout_month")),
        points_table_by_member_type=tables_by_type,
        tables=tables,
        incentive_types=labels,
        default_incentive_type=default_type,
        greenlife=_greenlife(root.sub("greenlife")),
    )
    settings.done()
    root.done()
    return rules


def _rate(sec: _Section) -> RateRules:
    bounds = RateRules(
        default=Decimal(0),
        min_exclusive=sec.decimal("min_exclusive"),
        max=sec.decimal("max"),
        max_decimals=sec.int("max_decimals", low=0, high=6),
    )
    if not (Decimal(0) <= bounds.min_exclusive < bounds.max):
        raise RulesError("rate: need 0 <= min_exclusive < max")
    default = check_rate(sec.decimal("default"), bounds)
    sec.done()
    return RateRules(default, bounds.min_exclusive, bounds.max, bounds.max_decimals)


def _member_types(sec: _Section) -> Mapping[str, str]:
    by_type: dict[str, str] = {}
    for table in sec.keys():
        if table not in _TABLES:
            raise RulesError(f"points_table_by_member_type: unknown table {table!r}")
        for member_type in sec.str_list(table):
            if member_type in by_type:
                raise RulesError(f"points_table_by_member_type: {member_type!r} in two tables")
            by_type[member_type] = table
    return MappingProxyType(by_type)


def _amounts(value: Any, where: str, resources: tuple[str, ...], required: bool) -> dict:
    sec = _Section(value, where)
    amounts = {}
    for resource in sec.keys():
        if resource not in resources:
            raise RulesError(f"{where}: unknown resource {resource!r}")
        amounts[resource] = sec.int(resource, low=0)
    if (required or amounts) and set(amounts) != set(resources):
        raise RulesError(f"{where}: needs an amount for each of {list(resources)}")
    return amounts


def _schedule(name: str, sec: _Section, resources: tuple[str, ...]) -> Schedule:
    raw_bands = sec._get("bands")
    if not isinstance(raw_bands, list) or not raw_bands:
        raise RulesError(f"{sec.path}.bands: expected a non-empty list")
    bands = []
    for i, raw in enumerate(raw_bands):
        where = f"{sec.path}.bands[{i}]"
        if not isinstance(raw, Mapping) or "min_rate" not in raw:
            raise RulesError(f"{where}: needs min_rate")
        min_rate = to_decimal(raw["min_rate"], f"{where}.min_rate")
        rest = {k: v for k, v in raw.items() if k != "min_rate"}
        points = _amounts(rest, where, resources, required=True)
        bands.append(Band(min_rate, MappingProxyType(points)))
    if bands[0].min_rate <= 0:
        raise RulesError(f"{sec.path}.bands: the lowest band must start above 0%")
    for lower, upper in zip(bands, bands[1:]):
        if upper.min_rate <= lower.min_rate:
            raise RulesError(f"{sec.path}.bands: min_rate must be strictly ascending")
        if any(upper.points[r] < lower.points[r] for r in resources):
            raise RulesError(f"{sec.path}.bands: points must not fall as the band rises")

    maintenance = _amounts(sec._get("maintenance"), f"{sec.path}.maintenance", resources, False)
    # Maintenance sits below the lowest band: paying more would reward using more.
    if any(maintenance[r] > bands[0].points[r] for r in maintenance):
        raise RulesError(f"{sec.path}.maintenance: exceeds the lowest band")
    schedule = Schedule(
        name=name,
        effective_from=sec.half("effective_from"),
        bands=tuple(bands),
        maintenance=MappingProxyType(maintenance),
        maintenance_min_streak=sec.int("maintenance_min_streak", low=0),
        standard_usage=MappingProxyType(
            _amounts(sec._get("standard_usage"), f"{sec.path}.standard_usage", resources, False)),
        cap_points_per_half=sec.int("cap_points_per_half", low=1),
        cap_won_per_year=sec.int("cap_won_per_year", low=1),
    )
    sec.done()
    return schedule


def _tables(sec: _Section, resources: tuple[str, ...], commercial_standard: bool) -> Mapping:
    tables = {}
    for name in sec.keys():
        if name not in _TABLES:
            raise RulesError(f"tables: unknown table {name!r}")
        table_sec = _Section(sec.data[name], f"tables.{name}")
        versions = table_sec.sub("schedules")
        schedules = sorted(
            (_schedule(v, versions.sub(v), resources) for v in versions.keys()),
            key=lambda s: s.effective_from,
        )
        if not schedules:
            raise RulesError(f"tables.{name}: no schedules")
        starts = [s.effective_from for s in schedules]
        if len(set(starts)) != len(starts):
            raise RulesError(f"tables.{name}: two schedules start in the same half")
        table_sec.done()
        offered = commercial_standard if name == "commercial" else True
        if offered and name == "commercial" and not schedules[-1].standard_usage:
            raise RulesError("commercial_standard_usage = true needs commercial standard_usage amounts")
        tables[name] = PointsTable(name, tuple(schedules), offered)
    missing = set(_TABLES) - set(tables)
    if missing:
        raise RulesError(f"tables: missing {sorted(missing)}")
    return MappingProxyType(tables)


def _formats(sec: _Section, resources: tuple[str, ...]) -> Mapping[str, str]:
    formats = {}
    for resource in resources:
        pattern = sec.str(resource)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise RulesError(f"customer_number_formats.{resource}: {exc}") from None
        formats[resource] = pattern
    sec.done()
    return MappingProxyType(formats)


def _payout(sec: _Section) -> Mapping[int, PayoutRule]:
    rules = {}
    for number in (1, 2):
        item = sec.sub(f"H{number}")
        rules[number] = PayoutRule(item.int("month", 1, 12), item.int("year_offset", 0, 5))
        item.done()
    sec.done()
    return MappingProxyType(rules)


def _incentives(sec: _Section) -> tuple[Mapping[str, str], str]:
    label_sec = sec.sub("labels")
    labels = {code: label_sec.str(code) for code in label_sec.keys()}
    default = sec.str("default")
    if default not in labels:
        raise RulesError(f"incentive_types.default: {default!r} has no label")
    sec.done()
    return MappingProxyType(labels), default


def _greenlife(sec: _Section) -> GreenlifeRules:
    items_sec = sec.sub("items")
    items = {}
    for code in items_sec.keys():
        item = items_sec.sub(code)
        won = item._get("won_per_unit", None)
        if won is not None and (isinstance(won, bool) or not isinstance(won, int) or won <= 0):
            raise RulesError(f"{item.path}.won_per_unit: expected a positive integer")
        parsed = GreenlifeItem(
            code=code, name=item.str("name"), won_per_unit=won, unit=item.str("unit"),
            enabled=item.bool("enabled"), accrued=item.bool("accrued", default=True),
        )
        if parsed.enabled and (won is None or not parsed.accrued):
            raise RulesError(f"{item.path}: an enabled item needs won_per_unit and accrued = true")
        item.done()
        items[code] = parsed
    caps_sec = sec.sub("item_caps")
    item_caps = {code: caps_sec.int(code, low=0) for code in caps_sec.keys()}
    if set(item_caps) - set(items):
        raise RulesError(f"greenlife.item_caps: unknown items {sorted(set(item_caps) - set(items))}")
    rules = GreenlifeRules(
        cap_won=sec.int("cap_won", low=1),
        bonus_won=sec.int("bonus_won", low=0),
        bonus_in_cap=sec.bool("bonus_in_cap"),
        confirm_day=sec.int("confirm_day", 1, 28),
        pay_from_day=sec.int("pay_from_day", 1, 28),
        excludes_seoul=sec.bool("excludes_seoul"),
        item_caps=MappingProxyType(item_caps),
        items=MappingProxyType(items),
    )
    if rules.pay_from_day < rules.confirm_day:
        raise RulesError("greenlife: pay_from_day before confirm_day")
    sec.done()
    return rules
