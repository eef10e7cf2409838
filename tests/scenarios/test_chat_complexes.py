"""Signup for a unit of a registered apartment complex: the address in its road or its lot form
offers the complex's 동, then asks the 호; resources billed in the management fee are set with
the billing company, separate ones ask the customer number; the unit is the household. Then the
billing company's unit readings settle the member (spec §13 worked examples 1 and 4), and the
balance card says when the management office's data has not arrived."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from core.complexes import ComplexUnit, import_complexes, unit_supply_key_hash
from core.models import Member, MemberAddress, ResourceAccount
from tests.auxil.engine import cli, half_rows
from tests.auxil.scenarios import U1, count_members, member_of, signup_until, state

pytestmark = pytest.mark.usefixtures("lgs")

HEADER = "complex_code,name,road_address,jibun_address,dongs,electricity,water,gas"
ROAD = "경기도 수원시 영통구 광교호수로 152"
LOT = "경기도 수원시 영통구 이의동 1350"


def add_complex(db, clock, tmp_path, *, dongs="101|102|103", gas="separate", code="A1001"):
    path = tmp_path / f"complexes-{code}.csv"
    path.write_text(f"{HEADER}\n{code},광교호수마을,{ROAD},{LOT},{dongs},managed:이지스,managed:이지스,{gas}\n",
                    encoding="utf-8")
    import_complexes(db, clock, path)


@pytest.fixture
def complex_a(db, clock, tmp_path):
    add_complex(db, clock, tmp_path)


def finish(c) -> None:
    """From the incentive question to the end of the signup (donation, no optional items)."""
    c.tap(next(label for label in c.labels if "기부" in label))
    c.tap("건너뛰기")
    assert c.has("가입 정보를 확인해 주세요")
    c.tap("가입하기")
    assert c.has("가입을 마쳤어요")


def accounts(db, user) -> dict[str, ResourceAccount]:
    member = member_of(db, user)
    with db.session() as s:
        return {a.resource: a for a in s.scalars(select(ResourceAccount).where(
            ResourceAccount.member_id == member.id, ResourceAccount.ended_on.is_(None)))}


def test_signup_by_the_road_form_offers_the_dongs_then_asks_the_ho(complex_a, chat, db, cipher):
    c = signup_until(chat(U1), "address")
    c.say(ROAD)
    assert c.has("광교호수마을", "몇 동") and state(db, U1).step == "complex_dong"
    assert {"101동", "102동", "103동"} <= set(c.labels)
    c.tap("102동")
    assert c.has("102동 몇 호") and state(db, U1).step == "complex_ho"
    c.say("１２０３호")  # full-width digits
    assert state(db, U1).step == "customer_number" and c.has("관리비에 포함", "이지스", "가스")
    c.say("5512340987")
    assert state(db, U1).step == "incentive_type"
    finish(c)
    member = member_of(db, U1)
    assert (member.address, member.address_detail) == (ROAD, "102동 1203호")
    acc = accounts(db, U1)
    unit = ComplexUnit("A1001", "102", "1203")
    for resource in ("electricity", "water"):
        assert acc[resource].billing_mode == "managed_fee" and acc[resource].billing_company == "이지스"
        assert acc[resource].complex_code == "A1001" and acc[resource].customer_number_enc is None
        assert acc[resource].supply_key_hash == unit_supply_key_hash(cipher, resource, unit)
    assert acc["gas"].billing_mode == "separate" and cipher.decrypt(acc["gas"].customer_number_enc) == "5512340987"


@pytest.mark.parametrize("typed", ["1203호", "1203", "101-1203"])
def test_the_ho_in_its_usual_spellings(complex_a, chat, db, typed):
    c = signup_until(chat(U1), "address")
    c.say(LOT)
    c.tap("101동")
    c.say(typed)
    assert state(db, U1).slots["address"]["detail"] == "101동 1203호"


def test_signup_by_the_lot_form_with_the_unit_on_the_same_line(complex_a, chat, db, tmp_path, clock):
    c = signup_until(chat(U1), "address")
    c.say(f"{LOT} 103동 704호")
    assert state(db, U1).step == "customer_number"  # 동 and 호 known: straight to the gas number
    c.say("5512340987")
    finish(c)
    member = member_of(db, U1)
    assert (member.address, member.address_detail) == (ROAD, "103동 704호")  # stored in the road form


def test_a_typed_dong_and_a_dong_not_in_the_complex(complex_a, chat, db):
    c = signup_until(chat(U1), "address")
    c.say(ROAD)
    c.say("109동")
    assert c.has("이 단지에 없는 동", "101동, 102동, 103동") and state(db, U1).step == "complex_dong"
    c.say("101동 1203호")  # both at once
    assert state(db, U1).slots["address"]["detail"] == "101동 1203호" and state(db, U1).step == "customer_number"


def test_road_and_lot_forms_of_one_unit_are_one_household(complex_a, chat, db):
    first = signup_until(chat("u-road"), "address")
    first.say(f"{ROAD} 101동 1203호")
    first.say("5512340987")
    finish(first)
    second = signup_until(chat("u-lot"), "address")
    second.say(LOT)
    second.tap("101동")
    second.say("1203")
    assert second.has("가입을 진행할 수 없어요", "1660-2030") and "광교" not in second.text
    assert state(db, "u-lot").step == "address" and "제가 가입하지 않았어요" in second.labels
    assert count_members(db) == 1


def test_many_dongs_come_as_a_carousel_of_lists(db, clock, tmp_path, chat):
    add_complex(db, clock, tmp_path, dongs="|".join(str(101 + i) for i in range(14)))
    c = signup_until(chat(U1), "address")
    c.say(ROAD)
    carousel = [o for o in c.last["template"]["outputs"] if "carousel" in o]
    assert carousel and carousel[0]["carousel"]["type"] == "listCard"
    assert len(carousel[0]["carousel"]["items"]) == 4  # 14 dongs, 4 a card
    c.tap("114동")
    assert state(db, U1).step == "complex_ho" and c.has("114동 몇 호")


def test_too_many_dongs_for_a_carousel_are_typed(db, clock, tmp_path, chat):
    add_complex(db, clock, tmp_path, dongs="|".join(str(101 + i) for i in range(30)))
    c = signup_until(chat(U1), "address")
    c.say(ROAD)
    assert c.has("동 번호를 입력해 주세요", "130동")
    c.say("125")
    assert state(db, U1).step == "complex_ho"


def test_an_address_outside_any_complex_works_as_before(complex_a, chat, db):
    c = signup_until(chat(U1), "address")
    c.say("경기도 수원시 영통구 예시로 123 101동 1203호")
    assert state(db, U1).step == "billing_mode"


def test_no_resource_is_asked_when_the_complex_bills_all_or_none(db, clock, tmp_path, chat):
    add_complex(db, clock, tmp_path, gas="none")
    c = signup_until(chat(U1), "address")
    c.say(f"{ROAD} 101동 1203호")
    assert state(db, U1).step == "incentive_type"
    finish(c)
    assert accounts(db, U1)["gas"].billing_mode == "not_used"


# --- readings by unit, settlement, balance ---------------------------------------------------------

def unit_file(path, rows):
    lines = ["resource,complex_code,dong,ho,month,amount"]
    lines += [f"{resource},A1001,{dong},{ho},{month // 100:04d}-{month % 100:02d},{amount}"
              for resource, dong, ho, month, amount in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def backdate(db, user, day: date) -> int:
    """The member as if they had joined on `day` (to settle a half already over)."""
    member = member_of(db, user)
    with db.transaction() as s:
        s.execute(update(Member).where(Member.id == member.id).values(
            joined_at=datetime.combine(day, datetime.min.time())))
        s.execute(update(ResourceAccount).where(ResourceAccount.member_id == member.id).values(registered_on=day))
        s.execute(update(MemberAddress).where(MemberAddress.member_id == member.id).values(valid_from=day))
    return member.id


def test_end_to_end_unit_readings_settle_the_managed_resources(complex_a, chat, db, tmp_path, app):
    from tests.core.test_settlement import settle, statement

    c = signup_until(chat(U1), "address")
    c.say(f"{ROAD} 101동 1203호")
    c.say("5512340987")
    finish(c)
    mid = backdate(db, U1, date(2024, 1, 1))
    # spec §13 example 1 (electricity B 2,000, A 1,900: exactly 5%) and example 4 (water B 80,
    # A 68: exactly 15%), sent by the billing company per unit, dong and ho with their suffixes
    rows = [(r, "101동", "1203호", m, a) for r, _n, m, a in
            half_rows("electricity", "-", "2025H1", 2000, 1900) + half_rows("water", "-", "2025H1", 80, 68)]
    rows.append(("electricity", "102", "901", 202501, 400))  # a unit nobody registered: kept
    res = cli(app, "import-usage", unit_file(tmp_path / "units.csv", rows))
    assert res.exit_code == 0, res.output
    assert "units nobody has registered yet: 1" in res.stdout
    settle(app, "2025H1")
    st, lines, _ = statement(db, mid, "2025H1")
    assert (lines["electricity"].baseline, lines["electricity"].actual) == (2000, 1900)
    assert (lines["electricity"].rate, lines["electricity"].points) == (Decimal("5.00"), 5000)
    assert (lines["water"].baseline, lines["water"].actual) == (80, 68)
    assert (lines["water"].rate, lines["water"].points) == (Decimal("15.00"), 2000)
    assert (st.points, st.won, st.payout_month) == (7000, 14000, 202512)


def test_the_balance_card_says_the_management_office_data_is_missing(complex_a, chat, db):
    c = signup_until(chat(U1), "address")
    c.say(f"{ROAD} 101동 1203호")
    c.say("5512340987")
    finish(c)
    c.open("balance", "포인트 조회")
    assert c.has("관리사무소 자료가 아직 없어요") and "2년 사용량이 없어" not in c.text


def test_moving_into_a_complex_links_the_unit(complex_a, chat, db, cipher, clock):
    from tests.auxil.scenarios import make_member

    make_member(db, cipher, clock, "u-mover")  # electricity separate, water managed without a unit key
    c = chat("u-mover")
    c.open("myinfo")
    c.tap("이사했어요")
    c.say(f"{LOT} 102동 305호")
    assert state(db, "u-mover").step == "customer_number"  # gas, billed separately in this complex
    c.say("5512340987")
    assert "이사 정보를 확인해 주세요" in c.text
    c.tap("저장하기")
    assert "새 주소로 바꿨어요" in c.text
    m = member_of(db, "u-mover")
    assert (m.address, m.address_detail) == (ROAD, "102동 305호")
    acc = accounts(db, "u-mover")
    unit = ComplexUnit("A1001", "102", "305")
    assert acc["water"].supply_key_hash == unit_supply_key_hash(cipher, "water", unit)
    assert acc["electricity"].billing_mode == "managed_fee" and acc["electricity"].billing_company == "이지스"
