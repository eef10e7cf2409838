"""Utility companies in signup (issue 16): where one company supplies a resource in the member's
시·군·구 it is set from the address without a question; where several do (a 성남 address: two
city-gas companies in core/data/utility_companies.toml) the chat asks with quick replies of
their names, and the account is keyed by that company."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from core.models import ResourceAccount
from tests.auxil.scenarios import U1, answer, member_of, signup_until, state

pytestmark = pytest.mark.usefixtures("lgs")

REST = [("tap", "현금(계좌)"), ("tap", "KB국민"), ("say", "123-456-789012"), ("tap", "네, 본인 명의예요"),
        ("tap", "건너뛰기"), ("tap", "가입하기")]


def _accounts(db) -> dict[str, ResourceAccount]:
    with db.session() as s:
        return {a.resource: a for a in s.scalars(select(ResourceAccount))}


def test_signup_asks_the_gas_company_where_two_serve_the_address(chat, db):
    c = signup_until(chat(U1), "address")
    c.say("경기도 성남시 분당구 정자일로 95 101동 1203호")
    assert c.has("전기요금은 어떻게")
    c.tap("개별납부")
    assert state(db, U1).step == "customer_number"  # electricity: KEPCO everywhere, not asked
    c.say("0419283746")
    c.tap("관리비 합산")
    c.tap("개별납부")
    assert state(db, U1).step == "utility_company"
    assert c.has("도시가스요금 고지서는 어느 회사") and set(c.labels) >= {"코원에너지서비스", "삼천리"}
    c.say("몰라요")
    assert c.has("코원에너지서비스, 삼천리") and state(db, U1).step == "utility_company"
    c.tap("삼천리")
    assert c.has("도시가스 고객번호") and state(db, U1).step == "customer_number"
    c.say("5012345678")
    for how in REST:
        answer(c, how)
    assert c.has("가입을 마쳤어요")
    accounts = _accounts(db)
    assert accounts["gas"].company == "SAMCHULLY" and accounts["electricity"].company == "KEPCO"
    assert accounts["water"].company == ""  # managed fee: no customer number, no company


def test_a_customer_number_typed_for_the_billing_mode_is_taken_as_a_bill_of_ones_own(chat, db):
    c = signup_until(chat(U1), "address")
    c.say("경기도 성남시 분당구 정자일로 95 101동 1203호")
    c.say("04-1928-3746")  # the number, not '개별납부': the bill is one's own
    assert c.has("전기 고객번호(******3746)를 확인했어요") and c.has("수도요금은 어떻게")
    c.say("123")  # too short for any number: still the billing question
    assert c.has("요금 내는 방법을 아래 버튼에서 골라 주세요") and state(db, U1).slots["resource"] == "water"
    c.say("수도 고객번호는 55555555")
    assert c.has("수도 고객번호(****5555)를 확인했어요")
    c.say("5012345678")  # two gas companies here: the company first, then the number again
    assert state(db, U1).step == "utility_company" and c.has("고객번호를 다시 입력해 주세요")
    c.tap("삼천리")
    c.say("5012345678")
    for how in REST:
        answer(c, how)
    accounts = _accounts(db)
    assert (accounts["electricity"].billing_mode, accounts["water"].billing_mode, accounts["gas"].company) == (
        "separate", "separate", "SAMCHULLY")


def test_signup_typed_company_name_is_understood(chat, db):
    c = signup_until(chat(U1), "address")
    c.say("경기도 성남시 분당구 정자일로 95 101동 1203호")
    c.tap("개별납부")
    c.say("0419283746")
    c.tap("개별납부")  # water: one waterworks per 시·군·구, not asked
    assert state(db, U1).step == "customer_number"
    c.say("1234567890")
    c.tap("개별납부")
    c.say("코원에너지서비스")
    assert state(db, U1).step == "customer_number"
    c.say("5012345678")
    for how in REST:
        answer(c, how)
    accounts = _accounts(db)
    assert accounts["gas"].company == "KOONE"
    assert accounts["water"].company.startswith("W41")  # 성남시's waterworks


def test_signup_does_not_ask_where_one_company_serves(chat, db):
    c = signup_until(chat(U1), "billing_mode")  # 수원시 영통구: 삼천리 alone
    c.tap("개별납부")
    c.say("0419283746")
    c.tap("관리비 합산")
    c.tap("개별납부")
    assert state(db, U1).step == "customer_number" and "삼천리" not in c.labels
    c.say("5012345678")
    for how in REST:
        answer(c, how)
    assert c.has("가입을 마쳤어요")
    accounts = _accounts(db)
    assert accounts["gas"].company == "SAMCHULLY" and accounts["electricity"].company == "KEPCO"
    assert member_of(db, U1).local_government_code == "41117"


def test_my_info_asks_the_company_of_a_new_gas_number_where_two_serve(chat, db, cipher, clock):
    from tests.auxil.scenarios import make_member

    make_member(db, cipher, clock, U1, address="경기도 성남시 분당구 정자일로 95 101동 1203호")
    c = chat(U1)
    c.open("myinfo")
    c.tap("고객번호 변경")
    c.tap("도시가스")
    c.tap("개별납부")
    assert state(db, U1).step == "utility_company" and set(c.labels) >= {"코원에너지서비스", "삼천리"}
    c.tap("코원에너지서비스")
    c.say("5012345678")
    assert "다음 반기" in c.text
    assert _accounts_active(db)["gas"].company == "KOONE"
    c.open("myinfo")
    assert c.has("코원에너지서비스") and "한국전력공사" not in c.text  # KEPCO goes without saying


def _accounts_active(db) -> dict[str, ResourceAccount]:
    with db.session() as s:
        return {a.resource: a for a in s.scalars(select(ResourceAccount).where(ResourceAccount.ended_on.is_(None)))}


def test_a_move_into_a_region_of_two_gas_companies_asks_which_on_the_next_balance(chat, db, cipher, clock):
    """A move that kept the gas number (here the core's move without new numbers) into a
    region two gas companies supply leaves the company open: the next balance turn asks with
    quick replies of the region's companies, and the answer keys the account."""
    from core import members as M
    from core.local_governments import parse_address
    from core.models import Member
    from tests.auxil.scenarios import make_member

    mid = make_member(db, cipher, clock, U1, resources=[M.ResourceChoice("electricity", "separate", "0419283746"),
                                                        M.ResourceChoice("water", "managed_fee"),
                                                        M.ResourceChoice("gas", "separate", "5012345678")])
    with db.transaction() as s:
        M.move_house(s, cipher, clock, s.get(Member, mid), parse_address("경기도 성남시 분당구 정자일로 95"))
    assert _active(db)["gas"].company == ""
    with db.engine.begin() as conn:  # a bulk preparation before the member answers prepares nothing for them
        from core.progress import prepare_progress
        from core.rules import default_rules

        prepare_progress(conn, 202611, default_rules(), datetime(2026, 11, 22))
    c = chat(U1)
    c.open("balance")
    assert c.has("여러 회사가 도시가스를 공급해요") and c.has("도시가스요금 고지서는 어느 회사")
    assert set(c.labels) >= {"코원에너지서비스", "삼천리"} and state(db, U1).step == "account_company"
    c.tap("코원에너지서비스")
    assert c.has("도시가스 공급 회사를 코원에너지서비스(으)로 저장했어요")
    assert _active(db)["gas"].company == "KOONE"
    c.open("balance")
    assert not c.has("어느 회사")  # asked once: the answer is kept


def test_my_info_asks_the_company_a_move_left_open(chat, db, cipher, clock):
    from core import members as M
    from core.local_governments import parse_address
    from core.models import Member
    from tests.auxil.scenarios import make_member

    mid = make_member(db, cipher, clock, U1, resources=[M.ResourceChoice("electricity", "separate", "0419283746"),
                                                        M.ResourceChoice("water", "managed_fee"),
                                                        M.ResourceChoice("gas", "separate", "5012345678")])
    with db.transaction() as s:
        M.move_house(s, cipher, clock, s.get(Member, mid), parse_address("경기도 성남시 분당구 정자일로 95"))
    c = chat(U1)
    c.open("myinfo")
    assert c.has("도시가스요금 고지서는 어느 회사")
    c.say("삼천리")
    assert c.has("삼천리(으)로 저장했어요") and _active(db)["gas"].company == "SAMCHULLY"


def _active(db) -> dict[str, ResourceAccount]:
    with db.session() as s:
        return {a.resource: a for a in s.scalars(select(ResourceAccount).where(ResourceAccount.ended_on.is_(None)))}
