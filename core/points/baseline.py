"""Baselines, actuals and reduction rates for one resource (spec §5, §6, §10).

Inputs are plain mappings ``{yyyymm: Decimal}`` of monthly usage for one supply point (or member,
per ``rules.baseline_history``; the caller chooses which readings to pass). Absent key = no reading.

Exactness. Decisions use exact rational arithmetic; no rounded value ever drives a decision.
- ``B(m)`` from two years is ``(a + b) / 2``: always a terminating decimal, exact.
- Missing months are filled with the exact mean ``S / k`` of the ``k`` available ``B(m)`` of the half
  (``S`` their sum), so ``B_H = S + (6 - k) * S / k = S * 6 / k``. As ``6 / k`` is one of
  6, 3, 2, 1.5, 1.2, 1, ``B_H`` is always an exact Decimal.
- The fill value reported per month is ``S / k`` exactly when it terminates; when it does not
  (only possible for k = 3) it is rounded half-even to ``FILL_DISPLAY_PLACES`` (4) decimals for
  display. Totals never add up displayed fills: they use the exact value.
- Reduction rates are Decimals at 28 significant digits (Decimal's default context): exact whenever
  the rate terminates, otherwise display-only. Band tests cross-multiply (:func:`meets_rate`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal, Inexact, localcontext
from fractions import Fraction
from functools import lru_cache
from math import gcd
from typing import TYPE_CHECKING

from core.points import reasons
from core.points.periods import Half, add_months, check_month

if TYPE_CHECKING:
    from core.rules import Rules

Readings = Mapping[int, Decimal]
Number = Decimal | Fraction | int

FILL_DISPLAY_PLACES = 4
_WIDE_LIMIT = 10 ** 80   # to_decimal divides at 80 digits
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[Inexact])  # sums never round
HUNDRED = 100

# Where a month's baseline came from.
SOURCE_TWO_YEARS = "two_years"
SOURCE_ONE_YEAR = "one_year"      # one-year fallback (spec §5 rule 1)
SOURCE_FILLED = "filled"          # mean of the half's available months (rule 3)


@dataclass(frozen=True)
class MonthBaseline:
    month: int                    # yyyymm in the evaluated half
    value: Decimal                # B(m); for filled months see FILL_DISPLAY_PLACES
    source: str                   # SOURCE_*
    reference_months: tuple[int, int]  # the two earlier months looked at (nearer first)


@dataclass(frozen=True)
class HalfBaseline:
    half: Half
    months: tuple[MonthBaseline, ...]   # empty when reason is NO_BASELINE
    total: Decimal | None               # exact B_H; None when NO_BASELINE
    reason: str | None                  # None, NO_BASELINE or ZERO_BASELINE
    fill_exact: Fraction | None = field(default=None, repr=False)  # exact S / k when any filled

    @property
    def evaluable(self) -> bool:
        return self.reason is None

    @property
    def filled_months(self) -> tuple[int, ...]:
        return tuple(m.month for m in self.months if m.source == SOURCE_FILLED)

    @property
    def fallback_months(self) -> tuple[int, ...]:
        return tuple(m.month for m in self.months if m.source == SOURCE_ONE_YEAR)

    def exact_value(self, month: int) -> Fraction:
        """Exact B(m) for a month of the half (fills not rounded)."""
        for item in self.months:
            if item.month == month:
                if item.source == SOURCE_FILLED:
                    if self.fill_exact is None:  # half_baseline sets it whenever it fills a month
                        raise ValueError(f"{month} is filled but the baseline has no exact fill")
                    return self.fill_exact
                return Fraction(item.value)
        raise KeyError(month)

    def exact_ratio(self, month: int) -> tuple[int, int]:
        """:meth:`exact_value` as (numerator, denominator) with a positive denominator, not
        necessarily reduced (no Fraction built: the projection asks for it per unread month)."""
        for item in self.months:
            if item.month == month:
                if item.source == SOURCE_FILLED:
                    if self.fill_exact is None:
                        raise ValueError(f"{month} is filled but the baseline has no exact fill")
                    return self.fill_exact.numerator, self.fill_exact.denominator
                return item.value.as_integer_ratio()
        raise KeyError(month)

    def exact_sum(self, months: Iterable[int]) -> Fraction:
        """Exact Σ B(m) over some months of the half (fills not rounded); equals the sum of
        :meth:`exact_value`, with one rational conversion instead of one a month."""
        wanted = set(months)
        total, fills = Decimal(0), 0
        for item in self.months:
            if item.month in wanted:
                wanted.discard(item.month)
                if item.source == SOURCE_FILLED:
                    fills += 1
                else:
                    total = _EXACT.add(total, item.value)
        if wanted:
            raise KeyError(min(wanted))
        if not fills:
            return Fraction(total)
        if self.fill_exact is None:
            raise ValueError("a month is filled but the baseline has no exact fill")
        return Fraction(total) + fills * self.fill_exact


@dataclass(frozen=True)
class HalfActual:
    half: Half
    total: Decimal | None               # A_H; None when a month is missing
    missing_months: tuple[int, ...]     # yyyymm, in order

    @property
    def complete(self) -> bool:
        return not self.missing_months


@dataclass(frozen=True)
class HalfToDate:
    """Provisional half-to-date result for monthly results (spec §10)."""

    half: Half
    through_month: int
    months_with_data: tuple[int, ...]
    missing_months: tuple[int, ...]     # months <= through_month without an actual reading
    baseline: Decimal | None            # Σ B(m) over months_with_data (display precision)
    actual: Decimal                     # Σ U(m, Y) over months_with_data
    rate: Decimal | None                # r_td in percent; None when not computable
    reason: str | None                  # NO_BASELINE | ZERO_BASELINE | None
    baseline_exact: Fraction | None = field(default=None, repr=False)


# --- small helpers --------------------------------------------------------------------------

def exact_total(values: Iterable[Decimal]) -> Decimal:
    """Σ of Decimals that never rounds (Decimal's default context keeps 28 digits)."""
    total = Decimal(0)
    for v in values:
        total = _EXACT.add(total, v)
    return total


def usage(value: object, where: str = "usage") -> Decimal:
    """Check a reading: a non-negative Decimal or int (floats are refused, never rounded)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{where}: expected Decimal or int, got {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite() or value < 0:
        raise ValueError(f"{where}: usage must be a finite non-negative number, got {value}")
    return value


def _reading(readings: Readings, month: int) -> Decimal | None:
    value = readings.get(month)
    if value is None:
        return None
    if type(value) is Decimal and value.is_finite() and value >= 0:
        return value  # the common case, without building the error's label
    return usage(value, f"reading {month}")


def _terminates(fr: Fraction) -> bool:
    return _terminating_denominator(fr.denominator)


def _terminating_denominator(den: int) -> bool:
    for p in (2, 5):
        while den % p == 0:
            den //= p
    return den == 1


def to_decimal(fr: Fraction, places: int = FILL_DISPLAY_PLACES) -> Decimal:
    """Exact Decimal of a terminating fraction, else rounded half-even to ``places``."""
    return ratio_to_decimal(fr.numerator, fr.denominator, places)


def ratio_to_decimal(num: int, den: int, places: int = FILL_DISPLAY_PLACES) -> Decimal:
    """:func:`to_decimal` of the fraction ``num / den`` given in lowest terms (``den`` > 0),
    without building a Fraction."""
    if den == 1 and abs(num) < _WIDE_LIMIT:  # n / 1 at 80 digits is n, exactly
        return Decimal(num)
    with localcontext() as ctx:
        ctx.prec = 80
        value = Decimal(num) / Decimal(den)
        if _terminating_denominator(den):
            return value
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


# --- baseline (§5) --------------------------------------------------------------------------

def reference_months(month: int, rules: Rules, join_month: int | None = None) -> tuple[int, int]:
    """The two earlier months whose usage forms B(month), nearer first.

    rolling: the same month one and two years before. fixed_at_join: the two occurrences of the
    same calendar month within the 24 months before ``join_month`` (same for every half).
    """
    return reference_months_by_mode(check_month(month), rules.baseline_mode, join_month)


@lru_cache(maxsize=4096)
def reference_months_by_mode(month: int, mode: str, join_month: int | None) -> tuple[int, int]:
    if mode == "rolling":
        return add_months(month, -12), add_months(month, -24)
    if join_month is None:
        raise ValueError("baseline_mode fixed_at_join needs join_month")
    nearer = add_months(join_month, -1)
    while nearer % 100 != month % 100:
        nearer = add_months(nearer, -1)
    return nearer, add_months(nearer, -12)


def monthly_baseline(readings: Readings, month: int, rules: Rules,
                     join_month: int | None = None) -> tuple[Decimal | None, str | None]:
    """B(m) and its source: mean of two years, one-year fallback, or (None, None) if missing."""
    values = [v for m in reference_months(month, rules, join_month)
              if (v := _reading(readings, m)) is not None]
    if len(values) == 2:
        return (values[0] + values[1]) / 2, SOURCE_TWO_YEARS  # /2 always terminates: exact
    if len(values) == 1:
        return values[0], SOURCE_ONE_YEAR
    return None, None


@lru_cache(maxsize=1024)
def _half_references(half: Half, mode: str, join_month: int | None) -> tuple[tuple[int, tuple[int, int]], ...]:
    """(month, its reference months) for the six months of a half."""
    return tuple((m, reference_months_by_mode(check_month(m), mode, join_month)) for m in half.months)


def half_baseline(readings: Readings, half: Half, rules: Rules,
                  join_month: int | None = None) -> HalfBaseline:
    """B_H per spec §5 with per-month fallback and mean fill; NO_BASELINE / ZERO_BASELINE.
    B(m) as :func:`monthly_baseline` gives it, written out here (the hot path of every batch)."""
    known: dict[int, tuple[Decimal, str, tuple[int, int]]] = {}
    get = readings.get
    for month, refs in _half_references(half, rules.baseline_mode, join_month):
        nearer, earlier = get(refs[0]), get(refs[1])
        if nearer is not None and not (type(nearer) is Decimal and nearer.is_finite() and nearer >= 0):
            nearer = usage(nearer, f"reading {refs[0]}")
        if earlier is not None and not (type(earlier) is Decimal and earlier.is_finite() and earlier >= 0):
            earlier = usage(earlier, f"reading {refs[1]}")
        if nearer is not None and earlier is not None:
            known[month] = ((nearer + earlier) / 2, SOURCE_TWO_YEARS, refs)  # /2 terminates: exact
        elif nearer is not None or earlier is not None:
            known[month] = (nearer if nearer is not None else earlier, SOURCE_ONE_YEAR, refs)  # type: ignore[assignment]
    if not known:
        return HalfBaseline(half, (), None, reasons.NO_BASELINE)

    available_sum = sum((v for v, _, _ in known.values()), Decimal(0))
    k = len(known)
    # to_decimal(Fraction(available_sum) * 6 / k), always terminating: exact; the fraction
    # reduced in integers (the hot path of every batch)
    n, d = available_sum.as_integer_ratio()
    g = gcd(6 * n, d * k)
    total = ratio_to_decimal(6 * n // g, d * k // g)
    if k == 6:
        months = tuple(MonthBaseline(m, v, source, refs) for m, (v, source, refs) in known.items())
        fill = None
    else:
        fill = Fraction(available_sum) / k
        shown = to_decimal(fill)
        months = tuple(
            MonthBaseline(m, known[m][0], known[m][1], refs) if m in known else
            MonthBaseline(m, shown, SOURCE_FILLED, refs)
            for m, refs in _half_references(half, rules.baseline_mode, join_month)
        )
    reason = reasons.ZERO_BASELINE if total == 0 else None
    return HalfBaseline(half, months, total, reason, fill)


# --- actual and rate (§6) -------------------------------------------------------------------

def half_actual(readings: Readings, half: Half) -> HalfActual:
    """A_H, or the missing months (missing_actual = not_evaluated)."""
    total, missing, get = Decimal(0), None, readings.get
    for m in half.months:
        v = get(m)
        if v is None:
            missing = (missing or []) + [m]
            continue
        if not (type(v) is Decimal and v.is_finite() and v >= 0):
            v = usage(v, f"reading {m}")
        total += v
    if missing:
        return HalfActual(half, None, tuple(missing))
    return HalfActual(half, total, ())


def reduction_rate(baseline: Number, actual: Number) -> Decimal:
    """r = (B - A) / B * 100 as a Decimal (28 significant digits; display and reporting only)."""
    # Exact in integers: (B - A) * 100 / B = 100 (bn ad - an bd) / (ad bn). A correctly rounded
    # Decimal quotient does not depend on the fraction being reduced first.
    bn, bd = baseline.as_integer_ratio()
    an, ad = actual.as_integer_ratio()
    if bn == 0:
        raise ZeroDivisionError("reduction rate of a zero baseline")
    return Decimal(HUNDRED * (bn * ad - an * bd)) / Decimal(ad * bn)


def meets_rate(baseline: Number, actual: Number, min_rate: Number) -> bool:
    """Exact band test ``r >= min_rate  <=>  100 * (B - A) >= min_rate * B`` (B > 0)."""
    # In integers (denominators are positive): 100 (bn ad - an bd) kd >= kn bn ad.
    bn, bd = baseline.as_integer_ratio()
    an, ad = actual.as_integer_ratio()
    kn, kd = min_rate.as_integer_ratio()
    if bn <= 0:
        raise ValueError("band test needs a positive baseline")
    return HUNDRED * (bn * ad - an * bd) * kd >= kn * bn * ad


def truncate_rate(rate: Decimal) -> Decimal:
    """Display form: truncated toward zero to 2 decimals (4.9917 -> 4.99, -5.009 -> -5.00)."""
    return rate.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def format_rate(rate: Decimal) -> str:
    return f"{truncate_rate(rate):.2f}"


# --- monthly results (§10) ------------------------------------------------------------------

def half_to_date(readings: Readings, half: Half, rules: Rules, through_month: int | None = None,
                 join_month: int | None = None, baseline: HalfBaseline | None = None) -> HalfToDate:
    """Half-to-date rate over months of ``half`` up to ``through_month`` having actual data.

    The rate is provisional (예상); only the settled half pays. Missing months are named.
    ``baseline``: :func:`half_baseline` of the same readings, when the caller has it already.
    """
    last = half.months[-1] if through_month is None else check_month(through_month)
    considered = [m for m in half.months if m <= last]
    read = {m: v for m in considered if (v := _reading(readings, m)) is not None}
    with_data = tuple(read)
    missing = tuple(m for m in considered if m not in read)
    actual = sum(read.values(), Decimal(0))
    base = baseline if baseline is not None and baseline.half == half else \
        half_baseline(readings, half, rules, join_month)
    if base.reason == reasons.NO_BASELINE:
        return HalfToDate(half, last, with_data, missing, None, actual, None, base.reason)
    if not with_data:  # nothing to compare yet
        return HalfToDate(half, last, with_data, missing, None, actual, None, None)
    exact = base.exact_sum(with_data)
    if exact == 0:
        return HalfToDate(half, last, with_data, missing, to_decimal(exact), actual, None,
                          reasons.ZERO_BASELINE, exact)
    return HalfToDate(half, last, with_data, missing, to_decimal(exact), actual,
                      reduction_rate(exact, actual), None, exact)
