"""An address in a 구 that 인천's 2026 reorganisation split (서구 -> 서해구 and 검단구; 중구 ->
제물포구 and 영종구), written so that it does not say which side (a road name): the citizen is asked
which 구, by buttons or typed, instead of being left without a 시·군·구."""
from __future__ import annotations

import pytest

from tests.auxil.scenarios import answer, make_member, member_of, reply_texts, signup_until, state

pytestmark = pytest.mark.usefixtures("lgs")

SIGNUP_REST = [("tap", "개별납부"), ("say", "0419283746"), ("tap", "관리비 합산"), ("tap", "사용 안 함"),
               ("tap", "현금(계좌)"), ("tap", "KB국민"), ("say", "123-456-789012"), ("tap", "네, 본인 명의예요"),
               ("tap", "건너뛰기"), ("tap", "가입하기")]


def to_the_question(chat, user: str, address: str):
    c = signup_until(chat(user), "address")
    c.say(address)
    c.say("101동 1203호")
    return c


@pytest.mark.parametrize("typed, code", [("검단이요", "28290"), ("서해구", "28275"), ("인천 검단구요", "28290")])
def test_a_road_address_of_the_old_seogu_asks_which_gu(chat, db, typed, code):
    user = f"u-split-{code}-{len(typed)}"
    c = to_the_question(chat, user, "인천광역시 서구 봉오대로 123")
    assert c.has("행정구역 개편으로 나뉘었어요", "서해구", "검단구")
    assert set(c.labels) >= {"서해구", "검단구"} and state(db, user).step == "address_sigungu"
    c.say("서구")  # the old name says neither: asked again, with where to look it up
    assert c.has("중에서 골라 주세요", "정부24") and {"서해구", "검단구"} <= set(c.labels)
    assert state(db, user).step == "address_sigungu"
    c.say(typed)
    assert state(db, user).step == "billing_mode"
    for how in SIGNUP_REST:
        answer(c, how)
    member = member_of(db, user)
    assert member is not None and member.local_government_code == code
    assert not any("시·군·구를 아직 확인하지 못했어요" in reply_texts(r) for r in c.history)


def test_the_gu_is_tapped_too_and_a_lot_address_needs_no_question(chat, db):
    c = to_the_question(chat, "u-split-tap", "인천 중구 서해대로 100")
    assert {"제물포구", "영종구"} <= set(c.labels)
    c.say("영종구는 어디예요?")  # a question naming one chooses none
    assert state(db, "u-split-tap").step == "address_sigungu" and {"제물포구", "영종구"} <= set(c.labels)
    c.tap("영종구")
    assert state(db, "u-split-tap").slots["address"]["lg_code"] == "28155"
    # a lot address naming its 법정동 is placed without asking
    to_the_question(chat, "u-split-lot", "인천 서구 마전동 123")
    assert state(db, "u-split-lot").step == "billing_mode"
    assert state(db, "u-split-lot").slots["address"]["lg_code"] == "28290"


def test_moving_into_a_split_gu_asks_which_one_too(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-split-move")
    c = chat("u-split-move")
    c.open("myinfo")
    c.tap("이사했어요")
    c.say("인천광역시 서구 봉오대로 7 2층")
    assert c.has("행정구역 개편으로 나뉘었어요") and state(db, "u-split-move").step == "address_sigungu"
    c.tap("검단구")
    c.tap("개별납부")
    c.say("0419283746")
    c.tap("관리비 합산")
    c.tap("사용 안 함")
    c.tap("저장하기")
    assert "새 주소로 바꿨어요" in c.text
    assert member_of(db, "u-split-move").local_government_code == "28290"


def test_a_member_who_joined_before_is_asked_on_the_balance_turn(chat, db, cipher, clock, tmp_path):
    """Joined with a road address under 서구 before the chat asked (no 시·군·구): the next
    balance turn asks which 구; the answer gives the member, the address history, the water
    number's waterworks and its readings kept under no company the 구."""
    from datetime import datetime

    from sqlalchemy import select

    from core import members as M
    from core.models import MemberAddress, MeterReading
    from core.progress import prepare_progress
    from core.rules import default_rules
    from core.usage_import import import_usage
    from tests.auxil.engine import write_usage_csv

    mid = make_member(db, cipher, clock, "u-split-old", address="인천광역시 서구 봉오대로 123 2층", resources=[
        M.ResourceChoice("electricity", "separate", "0419283746"), M.ResourceChoice("water", "separate", "1234567"),
        M.ResourceChoice("gas", "not_used")])
    assert member_of(db, "u-split-old").local_government_code is None
    import_usage(db, cipher, clock, write_usage_csv(tmp_path / "w.csv", [("water", "1234567", 202609, "12")]))
    with db.engine.begin() as conn:  # figures prepared in bulk: the balance turn's fast path asks too
        assert prepare_progress(conn, 202611, default_rules(), datetime(2026, 11, 22))[1][mid]["lg_open"]
    c = chat("u-split-old")
    c.open("balance", "내 포인트")
    assert c.has("담당 구를 아직 확인하지 못했어요") and {"서해구", "검단구"} <= set(c.labels)
    c.say("검단구요")
    assert c.has("담당 구를 검단구(으)로 등록했어요")
    m = member_of(db, "u-split-old")
    assert m.local_government_code == "28290"
    with db.session() as s:
        assert [a.local_government_code for a in s.scalars(select(MemberAddress).where(MemberAddress.member_id == mid))] \
            == ["28290"]
        assert {r.company for r in s.scalars(select(MeterReading).where(MeterReading.resource == "water"))} \
            == {"W28290"}
    assert {a.resource: a.company for a in m.accounts if a.ended_on is None}["water"] == "W28290"
    c.open("balance", "내 포인트")  # answered: the balance card, no question
    assert not c.has("담당 구를 아직") and "검단구" not in c.labels
