"""core.sigungu: the shipped list of every 시·군·구 matches the source's totals and known codes;
loading it lets any address outside Seoul find its 시·군·구, 일반구 mapped to their 시."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.local_governments import (
    LocalGovernmentDataError,
    match_local_government,
    parse_address,
    read_local_governments,
    seed_local_governments,
)
from core.models import LocalGovernment
from core.sigungu import (
    SIGUNGU_FILE,
    load_sigungu,
    programme_code,
    read_sigungu,
    shipped_sigungu,
    sigungu_by_code,
    totals_per_sido,
)

BEFORE = date(2026, 6, 30)  # the day before 인천's reorganisation
AFTER = date(2026, 7, 1)

# MOIS 행정구역 현황: 자치구·시·군 per 시/도 (세종 and 제주's 행정시 are not 자치 시·군·구).
SOURCE_TOTALS = {
    "서울특별시": 25, "부산광역시": 16, "대구광역시": 9, "인천광역시": 10, "광주광역시": 5,
    "대전광역시": 5, "울산광역시": 5, "경기도": 31, "강원특별자치도": 18, "충청북도": 11,
    "충청남도": 15, "전북특별자치도": 14, "전라남도": 22, "경상북도": 22, "경상남도": 18,
}


def test_totals_per_sido_match_the_source():
    assert totals_per_sido(BEFORE) == SOURCE_TOTALS
    assert sum(totals_per_sido(BEFORE).values()) == 226
    after = dict(SOURCE_TOTALS, 인천광역시=11)  # 2군 8구 -> 2군 9구
    assert totals_per_sido(AFTER) == after
    assert sum(after.values()) == 227


def test_national_totals_by_kind():
    def count(kind, day):
        return sum(1 for s in shipped_sigungu() if s.kind == kind and s.valid_on(day))
    assert (count("si", BEFORE), count("gun", BEFORE), count("gu", BEFORE)) == (75, 82, 69)
    assert count("gu", AFTER) == 70
    assert count("ilban_gu", date(2025, 1, 1)) == 35  # 부천 3 reinstated in 2024
    assert count("ilban_gu", AFTER) == 39  # 화성 4 from 2026-02-01
    assert (count("special_si", AFTER), count("admin_si", AFTER)) == (1, 2)


@pytest.mark.parametrize("code,sido,name", [
    ("11110", "서울특별시", "종로구"),
    ("26440", "부산광역시", "강서구"),
    ("11500", "서울특별시", "강서구"),
    ("27720", "대구광역시", "군위군"),
    ("28125", "인천광역시", "제물포구"),
    ("28155", "인천광역시", "영종구"),
    ("28275", "인천광역시", "서해구"),
    ("28290", "인천광역시", "검단구"),
    ("29200", "광주광역시", "광산구"),
    ("36110", "세종특별자치시", "세종특별자치시"),
    ("41111", "경기도", "수원시 장안구"),
    ("41192", "경기도", "부천시 원미구"),
    ("41597", "경기도", "화성시 동탄구"),
    ("43113", "충청북도", "청주시 흥덕구"),
    ("47111", "경상북도", "포항시 남구"),
    ("48121", "경상남도", "창원시 의창구"),
    ("50130", "제주특별자치도", "서귀포시"),
    ("51820", "강원특별자치도", "고성군"),
    ("48820", "경상남도", "고성군"),
    ("52111", "전북특별자치도", "전주시 완산구"),
])
def test_known_codes(code, sido, name):
    unit = sigungu_by_code()[code]
    assert (unit.sido, unit.name) == (sido, name)


@pytest.mark.parametrize("gu,si", [
    ("41111", "41110"), ("41115", "41110"), ("41135", "41130"), ("41171", "41170"), ("41196", "41190"),
    ("41273", "41270"), ("41287", "41280"), ("41465", "41460"), ("41591", "41590"), ("43114", "43110"),
    ("44133", "44130"), ("47113", "47110"), ("48129", "48120"), ("52113", "52110"),
])
def test_general_gu_map_to_the_city_that_runs_the_programme(gu, si):
    assert sigungu_by_code()[gu].kind == "ilban_gu"
    assert programme_code(gu) == si
    assert programme_code(si) == si


def test_incheon_reorganisation_dates():
    units = sigungu_by_code()
    for old in ("28110", "28140", "28260"):
        assert units[old].valid_on(BEFORE) and not units[old].valid_on(AFTER)
    for new in ("28125", "28155", "28275", "28290"):
        assert units[new].valid_on(AFTER) and not units[new].valid_on(BEFORE)


def test_seoul_is_eco_mileage_and_nothing_else_is():
    seoul = [s for s in shipped_sigungu() if s.sido == "서울특별시"]
    assert len(seoul) == 25 and all(s.scheme == "ecomileage" for s in seoul)
    assert all(s.scheme == "energy" for s in shipped_sigungu() if s.sido != "서울특별시")


def test_the_file_records_its_source_and_date():
    head = SIGUNGU_FILE.read_text(encoding="utf-8").split("\ncode,", 1)[0]
    assert "Source:" in head and "As of: 2026-07-01" in head


def test_bad_rows_are_reported_by_line():
    text = ("code,sido,name,kind,programme_code,scheme,valid_from,valid_to\n"
            "4111,경기도,수원시 장안구,ilban_gu,41110,energy,,\n"
            "41110,경기,수원시,si,41110,energy,,\n"
            "41113,경기도,수원시 권선구,ilban_gu,41113,energy,2026-13-01,\n")
    with pytest.raises(LocalGovernmentDataError) as exc:
        read_sigungu(text)
    text_errors = "\n".join(exc.value.errors)
    assert "line 2: code '4111'" in text_errors
    assert "line 3: sido '경기'" in text_errors
    assert "line 4: an ilban_gu" in text_errors and "line 4: valid_from" in text_errors


@pytest.mark.parametrize("typed,code", [
    ("경기도 수원시 팔달구 정조로 825", "41110"),
    ("경기 화성시 동탄구 동탄대로 100", "41590"),
    ("경기도 부천시 원미구 길주로 210", "41190"),
    ("전남 해남군 해남읍 군청길 4", "46820"),
    ("강원도 고성군 간성읍 고성중앙길 9", "51820"),
    ("경남 고성군 고성읍 성내로 130", "48820"),
    ("인천 검단구 검단로 100", "28290"),
    ("대구광역시 군위군 군위읍 군청로 200", "27720"),
    ("경기도 광주시 행정타운로 50", "41610"),
    ("광주광역시 광산구 광산로 29", "29200"),
    ("세종특별자치시 한누리대로 2130", "36110"),
    ("제주특별자치도 서귀포시 중앙로 105", "50130"),
])
def test_every_address_outside_seoul_finds_its_sigungu(db, typed, code):
    with db.transaction() as s:
        assert load_sigungu(s) == 208
        lg = match_local_government(s, parse_address(typed))
        assert lg is not None and lg.code == code
        assert lg.figures_default and lg.won_per_point == Decimal("2")
        assert lg.incentive_types == ["cash", "donation"]
        assert (lg.payout_month_h1, lg.payout_month_h2) == (12, 6)


def test_loading_keeps_an_operators_figures_and_an_operators_load_clears_the_default_mark(db):
    with db.transaction() as s:
        seed_local_governments(s, read_local_governments(
            "code,sido,name,prefixes,won_per_point,incentive_types,payout_month_h1,payout_month_h2,contact\n"
            "46820,전라남도,해남군,,1.5,cash|local_currency,11,5,\n"))
        assert load_sigungu(s) == 207
        assert load_sigungu(s) == 0
        haenam = s.get(LocalGovernment, "46820")
        assert (haenam.won_per_point, haenam.figures_default) == (Decimal("1.5"), False)
        assert s.get(LocalGovernment, "46810").figures_default
        seed_local_governments(s, read_local_governments(
            "code,sido,name,prefixes,won_per_point,incentive_types,payout_month_h1,payout_month_h2,contact\n"
            "46810,전라남도,강진군,,2,cash,12,6,\n"))
        assert not s.get(LocalGovernment, "46810").figures_default


def test_members_whose_sigungu_was_not_known_get_it_when_the_list_loads(db, cipher):
    from tests.auxil.engine import add_member

    with db.transaction() as s:
        mid = add_member(s, cipher, lg=None, address="전라남도 순천시 중앙로 1", address_history=[]).id
    with db.transaction() as s:
        load_sigungu(s)
    with db.session() as s:
        from core.models import Member
        assert s.get(Member, mid).local_government_code == "46150"


# --- 인천's 2026 reorganisation: addresses written with the abolished names -------------------

def test_the_shipped_successors_name_units_that_ended_and_began_the_day_after():
    from core.sigungu import shipped_successors

    successions = shipped_successors()
    units = sigungu_by_code()
    assert set(successions) == {"28110", "28140", "28260"}  # 중구, 동구, 서구
    assert successions["28140"].whole == "28125"  # 동구: all of it to 제물포구
    assert set(successions["28110"].successors) == {"28125", "28155"}  # 제물포구, 영종구
    assert set(successions["28260"].successors) == {"28290", "28275"}  # 검단구, 서해구
    for succession in successions.values():
        for code in succession.successors:
            assert units[code].valid_from == AFTER and units[succession.code].valid_to == BEFORE


@pytest.mark.parametrize("code, base, expected", [
    ("28140", "인천광역시 동구 송림로 10", "28125"),
    ("28110", "인천광역시 중구 항동7가 1-1", "28125"),
    ("28110", "인천광역시 중구 신포동 3", "28125"),
    ("28110", "인천광역시 중구 운서동 2850-1", "28155"),
    ("28110", "인천광역시 중구 무의동 100", "28155"),
    ("28260", "인천광역시 서구 마전동 100", "28290"),
    ("28260", "인천광역시 서구 청라동 1", "28275"),
    ("28110", "인천광역시 중구 공항로 272", None),  # a road: which side is not told
    ("28260", "인천광역시 서구 백석동 1", None),  # near the canal: not listed on purpose
    ("28177", "인천광역시 미추홀구 매소홀로 1", "28177"),  # not reorganised
])
def test_an_address_of_an_abolished_unit_goes_to_its_successor_when_it_says_which(code, base, expected):
    from core.sigungu import current_unit

    assert current_unit(code, base, BEFORE).code == code  # until the change, the unit itself
    placed = current_unit(code, base, AFTER)
    assert placed.code == expected
    if expected is None:
        assert placed.ended is not None and placed.ended.code == code and len(placed.candidates) == 2


def test_a_bad_successors_file_is_refused_with_line_numbers():
    from core.sigungu import read_successors

    with pytest.raises(LocalGovernmentDataError) as exc:
        read_successors("code,successor,dong\n"
                        "28177,28125,\n"  # 미추홀구 has not ended
                        "28110,28237,항동\n"  # 부평구 did not begin on the day after
                        "28110,28125,항동\n28110,28155,항동\n"  # twice
                        "28110,28125,1-1\n")
    assert [e.split(":")[0] for e in exc.value.errors] == ["line 2", "line 3", "line 5", "line 6"]


def test_matching_on_a_day_after_the_change_never_gives_an_ended_unit(db):
    with db.transaction() as s:
        load_sigungu(s)
        dong_gu = parse_address("인천광역시 동구 송림로 10")
        assert match_local_government(s, dong_gu).code == "28140"  # no day: as the prefixes say
        assert match_local_government(s, dong_gu, on=BEFORE).code == "28140"
        assert match_local_government(s, dong_gu, on=AFTER).code == "28125"
        assert match_local_government(s, parse_address("인천 중구 운서동 2850-1"), on=AFTER).code == "28155"
        assert match_local_government(s, parse_address("인천 중구 공항로 272"), on=AFTER) is None
        assert match_local_government(s, parse_address("인천 영종구 공항로 272"), on=AFTER).code == "28155"
