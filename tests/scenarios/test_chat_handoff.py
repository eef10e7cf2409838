"""Issue 17: a person when the bot cannot help. After HANDOFF_AFTER_NOT_UNDERSTOOD (2)
not-understood turns in a row, or on request, the bot offers the 1:1 chat and the call centre
with a summary to paste: the citizen's questions (4+ digit runs masked, nothing typed at a
personal-data step) and their masked member number, never personal data."""
from __future__ import annotations

import json
import re

import pytest

from core.models import MissStreak
from tests.auxil.scenarios import make_member, signup_until

pytestmark = pytest.mark.usefixtures("lgs")
CHAT_URL = "http://pf.kakao.com/_xcpoint/chat"


def streak(db, user_key: str) -> MissStreak:
    with db.session() as s:
        row = s.get(MissStreak, user_key)
        assert row is not None
        s.expunge(row)
        return row


def summary_of(c) -> str:
    texts = [o["simpleText"]["text"] for o in c.last["template"]["outputs"] if "simpleText" in o]
    [found] = [t for t in texts if t.startswith("[탄소중립포인트 문의]")]
    return found


def test_two_misunderstandings_in_a_row_offer_a_person_with_a_summary(chat, config, db, cipher, clock):
    config.bot.channel_chat_url = CHAT_URL
    member_id = make_member(db, cipher, clock, "u-handoff")
    c = chat("u-handoff")
    c.say("zxqv 지난달 고지서 0419283746 이상해요")
    assert "이해하지 못했어요" in c.text and "[탄소중립포인트 문의]" not in c.text
    c.say("qwer 환급 언제 와요 010-2222-3333")
    assert "상담원이 도와드릴게요" in c.text
    assert c.find("1:1 채팅")["webLinkUrl"] == CHAT_URL and c.find("고객센터 전화")["phoneNumber"] == "1660-2030"
    summary = summary_of(c)
    assert summary.splitlines() == [
        "[탄소중립포인트 문의]", f"회원번호: ****{member_id:04d}",
        "문의 내용: zxqv 지난달 고지서 **** 이상해요", "문의 내용: qwer 환급 언제 와요 ****"]
    reply = json.dumps(c.last, ensure_ascii=False)
    for personal in ("김민지", "0419283746", "2222", "3333", "예시로", "u-handoff"):
        assert personal not in reply, personal
    # offered once: the count starts again
    c.say("asdf qwer zxcv")
    assert "[탄소중립포인트 문의]" not in c.text
    assert streak(db, "u-handoff").turns == 1
    assert "0419283746" not in streak(db, "u-handoff").asked  # masked as stored


def test_a_name_written_in_a_question_is_not_in_the_summary(chat, db):
    c = chat("u-handoff-name")
    c.say("zxcv 성함은 이영희입니다 asdf")
    assert "이영희" not in streak(db, "u-handoff-name").asked  # masked as stored
    c.say("qwer 예금주 홍길동 맞는데요")
    summary = summary_of(c)
    assert "문의 내용: zxcv 성함은 **** asdf" in summary and "문의 내용: qwer 예금주 **** 맞는데요" in summary
    for personal in ("이영희", "홍길동"):
        assert personal not in json.dumps(c.last, ensure_ascii=False)


def test_an_understood_turn_in_between_starts_the_count_again(chat):
    c = chat("u-handoff-2")
    c.say("zxqv")
    c.say("포인트 언제 들어와요")  # understood
    c.say("qwer")
    assert "이해하지 못했어요" in c.text and "[탄소중립포인트 문의]" not in c.text


def test_a_tap_between_two_misses_leaves_the_streak_and_a_dialog_ends_it(chat, db):
    c = chat("u-handoff-tap")
    c.say("zxqv")
    c.open("help", "도움말")  # the menu's block
    c.say("qwer")
    assert "[탄소중립포인트 문의]" in c.text
    c.say("zxqv")
    signup_until(c, "name")
    c.say("처음으로")
    c.say("qwer")
    assert "이해하지 못했어요" in c.text and "[탄소중립포인트 문의]" not in c.text


def test_the_threshold_is_a_setting(chat, config):
    config.bot.handoff_after_not_understood = 3
    c = chat("u-handoff-3")
    c.say("zxqv")
    c.say("qwer")
    assert "[탄소중립포인트 문의]" not in c.text
    c.say("asdf")
    assert "[탄소중립포인트 문의]" in c.text and "비회원" in summary_of(c)


@pytest.mark.parametrize("words", ["상담원", "사람이랑", "사람 연결", "상담직원 연결"])
def test_on_request_the_person_and_the_summary(chat, words):
    c = chat("u-handoff-ask")
    c.say(words)
    assert "1660-2030" in c.text
    assert summary_of(c).splitlines()[1:] == ["회원번호: 비회원", "문의 내용: (여기에 궁금한 점을 적어 주세요)"]


def test_on_request_after_a_misunderstanding_the_question_is_in_the_summary(chat):
    c = chat("u-handoff-ask2")
    c.say("zxqv 1234567 qwer")
    c.say("상담원 연결해 주세요")
    assert "문의 내용: zxqv **** qwer" in summary_of(c)


def test_the_operator_button_when_the_plugin_is_set_up(chat, config):
    config.bot.handoff_operator_button = True
    c = chat("u-handoff-op")
    c.say("상담원")
    assert c.find("상담직원 연결")["action"] == "operator"


def test_nothing_typed_at_a_personal_step_reaches_the_summary(chat, db):
    c = signup_until(chat("u-handoff-signup"), "address")
    c.say("zxqv 음 잘 모르겠네 9876")
    c.say("qwer 어쩌지")
    c.say("처음으로")
    c.say("상담원")
    summary = summary_of(c)
    assert "zxqv" not in summary and "qwer" not in summary and "9876" not in summary
    assert not re.search(r"\d{4}", summary)
