"""Phase 1 of a settlement: is a resource evaluated for a half, and with which B_H and A_H.

The DB-backed settlement calls :func:`evaluate_resource` for every member first, builds the
standard-usage groups from the evaluated actuals (:mod:`core.points.standard_usage`), then calls
:func:`core.points.award.compute_statement`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from core.points import reasons
from core.points.baseline import HalfActual, HalfBaseline, half_actual, half_baseline
from core.points.periods import Half
from core.points.standard_usage import GroupStats

if TYPE_CHECKING:
    from core.rules import Rules

BILLING_MODES = ("separate", "managed_fee", "not_used")  # spec §4 codes
ELECTRICITY = "electricity"


@dataclass(frozen=True)
class ResourceInput:
    """One registered resource of a member, for one half.

    readings: monthly usage {yyyymm: Decimal} of the supply point (or member, per
        rules.baseline_history), covering the half and the two years before it.
    registered_on: the day the resource was registered; None = registered long before.
    tariff: electricity tariff code (e.g. "agricultural"); checked against the excluded list.
    streak_before: reduction streak entering this half (per resource, or the household's when
        rules.maintenance_streak_scope == "household").
    group: the standard-usage group chosen by pick_standard_usage_group(); None = no test.
    join_month: yyyymm the member joined; needed only for baseline_mode fixed_at_join.
    baseline: half_baseline() of these readings for the half evaluated, when the caller has it
        already (batch work asks the engine several questions about the same readings); None
        computes it. Ignored for any other half.
    """

    resource: str
    readings: Mapping[int, Decimal] = field(default_factory=dict)
    billing_mode: str = "separate"
    registered_on: date | None = None
    tariff: str | None = None
    streak_before: int = 0
    group: GroupStats | None = None
    join_month: int | None = None
    baseline: HalfBaseline | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Evaluation:
    resource: str
    evaluated: bool
    reason: str | None                      # a reasons.NOT_EVALUATED code when not evaluated
    reason_params: Mapping[str, Any]
    baseline: HalfBaseline | None
    actual: HalfActual | None

    @property
    def actual_total(self) -> Decimal | None:
        """A_H when complete: what the settlement feeds into standard-usage groups."""
        return self.actual.total if self.actual else None


def is_registered_for_half(registered_on: date | None, half: Half, rules: Rules) -> bool:
    """join_cutoff = half_start: registered on or before the half's first day (spec E7)."""
    if rules.join_cutoff != "half_start":  # loader admits no other value
        raise ValueError(f"unsupported join_cutoff {rules.join_cutoff!r}")
    return registered_on is None or registered_on <= half.start


def check_input(item: ResourceInput, rules: Rules) -> None:
    if item.resource not in rules.resources:
        raise ValueError(f"unknown resource {item.resource!r}")
    if item.billing_mode not in BILLING_MODES:
        raise ValueError(f"unknown billing mode {item.billing_mode!r}")
    if isinstance(item.streak_before, bool) or not isinstance(item.streak_before, int) \
            or item.streak_before < 0:
        raise ValueError("streak_before must be a non-negative int")


def evaluate_resource(item: ResourceInput, half: Half, rules: Rules) -> Evaluation:
    """Eligibility, baseline and actual of one resource for ``half`` (spec §3.2, §4-§6).

    Reason precedence: RESOURCE_NOT_USED, EXCLUDED_TARIFF, NOT_REGISTERED_FOR_HALF, then the
    baseline (NO_BASELINE, ZERO_BASELINE), then ACTUAL_MONTH_MISSING (params: months, resource).
    The actual is computed even when the baseline fails, for standard_usage_requires_evaluation
    = false.
    """
    check_input(item, rules)

    def skipped(reason: str) -> Evaluation:
        return Evaluation(item.resource, False, reason, MappingProxyType({}), None, None)

    if item.billing_mode == "not_used":
        return skipped(reasons.RESOURCE_NOT_USED)
    if item.resource == ELECTRICITY and item.tariff in rules.excluded_electricity_tariffs:
        return skipped(reasons.EXCLUDED_TARIFF)
    if not is_registered_for_half(item.registered_on, half, rules):
        return skipped(reasons.NOT_REGISTERED_FOR_HALF)

    baseline = item.baseline if item.baseline is not None and item.baseline.half == half else \
        half_baseline(item.readings, half, rules, item.join_month)
    actual = half_actual(item.readings, half)
    reason, params = baseline.reason, {}
    if reason is None and not actual.complete:
        reason = reasons.ACTUAL_MONTH_MISSING
        params = {"months": actual.missing_months, "resource": item.resource}
    return Evaluation(item.resource, reason is None, reason, MappingProxyType(params),
                      baseline, actual)
