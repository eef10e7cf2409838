"""FAQ: typed questions understood from the example bank, the list reached from help, answers from the rules."""
from __future__ import annotations

import pytest

from bot.dialogs import faq
from tests.auxil.scenarios import U1, signup_until, state


def test_every_faq_intent_has_examples_and_a_label():
    from bot import understanding

    bank = understanding.bank("ko")
    assert set(faq.INTENTS) <= set(bank)
    for intent, table in bank.items():
        assert len(table["examples"]) >= 15, intent
        assert 0 < len(table["label"]) <= 14, intent
    assert set(understanding.bank("en")) <= set(bank)


@pytest.mark.parametrize("typed,intent,facts", [
    ("이번에 왜 0포인트예요?", "why_zero_points", ["5%", "다음 반기부터"]),
    ("포인트는 언제 들어와요?", "when_paid_energy", ["12월", "6월"]),
    ("최대 얼마까지 받을 수 있어요?", "how_much_max", ["33,750", "135,000", "400,000", "70,000"]),
    ("현금으로 바꾸고 싶어요", "change_incentive", ["내 정보", "본인 명의"]),
    ("계좌 변경하려면요", "change_account", ["본인 명의"]),
    ("이사했어요", "moving_house", ["다음 반기", "에코마일리지"]),
    ("서울 사는데 가입돼요?", "seoul_resident", ["https://ecomileage.seoul.go.kr"]),
    ("고객센터 전화번호 알려주세요", "contact", ["1660-2030"]),
    ("1포인트에 얼마예요?", "point_value", ["2원"]),
    ("실천포인트는 언제 줘요?", "greenlife_when_paid", ["16일", "23일"]),
    ("주민번호 알려드릴까요?", "privacy", ["필요 없어요"]),
    ("사용량이 고지서랑 다르게 나와요", "usage_wrong", ["고객번호", "검침일", "1660-2030"]),
    ("포인트로 뭐 살 수 있어요", "points_use", ["유효기간은 없어요", "최대 2원", "청구할 수 없어요"]),
    ("아기 태어나서 전기 많이 써요", "usage_up", ["지난 2년 평균", "감점이나 벌금은 없어요", "따로 평가"]),
    ("로그인이 안돼요", "website_login", ["아이디와 비밀번호가 필요 없어요", "1660-2030"]),
    ("개명했어요", "name_change", ["채팅에서 바꿀 수 없어요", "1660-2030", "예금주 이름"]),
    ("가입비 있어요?", "about", ["가입비는 없고", "환경부", "135,000원", "최대 2원"]),
    ("홈페이지 주소 알려줘", "contact", ["1660-2030", "누리집은 https://"]),
    ("포인트 구간이 뭐예요?", "how_points_work", ["• 전기: 5% 5,000P · 10% 10,000P · 15% 15,000P", "• 수도: 5% 750P"]),
    ("가스 사용량이 비어 있어요", "usage_missing", ["검침한 뒤", "평가되지 않아요", "1660-2030"]),
    ("세입자도 가입돼요?", "tenant", ["집주인 동의는 필요 없고", "주민등록 주소와 같아야"]),
    ("도시가스 없는 집도 되나요", "resources", ["'사용 안 함'", "불이익은 없어요", "지역난방"]),
])
def test_typed_questions_get_grounded_answers(chat, typed, intent, facts):
    c = chat("u-faq")
    c.say(typed)
    if "혹시 이걸 물으신 건가요?" in c.text:  # a close call: the first choice is the question
        assert c.find(c.labels[0])["extra"] == {"intent": intent}
        c.tap(c.labels[0])
    for fact in facts:
        assert fact in c.text, (fact, c.text)
    assert "다른 질문" in c.labels and "처음으로" in c.labels


@pytest.fixture
def other_call_centre(config):
    config.bot.call_centre = "1588-0000"  # CALL_CENTRE, before the app is built


def test_answers_follow_the_settings(other_call_centre, chat):
    c = chat("u-faq")
    c.say("콜센터 연락처")
    assert "1588-0000" in c.text and "1660-2030" not in c.text
    c.say("도움말")  # the help card and its last line too
    assert "고객센터 1588-0000" in c.text and "1660-2030" not in c.text
    assert "5% 이상 줄이면" in c.text and "최대 2원" in c.text and "상반기분은 12월, 하반기분은 다음 해 6월" in c.text


def test_answers_lead_to_the_action_named_by_its_label(chat):
    c = chat("u-faq")
    c.say("이사했어요")
    assert c.find("이사했어요")["extra"] == {"dialog": "myinfo", "action": "open", "flow": "move"}
    c.say("계좌 바꾸고 싶어요")
    assert c.find("계좌 변경")["extra"] == {"dialog": "myinfo", "action": "open", "flow": "account"}


def test_the_list_is_reached_from_help_and_its_items_answer(chat):
    c = chat("u-faq")
    c.open("help", "도움말")
    c.tap("자주 묻는 질문")
    assert "왜 0포인트예요?" in c.labels and "서울 사는데 가입돼요?" in c.labels
    c.tap("왜 0포인트예요?")
    assert "감축률이 5%에 못 미쳤고" in c.text


def test_the_list_through_the_help_block(blocks, chat):
    c = chat("u-faq")
    c.open("help", "도움말")
    assert c.find("자주 묻는 질문")["action"] == "block"
    c.tap("자주 묻는 질문")
    assert "포인트는 언제 들어와요?" in c.labels


def test_faq_mid_signup_keeps_the_step(chat, db, lgs):
    c = signup_until(chat(U1), "mobile")
    c.open("help", "도움말")
    c.tap("자주 묻는 질문")
    c.tap("가족이 가입했는데 저도 돼요?")
    assert "세대당 한 명" in c.text and "휴대전화 번호를 알려 주세요" in c.text
    assert state(db, U1).step == "mobile" and state(db, U1).failures == 0


def test_unknown_questions_fall_back_politely(chat):
    c = chat("u-faq")
    c.say("오늘 미세먼지 어때요?")
    assert "이해하지 못했어요" in c.text


# --- a question typed in the middle of a dialog (issue 14) -------------------------------------

@pytest.mark.parametrize("stop,pending", [
    ("address", "주소를 알려 주세요"),
    ("customer_number", "전기 고객번호 10자리를 입력해 주세요"),
])
def test_a_question_mid_signup_is_answered_and_the_question_asked_again(chat, db, lgs, stop, pending):
    c = signup_until(chat(U1), stop)
    c.say("고객번호가 어디 있어요?")
    assert "고객번호는 요금 고지서에 있어요." in c.text and pending in c.text  # one reply: answer, then question
    assert c.text.index("고객번호는 요금 고지서에 있어요.") < c.text.index(pending)
    assert state(db, U1).step == stop and state(db, U1).failures == 0
    c.say("포인트는 언제 들어와요?")
    assert "12월" in c.text and pending in c.text and state(db, U1).failures == 0


@pytest.mark.parametrize("stop", ["mobile", "address", "address_detail", "customer_number", "account_number",
                                  "floor_area", "move_in_date", "email", "referrer"])
def test_a_question_is_answered_at_every_text_step(chat, db, lgs, stop):
    c = signup_until(chat(U1), stop)
    c.say("고객번호가 어디 있어요?")
    assert "고객번호는 요금 고지서에 있어요." in c.text
    assert state(db, U1).step == stop and state(db, U1).failures == 0


def test_a_short_question_with_a_question_mark_is_answered_mid_signup(chat, db, lgs):
    # few words score low; the question mark (gone after normalisation) says it is a question
    c = signup_until(chat(U1), "billing_mode:water")
    c.say("세입자도 돼요?")
    assert "집주인 동의는 필요 없고" in c.text and "수도요금은 어떻게 내고 계세요?" in c.text
    assert state(db, U1).failures == 0


@pytest.mark.parametrize("typed", ["지역난방이에요", "LPG 써요", "저희는 프로판가스 써요"])
def test_another_fuel_at_the_city_gas_step_is_told_what_to_choose(chat, db, lgs, typed):
    c = signup_until(chat(U1), "billing_mode:gas")
    c.say(typed)
    assert "도시가스가 아니라서 평가하지 않아요" in c.text and "'사용 안 함'" in c.text
    assert state(db, U1).step == "billing_mode" and state(db, U1).slots["resource"] == "gas"
    c.say("지역난방이라 가스는 안 써요")  # the choice in the same words is taken
    assert state(db, U1).step == "incentive_type"


def test_groundwater_at_the_water_step_is_told_what_to_choose(chat, db, lgs):
    c = signup_until(chat(U1), "billing_mode:water")
    c.say("지하수 써요")
    assert "수도 고지서가 없으면 '사용 안 함'" in c.text and state(db, U1).slots["resource"] == "water"


def test_an_answer_that_parses_is_taken_not_answered_as_a_question(chat, db, lgs):
    c = signup_until(chat(U1), "address")
    c.say("경기도 수원시 영통구 예시로 123")
    assert state(db, U1).step == "address_detail"
    assert "고객번호는 요금 고지서에 있어요." not in c.text


def test_a_question_mid_my_info_is_answered(chat, db, cipher, clock, lgs):
    from tests.auxil.scenarios import make_member

    make_member(db, cipher, clock, "u-faq-member")
    c = chat("u-faq-member")
    c.open("myinfo")
    c.tap("이사했어요")
    assert "새 주소를 알려 주세요" in c.text
    c.say("고객번호가 어디 있어요?")
    assert "고객번호는 요금 고지서에 있어요." in c.text and "새 주소를 알려 주세요" in c.text
    assert state(db, "u-faq-member").failures == 0


def test_a_question_at_the_name_step_is_not_taken_for_a_name(chat, db, lgs):
    c = signup_until(chat(U1), "name")
    c.say("주민번호가 필요해요?")
    assert "주민등록번호는 필요 없어요" in c.text and state(db, U1).step == "name"
    assert state(db, U1).failures == 0 and "name" not in state(db, U1).slots
    c.say("홍길동")
    assert state(db, U1).step == "mobile"
