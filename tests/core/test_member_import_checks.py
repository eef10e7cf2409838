"""The member import's fast paths answer as the checks they stand in for (core.members)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.member_import import MEMBER_HEADER, _account, _mobile, has_rrn, rrn_columns
from core.members import InvalidValue, normalise_account_number, normalise_mobile

# What an RRN search trips on: digits of several scripts, dots, dashes of several kinds, spaces,
# circled and full-width forms that NFKC turns into digits, Hangul syllables and jamo, NUL.
_CHARS = st.sampled_from(list("0123456789-. \t") + ["\uff10", "\uff15", "\u2460", "\u0661", "\u2013", "\uff0d",
                                                      "\u3000", "\u00a0", "\uac00", "\u3131", "\u1100", "\u0301",
                                                      "\x00", "a"])
_CELL = st.text(_CHARS, max_size=24) | st.sampled_from(
    ["900101-1234567", "９００１０１－１２３４５６７", "900101.1234567", "900101 - 1234567", "①900101-1234567",
     "9001011234567", "19001011234567", "1002-000000003"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_CELL, min_size=len(MEMBER_HEADER), max_size=len(MEMBER_HEADER)))
def test_the_rrn_columns_are_the_cells_has_rrn_finds(cells):
    values = dict(zip(MEMBER_HEADER, (c.strip() for c in cells)))
    expected = [c for c in MEMBER_HEADER if has_rrn(values[c])]
    seen: dict[str, bool] = {}
    assert rrn_columns(values) == expected
    assert rrn_columns(values, seen) == expected and rrn_columns(values, seen) == expected  # cached alike


def _answer(check, value):
    try:
        return check(value)
    except InvalidValue:
        return "invalid"


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("0123456789-+ .()")), max_size=16)
       | st.from_regex(r"01[016789]-?[0-9]{3,4}-?[0-9]{4}", fullmatch=True))
def test_plain_mobile_numbers_as_normalise_mobile(value):
    assert _answer(_mobile, value) == _answer(normalise_mobile, value)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("0123456789-. ")), max_size=18)
       | st.from_regex(r"[0-9]{2,6}(-[0-9]{2,8}){0,3}", fullmatch=True))
def test_plain_account_numbers_as_normalise_account_number(value):
    if rrn_columns({c: value if c == "account" else "" for c in MEMBER_HEADER}):
        return  # _account is only asked for rows without an RRN
    assert _answer(_account, value) == _answer(normalise_account_number, value)


@pytest.mark.parametrize("typed", ["010-1234-5678", "01012345678", "010-123-4567", "0101234-5678"])
def test_usual_mobile_spellings(typed):
    assert _mobile(typed) == normalise_mobile(typed)
