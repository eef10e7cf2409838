"""Halves and months (spec §1).

Months are plain ints ``yyyymm`` (202503); ``"2025-03"`` is their text form. A :class:`Half` is
``YYYYH1`` (Jan-Jun) or ``YYYYH2`` (Jul-Dec). Pure: no clock, no time zone arithmetic (callers
pass dates already in Asia/Seoul).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # runtime import would cycle: core.rules stores Half values
    from core.rules import Rules

_HALF_RE = re.compile(r"^\s*(\d{4})\s*[-/. ]?\s*[Hh]\s*([12])\s*$")
# as operators write a half in Korean: "2026 상반기", "2026년 하반기"
_HALF_KO = re.compile(r"^\s*(\d{4})\s*년?\s*(상|하)\s*반기\s*$")
_MONTH_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


# --- months ---------------------------------------------------------------------------------

def check_month(yyyymm: int) -> int:
    """Return ``yyyymm`` unchanged if it is a valid month int, else raise ValueError."""
    if type(yyyymm) is int and 1 <= yyyymm % 100 <= 12 and 100 <= yyyymm <= 999999:
        return yyyymm  # the common case, checked first (the engine asks for months very often)
    if isinstance(yyyymm, bool) or not isinstance(yyyymm, int):
        raise ValueError(f"month must be an int yyyymm, got {yyyymm!r}")
    if not (1 <= yyyymm % 100 <= 12) or not (1 <= yyyymm // 100 <= 9999):
        raise ValueError(f"not a month: {yyyymm}")
    return yyyymm


def month_to_int(text: str) -> int:
    """``"2025-03"`` -> ``202503``."""
    m = _MONTH_RE.match(text)
    if not m:
        raise ValueError(f"month must look like YYYY-MM: {text!r}")
    return check_month(int(m.group(1)) * 100 + int(m.group(2)))


@lru_cache(maxsize=4096, typed=True)  # typed: 202503.0 is refused, never a cached 202503
def int_to_month(yyyymm: int) -> str:
    """``202503`` -> ``"2025-03"`` (cached: every view names the same few months)."""
    check_month(yyyymm)
    return f"{yyyymm // 100:04d}-{yyyymm % 100:02d}"


def month_of(day: date) -> int:
    return day.year * 100 + day.month


@lru_cache(maxsize=8192)
def add_months(yyyymm: int, n: int) -> int:
    """Month ``n`` months after (negative: before) ``yyyymm`` (cached: the engine asks for the
    same few months over and over)."""
    check_month(yyyymm)
    index = (yyyymm // 100) * 12 + (yyyymm % 100 - 1) + n
    return check_month((index // 12) * 100 + index % 12 + 1)


def month_first_day(yyyymm: int) -> date:
    check_month(yyyymm)
    return date(yyyymm // 100, yyyymm % 100, 1)


def month_last_day(yyyymm: int) -> date:
    check_month(yyyymm)
    year, month = divmod(yyyymm, 100)
    return date(year, month, calendar.monthrange(year, month)[1])


@lru_cache(maxsize=1024)
def _six_months(first: int) -> tuple[int, ...]:
    return tuple(first + i for i in range(6))


# --- halves ---------------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Half:
    """A performance half: ``Half(2025, 1)`` is ``2025H1``. Ordered chronologically."""

    year: int
    number: int  # 1 = Jan-Jun, 2 = Jul-Dec

    def __post_init__(self) -> None:
        if self.number not in (1, 2) or not (1 <= self.year <= 9999):
            raise ValueError(f"invalid half: {self.year}H{self.number}")

    @classmethod
    def parse(cls, text: str | Half) -> Half:
        """``"2026H1"`` (case-insensitive; also "2026-H1", "2026 상반기", "2026년 하반기") ->
        ``Half(2026, 1)``; a Half is returned as is."""
        if isinstance(text, Half):
            return text
        m = _HALF_RE.match(text) if isinstance(text, str) else None
        if m:
            return cls(int(m.group(1)), int(m.group(2)))
        m = _HALF_KO.match(text) if isinstance(text, str) else None
        if not m:
            raise ValueError(f"half must look like YYYYH1 or YYYYH2: {text!r}")
        return cls(int(m.group(1)), 1 if m.group(2) == "상" else 2)

    @classmethod
    def of_month(cls, yyyymm: int) -> Half:
        check_month(yyyymm)
        return cls(yyyymm // 100, 1 if yyyymm % 100 <= 6 else 2)

    @classmethod
    def of_date(cls, day: date) -> Half:
        return cls.of_month(month_of(day))

    def __str__(self) -> str:
        return f"{self.year}H{self.number}"

    @property
    def first_month(self) -> int:
        return self.year * 100 + (1 if self.number == 1 else 7)

    @cached_property  # in the instance's __dict__ (not a field: equality and order stay the year's and number's)
    def months(self) -> tuple[int, ...]:
        """The six months as yyyymm ints, in order."""
        return _six_months(self.first_month)

    @cached_property  # asked for every line's registration test
    def start(self) -> date:
        return month_first_day(self.first_month)

    @property
    def end(self) -> date:
        return month_last_day(self.months[-1])

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def previous(self) -> Half:
        return Half(self.year, 1) if self.number == 2 else Half(self.year - 1, 2)

    def next(self) -> Half:
        return Half(self.year, 2) if self.number == 1 else Half(self.year + 1, 1)

    def sibling(self) -> Half:
        """The other half of the same performance year (yearly won cap spans H1 + H2)."""
        return Half(self.year, 3 - self.number)

    def payout_month(self, rules: Rules) -> int:
        """Default payout month (yyyymm) per ``rules.payout_month`` (spec §8.3)."""
        rule = rules.payout_month[self.number]
        return (self.year + rule.year_offset) * 100 + rule.month
