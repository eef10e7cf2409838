"""Member numbers as typed (core.member_link): the index's form, and the one number of a sentence."""
from __future__ import annotations

import pytest

from core.member_link import member_no_in_text, typed_member_no


@pytest.mark.parametrize("typed", ["GG-2019-000123", "gg 2019 000123", "ＧＧ－２０１９－０００１２３", "GG.2019.000123"])
def test_the_index_form(typed):
    assert typed_member_no(typed) == "GG2019000123"


@pytest.mark.parametrize("typed,found", [
    ("제 회원번호는 GG-2019-000123이에요", "GG2019000123"), ("회원번호 gg2019000123", "GG2019000123"),
    ("GG 2019 000123 입니다", "GG2019000123"), ("번호는 2019000123요", "2019000123"),
    ("GG-2019-000123이랑 SN-2020-000777", None), ("회원번호 몰라요", None),
])
def test_the_one_member_number_of_a_sentence(typed, found):
    assert member_no_in_text(typed) == found
