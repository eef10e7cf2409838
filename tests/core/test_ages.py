"""Ages as people state them (core.ages): only what the text settles is decided."""
from __future__ import annotations

from datetime import date

import pytest

from core.ages import SELF_CONSENT_AGE, AgeRange, stated_age

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize("typed,settled", [
    ("15살이에요", None),          # maybe counted the traditional way: 13 to 15 in full years
    ("14살", None),
    ("16살이요", True),
    ("13살이에요", False),
    ("만 14세", True),
    ("만 13세예요", False),
    ("만 15살", True),
    ("열다섯 살", None),
    ("스무 살이에요", True),
    ("서른두살", True),
    ("열두 살", False),
    ("30대예요", True),
    ("10대", None),
    ("1990년생이에요", True),
    ("90년생", True),
    ("2013년생", False),
    ("2012년생이요", None),       # 13 or 14, by the birthday
    ("2012년 3월 5일생", None),
    ("네 14살 넘어요", True),
    ("14세 이상이에요", True),
    ("14세 미만", False),
    ("14살 안 됐어요", False),
    ("아직 14살 안 넘었어요", False),
    ("１６살", True),
])
def test_what_a_typed_age_settles(typed, settled):
    age = stated_age(typed, TODAY)
    assert age is not None
    assert age.settles(SELF_CONSENT_AGE) is settled


@pytest.mark.parametrize("typed", ["네", "홍길동", "3세대가 같이 살아요", "", "2030년생", "999살"])
def test_no_age_stated(typed):
    assert stated_age(typed, TODAY) is None


def test_the_range_of_a_birth_year():
    assert stated_age("1990년생", TODAY) == AgeRange(35, 36)
