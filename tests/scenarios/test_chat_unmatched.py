"""Issue 14: what the bot did not understand (or only as a close call) is queued for operators,
masked, and never what was typed at a personal-data step."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.models import UnmatchedQuestion
from tests.auxil.scenarios import U1, dump_database, make_member, signup_until

pytestmark = pytest.mark.usefixtures("lgs")


def queued(db) -> list[UnmatchedQuestion]:
    with db.session() as s:
        return list(s.scalars(select(UnmatchedQuestion).order_by(UnmatchedQuestion.id)))


def test_not_understood_and_close_calls_are_queued_with_their_guesses(chat, db):
    c = chat("u-unmatched")
    c.say("오늘 미세먼지 어때요?")
    assert "이해하지 못했어요" in c.text
    c.say("포인트 언제")
    assert "혹시 이걸 물으신 건가요?" in c.text
    c.say("포인트 언제 들어와요")  # understood: not queued
    rows = queued(db)
    assert [(r.text, r.outcome) for r in rows] == [("오늘 미세먼지 어때요?", "none"), ("포인트 언제", "close")]
    assert rows[1].guesses.startswith("when_paid_energy ")
    assert rows[0].local_government_code is None


def test_a_members_question_carries_their_local_government(chat, db, cipher, clock):
    make_member(db, cipher, clock, "u-unmatched-member")
    chat("u-unmatched-member").say("zxqv 뭐지")
    assert [r.local_government_code for r in queued(db)] == ["41117"]


def test_digit_runs_are_masked_before_they_are_queued(chat, db):
    c = chat("u-unmatched")
    c.say("zxqv 01012345678 qwer")
    c.say("zxqv 0419-283-746 asdf")
    assert [r.text for r in queued(db)] == ["zxqv **** qwer", "zxqv **** asdf"]
    for r in queued(db):
        assert not re.search(r"\d{4}", r.text + r.normalised)


def test_nothing_typed_at_a_personal_step_is_queued(chat, db):
    c = signup_until(chat(U1), "address")
    c.say("zxqv 음 잘 모르겠네")  # not an address, not a question
    c.open("help", "zxqv 음 잘 모르겠네")  # even when it reaches understanding through another block
    c = signup_until(chat("u-unmatched-2"), "customer_number")
    c.say("qwerty 0419283746")
    assert queued(db) == []
    assert "zxqv" not in dump_database(db)


@pytest.mark.parametrize("typed", ["0419283746", "경기도 수원시 영통구 광교로 145", "신한 110-123-456789",
                                   "hong@example.com", "010 2222 3333"])
def test_personal_data_sent_alone_is_not_kept_and_says_where_it_belongs(chat, db, cipher, clock, typed):
    c = chat("u-data")
    c.say(typed)
    assert c.has("방금 보내 주신 정보는 저장하지 않았어요") and "가입하기" in c.labels
    c.say(typed)  # again: no misunderstanding counted, so no handoff summary quoting it
    assert c.has("방금 보내 주신 정보는 저장하지 않았어요") and not c.has("상담원에게 보낼 요약")
    assert queued(db) == []
    make_member(db, cipher, clock, "u-data-member")
    c = chat("u-data-member")
    c.say(typed)
    assert "내 정보" in c.labels and "가입하기" not in c.labels


def test_a_question_with_an_address_is_still_a_question(chat, db):
    c = chat("u-data")
    c.say("광교로 145로 이사했는데 어떻게 해요?")
    assert not c.has("저장하지 않았어요")
