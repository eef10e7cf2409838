"""Answers typed the way people type them, at the step where each belongs (issue 14): accounts
with their bank, mobiles with spaces, dots or +82, units in every spelling, an address with its
unit on one line, yes and no in their common forms, full-width digits and letters."""
from __future__ import annotations

import json
import logging

import pytest

from tests.auxil.scenarios import (
    SIGNUP_PATH,
    SIGNUP_STEPS,
    U1,
    answer,
    dump_database,
    make_member,
    member_of,
    signup_until,
    state,
)

pytestmark = pytest.mark.usefixtures("lgs")

FW = str.maketrans("0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ",
                   "０１２３４５６７８９－ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ\u3000")


def full_width(text: str) -> str:
    return text.translate(FW)


def finish(c, after: str) -> None:
    """Answer the standard path from the step after `after` to the end."""
    for _name, how in SIGNUP_PATH[SIGNUP_STEPS.index(after) + 1:]:
        answer(c, how)


def said_at(chat, db, step: str, typed: str):
    """The signup taken to `step`, `typed` said there: the chat and the dialog state after it."""
    c = signup_until(chat(U1), step)
    c.say(typed)
    return c, state(db, U1)


# --- accounts ----------------------------------------------------------------------------------------

def test_the_issue_an_account_typed_with_its_bank_at_the_account_step(chat, db, cipher):
    c = signup_until(chat(U1), "bank")
    c.tap("신한")
    c.say("신한은행 110-482-309517")
    assert state(db, U1).step == "account_holder" and c.has("신한은행 ********9517", "예금주")
    assert "110482309517" not in json.dumps(state(db, U1).slots)
    c.tap("네, 본인 명의예요")
    finish(c, "account_holder")
    m = member_of(db, U1)
    assert (m.bank_name, cipher.decrypt(m.account_number_enc)) == ("신한은행", "110482309517")


@pytest.mark.parametrize("typed", ["신한 110 482 309517", "110-482-309517 신한", "110.482.309517", "신한 은행 110-482-309517",
                                   full_width("110-482-309517")])
def test_account_forms_at_the_account_step(chat, db, cipher, typed):
    c = signup_until(chat(U1), "bank")
    c.tap("신한")
    c.say(typed)
    assert state(db, U1).step == "account_holder", c.text
    assert cipher.decrypt(state(db, U1).slots["pending_account_enc"]) == "110482309517"
    assert state(db, U1).slots["pending_bank"] == "신한은행"


def test_another_bank_named_at_the_account_step_is_asked_about(chat, db):
    c = signup_until(chat(U1), "account_number")  # KB국민 tapped
    c.say("신한은행 110-482-309517")
    assert c.has("KB국민은행", "신한은행", "다른 은행 고르기") and state(db, U1).step == "account_number"
    c.tap("다른 은행 고르기")
    assert state(db, U1).step == "bank"
    c.say("신한은행 110-482-309517")  # both at the bank step
    assert state(db, U1).step == "account_holder" and state(db, U1).slots["pending_bank"] == "신한은행"


@pytest.mark.parametrize("typed,bank,number", [("국민은행 123456-01-234567", "KB국민은행", "12345601234567"),
                                               ("110-482-309517 신한", "신한은행", "110482309517")])
def test_bank_and_account_in_one_message_skip_the_account_question(chat, db, cipher, typed, bank, number):
    c = signup_until(chat(U1), "bank")
    c.say(typed)
    assert state(db, U1).step == "account_holder"
    c.say("네")
    finish(c, "account_holder")
    m = member_of(db, U1)
    assert (m.incentive_type, m.bank_name, cipher.decrypt(m.account_number_enc)) == ("cash", bank, number)


def test_an_account_typed_with_the_holders_name(chat, db, cipher):
    c = signup_until(chat(U1), "account_number")  # KB국민 tapped, name 홍길동
    c.say("국민은행 123-456-789012 김영희")  # someone else's account: said so, nothing kept
    assert state(db, U1).step == "account_number" and c.has("본인 명의 계좌로만", "홍*동님 명의")
    assert state(db, U1).slots.get("pending_account_enc") is None
    c.say("국민은행 123-456-789012 홍길동")
    assert state(db, U1).step == "account_holder"
    assert cipher.decrypt(state(db, U1).slots["pending_account_enc"]) == "123456789012"
    c = signup_until(chat("u-holder-bank"), "bank")
    c.say("신한 110-482-309517 김영희")
    assert state(db, "u-holder-bank").step == "bank" and c.has("본인 명의 계좌로만")


def test_a_number_without_its_bank_at_the_bank_step_asks_for_the_bank(chat, db):
    c = signup_until(chat(U1), "bank")
    c.say("110-482-309517")
    assert c.has("은행을 먼저 골라") and state(db, U1).step == "bank" and state(db, U1).slots.get("pending_account_enc") is None


def test_bank_and_account_typed_at_the_incentive_question_mean_cash(chat, db):
    c = signup_until(chat(U1), "incentive_type")
    c.say("신한은행 110-482-309517")
    assert state(db, U1).step == "account_holder" and state(db, U1).slots["pending_bank"] == "신한은행"


@pytest.mark.parametrize("typed", ["900101.1234567", "900101\uff0d1234567", full_width("900101-1234567"), "신한 900101 1234567"])
def test_a_resident_registration_number_is_never_taken_for_an_account(chat, db, caplog, typed):
    caplog.set_level(logging.DEBUG, logger="cpoint")
    c = signup_until(chat(U1), "account_number")
    c.say(typed)
    assert c.has("주민등록번호는 채팅으로 받지 않아요") and state(db, U1).step == "account_number"
    assert state(db, U1).slots.get("pending_account_enc") is None and state(db, U1).failures == 0
    for fragment in ("1234567", "900101", "１２３４５６７"):
        assert fragment not in dump_database(db) and fragment not in caplog.text


# --- mobiles, units, addresses -------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["010 1234 5678", "010.1234.5678", "+82 10-1234-5678", "+821012345678",
                                   full_width("010-1234-5678"), "  010   1234  5678 "])
def test_mobile_forms(chat, db, typed):
    c = signup_until(chat(U1), "mobile")
    c.say(typed)
    assert state(db, U1).step == "householder" and state(db, U1).slots["mobile"] == "010-1234-5678"


@pytest.mark.parametrize("typed,unit", [("1203호", "1203호"), ("1203", "1203호"), ("101-1203", "101동 1203호"),
                                        ("101동 1203호", "101동 1203호"), ("101동1203호", "101동 1203호"),
                                        (full_width("101-1203"), "101동 1203호")])
def test_unit_forms(chat, db, typed, unit):
    c = signup_until(chat(U1), "address_detail")
    c.say(typed)
    assert state(db, U1).step == "billing_mode" and state(db, U1).slots["address"]["detail"] == unit


@pytest.mark.parametrize("typed", ["없어요", "아니요", "단독주택이에요", "주택이라 없어요", "해당 없음"])
def test_no_unit_in_words(chat, db, typed):
    c = signup_until(chat(U1), "address_detail")
    c.say(typed)
    assert state(db, U1).step == "billing_mode" and state(db, U1).slots["address"]["detail"] == ""


@pytest.mark.parametrize("typed,detail", [("세종시 한누리대로 2130 101동 1203호", "101동 1203호"),
                                          ("세종시 한누리대로 2130 101동1203호", "101동 1203호"),
                                          ("세종시   한누리대로 2130, 101-1203", "101동 1203호"),
                                          (full_width("세종시 한누리대로 2130 101-1203"), "101동 1203호")])
def test_an_address_with_its_unit_on_one_line_is_not_asked_the_unit_again(chat, db, typed, detail):
    c = signup_until(chat(U1), "address")
    c.say(typed)
    st = state(db, U1)
    assert st.step == "billing_mode" and not c.has("동·호수를 알려 주세요")
    assert (st.slots["address"]["base"], st.slots["address"]["detail"]) == ("세종특별자치시 한누리대로 2130", detail)
    assert st.slots["address"]["lg_code"] == "36110"


@pytest.mark.parametrize("typed", ["경기도수원시영통구예시로123 101동1203호", "수원 영통구 예시로 123 101동 1203호",
                                   "영통구 예시로 123 101-1203", "수원시영통구 예시로 123, 101동 1203호"])
def test_an_address_typed_glued_or_short_is_placed(chat, db, typed):
    c = signup_until(chat(U1), "address")
    c.say(typed)
    st = state(db, U1)
    assert st.step == "billing_mode", c.text
    assert st.slots["address"]["base"] == "경기도 수원시 영통구 예시로 123"
    assert (st.slots["address"]["detail"], st.slots["address"]["lg_code"]) == ("101동 1203호", "41117")


@pytest.mark.parametrize("typed", ["경기도 수원시 영통구 예시로 123 이에요", "경기도 수원시 영통구 예시로 123이요",
                                   "주소는 경기도 수원시 영통구 예시로 123", "경기도 수원시 영통구 예시로 123에 살아요"])
def test_an_address_in_a_sentence_keeps_no_word_of_it_as_the_unit(chat, db, typed):
    """The ending used to be kept as the unit ("이에요"): the unit question was skipped and the
    household's key held the ending."""
    c = signup_until(chat(U1), "address")
    c.say(typed)
    st = state(db, U1)
    assert st.step == "address_detail" and c.has("동·호수를 알려 주세요")
    assert (st.slots["address"]["base"], st.slots["address"]["detail"]) == ("경기도 수원시 영통구 예시로 123", "")


def test_an_address_naming_a_gu_many_cities_have_asks_for_the_city(chat, db):
    c = signup_until(chat(U1), "address")
    c.say("중구 세종대로 110")
    assert state(db, U1).step == "address" and c.has("시·도와 시·군·구를 포함해서")


def test_full_width_customer_number_and_email(chat, db, cipher):
    c = signup_until(chat(U1), "customer_number")
    c.say(full_width("04-1928-3746"))
    assert state(db, U1).step == "billing_mode" and state(db, U1).slots["resource"] == "water"
    c = signup_until(chat("u-fw-email"), "email")
    c.say(full_width("hong") + "＠example.com")
    assert state(db, "u-fw-email").slots["email"] == "hong@example.com"


# --- yes and no ----------------------------------------------------------------------------------------

YES = ["응", "어", "네", "넵", "예", "ㅇㅇ", "ㅇㅋ", "맞아요", "그래요", "좋아요", "네 맞아요", "넵넵", "물론이죠"]
NO = ["아니", "아뇨", "아니요", "ㄴㄴ", "싫어요", "안 할래요", "노노", "아니용", "아닌데요"]


@pytest.mark.parametrize("typed", [*YES, "제가 세대주예요", "저요", "본인이요", "제가요"])
def test_yes_at_the_householder_step(chat, db, typed):
    c = signup_until(chat(U1), "householder")
    c.say(typed)
    assert state(db, U1).step == "address" and state(db, U1).slots["householder"] == "self"


@pytest.mark.parametrize("typed", [*NO, "아빠가 세대주예요", "세대주 아님", "어머니요", "I am not"])
def test_no_at_the_householder_step(chat, db, typed):
    c = signup_until(chat(U1), "householder")
    c.say(typed)
    assert state(db, U1).step == "householder_name"


@pytest.mark.parametrize("step,typed,next_step", [
    ("terms", "ㅇㅇ", "name"), ("terms", "ㄴㄴ", None),
    ("account_holder", "넵", "optional"), ("account_holder", "아뇨", "incentive_type"),
    ("optional", "응", "motivation"), ("optional", "안 할래요", "confirm"),
    ("motivation", "아니요", "floor_area"), ("email", "ㄴㄴ", "referrer"),
    ("confirm", "ㅇㅋ", None), ("confirm", "아니요", "edit"),
])
def test_yes_and_no_at_every_yes_no_step(chat, db, step, typed, next_step):
    c = signup_until(chat(U1), step)
    c.say(typed)
    st = state(db, U1)
    if next_step is None:  # the dialog ended: declined terms, or joined
        assert st.dialog is None
        assert (member_of(db, U1) is not None) == (step == "confirm")
    else:
        assert st.step == next_step and st.failures == 0, c.text


@pytest.mark.parametrize("typed,opt_in", [("좋아요", True), ("싫어요", False)])
def test_yes_and_no_at_the_marketing_step(chat, db, typed, opt_in):
    c = signup_until(chat(U1), "confirm")
    c.tap("고치기")
    c.tap("광고 수신")
    c.say(typed)
    assert state(db, U1).step == "confirm" and state(db, U1).slots["consents"]["optional"] is opt_in


def test_something_else_at_a_yes_no_step_is_asked_again(chat, db):
    c = signup_until(chat(U1), "householder")
    c.say("어떻게 해요")  # a question: how to answer, and no wrong answer counted
    assert c.has("세대주이신지") and state(db, U1).failures == 0
    c.say("몇 개 더 남았어")
    c.say("잘 모르겠는데")
    assert c.has("세대주이신지") and state(db, U1).failures == 1


# --- my info -----------------------------------------------------------------------------------------

@pytest.fixture
def member(db, cipher, clock):
    return make_member(db, cipher, clock, "u-typed", incentive_type="cash", bank_name="신한은행",
                       account_number="110-123-456789")


def test_my_info_account_change_in_one_message(chat, db, cipher, member):
    c = chat("u-typed")
    c.open("myinfo")
    c.tap("계좌 변경")
    c.say("국민은행 123456-01-234567")
    assert state(db, "u-typed").step == "account_holder"
    c.say("ㅇㅇ")
    m = member_of(db, "u-typed")
    assert (m.bank_name, cipher.decrypt(m.account_number_enc)) == ("KB국민은행", "12345601234567")


@pytest.mark.parametrize("typed,code,step", [("기부로 할래요", "donation", None), ("현금으로 받을래요", None, "bank"),
                                             ("지역화폐로 받고 싶어요", "local_currency", None),
                                             ("기부 말고 현금으로 바꿔줘", None, "bank"),
                                             ("받는 방법 바꿀래요", None, "incentive_type"),
                                             ("받는 방법 신한 110-987-654321로 바꿔줘", None, "account_holder")])
def test_my_info_incentive_named_in_the_request(chat, db, member, typed, code, step):
    c = chat("u-typed")
    c.say(typed)
    st = state(db, "u-typed")
    assert (st.step if st and st.dialog else None) == step, c.text
    assert member_of(db, "u-typed").incentive_type == (code or "cash")  # cash stays until the account is done


@pytest.mark.parametrize("typed", ["가스 고객번호 추가할래요", "수도 등록하고 싶어요"])
def test_my_info_customer_number_added_in_words(chat, db, member, typed):
    c = chat("u-typed")
    c.say(typed)
    assert state(db, "u-typed").dialog == "myinfo", c.text


def test_my_info_mobile_with_plus_82(chat, db, member):
    c = chat("u-typed")
    c.open("myinfo")
    c.tap("휴대전화 변경")
    c.say("+82 10 9876 5432")
    assert member_of(db, "u-typed").mobile == "010-9876-5432"


def test_my_info_move_with_the_unit_on_one_line(chat, db, member):
    c = chat("u-typed")
    c.open("myinfo")
    c.tap("이사했어요")
    c.say("세종시 한누리대로 2130 102동1501호")
    assert state(db, "u-typed").step == "billing_mode"
    assert state(db, "u-typed").slots["address"]["detail"] == "102동 1501호"


@pytest.mark.parametrize("typed,withdrawn", [("넵", True), ("아니요", False), ("탈퇴할게요", True),
                                             ("탈퇴 안 할래요", False), ("탈퇴하지 않을래요", False),
                                             ("탈퇴 말고 그냥 둘게요", False),
                                             # a question about withdrawing is not the decision
                                             ("탈퇴하면 포인트는 어떻게 돼요?", False), ("탈퇴하면 다시 가입할 수 있나요", False),
                                             ("탈퇴할까요?", False)])
def test_my_info_withdraw_yes_and_no(chat, db, member, typed, withdrawn):
    c = chat("u-typed")
    c.open("myinfo")
    c.tap("탈퇴")
    c.say(typed)
    assert (member_of(db, "u-typed") is None) == withdrawn
    if not withdrawn and "?" in typed:
        assert c.has("정하시기 전에 아래 안내를 확인해 주세요") and "탈퇴하기" in c.labels


@pytest.mark.parametrize("typed", ["탈퇴 취소", "탈퇴 안 할래요", "탈퇴하지 않을래요", "탈퇴 철회할게요"])
def test_not_withdrawing_said_in_words_opens_no_confirmation(chat, db, member, typed):
    c = chat("u-typed")
    c.say(typed)
    assert c.has("탈퇴하지 않았어요")
    st = state(db, "u-typed")
    assert st is None or st.dialog is None
    c.say("네")  # a "네" after it withdraws nothing
    assert member_of(db, "u-typed") is not None


def test_a_question_at_the_signups_last_step_does_not_join(chat, db):
    c = signup_until(chat(U1), "confirm")
    c.say("가입하면 언제부터 포인트가 쌓여요?")
    assert member_of(db, U1) is None and state(db, U1).step == "confirm"
    c.say("가입할게요")
    assert member_of(db, U1) is not None


# --- names, dates and areas in a sentence; a person asked for mid-dialog -------------------------

@pytest.mark.parametrize("typed", ["홍길동이요", "제 이름은 홍길동이에요", "홍길동입니다"])
def test_a_name_typed_in_a_sentence_is_the_name(chat, db, typed):
    c = signup_until(chat(U1), "name")
    c.say(typed)
    st = state(db, U1)
    assert st.step == "mobile" and st.slots["name"] == "홍길동"
    # what was taken off is said back, the name itself is not
    assert c.has("부분은 빼고 적었어요") and "홍길동" not in c.text


def test_a_name_typed_syllable_by_syllable(chat, db):
    c = signup_until(chat(U1), "name")
    c.say("홍 길 동")
    st = state(db, U1)
    assert st.step == "mobile" and st.slots["name"] == "홍길동" and "빼고 적었어요" not in c.text


@pytest.mark.parametrize("typed", ["상담원 연결해줘", "사람이랑 얘기할래요", "상담원"])
def test_asking_for_a_person_at_the_name_step_is_not_a_name(chat, db, typed):
    c = signup_until(chat(U1), "name")
    c.say(typed)
    st = state(db, U1)
    assert st.step == "name" and "name" not in st.slots
    assert c.has("고객센터", "이어서 하시려면", "이름(실명)을 알려 주세요")
    c.say("홍길동")
    assert state(db, U1).step == "mobile"


def test_a_one_word_name_that_sounds_like_staff_is_still_a_name(chat, db):
    c = signup_until(chat(U1), "name")
    c.say("김상담")
    assert state(db, U1).slots["name"] == "김상담"


@pytest.mark.parametrize("typed,day", [("2020년 3월", "2020-03-01"), ("20년 3월 1일", "2020-03-01"),
                                       ("2020.3.1 이에요", "2020-03-01")])
def test_move_in_date_forms(chat, db, typed, day):
    c = signup_until(chat(U1), "move_in_date")
    c.say(typed)
    st = state(db, U1)
    assert st.step == "email" and st.slots["move_in_date"] == day


@pytest.mark.parametrize("typed,shows", [("포인트 조회", "포인트 조회는 회원만 할 수 있어요"), ("도움말", "이렇게 도와드릴 수 있어요")])
def test_a_menu_word_typed_mid_dialog_opens_it_and_keeps_the_dialog(chat, db, typed, shows):
    c = signup_until(chat(U1), "address")
    c.say(typed)
    assert c.has(shows, "'가입하기' 메뉴에서 이어서 할 수 있어요")
    st = state(db, U1)
    assert (st.step, st.failures) == ("address", 0)
    c.say("세종시 한누리대로 2130 101동 1203호")
    assert state(db, U1).step == "billing_mode"


@pytest.mark.parametrize("typed,answer", [("이거 어디서 봐요", "고객번호는 요금 고지서에 있어요"),
                                          ("번호 어디 있어요?", "고객번호는 요금 고지서에 있어요"),
                                          ("포인트는 어디서 봐요?", "카본페이 앱")])  # another topic: its own answer
def test_where_is_it_at_the_customer_number_step_is_about_the_number(chat, db, typed, answer):
    c = signup_until(chat(U1), "customer_number")
    c.say(typed)
    assert c.has(answer) and state(db, U1).step == "customer_number"


@pytest.mark.parametrize("typed", ["나중에 할게요", "다음에 할게요", "안 적을래요"])
def test_later_at_an_optional_question_skips_it(chat, db, typed):
    c = signup_until(chat(U1), "email")
    c.say(typed)
    assert state(db, U1).step == "referrer" and state(db, U1).slots.get("email") is None


@pytest.mark.parametrize("step,typed", [("address", "잠깐만요"), ("address", "나중에 할게요"),
                                        ("customer_number", "아 잠깐 고지서 찾아볼게요")])
def test_a_pause_mid_signup_keeps_everything_and_counts_no_failure(chat, db, step, typed):
    c = signup_until(chat(U1), step)
    slots = dict(state(db, U1).slots)
    c.say(typed)
    st = state(db, U1)
    assert c.has("천천히 하셔도 돼요", "24시간 동안 그대로") and "알아보기 어려워요" not in c.text
    assert (st.step, st.failures, st.slots) == (step, 0, slots)


@pytest.mark.parametrize("typed", ["가입 안 할래요", "그만둘게요", "나가기", "가입 취소할래요"])
def test_wanting_to_stop_in_a_sentence_points_at_the_cancel_button(chat, db, typed):
    c = signup_until(chat(U1), "address")
    c.say(typed)
    st = state(db, U1)
    assert c.has("그만두시려면 아래 '취소'를 눌러 주세요") and "취소" in c.labels
    assert (st.dialog, st.step, st.failures) == ("signup", "address", 0)
    c.tap("취소")
    assert state(db, U1) is None or state(db, U1).dialog is None


def test_is_my_account_safe_gets_why_and_how_it_is_kept(chat, db):
    c = signup_until(chat(U1), "account_number")
    c.say("계좌 안전해요?")
    assert c.has("암호화해서 저장") and state(db, U1).step == "account_number"


@pytest.mark.parametrize("typed", ["그만할래요", "그만 할게요", "취소해 주세요"])
def test_stopping_in_words_cancels(chat, db, typed):
    c = signup_until(chat(U1), "address")
    c.say(typed)
    assert c.has("취소했어요") and state(db, U1).dialog is None


@pytest.mark.parametrize("typed", ["고객번호 0419283746", "한전 04-1928-3746 입니다"])
def test_a_customer_number_in_a_few_words_at_its_step(chat, db, typed):
    c = signup_until(chat(U1), "customer_number")
    c.say(typed)
    assert state(db, U1).step != "customer_number", c.text
    assert c.has("전기 고객번호(******3746)를 확인했어요")


@pytest.mark.parametrize("typed", ["몰라요", "고지서가 없어요", "번호 모르겠는데", "고지서 잃어버렸어요"])
def test_not_knowing_the_customer_number_gets_where_to_find_it(chat, db, typed):
    c = signup_until(chat(U1), "customer_number")
    c.say(typed)
    assert state(db, U1).step == "customer_number"
    assert c.has("한전ON", "관리비 합산") and "숫자 10자리예요" not in c.text
    assert "다른 방식 고르기" in c.labels
    c.tap("다른 방식 고르기")
    c.tap("관리비 합산")  # electricity is needed: in the management fee
    c.tap("개별납부")  # water, by its own bill
    c.say(typed)
    assert state(db, U1).step == "customer_number" and c.has("상수도사업소", "사용 안 함", "고객번호 변경")


@pytest.mark.parametrize("step,typed,next_step", [
    ("billing_mode", "관리비 말고 따로 내요", "customer_number"),   # what follows 말고 is the answer
    ("member_type", "개인 아니고 가게예요", "terms"),
    ("billing_mode", "관리비 아니에요", "billing_mode"),            # denied, the other not said: asked again
    ("billing_mode", "관리비에 포함 안 돼요", "billing_mode"),
])
def test_a_choice_with_a_contrast_or_a_denial(chat, db, step, typed, next_step):
    c = signup_until(chat(U1), step)
    c.say(typed)
    st = state(db, U1)
    assert st.step == next_step, c.text
    if step == "member_type":
        assert st.slots["member_type"] == "commercial"
    # (the customer number is asked only of a bill of its own: 따로 was taken)
    if next_step == "billing_mode":
        assert "electricity" not in st.slots.get("resources", {})


def test_the_incentive_after_a_contrast(chat, db):
    c = signup_until(chat(U1), "incentive_type")
    c.say("지역화폐 아니고 현금")
    assert state(db, U1).step == "bank"


@pytest.mark.parametrize("step,typed,next_step", [
    ("account_holder", "본인 아니에요", "incentive_type"),   # a yes-or-no question: the denial is the no
    ("householder", "세대주 아니에요", "householder_name"),
    ("optional", "입력 안 할래요", "confirm"),
])
def test_a_denied_yes_is_a_no(chat, db, step, typed, next_step):
    c = signup_until(chat(U1), step)
    c.say(typed)
    assert state(db, U1).step == next_step, c.text


def test_a_name_and_an_rrn_copied_with_invisible_characters(chat, db):
    c = signup_until(chat(U1), "name")
    c.say("홍\u200b길동\u200e")
    assert state(db, U1).step == "mobile" and state(db, U1).slots["name"] == "홍길동"
    c.say("900101\u200b-\u20601234567")
    assert c.has("주민등록번호") and state(db, U1).step == "mobile"


def test_a_whole_signup_typed_in_banmal_without_a_tap(chat, db, cipher):
    """Every step answered the way people type to a chatbot: short, 반말, no buttons."""
    c = chat("u-banmal")
    for said in ["가입할래", "개인", "다 동의", "김민수", "01012345678", "내가 세대주야", "수원 영통구 예시로 123",
                 "1203호", "따로 내", "0419283746", "관리비에 포함", "안 써", "현금", "국민 123456-01-234567",
                 "응 내꺼", "아니 됐어", "가입해"]:
        step = (state(db, "u-banmal") or type("S", (), {"step": None})).step
        c.say(said)
        assert not c.has("아래 버튼에서 골라 주세요") and not c.has("입력이 잘 안 되시나요"), (step, said, c.text)
    m = member_of(db, "u-banmal")
    assert m is not None and (m.name, m.mobile, m.incentive_type, m.bank_name) == ("김민수", "010-1234-5678", "cash", "KB국민은행")
    assert m.account_holder == "김민수" and cipher.decrypt(m.account_number_enc) == "12345601234567"
    modes = {a.resource: a.billing_mode for a in m.accounts if a.ended_on is None}
    assert modes == {"electricity": "separate", "water": "managed_fee", "gas": "not_used"}


def test_a_shops_landline_for_the_contact_gets_its_own_answer(chat, db):
    c = chat("u-shop-landline")
    for said in ["가입", "가게예요", "모두 동의", "그린마트 영통점"]:
        c.say(said)
    c.say("031-123-4567")
    assert c.has("일반 전화나 인터넷 전화 번호는 받을 수 없어요") and state(db, "u-shop-landline").step == "mobile"


@pytest.mark.parametrize("step,typed", [("terms", "필수만 동의하면 뭐가 달라요?"),
                                        ("billing_mode", "관리비에 포함되면 어떻게 해요?"),
                                        ("incentive_type", "지역화폐는 어디서 써요?")])
def test_a_question_naming_an_option_chooses_nothing(chat, db, step, typed):
    """A consent, a billing mode or a payout type was recorded from a question that named it."""
    c = signup_until(chat(U1), step)
    before = dict(state(db, U1).slots)
    c.say(typed)
    st = state(db, U1)
    assert st.step == step and st.slots == before


@pytest.mark.parametrize("step,typed", [("billing_mode", "관리비에 포함돼요"), ("billing_mode", "관리비 합산?"),
                                        ("incentive_type", "지역화폐요")])
def test_an_answer_with_an_ending_or_said_unsure_still_answers(chat, db, step, typed):
    c = signup_until(chat(U1), step)
    before = dict(state(db, U1).slots)
    c.say(typed)
    assert state(db, U1).slots != before  # recorded, and the next question asked


@pytest.mark.parametrize("step,typed,reason", [
    ("name", "이름은 왜 필요해요?", "실명이 필요해요"), ("name", "왜요", "실명이 필요해요"),
    ("name", "실명 써야 해요?", "실명이 필요해요"),
    ("mobile", "번호는 왜 필요해요?", "시·군·구가 연락드리고"),
    ("address", "주소 꼭 써야 해요?", "세대당 한 명만"),
    ("customer_number", "고객번호 안 적으면 안 돼요?", "감축률을 계산해요"),
])
def test_asking_why_a_step_asks_gets_its_reason_and_the_question_again(chat, db, step, typed, reason):
    c = signup_until(chat(U1), step)
    c.say(typed)
    assert c.has(reason) and state(db, U1).step == step


@pytest.mark.parametrize("typed", ["몰라요", "닉네임도 돼요", "비밀이에요", "네", "아니요"])
def test_words_that_fit_a_names_shape_and_are_none(chat, db, typed):
    c = signup_until(chat(U1), "name")
    c.say(typed)
    st = state(db, U1)
    assert st.step == "name" and "name" not in st.slots


@pytest.mark.parametrize("typed", ["건너뛸게요", "나중에 할게요", "가입하기"])
def test_the_optional_details_are_skipped_as_people_say_it(chat, typed):
    c = signup_until(chat(U1), "optional")
    c.say(typed)
    assert "탄소중립포인트 가입" in c.text and "가입하기" in c.labels  # the summary, to confirm


@pytest.mark.parametrize("step,typed,next_step", [
    ("member_type", "집이요", "terms"), ("member_type", "가정집이에요", "terms"),
    ("incentive_type", "돈으로 주세요", "bank"), ("incentive_type", "통장으로", "bank"),
])
def test_choices_in_everyday_words(chat, db, step, typed, next_step):
    c = signup_until(chat(U1), step)
    c.say(typed)
    assert state(db, U1).step == next_step, c.text


def test_an_010_mobile_a_digit_short_is_asked_again_saying_so(chat, db):
    c = signup_until(chat(U1), "mobile")
    c.say("010 1234 567")
    assert c.has("010 번호는 11자리예요") and state(db, U1).step == "mobile"


def test_an_email_with_spaces_around_the_at_sign(chat, db):
    c = signup_until(chat(U1), "email")
    c.say("hong @ naver.com 이요")
    assert state(db, U1).step == "referrer" and state(db, U1).slots["email"] == "hong@naver.com"


@pytest.mark.parametrize("typed", ["없어요 단독주택이에요", "저희는 주택이라 동호수 없어요"])
def test_no_unit_said_in_a_sentence(chat, db, typed):
    c, st = said_at(chat, db, "address_detail", typed)
    assert st.step == "billing_mode" and st.slots["address"]["detail"] == ""


@pytest.mark.parametrize("typed", ["홍길동 010-1234-5678", "저는 홍길동이고 번호는 010 1234 5678이에요",
                                   "010-1234-5678 홍길동입니다"])
def test_the_name_and_the_mobile_in_one_message(chat, db, typed):
    c, st = said_at(chat, db, "name", typed)
    assert (st.step, st.slots["name"], st.slots["mobile"]) == ("householder", "홍길동", "010-1234-5678")
    assert c.has("휴대전화 번호(010-****-5678)도 받았어요")
    c.say("이전")
    assert state(db, U1).step == "name" and "mobile" not in state(db, U1).slots


def test_a_name_with_a_short_mobile_is_asked_again_keeping_nothing(chat, db):
    c, st = said_at(chat, db, "name", "홍길동 010 1234 567")
    assert c.has("010 번호는 11자리예요") and st.step == "name" and "name" not in st.slots


def test_the_name_and_the_mobile_when_joining_green_life(chat, db):
    c = chat(U1)
    c.say("녹색생활 가입할래요")
    c.tap("네, 14세 이상")
    c.say("김철수, 010-2222-3333")
    st = state(db, U1)
    assert (st.step, st.slots["name"], st.slots["mobile"]) == ("region", "김철수", "010-2222-3333")


@pytest.mark.parametrize("typed", ["아내 명의예요", "엄마 통장이에요", "남편 거예요"])
def test_a_family_members_account_is_not_ones_own(chat, db, typed):
    c, st = said_at(chat, db, "account_holder", typed)
    assert st.step == "incentive_type" and c.has("본인 명의 계좌로만") and st.slots.get("pending_account_enc") is None


def test_own_words_with_a_family_word_are_asked_again(chat, db):
    c = signup_until(chat(U1), "account_holder")
    c.say("엄마가 만들어 준 제 통장이에요")
    assert state(db, U1).step == "account_holder"


def test_an_option_said_unsure_is_asked_again_not_guessed(chat, db):
    c, st = said_at(chat, db, "billing_mode:water", "아파트라서 잘 모르겠어요")
    assert (st.step, st.slots["resource"]) == ("billing_mode", "water")


def test_self_employed_joins_as_a_shop(chat, db):
    c = chat(U1)
    c.open("signup", "회원가입 할래요")
    c.say("자영업자예요")
    assert state(db, U1).step == "terms" and state(db, U1).slots["member_type"] == "commercial"


def test_a_question_close_to_the_steps_own_faq_gets_that_answer(chat, db):
    c = signup_until(chat(U1), "customer_number")
    c.say("한전 앱에서 봐도 돼요?")
    assert c.has("한전ON") and "카본페이" not in c.text and state(db, U1).step == "customer_number"


@pytest.mark.parametrize("typed", ["[16677] 경기도 수원시 영통구 예시로 123", "📍경기도 수원시 영통구 예시로 123",
                                   "우편번호 16677 경기도 수원시 영통구 예시로 123"])
def test_an_address_copied_with_its_postcode_or_a_pin(chat, db, typed):
    c, st = said_at(chat, db, "address", typed)
    assert st.step == "address_detail" and st.slots["address"]["base"] == "경기도 수원시 영통구 예시로 123"


def test_a_name_with_an_emoji(chat, db):
    c, st = said_at(chat, db, "name", "홍길동 😀")
    assert st.step == "mobile" and st.slots["name"] == "홍길동" and "빼고 적었어요" not in c.text


@pytest.mark.parametrize("typed,step", [("👍", "address"), ("👌🏻", "address"), ("🙅‍♀️", "householder_name")])
def test_a_yes_or_no_emoji_answers_a_yes_or_no_question(chat, db, typed, step):
    c, st = said_at(chat, db, "householder", typed)
    assert st.step == step


def test_an_emoji_alone_is_asked_again_without_counting_a_wrong_answer(chat, db):
    c, st = said_at(chat, db, "householder", "😀")
    assert (st.step, st.failures) == ("householder", 0) and c.has("세대주이신지")


# --- questions typed at a step -------------------------------------------------------------------

def test_a_question_near_some_faqs_offers_them_and_each_answers_then_asks_again(chat, db):
    c, st = said_at(chat, db, "name", "가입하면 포인트 얼마 받아요?")
    assert c.has("혹시 아래 질문을 물으신 건가요?", "이름(실명)을 알려 주세요") and st.failures == 0
    assert {"최대 금액", "취소"} <= set(c.labels)
    c.tap("최대 금액")
    assert c.has("1년에 최대 135,000원", "이름(실명)을 알려 주세요") and state(db, U1).step == "name"
    c.say("홍길동")
    assert state(db, U1).step == "mobile"


def test_a_question_near_no_faq_says_where_to_ask_and_counts_nothing(chat, db):
    c, st = said_at(chat, db, "address", "기숙사에 살면 어떡해요?")
    assert c.has("정확히 답하기 어려워요", "1660-2030", "주소를 알려 주세요") and (st.step, st.failures) == ("address", 0)


@pytest.mark.parametrize("step,typed,says", [
    ("incentive_type", "나중에 바꿀 수 있어요?", "가입한 뒤에도 '내 정보'에서 언제든 바꿀 수 있어요"),
    ("address", "주소 나중에 변경 가능한가요", "가입한 뒤에도 '내 정보'에서"),
    ("name", "이름 나중에 바꿀 수 있나요?", "이름은 가입한 뒤 채팅에서 바꿀 수 없어요"),
    ("mobile", "번호는 어디에 써요?", "시·군·구가 연락드리고"),
    ("householder", "세대주가 뭐예요?", "주민등록표(등본)에 세대주로 올라 있는 분"),
    ("householder", "세대주 확인 어떻게 해요", "정부24 앱이나 주민센터"),
    ("billing_mode", "이게 무슨 말이에요", "관리비 합산은 요금이 아파트 관리비 고지서에 함께 나오는 경우"),
    ("mobile", "집전화도 돼요?", "집 전화나 회사 전화는 등록할 수 없어요"),
    ("address", "주소 어디까지 써요?", "시·도부터 도로명과 건물번호"),
    ("address", "전입신고 아직 안 했는데 어떡해요", "지금 주민등록(등본)에 있는 주소로 가입하시고"),
    ("address", "실제 사는 곳이랑 등본 주소랑 달라요", "지금 주민등록(등본)에 있는 주소로 가입하시고"),
])
def test_what_a_step_means_why_it_is_asked_and_whether_it_changes_later(chat, db, step, typed, says):
    c, st = said_at(chat, db, step, typed)
    assert c.has(says) and (st.step, st.failures) == (step.split(":")[0], 0), c.text


def test_my_info_says_where_a_change_is_made_later(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-later")
    c = chat("u-later")
    c.say("이사했어요")
    c.say("아직 전입신고 안 했어요")  # the move's own note: keep the address until the move is registered
    assert c.has("전입신고를 마치신 뒤 새 주소로 바꿔 주세요") and state(db, "u-later").step == "address"
    c.tap("취소")
    c.say("휴대폰 번호 바꿀래요")
    c.say("나중에 또 바꿀 수 있어요?")
    assert c.has("언제든 '내 정보'에서 다시 바꿀 수 있어요") and state(db, "u-later").step == "mobile"


@pytest.mark.parametrize("typed,head", [("아버지 김철수예요", "김철수"), ("세대주는 어머니 이영희입니다", "이영희"),
                                        ("김철수(아버지)", "김철수"), ("아빠가 세대주예요", None),
                                        ("아니요 저희 아버지요", None), ("I am not", None)])
def test_the_head_of_household_named_with_the_relation(chat, db, typed, head):
    c, st = said_at(chat, db, "householder", typed)
    if head is None:  # the relation alone: the name is asked
        assert st.step == "householder_name"
    else:
        assert st.step == "address" and st.slots["head_of_household"] == head and st.slots["householder"] == "other"


# --- an answer with a question after it ---------------------------------------------------------------

@pytest.mark.parametrize("step,typed,slot,value,said", [
    ("name", "홍길동인데 이름은 왜 물어봐요?", "name", "홍길동", "실명이 필요해요"),
    ("name", "홍길동이요. 근데 닉네임은 안 돼요?", "name", "홍길동", "실명이 필요해요"),
    ("mobile", "010-1234-5678 이거 어디에 써요?", "mobile", "010-1234-5678", "시·군·구가 연락드리고"),
    ("householder", "네 근데 세대주가 뭐예요?", "householder", "self", "등본을 떼 보면"),
    ("householder", "아니요, 세대주 아니면 가입 못 해요?", "householder", None, "세대주가 아니어도 가입할 수 있어요"),
    ("incentive_type", "현금이요 근데 언제 들어와요?", "pending_incentive", None, "다음 해 6월에 지급돼요"),
    ("account_holder", "네 근데 가족 계좌는 안 돼요?", "incentive_type", "cash", "가족 명의 계좌라도"),
    ("floor_area", "84요 근데 이건 왜 물어봐요", "floor_area", "84.0", "비슷한 크기의 집과"),
])
def test_an_answer_with_a_question_after_it_is_taken_and_the_question_answered(chat, db, step, typed, slot, value,
                                                                                 said):
    c, st = said_at(chat, db, step, typed)
    assert st.step != step and c.has(said)
    if value is not None:
        assert st.slots[slot] == value


def test_an_address_with_a_question_after_it_keeps_no_word_of_the_question(chat, db):
    """The question used to be kept as the unit ("근데 주소 왜 필요해요?") and the unit question skipped."""
    c, st = said_at(chat, db, "address", "경기도 수원시 영통구 예시로 123 근데 주소 왜 필요해요?")
    assert st.step == "address_detail" and c.has("주소지 시·군·구가 지급하고")
    assert (st.slots["address"]["base"], st.slots["address"]["detail"]) == ("경기도 수원시 영통구 예시로 123", "")
    c.say("101동 1203호요 동호수 꼭 써야 돼요?")
    assert state(db, U1).slots["address"]["detail"] == "101동 1203호"


@pytest.mark.parametrize("step,typed", [
    ("incentive_type", "현금으로 받으면 언제 들어와요?"),  # one question about cash: nothing chosen
    ("customer_number", "고객번호가 어디 있어요?"),
    ("name", "이름 왜 물어봐요?"),
    ("name", "가입하면 포인트 얼마 받아요?"),
    ("householder", "세대주 확인 어떻게 해요"),
])
def test_a_question_alone_answers_nothing(chat, db, step, typed):
    c, st = said_at(chat, db, step, typed)
    assert st.step == step


def test_an_answer_with_a_question_nobody_can_answer_says_so_and_goes_on(chat, db):
    c, st = said_at(chat, db, "customer_number", "0419283746 이거 맞나요?")
    assert st.step == "billing_mode" and c.has("수도요금") and not c.has("답하기 어려워요")  # asks nothing more
    c.tap("개별납부")
    c.say("2345678인데 여기 포함돼요?")
    assert c.has("함께 물어보신 것에는 제가 정확히 답하기 어려워요", "가스요금")


def test_an_answer_with_a_question_near_some_faqs_offers_them_at_the_next_step(chat, db):
    c, st = said_at(chat, db, "name", "홍길동인데 가입하면 포인트 얼마 받아요?")
    assert st.slots["name"] == "홍길동" and st.step == "mobile"
    assert c.has("혹시 아래 질문을 물으신 건가요?", "휴대전화 번호를 알려 주세요") and "최대 금액" in c.labels
    c.tap("최대 금액")
    assert c.has("1년에 최대 135,000원", "휴대전화 번호를 알려 주세요") and state(db, U1).step == "mobile"


@pytest.mark.parametrize("step,says", [
    ("householder", "세대당 한 명만 가입할 수 있어요"), ("address_detail", "동·호수로 구분해요"),
    ("billing_mode", "관리사무소 자료로 사용량을 받아요"), ("incentive_type", "어떤 방법으로 지급할지"),
    ("account_holder", "본인 명의 계좌예요"),
])
def test_why_each_step_asks_is_answered_and_the_step_asked_again(chat, db, step, says):
    c, st = said_at(chat, db, step, "이건 왜 물어봐요?")
    assert c.has(says) and (st.step, st.failures) == (step, 0)


@pytest.mark.parametrize("typed,householder,head", [("김철수", "other", "김철수"), ("김철수요", "other", "김철수"),
                                                    ("홍길동", "self", None)])
def test_the_head_of_household_named_alone_at_the_question(chat, db, typed, householder, head):
    """A name typed for '홍*동님이 세대주이신가요?': someone else (said back, masked), or the member."""
    c, st = said_at(chat, db, "householder", typed)
    assert st.step == "address" and (st.slots["householder"], st.slots["head_of_household"]) == (householder, head)
    assert c.has("세대주를 김*수님으로 적었어요") == (head is not None)


@pytest.mark.parametrize("typed", ["몰라요", "잘 모르겠어요", "김철수 010-1234-5678", "잠깐만요", "처음부터", "취소할래요", "이전"])
def test_no_name_at_the_household_question_is_taken_for_one(chat, db, typed):
    c, st = said_at(chat, db, "householder", typed)
    assert st is None or (st.step != "address" and not st.slots.get("head_of_household"))
