"""English for resident foreigners (issue 14): "English" switches a user's chat to English and
"한국어" back, the choice sticks across turns (kept on the dialog state row), and a whole signup
runs in English through the endpoint."""
from __future__ import annotations

import re

import pytest

from tests.auxil.scenarios import SIGNUP_PATH_EN, U1, answer, make_member, member_of, state

pytestmark = pytest.mark.usefixtures("lgs")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _without_place_names(text: str) -> str:
    """The reply less the address and district names (Korean proper names in any language)."""
    for name in ("경기도 수원시 영통구 예시로 123", "101동 1203호", "경기도 수원시 영통구", "경기도"):
        text = text.replace(name, "")
    return "\n".join(line for line in text.splitlines() if "*" not in line)  # masked addresses


def test_english_switches_and_sticks_across_turns(chat, db):
    c = chat(U1)
    c.say("도움말")
    assert c.has("이렇게 도와드릴 수 있어요")
    c.say("English")
    assert c.has("I'll answer in English") and "Help" in c.labels
    assert state(db, U1).lang == "en"
    c.say("도움말")  # Korean words still work; the answer is English
    assert c.has("Here's how I can help") and "Sign up" in c.labels
    c.open("help")
    assert c.has("Here's how I can help")
    c.say("how do I sign up for carbon points")  # understood in English, answered in English
    assert not HANGUL.search(c.last["template"]["outputs"][0].get("simpleText", {}).get("text", "")), c.text
    c.say("한국어")
    assert c.has("한국어로 안내해 드릴게요") and state(db, U1).lang is None
    c.say("도움말")
    assert c.has("이렇게 도와드릴 수 있어요")


def test_switching_mid_signup_asks_the_question_again_in_english(chat, db):
    c = chat(U1)
    c.open("signup", "회원가입 할래요")
    c.tap("만 14세 이상 개인")
    assert state(db, U1).step == "terms"
    c.say("영어로")
    assert c.has("I'll answer in English", "agree to the terms") and "Required only" in c.labels
    assert state(db, U1).step == "terms" and state(db, U1).dialog == "signup"


def test_a_whole_signup_in_english(chat, db):
    c = chat(U1)
    c.say("English")
    c.open("signup", "sign up")
    assert c.has("Let's start your Carbon Neutral Point signup")
    for step, how in SIGNUP_PATH_EN:
        current = state(db, U1)
        assert current is not None and current.step == step.split(":")[0], (step, current and current.step, c.text)
        answer(c, how)
        if step != "confirm":
            assert not HANGUL.search(_without_place_names(c.text)), (step, c.text)
    assert c.has("You're signed up"), c.text
    member = member_of(db, U1)
    assert member.member_type == "foreigner" and member.name == "Maria Kim" and member.incentive_type == "cash"
    assert state(db, U1).lang == "en"


def test_english_questions_get_english_answers(chat):
    c = chat(U1)
    c.say("English")
    c.say("where do I find my customer number")
    assert c.has("Customer numbers are on your bills")
    c.say("What is a customer number?")  # the English FAQ question, typed as listed
    assert c.has("Customer numbers are on your bills")
    c.say("고객번호가 뭐예요?")  # a Korean question in an English chat: answered in English
    assert c.has("Customer numbers are on your bills")


def test_opt_out_works_in_both_languages_in_an_english_chat(chat, db, cipher, clock):
    make_member(db, cipher, clock, U1, opt_in=True, name="Maria Kim", member_type="foreigner")
    c = chat(U1)
    c.say("English")
    c.say("수신거부")  # the word the (Korean) advertising names
    assert c.has("unsubscribed from campaign news") and member_of(db, U1).campaign_opt_out
    c.say("Unsubscribe")
    assert c.has("already unsubscribed")


def test_an_english_answer_with_a_question_after_it(chat, db):
    c = chat(U1)
    c.say("English")
    c.open("signup", "sign up")
    for _step, how in SIGNUP_PATH_EN[:2]:  # member type, terms
        answer(c, how)
    c.say("Maria Kim, why do you need my name?")
    assert state(db, U1).slots["name"] == "Maria Kim" and c.has("so we need the real name", "mobile number")
    c.say("what is this for?")  # a question alone, at the mobile: its reason, asked again
    assert state(db, U1).step == "mobile" and c.has("mobile number")
