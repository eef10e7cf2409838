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
