"""core.points.periods: halves and month helpers."""

from __future__ import annotations

from datetime import date

import pytest

from core.points.periods import (
    Half,
    add_months,
    int_to_month,
    month_first_day,
    month_last_day,
    month_of,
    month_to_int,
)
from core.rules import default_rules, load_rules


def test_parse_and_format():
    assert Half.parse("2026H1") == Half(2026, 1)
    assert Half.parse(" 2025h2 ") == Half(2025, 2)
    assert str(Half(2026, 1)) == "2026H1"
    assert Half.parse(Half(2025, 2)) == Half(2025, 2)


@pytest.mark.parametrize("typed,half", [("2026-H1", Half(2026, 1)), ("2026 h2", Half(2026, 2)),
                                        ("2026/H1", Half(2026, 1)), ("2026 상반기", Half(2026, 1)),
                                        ("2026년 하반기", Half(2026, 2)), ("2026하반기", Half(2026, 2))])
def test_parse_as_operators_write_a_half(typed, half):
    assert Half.parse(typed) == half


@pytest.mark.parametrize("bad", ["2026H3", "2026", "26H1", "2026-1", "2026 중반기", "", None, 2026])
def test_parse_rejects(bad):
    with pytest.raises(ValueError):
        Half.parse(bad)


def test_months_and_dates():
    h1, h2 = Half(2025, 1), Half(2025, 2)
    assert h1.months == (202501, 202502, 202503, 202504, 202505, 202506)
    assert h2.months == (202507, 202508, 202509, 202510, 202511, 202512)
    assert (h1.start, h1.end) == (date(2025, 1, 1), date(2025, 6, 30))
    assert (h2.start, h2.end) == (date(2025, 7, 1), date(2025, 12, 31))
    assert h1.contains(date(2025, 3, 20)) and not h1.contains(date(2025, 7, 1))
    assert Half.of_date(date(2025, 3, 20)) == h1 and Half.of_month(202507) == h2


def test_navigation_and_order():
    assert Half(2025, 1).previous() == Half(2024, 2)
    assert Half(2025, 2).previous() == Half(2025, 1)
    assert Half(2025, 2).next() == Half(2026, 1)
    assert Half(2025, 1).sibling() == Half(2025, 2)
    assert Half(2024, 2) < Half(2025, 1) < Half(2025, 2)


def test_payout_month_follows_rules():
    rules = default_rules()
    assert Half(2025, 1).payout_month(rules) == 202512
    assert Half(2025, 2).payout_month(rules) == 202606
    moved = load_rules(overrides={"payout_month.H2": {"month": 7, "year_offset": 1}})
    assert Half(2025, 2).payout_month(moved) == 202607


def test_month_helpers():
    assert month_to_int("2025-03") == 202503 and int_to_month(202503) == "2025-03"
    assert add_months(202511, 2) == 202601 and add_months(202501, -1) == 202412
    assert add_months(202506, -24) == 202306
    assert month_of(date(2025, 12, 31)) == 202512
    assert month_first_day(202502) == date(2025, 2, 1)
    assert month_last_day(202402) == date(2024, 2, 29)
    for bad in ("2025-13", "2025/03", "202503"):
        with pytest.raises(ValueError):
            month_to_int(bad)
    for bad in (202513, 202500, True, "202503"):
        with pytest.raises(ValueError):
            int_to_month(bad)
