"""Going back mid-dialog: "이전" takes back the last answer and asks its question again, "처음부터"
every answer; a tap on the previous question's button answers it again. The slots go back to
exactly what they were, so nothing of the answer taken back (an account, a branch) survives."""
from __future__ import annotations

import pytest

from bot.dialogs.signup.machine import START, TRAIL
from tests.auxil.scenarios import SIGNUP_PATH, SIGNUP_STEPS, U1, answer, make_member, member_of, signup_until, state

pytestmark = pytest.mark.usefixtures("lgs")


def answers_kept(db) -> dict:
    slots = dict(state(db, U1).slots)
    slots.pop(TRAIL, None)
    slots.pop(START, None)
    return slots


def goes_back(c, db, typed: str, step: str) -> None:
    """`typed` takes back the last answer: the notice, and `step` asked again."""
    c.say(typed)
    assert c.has("이전 질문으로 돌아왔어요") and state(db, U1).step == step


def finish(c, after: str) -> None:
    for _name, how in SIGNUP_PATH[SIGNUP_STEPS.index(after) + 1:]:
        answer(c, how)


@pytest.mark.parametrize("typed", ["이전", "이전이요", "뒤로", "뒤로 갈래요", "이전 질문으로", "잘못 입력했어요",
                                   "앗 잘못 눌렀어요", "되돌아가기"])
def test_back_asks_the_previous_question_again_with_the_answers_before_it(chat, db, typed):
    c = signup_until(chat(U1), "name")
    at_name = answers_kept(db)
    c.say("홍길동")
    assert state(db, U1).step == "mobile" and answers_kept(db)["name"] == "홍길동"
    c.say(typed)
    st = state(db, U1)
    assert c.has("이전 질문으로 돌아왔어요", "이름") and (st.step, st.failures) == ("name", 0)
    assert answers_kept(db) == at_name


@pytest.mark.parametrize("typed", ["잘못 눌렀어요", "뒤로 갈래요", "이전 단계로"])
def test_back_at_a_name_question_is_not_taken_for_a_name(chat, db, typed):
    c = signup_until(chat(U1), "name")
    c.say(typed)
    assert state(db, U1).step == "terms" and "name" not in answers_kept(db)


def test_back_twice_then_on_again_joins_with_the_new_answers(chat, db):
    c = signup_until(chat(U1), "account_number")
    at_incentive = None
    c.say("이전")  # to the bank
    assert state(db, U1).step == "bank"
    c.say("이전")  # to the incentive type, cash taken back
    assert state(db, U1).step == "incentive_type" and "pending_bank" not in answers_kept(db)
    at_incentive = answers_kept(db)
    c.tap("기부")
    c.say("뒤로")
    assert state(db, U1).step == "incentive_type" and answers_kept(db) == at_incentive
    c.tap("현금(계좌)")
    c.tap("신한")
    c.say("110-123-456789")
    finish(c, "account_number")
    member = member_of(db, U1)
    assert member is not None and member.incentive_type == "cash" and member.bank_name == "신한은행"


def test_a_branch_taken_back_leaves_nothing_behind(chat, db):
    c = signup_until(chat(U1), "incentive_type")
    before = answers_kept(db)
    c.tap("현금(계좌)")
    c.tap("KB국민")
    c.say("123-456-789012")
    assert state(db, U1).step == "account_holder" and "pending_account_enc" in answers_kept(db)
    for _ in range(3):
        c.say("이전")
    assert state(db, U1).step == "incentive_type" and answers_kept(db) == before


def test_back_walks_the_resource_rounds_in_order(chat, db):
    c = signup_until(chat(U1), "incentive_type")
    c.say("이전")
    assert state(db, U1).step == "billing_mode" and state(db, U1).slots["resource"] == "gas"
    c.say("이전")
    assert state(db, U1).step == "billing_mode" and state(db, U1).slots["resource"] == "water"
    c.say("이전")
    assert state(db, U1).step == "customer_number" and state(db, U1).slots["resource"] == "electricity"
    c.say("0419283746")
    assert state(db, U1).step == "billing_mode" and state(db, U1).slots["resource"] == "water"


def test_start_over_goes_to_the_first_question_with_nothing_kept(chat, db):
    c = signup_until(chat(U1), "address")
    c.say("처음부터 다시 할래요")
    st = state(db, U1)
    assert c.has("처음 질문으로 돌아왔어요") and st.step == "member_type" and answers_kept(db) == {}
    c.say("이전")
    assert c.has("지금이 첫 질문이에요") and state(db, U1).step == "member_type"
    signup_until(c, start=False)
    assert member_of(db, U1) is not None


def test_back_at_the_first_question_says_so(chat, db):
    c = chat(U1)
    c.open("signup", "회원가입 할래요")
    c.say("뒤로")
    assert c.has("지금이 첫 질문이에요") and state(db, U1).step == "member_type"
    assert state(db, U1).failures == 0


def test_only_the_last_answers_can_be_taken_back_one_by_one(chat, db):
    c = signup_until(chat(U1), "optional")
    depth = 8
    for _ in range(depth):
        c.say("이전")
    at = state(db, U1).step
    c.say("이전")
    assert c.has("마지막 확인 화면의 '고치기'", "'처음부터'") and state(db, U1).step == at
    c.say("처음부터")
    assert state(db, U1).step == "member_type" and answers_kept(db) == {}


def test_a_question_about_going_back_is_not_going_back(chat, db):
    c = signup_until(chat(U1), "mobile")
    c.say("처음부터 다시 해야 돼요?")
    assert state(db, U1).step == "mobile" and "처음 질문으로 돌아왔어요" not in c.text


def test_the_previous_questions_button_answers_it_again(chat, db):
    c = signup_until(chat(U1), "incentive_type")
    donation = c.find("기부")
    c.tap("현금(계좌)")
    assert state(db, U1).step == "bank"
    c.send_extra("fallback", "기부", donation["extra"], "QUICKREPLY_BUTTON_MESSAGE")
    st = state(db, U1)
    assert st.step == "optional" and st.slots["incentive_type"] == "donation"
    assert "pending_bank" not in answers_kept(db)


def test_a_button_two_questions_back_is_still_stale(chat, db):
    c = signup_until(chat(U1), "name")
    c.say("홍길동")
    c.say("010-1234-5678")
    assert state(db, U1).step == "householder"
    c.open("signup", "회원가입 할래요")  # resumes; nothing answered
    assert state(db, U1).step == "householder"


def test_back_in_english(chat, db):
    c = chat(U1)
    c.say("English")
    c.open("signup", "sign up")
    assert c.has("send 'back'")
    c.tap("Individual 14+")
    c.say("back")
    assert c.has("Back to the previous question") and state(db, U1).step == "member_type"


def test_back_while_linking(chat, db):
    c = chat(U1)
    c.open("welcome", "안녕")
    c.tap("이미 회원이에요")
    c.tap("동의하고 연결")
    c.say("GG-2019-000123")
    assert state(db, U1).step == "name"
    goes_back(c, db, "이전 단계로 갈래요", "member_no")  # "이전" alone is a name (이 전) at a name question
    assert c.has("회원번호")
    assert "member_no" not in answers_kept(db)


@pytest.mark.parametrize("typed,step", [("잘못 입력했어요", "edit"), ("틀렸어요", "edit"), ("이전", "referrer")])
def test_at_the_review_a_mistake_asks_what_to_change_and_back_is_the_last_question(chat, db, typed, step):
    c = signup_until(chat(U1), "confirm")
    c.say(typed)
    assert state(db, U1).step == step and state(db, U1).failures == 0


def test_back_in_my_info_and_relocation_still_opens_the_move(chat, db, cipher, clock):
    make_member(db, cipher, clock, U1)
    c = chat(U1)
    c.say("계좌 바꾸고 싶어요")
    c.tap("KB국민")
    assert state(db, U1).step == "account_number"
    goes_back(c, db, "잘못 눌렀어요", "bank")
    assert "pending_bank" not in answers_kept(db)
    c.say("이전")
    assert c.has("지금이 첫 질문이에요") and state(db, U1).step == "bank"
    c.say("주소 이전할게요")
    st = state(db, U1)
    assert st.dialog == "myinfo" and st.slots.get("flow") == "move"


def test_back_while_joining_green_life(chat, db):
    c = chat(U1)
    c.say("녹색생활 가입할래요")
    c.tap("네, 14세 이상")
    c.say("김철수")
    assert state(db, U1).step == "mobile"
    goes_back(c, db, "이전", "name")
    assert "name" not in answers_kept(db)


def test_a_mistake_naming_another_change_in_my_info_opens_that_change(chat, db, cipher, clock):
    make_member(db, cipher, clock, U1)
    c = chat(U1)
    c.say("계좌 바꾸고 싶어요")
    c.tap("KB국민")
    c.say("주소 잘못 입력했어요")
    st = state(db, U1)
    assert st.dialog == "myinfo" and st.slots.get("flow") == "move"
