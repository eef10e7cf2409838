"""Typed free text through the bot: the sentences of issue 14, a close call, nothing understood."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("typed,facts", [
    ("포인트 언제 들어와요", ["12월", "6월"]),
    ("녹색생활 실천포인트는 뭐예요", ["전자영수증", "텀블러"]),
    ("주소 옮겼는데 변경해야 하나요", ["이사(주소 변경)"]),
    ("통장 바꿨어요", ["본인 명의"]),
    ("포인트 1점에 몇원이에요?", ["2원"]),
    ("가게 하는데 사업장도 참여돼요?", ["상가·사업장", "400,000"]),
])
def test_issue_sentences_are_answered(chat, typed, facts):
    """Each of the issue's sentences gets its answer straight away."""
    c = chat("u-understand")
    c.say(typed)
    assert "회원만" not in c.text and "이해하지 못했어요" not in c.text
    assert "혹시 이걸 물으신 건가요?" not in c.text, c.text
    for fact in facts:
        assert fact in c.text, (fact, c.text)


def test_a_close_call_offers_three_choices_that_each_answer(chat):
    from bot import understanding

    c = chat("u-understand")
    c.say("포인트 언제")
    assert "혹시 이걸 물으신 건가요?" in c.text
    offered = c.labels[:3]
    labels = {understanding.label(i): i for i in understanding.intents()}
    assert all(label in labels for label in offered) and "상담원 연결" in c.labels
    for label in offered:
        c2 = chat("u-understand-2")
        c2.say("포인트 언제")
        c2.tap(label)
        assert "혹시 이걸 물으신 건가요?" not in c2.text and "이해하지 못했어요" not in c2.text


@pytest.mark.parametrize("typed", ["zxqv", "오늘 미세먼지 어때요?"])
def test_nothing_understood_gives_the_menu_and_a_person(chat, typed):
    c = chat("u-understand")
    c.say(typed)
    assert "이해하지 못했어요" in c.text
    assert "포인트 조회" in c.labels and "상담원 연결" in c.labels
    c.tap("상담원 연결")
    assert "1660-2030" in c.text


def test_the_menu_offers_a_member_no_signup(chat, db, cipher, clock):
    from sqlalchemy import update

    from core.models import Member
    from tests.auxil.scenarios import make_member

    member_id = make_member(db, cipher, clock, "u-menu-member")
    c = chat("u-menu-member")
    for typed in ("zxqv", "네 알겠어요", "도움말"):
        c.say(typed)
        assert "가입하기" not in c.labels and "포인트 조회" in c.labels and "내 정보" in c.labels, typed
    visitor = chat("u-menu-visitor")
    visitor.say("zxqv")
    assert "가입하기" in visitor.labels
    with db.transaction() as s:  # moved into Seoul: joining again is theirs to choose
        s.execute(update(Member).where(Member.id == member_id).values(status="left"))
    c.say("zxqv")
    assert "가입하기" in c.labels


def test_talk_to_a_person_thanks_and_greetings(chat):
    c = chat("u-understand")
    c.say("상담원이랑 얘기하고 싶어요")
    assert "1660-2030" in c.text
    c.say("고마워요")
    assert "도움이 되었다니" in c.text
    c.say("안녕하세요")
    assert "탄소중립포인트 도우미" in c.text


def test_english_question_is_understood(chat):
    c = chat("u-understand")
    c.say("How much is one point worth in won?")
    assert "2원" in c.text


def test_the_channel_chat_is_offered_when_configured(chat, config):
    config.bot.channel_chat_url = "http://pf.kakao.com/_xcpoint/chat"
    c = chat("u-understand")
    c.say("zxqv")
    assert "이해하지 못했어요" in c.text and "1:1 채팅" in c.text
    link = c.find("1:1 채팅")
    assert link["action"] == "webLink" and link["webLinkUrl"] == "http://pf.kakao.com/_xcpoint/chat"
    assert "포인트 조회" in c.labels and "상담원 연결" in c.labels
    c.tap("상담원 연결")
    assert c.find("1:1 채팅")["webLinkUrl"] == "http://pf.kakao.com/_xcpoint/chat"
    assert "1660-2030" in c.text


def test_without_a_channel_chat_only_the_call_centre(chat):
    c = chat("u-understand")
    c.say("상담원 연결해 주세요")
    assert "1660-2030" in c.text and "1:1 채팅" not in c.labels and "1:1 채팅" not in c.text


@pytest.mark.parametrize("typed,says", [("네", "네, 알겠어요"), ("ㅇㅋ", "네, 알겠어요"), ("알겠어요!", "네, 알겠어요"),
                                        ("아니요", "네, 알겠어요"), ("잘가요", "또 찾아 주세요"),
                                        ("안녕히 계세요", "또 찾아 주세요"), ("ㅋㅋㅋ", "언제든 물어봐 주세요"),
                                        ("👍", "언제든 물어봐 주세요")])
def test_an_acknowledgement_or_goodbye_is_answered_kindly_and_is_no_miss(chat, typed, says):
    c = chat("u-ack")
    for _ in range(3):  # never a run of misunderstandings that offers a person
        c.say(typed)
        assert says in c.text and "이해하지 못해" not in c.text


@pytest.mark.parametrize("typed", ["네 알겠습니다", "아 넵 확인했어요 ㅋㅋ", "넹", "아하 그렇군요!"])
def test_a_message_of_acknowledgement_words_only_is_an_acknowledgement(chat, typed):
    c = chat("u-ack")
    c.say(typed)
    assert "네, 알겠어요" in c.text, c.text


def test_acknowledgement_words_with_a_request_are_the_request(chat):
    c = chat("u-ack")
    c.say("네 고객번호 어디서 찾아요")
    assert "네, 알겠어요" not in c.text and "고객번호" in c.text


@pytest.mark.parametrize("typed", ["몰라", "모르겠어", "음 잘 모르겠어요"])
def test_dont_know_with_nothing_pending_gets_what_can_be_done(chat, typed):
    c = chat("u-dunno")
    c.say(typed)
    assert "편하게 물어보시거나" in c.text and "고지서" not in c.text, c.text  # not the customer number's
