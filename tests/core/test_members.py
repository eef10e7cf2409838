"""core.members: checks of what citizens type, member creation in one transaction, my-info
changes and withdrawal. Real database (SQLite or PostgreSQL per TEST_DATABASE_URL)."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import members as M
from core.clock import utcnow_naive
from core.local_governments import parse_address, seed_local_governments
from core.models import (
    Campaign,
    CampaignPledge,
    DialogState,
    LocalGovernment,
    Member,
    MemberAddress,
    Notification,
    ResourceAccount,
)

ADDRESS = "경기도 수원시 영통구 예시로 123 101동 1203호"


@pytest.fixture
def lgs(db):
    with db.transaction() as s:
        seed_local_governments(s)


def data(user="u-member-1", address=ADDRESS, electricity="0419283746", **kw) -> M.SignupData:
    resources = kw.pop("resources", None) or [
        M.ResourceChoice("electricity", "separate", electricity),
        M.ResourceChoice("water", "managed_fee"),
        M.ResourceChoice("gas", "not_used"),
    ]
    base = dict(member_type="individual", user_key=user, name="홍길동", mobile="01012345678",
                address=parse_address(address), resources=resources,
                consents={"terms": "2026-11-22T01:00:00", "privacy": "2026-11-22T01:00:00",
                          "third_party": "2026-11-22T01:00:00", "optional": False})
    base.update(kw)
    return M.SignupData(**base)


def count(s, model, *where):
    return s.scalar(select(func.count()).select_from(model).where(*where))


# --- typed values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("typed,expected", [
    ("010-1234-5678", "010-1234-5678"), ("01012345678", "010-1234-5678"), ("010 1234 5678", "010-1234-5678"),
    ("011-123-4567", "011-123-4567"), ("+82 10-1234-5678", "010-1234-5678"),
])
def test_mobile_numbers_are_normalised(typed, expected):
    assert M.normalise_mobile(typed) == expected


@pytest.mark.parametrize("typed", ["02-123-4567", "010-12-5678", "0101234567890", "전화번호", ""])
def test_bad_mobile_numbers_are_refused(typed):
    with pytest.raises(M.InvalidValue):
        M.normalise_mobile(typed)


@pytest.mark.parametrize("typed", ["고객번호 0419283746", "한전 04-1928-3746 입니다", "0419283746 입니다"])
def test_a_customer_number_in_a_few_words(typed):
    assert M.normalise_customer_number("electricity", typed) == "0419283746"


def test_the_one_number_of_the_resources_format_among_others_is_taken():
    # the water number typed too is no electricity number (water is asked for in its turn)
    assert M.normalise_customer_number("electricity", "전기 0419283746 수도 1234567") == "0419283746"


@pytest.mark.parametrize("typed", ["0419283746, 0419283747", "번호 몰라요"])
def test_two_numbers_or_none_are_refused(typed):
    with pytest.raises(M.InvalidValue):
        M.normalise_customer_number("electricity", typed)


def test_customer_numbers_keep_leading_zeros_and_follow_the_rules_formats():
    assert M.normalise_customer_number("electricity", "04-1928-3746") == "0419283746"
    assert M.normalise_customer_number("water", "0012 345") == "0012345"
    for resource, bad in [("electricity", "12345-678"), ("electricity", "04192837461"), ("water", "1234"),
                          ("gas", "1" * 21), ("gas", "12a45")]:
        with pytest.raises(M.InvalidValue):
            M.normalise_customer_number(resource, bad)


@pytest.mark.parametrize("typed,kind,ok", [
    ("홍길동", "individual", True), ("남궁 민수", "individual", True), ("Maria Kim", "foreigner", True),
    ("홍길동1", "individual", False), ("홍", "individual", False), ("그린마트 영통점", "commercial", True),
    ("12345", "commercial", False),
])
def test_names(typed, kind, ok):
    if ok:
        assert M.normalise_name(typed, kind)
    else:
        with pytest.raises(M.InvalidValue):
            M.normalise_name(typed, kind)


def test_floor_area_move_in_date_bank_account_email():
    assert M.parse_floor_area("84.97㎡") == Decimal("84.9")
    assert M.parse_floor_area("25평") == Decimal("82.6")
    assert M.parse_move_in_date("2020년 3월 1일", date(2026, 11, 22)) == date(2020, 3, 1)
    with pytest.raises(M.InvalidValue):
        M.parse_move_in_date("2027-01-01", date(2026, 11, 22))
    assert M.normalise_bank("국민") == "KB국민은행" and M.normalise_bank("광주은행") == "광주은행"
    with pytest.raises(M.InvalidValue):
        M.normalise_bank("아무거나")
    assert M.normalise_account_number("123-456-789012") == "123456789012"
    with pytest.raises(M.InvalidValue):
        M.normalise_account_number("12345")
    with pytest.raises(M.InvalidValue):
        M.normalise_email("name@")


def test_offered_incentive_types_come_from_the_local_government_with_donation_always(db, lgs):
    with db.session() as s:
        yeongtong = s.get(LocalGovernment, "41117")
        assert M.offered_incentive_types(yeongtong) == ["cash", "local_currency", "donation"]
        assert M.offered_incentive_types(None) == ["cash", "donation"]
        yeongtong.incentive_types = ["cash", "no_such_type"]
        assert M.offered_incentive_types(yeongtong) == ["cash", "donation"]


@pytest.mark.parametrize("typed", [
    "010 1234 5678", "010.1234.5678", "+82 10-1234-5678", "+821012345678", "+82 010 1234 5678",
    "\uff10\uff11\uff10-\uff11\uff12\uff13\uff14-\uff15\uff16\uff17\uff18", "  010-1234-5678  ", "(010) 1234-5678",
])
def test_mobile_numbers_as_people_type_them(typed):
    assert M.normalise_mobile(typed) == "010-1234-5678"


@pytest.mark.parametrize("typed", ["010 1234 5678 이요", "제 번호는 010-1234-5678입니다", "핸드폰 01012345678",
                                   "공일공-1234-5678", "공일공 일이삼사 오육칠팔", "+82 10 1234 5678 이에요"])
def test_mobile_numbers_in_a_sentence_or_in_words(typed):
    assert M.normalise_mobile(typed) == "010-1234-5678"


@pytest.mark.parametrize("typed", ["010-1234-5678, 02-123-4567", "010-1234-5678 아니면 010-9876-5432",
                                   "이 번호로 해주세요"])
def test_a_sentence_with_other_numbers_or_none_is_refused(typed):
    with pytest.raises(M.InvalidValue):
        M.normalise_mobile(typed)


@pytest.mark.parametrize("typed,name", [
    ("홍길동", "홍길동"), ("홍길동이요", "홍길동"), ("홍길동입니다", "홍길동"), ("홍길동 입니다", "홍길동"),
    ("제 이름은 홍길동이에요", "홍길동"), ("저는 김수지예요", "김수지"), ("김수지에요", "김수지"),
    ("전 홍길동이에요", "홍길동"), ("성함: 남궁민수", "남궁민수"), ("홍길동이라고 해요", "홍길동"),
    # 전 is also a surname: "전 지현" is 전지현 typed with a space
    ("전 지현", "전 지현"), ("전 지현이에요", "전 지현"),
    # 이요 and 이에요 follow a final consonant: after a vowel the 이 is the name's
    ("김하이요", "김하이"), ("김하이에요", "김하이"),
    # nothing taken that would leave less than a name
    ("김이요", "김이요"), ("홍 길동", "홍 길동"), ("Maria Kim", "Maria Kim"),
    # typed syllable by syllable
    ("홍 길 동", "홍길동"), ("제 이름은 홍 길 동이에요", "홍길동"), ("남 궁 민 수", "남궁민수"),
])
def test_a_name_typed_in_a_sentence(typed, name):
    assert M.typed_name(typed) == name


def test_an_organisation_name_is_taken_as_typed_but_a_sentences_ending():
    assert M.typed_name("그린마트 영통점이요", "commercial") == "그린마트 영통점이요"  # 이요 may be its own
    assert M.typed_name("그린마트 영통점입니다", "commercial") == "그린마트 영통점"
    assert M.typed_name("(주)그린마트", "commercial") == "(주)그린마트"  # the legal form first
    assert M.typed_name("㈜그린에너지", "commercial") == "㈜그린에너지"


@pytest.mark.parametrize("typed", ["응우옌 반 란", "Maria José García-López", "Nguyễn Văn Lan", "O'Brien"])
def test_foreign_residents_names_as_written(typed):
    assert M.typed_name(typed, "foreigner") == typed


@pytest.mark.parametrize("typed", ["Иван Петров", "张伟", "Lan2"])
def test_names_not_in_hangul_or_latin_letters_are_refused(typed):
    with pytest.raises(M.InvalidValue):
        M.typed_name(typed, "foreigner")


@pytest.mark.parametrize("typed,day", [
    ("2020-03-01", date(2020, 3, 1)), ("20200301", date(2020, 3, 1)), ("200301", date(2020, 3, 1)),
    ("20.3.1", date(2020, 3, 1)), ("2020/03/01", date(2020, 3, 1)), ("2020.03.01.", date(2020, 3, 1)),
    ("20년 3월 1일", date(2020, 3, 1)), ("2020년 3월 1일에 이사왔어요", date(2020, 3, 1)),
    ("2020-03-01 입니다", date(2020, 3, 1)), ("\uff12\uff10\uff12\uff10-\uff10\uff13-\uff10\uff11", date(2020, 3, 1)),
    # a month alone is its first day
    ("2020년 3월", date(2020, 3, 1)), ("2020년 3월쯤", date(2020, 3, 1)), ("2020.3", date(2020, 3, 1)),
    ("202003", date(2020, 3, 1)), ("99년 5월", date(1999, 5, 1)),
])
def test_move_in_dates_as_people_type_them(typed, day):
    assert M.parse_move_in_date(typed, date(2026, 12, 7)) == day


@pytest.mark.parametrize("typed", ["2020년 13월", "3년 전", "작년 봄", "2027-01-01", "2020-03-01 또는 2021-01-01"])
def test_move_in_dates_refused(typed):
    with pytest.raises(M.InvalidValue):
        M.parse_move_in_date(typed, date(2026, 12, 7))


@pytest.mark.parametrize("typed,area", [("25평이요", "82.6"), ("약 25평", "82.6"), ("84㎡ 정도", "84.0"),
                                       ("전용 84.97m2", "84.9"), ("84.9㎡입니다", "84.9"), ("25평 정도요", "82.6")])
def test_floor_areas_in_a_few_words(typed, area):
    assert M.parse_floor_area(typed) == Decimal(area)


@pytest.mark.parametrize("typed", ["3억", "국민평수", "25py", "84 또는 99"])
def test_floor_areas_refused(typed):
    with pytest.raises(M.InvalidValue):
        M.parse_floor_area(typed)


@pytest.mark.parametrize("typed", ["25평형", "34평형 아파트", "32 평형이요"])
def test_a_size_class_is_refused_as_the_supply_area(typed):
    with pytest.raises(M.InvalidValue) as exc:
        M.parse_floor_area(typed)
    assert exc.value.reason == "supply"


@pytest.mark.parametrize("typed,bank,number", [
    ("신한은행 110-482-309517", "신한은행", "110482309517"),
    ("신한 110 482 309517", "신한은행", "110482309517"),
    ("110-482-309517 신한", "신한은행", "110482309517"),
    ("국민은행 123456-01-234567", "KB국민은행", "12345601234567"),
    ("신한 은행 110.482.309517", "신한은행", "110482309517"),
    ("신한은행 계좌 110-482-309517입니다", "신한은행", "110482309517"),
    ("110-482-309517 신한은행으로", "신한은행", "110482309517"),
    ("\uff2b\uff22 123-456-789012", "KB국민은행", "123456789012"),
    ("광주은행 1234567890", "광주은행", "1234567890"),
    ("110 - 482 - 309517", None, "110482309517"),
    ("\uff11\uff11\uff10\uff0d\uff14\uff18\uff12\uff0d\uff13\uff10\uff19\uff15\uff11\uff17", None, "110482309517"),
    ("301-0123-4567-81", None, "3010123456781"),
])
def test_accounts_with_their_bank_before_or_after(typed, bank, number):
    assert M.parse_account(typed) == (bank, number)
    assert M.normalise_account_number(typed) == number


@pytest.mark.parametrize("typed,reason", [
    ("12345", "format"), ("123456789012345", "format"), ("신한 110-482 309517 국민", "words"),
    ("우리집 110-482-309517", "words"), ("신한 110-482-309517 국민", "words"), ("신한은행", "format"),
    ("110-482 그리고 309517", "format"),
    ("900101-1234567", "rrn"), ("900101 1234567", "rrn"), ("900101.1234567", "rrn"), ("9001011234567", "rrn"),
    ("신한 \uff19\uff10\uff10\uff11\uff10\uff11\uff0d\uff11\uff12\uff13\uff14\uff15\uff16\uff17", "rrn"),
])
def test_accounts_refused(typed, reason):
    with pytest.raises(M.InvalidValue) as exc:
        M.parse_account(typed)
    assert exc.value.reason == reason


@pytest.mark.parametrize("typed", ["국민은행 123456789012 홍길동", "국민 123-456-789012 예금주 홍길동", "123456789012 국민 홍길동",
                                   "국민 123456789012 (홍길동)"])
def test_an_account_with_the_members_own_name_as_holder(typed):
    assert M.parse_account(typed, holder="홍길동") == ("KB국민은행", "123456789012")
    with pytest.raises(M.InvalidValue):  # a name is only known as the member's
        M.parse_account(typed)


@pytest.mark.parametrize("typed,reason", [("국민 123456789012 김영희", "holder"), ("국민 123456789012 예금주 김영희", "holder"),
                                          ("김영희 국민 123456789012", "words"), ("국민 123456789012 적금통장입니다", "words")])
def test_an_account_with_another_name_after_it(typed, reason):
    with pytest.raises(M.InvalidValue) as exc:
        M.parse_account(typed, holder="홍길동")
    assert exc.value.reason == reason


@pytest.mark.parametrize("typed,found", [
    ("계좌 우리은행 1002-123-456789로 바꿀래요", ("우리은행", "1002123456789")),
    ("신한 110 123 456789 로 변경해주세요", ("신한은행", "110123456789")),
    ("우리 계좌 1002-123-456789로 바꿀래요", None),       # 우리 as "our": no bank named
    ("국민은행 123456-01-234567 신한 말고", None),         # two banks
    ("계좌 바꿀래요", None), ("휴대폰 010 1234 5678로 바꿔주세요", None),
    ("신한 900101-1234567", None),
])
def test_an_account_in_a_sentence(typed, found):
    assert M.account_in_sentence(typed) == found


def test_banks_come_from_the_data_file_and_take_any_spelling():
    assert M.banks().aliases["신한은행"] == ("신한",)
    for typed, bank in [("국민", "KB국민은행"), ("kb 국민", "KB국민은행"), ("\uff2b\uff22", "KB국민은행"),
                        ("신한은행이요", "신한은행"), ("카뱅", "카카오뱅크"), ("대한은행", "대한은행"),
                        ("아이엠뱅크", "iM뱅크"), ("한국씨티", "한국씨티은행"),
                        # a local 농·축협 (bank code 012) is not NH농협은행 (011): a payment would fail
                        ("농협", "NH농협은행"), ("지역농협", "지역농축협"), ("단위 농협", "지역농축협"), ("축협", "지역농축협")]:
        assert M.normalise_bank(typed) == bank
    for bad in ("은행", "아무거나", "110-482-309517", ""):
        with pytest.raises(M.InvalidValue):
            M.normalise_bank(bad)


def test_resident_registration_numbers_in_any_form():
    for typed in ("900101-1234567", "900101.1234567", "\uff19\uff10\uff10\uff11\uff10\uff11\uff0d\uff11\uff12\uff13\uff14\uff15\uff16\uff17",
                  "900101\u20131234567"):
        assert M.looks_like_rrn(typed)
        with pytest.raises(M.InvalidValue):
            M.normalise_customer_number("water", typed)
    assert not M.looks_like_rrn("301-0123-4567-81") and not M.looks_like_rrn("010.1234.5678")


def test_fold_keeps_typed_jamo_and_widens_nothing_else():
    assert M.fold("  \uff21\uff22\u3000\uff11\uff12  ") == "AB 12"
    assert M.fold("\u3147\u3147") == "\u3147\u3147"  # not NFKC's conjoining jamo


# --- creating a member ----------------------------------------------------------------------------

def test_create_member_writes_member_accounts_and_address_encrypted(db, lgs, cipher, clock):
    with db.transaction() as s:
        member = M.create_member(s, cipher, clock, data(incentive_type="cash", bank_name="국민",
                                                        account_number="123-456-789012"))
        member_id = member.id
    with db.session() as s:
        m = s.get(Member, member_id)
        assert (m.name, m.mobile, m.local_government_code) == ("홍길동", "010-1234-5678", "41117")
        assert m.address == "경기도 수원시 영통구 예시로 123" and m.address_detail == "101동 1203호"
        assert m.bank_name == "KB국민은행" and cipher.decrypt(m.account_number_enc) == "123456789012"
        assert m.account_holder == "홍길동" and m.household_hash
        accounts = {a.resource: a for a in m.accounts}
        assert set(accounts) == {"electricity", "water", "gas"}
        assert cipher.decrypt(accounts["electricity"].customer_number_enc) == "0419283746"
        assert accounts["electricity"].supply_key_hash == cipher.keyed_hash("0419283746", purpose="electricity")
        assert accounts["water"].customer_number_enc is None and accounts["gas"].billing_mode == "not_used"
        assert count(s, MemberAddress, MemberAddress.member_id == member_id) == 1
        row = json.dumps([str(v) for v in s.execute(select(Member.__table__)).one()], ensure_ascii=False)
        assert "123456789012" not in row and "0419283746" not in json.dumps(
            [str(v) for r in s.execute(select(ResourceAccount.__table__)) for v in r])


def test_signing_up_twice_is_refused_with_the_existing_membership(db, lgs, cipher, clock):
    with db.transaction() as s:
        M.create_member(s, cipher, clock, data())
    with db.transaction() as s, pytest.raises(M.AlreadyMember):
        M.create_member(s, cipher, clock, data(address="경기도 과천시 별양로 12", electricity="1111111111"))


def test_one_member_per_household_whatever_the_unit_spelling(db, lgs, cipher, clock):
    with db.transaction() as s:
        M.create_member(s, cipher, clock, data())
    with db.transaction() as s, pytest.raises(M.HouseholdTaken):
        M.create_member(s, cipher, clock, data(user="u-member-2", address="경기 수원시 영통구 예시로 123, 101-1203",
                                               electricity="2222222222"))
    with db.transaction() as s:  # another unit of the same building is another household
        M.create_member(s, cipher, clock, data(user="u-member-3", address="경기도 수원시 영통구 예시로 123 101동 1204호",
                                               electricity="3333333333"))


def test_customer_number_of_another_active_member_is_refused(db, lgs, cipher, clock):
    with db.transaction() as s:
        M.create_member(s, cipher, clock, data())
    with db.transaction() as s, pytest.raises(M.CustomerNumberTaken) as err:
        M.create_member(s, cipher, clock, data(user="u-member-2", address="경기도 과천시 별양로 12"))
    assert err.value.resource == "electricity"
    with db.session() as s:
        assert count(s, Member) == 1 and count(s, ResourceAccount) == 3


def test_a_lost_race_on_the_unique_index_is_the_same_domain_error(db, lgs, cipher, clock, monkeypatch):
    with db.transaction() as s:
        M.create_member(s, cipher, clock, data())
    # The checks run before the write; pretend they saw nothing (a concurrent signup committed
    # in between), so the partial unique index has to catch it.
    real = M.household_taken
    calls = []

    def blind_once(*a, **kw):
        calls.append(1)
        return False if len(calls) == 1 else real(*a, **kw)

    monkeypatch.setattr(M, "household_taken", blind_once)
    with db.transaction() as s, pytest.raises(M.HouseholdTaken):
        M.create_member(s, cipher, clock, data(user="u-member-2", electricity="2222222222"))
    with db.session() as s:
        assert count(s, Member) == 1


def test_seoul_and_electricity_rules(db, lgs, cipher, clock):
    with db.transaction() as s, pytest.raises(M.SeoulAddress):
        M.create_member(s, cipher, clock, data(address="서울특별시 중구 세종대로 110"))
    with db.transaction() as s, pytest.raises(M.InvalidValue):
        M.create_member(s, cipher, clock, data(resources=[M.ResourceChoice("electricity", "not_used")]))
    with db.transaction() as s, pytest.raises(M.IncentiveNotOffered):
        M.create_member(s, cipher, clock, data(incentive_type="kakao_pay"))
    with db.transaction() as s, pytest.raises(M.AccountRequired):
        M.create_member(s, cipher, clock, data(incentive_type="cash"))
    with db.session() as s:
        assert count(s, Member) == 0


def test_unknown_local_government_is_accepted_and_matched_when_loaded(db, cipher, clock):
    with db.transaction() as s:
        m = M.create_member(s, cipher, clock, data(address="전라남도 순천시 중앙로 1"))
        assert m.local_government_code is None and m.incentive_type == "donation"
        mid = m.id
    with db.transaction() as s:
        from core.local_governments import LocalGovernmentRow, prefixes_for

        seed_local_governments(s, [LocalGovernmentRow("46150", "전라남도", "순천시",
                                                      prefixes_for("전라남도", "순천시"))])
    with db.session() as s:
        assert s.get(Member, mid).local_government_code == "46150"
        assert s.scalars(select(MemberAddress.local_government_code).where(MemberAddress.member_id == mid)).one() == "46150"


# --- my info --------------------------------------------------------------------------------------

def test_change_incentive_account_and_resources(db, lgs, cipher, clock):
    with db.transaction() as s:
        mid = M.create_member(s, cipher, clock, data()).id
    with db.transaction() as s:
        m = s.get(Member, mid)
        with pytest.raises(M.AccountRequired):
            M.change_incentive(s, cipher, m, "cash")
        M.change_account(s, cipher, m, "신한", "110-123-456789")
        assert m.incentive_type == "cash" and m.bank_name == "신한은행"
        M.change_incentive(s, cipher, m, "donation")
        assert m.account_number_enc is None and m.bank_name is None
    with db.transaction() as s:
        m = s.get(Member, mid)
        changed = M.change_resources(s, cipher, clock, m, [M.ResourceChoice("electricity", "separate", "9999999999"),
                                                           M.ResourceChoice("water", "managed_fee")])
        assert changed == ["electricity"]
    with db.session() as s:
        rows = s.scalars(select(ResourceAccount).where(ResourceAccount.resource == "electricity")
                         .order_by(ResourceAccount.id)).all()
        assert [r.ended_on is None for r in rows] == [False, True]
        assert cipher.decrypt(rows[1].customer_number_enc) == "9999999999"
    # The released number can now be registered by someone else.
    with db.transaction() as s:
        M.create_member(s, cipher, clock, data(user="u-member-2", address="경기도 과천시 별양로 12"))


def test_change_resources_refuses_a_number_held_by_another_member(db, lgs, cipher, clock):
    with db.transaction() as s:
        M.create_member(s, cipher, clock, data())
        other = M.create_member(s, cipher, clock, data(user="u-member-2", address="경기도 과천시 별양로 12",
                                                       electricity="1111111111"))
        oid = other.id
    with db.transaction() as s, pytest.raises(M.CustomerNumberTaken):
        M.change_resources(s, cipher, clock, s.get(Member, oid), [M.ResourceChoice("electricity", "separate", "0419283746")])


def test_moving_house_updates_address_history_and_incentive(db, lgs, cipher, clock):
    with db.transaction() as s:
        mid = M.create_member(s, cipher, clock, data(incentive_type="local_currency")).id
    with db.transaction() as s:
        m = s.get(Member, mid)
        with pytest.raises(M.SeoulAddress):
            M.move_house(s, cipher, clock, m, parse_address("서울 중구 세종대로 110"))
        lg = M.move_house(s, cipher, clock, m, parse_address("제주특별자치도 서귀포시 중앙로 105"),
                          [M.ResourceChoice("electricity", "separate", "5555555555")])
        assert lg.code == "50130" and m.incentive_type == "donation"  # 서귀포 offers no local currency
    with db.session() as s:
        history = s.scalars(select(MemberAddress.local_government_code).where(MemberAddress.member_id == mid)
                            .order_by(MemberAddress.id)).all()
        assert history == ["41117", "50130"]
    # the old household is free again
    with db.transaction() as s:
        M.create_member(s, cipher, clock, data(user="u-member-2", electricity="2222222222"))


def test_withdraw_clears_personal_data_keeps_the_member_row_and_allows_a_new_signup(db, lgs, cipher, clock):
    with db.transaction() as s:
        m = M.create_member(s, cipher, clock, data(incentive_type="cash", bank_name="국민", account_number="1234567890",
                                                   email="hong@example.com"))
        mid = m.id
        s.add(Campaign(id="cmp-1", title="캠페인", summary="요약", starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
                       created_at=utcnow_naive(clock)))
        s.flush()
        s.add(CampaignPledge(campaign_id="cmp-1", member_id=mid, pledged_at=utcnow_naive(clock)))
        s.add(Notification(member_id=mid, kind="payout_notice", period="2026H1", dedupe_key="k1",
                           payload={}, state="pending", created_at=utcnow_naive(clock)))
        s.add(DialogState(user_key="u-member-1", dialog="myinfo", step="withdraw", slots={"x": 1}, failures=0,
                          updated_at=utcnow_naive(clock), version=1))
    with db.transaction() as s:
        M.withdraw(s, clock, s.get(Member, mid))
    with db.session() as s:
        m = s.get(Member, mid)
        assert m.status == "withdrawn" and m.withdrawn_at is not None
        for column in M.PERSONAL_COLUMNS:
            assert getattr(m, column) is None, column
        assert all(a.ended_on and a.customer_number_enc is None and a.supply_key_hash is None for a in m.accounts)
        assert count(s, CampaignPledge, CampaignPledge.member_id == mid) == 1  # history kept, by id only
        assert s.scalars(select(Notification.state)).one() == "skipped"
        assert s.get(DialogState, "u-member-1").dialog is None
        dump = json.dumps([str(v) for r in s.execute(select(Member.__table__)) for v in r], ensure_ascii=False)
        assert "홍길동" not in dump and "hong@" not in dump and "5678" not in dump
    with db.transaction() as s:  # same person, same home, same numbers: a fresh membership
        again = M.create_member(s, cipher, clock, data())
        assert again.id != mid
    with db.transaction() as s, pytest.raises(M.NotAMember):
        M.withdraw(s, clock, s.get(Member, mid))


def test_member_for_user_by_key_or_app_user_id(db, lgs, cipher, clock):
    with db.transaction() as s:
        M.create_member(s, cipher, clock, data(app_user_id="2718281828"))
    with db.session() as s:
        assert M.member_for_user(s, "u-member-1").name == "홍길동"
        assert M.member_for_user(s, "another-key", "2718281828").name == "홍길동"
        assert M.member_for_user(s, "another-key") is None


def test_first_evaluated_half(clock):
    from datetime import datetime

    from core.clock import KST, FixedClock

    assert str(M.first_evaluated_half(clock)) == "2027H1"  # joined 22 Nov 2026
    assert str(M.first_evaluated_half(FixedClock(datetime(2026, 7, 1, 9, tzinfo=KST)))) == "2026H2"


def test_opting_out_skips_campaign_messages_already_queued(db, lgs, cipher, clock):
    with db.transaction() as s:
        m = M.create_member(s, cipher, clock, data(marketing_opt_in=True))
        for kind, key in (("campaign", "c1"), ("payout_notice", "p1")):
            s.add(Notification(member_id=m.id, kind=kind, period="x", dedupe_key=key, payload={},
                               state="pending", created_at=utcnow_naive(clock)))
    with db.transaction() as s:
        M.set_marketing(s, clock, s.scalars(select(Member)).one(), False)
    with db.session() as s:
        states = dict(s.execute(select(Notification.kind, Notification.state)).all())
        assert states == {"campaign": "skipped", "payout_notice": "pending"}  # informational ones still go


def test_expired_dialogs_are_purged(db, clock):
    from datetime import timedelta

    now = utcnow_naive(clock)
    with db.transaction() as s:
        s.add(DialogState(user_key="old", dialog="signup", step="mobile", slots={"name": "홍길동"}, failures=1,
                          expires_at=now - timedelta(minutes=1), updated_at=now, version=1))
        s.add(DialogState(user_key="live", dialog="signup", step="mobile", slots={"name": "김민지"}, failures=0,
                          expires_at=now + timedelta(hours=1), updated_at=now, version=1))
    with db.transaction() as s:
        assert M.purge_expired_dialogs(s, clock) == 1
    with db.session() as s:
        assert s.get(DialogState, "old").slots == {} and s.get(DialogState, "old").dialog is None
        assert s.get(DialogState, "live").slots == {"name": "김민지"}


def test_a_move_takes_the_new_region_s_company_or_leaves_it_to_be_asked(db, lgs, cipher, clock):
    """A move that names no new number keeps the numbers at the new region's company: the one
    company serving it (electricity stays KEPCO, water and gas change), or, where several serve
    it, none yet: the member is asked (companies_to_ask) and the answer is kept."""
    resources = [M.ResourceChoice("electricity", "separate", "0419283746"),
                 M.ResourceChoice("water", "separate", "1234567"),
                 M.ResourceChoice("gas", "separate", "5012345678")]
    with db.transaction() as s:
        m = M.create_member(s, cipher, clock, data(resources=resources))
        mid, before = m.id, {a.resource: (a.id, a.company) for a in M.active_accounts(m)}
    assert before["electricity"][1] == "KEPCO" and before["water"][1] == "W41110"
    with db.transaction() as s:
        m = s.get(Member, mid)
        M.move_house(s, cipher, clock, m, parse_address("제주특별자치도 서귀포시 중앙로 105"))
        after = {a.resource: (a.id, a.company) for a in M.active_accounts(m)}
        assert after["electricity"] == before["electricity"]  # the same supply point: untouched
        assert after["water"][1] == "W50130" and after["gas"][1] == "JEJUGAS"
        assert {M.masked_customer_number(cipher, a) for a in M.active_accounts(m)} == {
            "******3746", "***4567", "******5678"}
        assert M.companies_to_ask(m) == []
    with db.transaction() as s:
        m = s.get(Member, mid)
        M.move_house(s, cipher, clock, m, parse_address("경기도 성남시 분당구 성남대로 1"))
        assert M.account_for(m, "gas").company == "" and M.companies_to_ask(m) == ["gas"]
        assert M.account_for(m, "water").company.startswith("W411")  # one waterworks: no question
        assert not M.confirm_company(s, m, "gas", "JEJUGAS")  # not a company of the region
        assert M.confirm_company(s, m, "gas", "KOONE")
        assert M.account_for(m, "gas").company == "KOONE" and M.companies_to_ask(m) == []
        assert not M.confirm_company(s, m, "gas", "SAMCHULLY")  # nothing asked any more


def test_a_move_with_new_numbers_uses_the_companies_given(db, lgs, cipher, clock):
    with db.transaction() as s:
        m = M.create_member(s, cipher, clock, data(resources=[M.ResourceChoice("electricity", "separate", "0419283746"),
                                                              M.ResourceChoice("gas", "separate", "5012345678")]))
        M.move_house(s, cipher, clock, m, parse_address("경기도 성남시 분당구 성남대로 1"),
                     [M.ResourceChoice("electricity", "separate", "0419283746"),
                      M.ResourceChoice("gas", "separate", "5012345679", utility="SAMCHULLY")])
        assert M.account_for(m, "gas").company == "SAMCHULLY" and M.companies_to_ask(m) == []


@pytest.mark.parametrize("typed", ["031-123-4567", "02-1234-5678", "0312345678", "070-1234-5678", "1588-1234"])
def test_a_landline_is_refused_as_one(typed):
    with pytest.raises(M.InvalidValue) as exc:
        M.normalise_mobile(typed)
    assert exc.value.reason == "landline"


@pytest.mark.parametrize("typed", ["010 1234 567", "010-123-4567", "0101234567"])
def test_a_new_010_mobile_one_digit_short_is_refused_and_an_old_01x_one_kept(typed):
    with pytest.raises(M.InvalidValue) as bad:
        M.new_mobile(typed)
    assert bad.value.reason == "short_010"
    assert M.normalise_mobile(typed) == "010-123-4567"  # a registry's record still reads
    assert M.new_mobile("011-123-4567") == "011-123-4567"


@pytest.mark.parametrize("typed", ["hong @ naver.com", "hong@naver . com 입니다", "제 메일은 hong@naver.com이에요",
                                   "\uff48\uff4f\uff4e\uff47\uff20\uff4e\uff41\uff56\uff45\uff52\uff0e\uff43\uff4f\uff4d",
                                   "hong@naver.com."])
def test_an_email_as_people_type_it(typed):
    assert M.normalise_email(typed) == "hong@naver.com"


@pytest.mark.parametrize("typed", ["a@b.com c@d.com", "hong@naver", "홍길동@네이버.com", "hong@@naver.com"])
def test_an_email_that_is_not_one_address_is_refused(typed):
    with pytest.raises(M.InvalidValue):
        M.normalise_email(typed)


@pytest.mark.parametrize("typed,name", [
    ("홍길동 010-1234-5678", "홍길동"), ("홍길동, 01012345678", "홍길동"), ("홍길동/010-1234-5678", "홍길동"),
    ("이름 홍길동 전화 010 1234 5678", "홍길동"), ("홍길동 핸드폰 010-1234-5678 입니다", "홍길동"),
    ("010-1234-5678 홍길동입니다", "홍길동"), ("김민고 010-1234-5678", "김민고"), ("김이랑 010-1234-5678", "김이랑"),
])
def test_a_name_and_a_mobile_typed_together(typed, name):
    assert M.name_and_mobile(typed) == (name, "010-1234-5678")


@pytest.mark.parametrize("typed", ["010 1234 5678", "홍길동 010-1234-5678 주소는 수원", "홍길동", "홍길동 010-1234-5678 010-9999-8888"])
def test_no_name_and_mobile_pair_is_read_from_anything_else(typed):
    assert M.name_and_mobile(typed) is None


@pytest.mark.parametrize("typed", ["고객번호: 04-1928-3746 / 청구금액 45,230원",
                                   "고객번호 04-1928-3746, 전자납부번호 1234-5678-9012", "0419283746 😊"])
def test_a_customer_number_copied_from_the_bill_with_other_figures(typed):
    assert M.normalise_customer_number("electricity", typed) == "0419283746"


def test_two_numbers_of_the_format_and_no_label_are_refused():
    with pytest.raises(M.InvalidValue):
        M.normalise_customer_number("electricity", "0419283746 아니면 0411112222")


@pytest.mark.parametrize("typed", ["홍길동 😀", "📍경기도", "👍네"])
def test_emoji_are_no_part_of_an_answer(typed):
    assert "😀" not in M.fold(typed) and "📍" not in M.fold(typed) and "👍" not in M.fold(typed)
