"""core.local_governments: address parsing, Seoul, matching by prefix, the seed file loader."""
from __future__ import annotations

import pytest

from core.local_governments import (
    LocalGovernmentDataError,
    address_in_sentence,
    default_local_governments,
    household_key,
    infer_sido,
    looks_complete,
    match_local_government,
    mentions_seoul,
    normalise_unit,
    parse_address,
    parse_unit,
    read_local_governments,
    respell_address,
    seed_local_governments,
)
from core.models import LocalGovernment


@pytest.mark.parametrize("typed,base,detail", [
    ("경기도 수원시 영통구 예시로 123 101동 1203호", "경기도 수원시 영통구 예시로 123", "101동 1203호"),
    ("경기 수원시 영통구 예시로 123-4, 101동 1203호 (영통동)", "경기도 수원시 영통구 예시로 123-4", "101동 1203호"),
    ("경기도 수원시 영통구 영통동 1012-1 101-1203", "경기도 수원시 영통구 영통동 1012-1", "101-1203"),
    ("부산 해운대구 중앙로12번길 34 2층 201호", "부산광역시 해운대구 중앙로12번길 34", "2층 201호"),
    ("세종 한누리대로 2130", "세종특별자치시 한누리대로 2130", ""),
    ("강원도 춘천시 중앙로 1", "강원특별자치도 춘천시 중앙로 1", ""),
    # Road names that end in a digit before 로/길 are real (세종 도움3로, 제주 1100로).
    ("세종특별자치시 도움3로 105-1 101동 1203호", "세종특별자치시 도움3로 105-1", "101동 1203호"),
    ("제주특별자치도 제주시 1100로 3190", "제주특별자치도 제주시 1100로 3190", ""),
])
def test_addresses_are_split_into_a_canonical_base_and_the_unit(typed, base, detail):
    parsed = parse_address(typed)
    assert (parsed.base, parsed.detail) == (base, detail)
    assert looks_complete(parsed)


@pytest.mark.parametrize("typed", ["그냥 우리집이요", "서울 사는데요", "123", ""])
def test_text_that_is_not_an_address(typed):
    assert parse_address(typed) is None


def test_seoul_spellings():
    assert all(mentions_seoul(t) for t in ("서울 중구", "서울시 강남구", "서울특별시 중구 세종대로 110", "서울특별시중구"))
    assert not mentions_seoul("경기도 수원시") and parse_address("서울시 중구 세종대로 110").is_seoul


def test_unit_spellings_give_one_household():
    same = {normalise_unit(u) for u in ("101동 1203호", "101-1203", "101동1203호", "제101동 제1203호")}
    assert same == {"101-1203"}
    a = household_key(parse_address("경기도 수원시 영통구 예시로 123 101동 1203호"))
    b = household_key(parse_address("경기 수원시 영통구 예시로 123, 101-1203"))
    assert a == b


@pytest.mark.parametrize("typed,unit", [
    ("1203호", "1203호"), ("1203", "1203호"), ("101-1203", "101동 1203호"), ("101동 1203호", "101동 1203호"),
    ("101동1203호", "101동 1203호"), ("101 동 1203 호", "101동 1203호"), ("제101동 제1203호", "101동 1203호"),
    ("2층 201호", "2층 201호"), ("101동 2층 201호", "101동 2층 201호"), ("\uff11\uff12\uff10\uff13호", "1203호"),
    ("A동 101호", "A동 101호"), ("101동", "101동"), ("B1층", "B1층"), ("1203호요", "1203호"),
    ("101동 1203호입니다", "101동 1203호"),
])
def test_units_typed_on_their_own_take_one_spelling(typed, unit):
    assert parse_unit(typed) == unit
    assert normalise_unit(parse_unit(typed)) == normalise_unit(unit)


@pytest.mark.parametrize("typed", ["모르겠어요", "우리집", "", "동", "900101-1234567", "101동 1203호 옆집"])
def test_text_that_is_not_a_unit(typed):
    assert parse_unit(typed) is None


def test_matching_by_longest_prefix_and_inferring_the_sido(db):
    with db.transaction() as s:
        inserted, updated = seed_local_governments(s)
        assert inserted == len(default_local_governments()) and updated == 0
        assert seed_local_governments(s) == (0, 0)  # idempotent
        assert match_local_government(s, parse_address("경기 수원시 영통구 예시로 123")).code == "41117"
        assert match_local_government(s, parse_address("세종시 한누리대로 2130")).code == "36110"
        assert match_local_government(s, parse_address("경기도 수원시 예시로 123")) is None  # no 구: unknown
        assert match_local_government(s, parse_address("전라남도 순천시 중앙로 1")) is None
        partial = parse_address("수원시 영통구 예시로 123")
        assert partial.sido is None and not looks_complete(partial)
        full = infer_sido(s, partial)
        assert full.base == "경기도 수원시 영통구 예시로 123" and looks_complete(full)
        lg = s.get(LocalGovernment, "50130")
        assert lg.won_per_point == 1 and "제주 서귀포시" in lg.address_prefixes


@pytest.mark.parametrize("typed,written", [
    ("경기도수원시영통구예시로123", "경기도 수원시 영통구 예시로123"),      # no spaces at all
    ("수원 영통구 예시로 123", "경기도 수원시 영통구 예시로 123"),          # the city's 시 left out
    ("영통구 예시로 123", "경기도 수원시 영통구 예시로 123"),               # a 구 the country has once
    ("포항 남구 대이로 1", "경상북도 포항시 남구 대이로 1"),
    ("부산 중구 중앙대로 1", "부산광역시 중구 중앙대로 1"),                # 중구 of the 시/도 typed
    ("화성 봉담읍 동화길 1", "경기도 화성시 봉담읍 동화길 1"),
    ("강원 고성 간성읍 간성로 1", "강원특별자치도 고성군 간성읍 간성로 1"),
    ("제주시 연동 1", "제주특별자치도 제주시 연동 1"),
    ("부산 해운대 해운대로 1", "부산광역시 해운대구 해운대로 1"),   # a 구 without its 구
    # left as typed: six 시/도 have a 중구, two a 고성군; roads whose names start like a place
    ("중구 세종대로 110", "중구 세종대로 110"),
    ("고성 간성로 1", "고성 간성로 1"),
    ("화성로 12", "화성로 12"),
    ("영통구청로 12", "영통구청로 12"),
])
def test_an_address_typed_short_or_glued_is_written_out(db, typed, written):
    from core.sigungu import load_sigungu

    with db.transaction() as s:
        seed_local_governments(s)
        load_sigungu(s)
        assert respell_address(s, typed) == written
        if written != typed:
            assert looks_complete(parse_address(written))


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_returned():
    text = """# comment
code,sido,name,prefixes,won_per_point,incentive_types,payout_month_h1,payout_month_h2,contact
41117,경기도,수원시 영통구,,2,cash|donation,12,6,
4111,경기도,x,,2,cash,12,6,
41118,경기돈,수원시,,3,cash|lottery,13,6,
41117,경기도,수원시 영통구,,2,cash,12,6,
"""
    with pytest.raises(LocalGovernmentDataError) as err:
        read_local_governments(text)
    joined = " | ".join(err.value.errors)
    assert "line 4: code '4111'" in joined
    assert "line 5: sido" in joined and "line 5: won_per_point" in joined and "line 5: unknown incentive types" in joined
    assert "line 5: payout_month_h1" in joined and "line 6: code 41117 repeated" in joined


@pytest.mark.parametrize("typed,address", [
    ("경기도 수원시 영통구 예시로 123 이에요", "경기도 수원시 영통구 예시로 123"),
    ("경기도 수원시 영통구 예시로 123이요", "경기도 수원시 영통구 예시로 123"),
    ("주소는 경기도 수원시 영통구 예시로 123", "경기도 수원시 영통구 예시로 123"),
    ("새 주소: 부산 해운대구 해운대로 1", "부산 해운대구 해운대로 1"),
    ("경기 성남시 분당구 판교역로 235로 이사했어요", "경기 성남시 분당구 판교역로 235"),
    ("우리 집은 경기도 수원시 영통구 예시로 123 101동 1203호에 살고 있어요.", "경기도 수원시 영통구 예시로 123 101동 1203호"),
    ("경기도 수원시 영통구 예시로 123 101동 1203호요", "경기도 수원시 영통구 예시로 123 101동 1203호"),
    ("경기도 수원시 영통구 영통동 1000-1번지예요", "경기도 수원시 영통구 영통동 1000-1번지"),
    ("경기도 수원시 영통구 매탄로 12", "경기도 수원시 영통구 매탄로 12"),    # a road's 로 stays
    ("  경기도  수원시 영통구 예시로 123 ", "경기도 수원시 영통구 예시로 123"),
])
def test_an_address_typed_in_a_sentence(typed, address):
    assert address_in_sentence(typed) == address
