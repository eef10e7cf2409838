"""Issue 17: 알림 설정 in my info, through the endpoint: each topic on or off, the critical
notices named as always on, the digest option, and what was queued dropped."""
from __future__ import annotations

import pytest

from core import outbox
from core.clock import utcnow_naive
from core.models import Notification
from tests.auxil.scenarios import make_member, member_of

pytestmark = pytest.mark.usefixtures("lgs")
USER = "u-notify"


@pytest.fixture
def member(db, cipher, clock):
    m = make_member(db, cipher, clock, USER)
    with db.transaction() as s:
        for kind, period in (("monthly_result", "2026-10"), ("payout_notice", "2026H1")):
            outbox.enqueue(s, member_id=m, kind=kind, period=period, payload={}, now=utcnow_naive(clock))
    return m


@pytest.mark.parametrize("with_blocks", [False, True])
def test_the_screen_turns_topics_off_and_on_and_says_what_cannot_be_turned_off(
        chat, db, member, request, with_blocks):
    if with_blocks:
        request.getfixturevalue("blocks")
    c = chat(USER)
    c.open("myinfo", "내 정보")
    c.tap("알림 설정")
    assert c.has("알림 설정", "월별 결과: 받음", "리마인더: 받음", "지급 안내와 지급 보류 안내는 꼭 필요한 알림이라 끌 수 없어요")
    assert {"월별 결과 끄기", "리마인더 끄기", "적립 모아 받기"} <= set(c.labels)
    c.tap("월별 결과 끄기")
    assert c.has("월별 결과 알림을 껐어요", "1건도 보내지 않아요", "월별 결과: 받지 않음")
    assert member_of(db, USER).push_monthly_off
    with db.session() as s:
        states = {n.kind: (n.state, n.last_error) for n in s.query(Notification)}
    assert states == {"monthly_result": ("skipped", "topic_off"), "payout_notice": ("pending", None)}
    c.tap("월별 결과 켜기")
    assert c.has("월별 결과 알림을 다시 받아요", "월별 결과: 받음")
    assert not member_of(db, USER).push_monthly_off
    c.tap("적립 모아 받기")
    assert c.has("한 달에 한 번 모아서") and member_of(db, USER).greenlife_digest
    c.tap("리마인더 끄기")
    assert member_of(db, USER).push_reminders_off


def test_campaign_messages_off_here_and_on_only_with_consent(chat, db, member):
    m = member_of(db, USER)
    assert m.marketing_opt_in, "make_member consents to campaign messages"
    c = chat(USER)
    c.open("myinfo", "내 정보")
    c.tap("알림 설정")
    c.tap("캠페인 소식 끄기")
    assert c.has("캠페인 소식: 받지 않음")
    assert member_of(db, USER).campaign_opt_out
    c.tap("캠페인 소식 켜기")  # the campaigns skill asks for the explicit consent
    assert "동의하고 받기" in c.labels
    assert member_of(db, USER).campaign_opt_out


def test_not_a_member_gets_the_signup_invitation(chat):
    c = chat("u-nobody")
    c.send_extra("fallback", "알림 설정", {"dialog": "notify"}, "QUICKREPLY_BUTTON_MESSAGE")
    assert "아직 탄소중립포인트 회원이 아니에요" in c.text


@pytest.mark.parametrize("typed", ["알림 끄고 싶어", "푸쉬 메세지 안받을래", "알람설정", "월별 결과 끄고 리마인더는 켜줘"])
def test_typed_naming_no_topic_or_asking_opens_the_screen_and_changes_nothing(chat, db, member, typed):
    c = chat(USER)
    c.say(typed)
    assert c.has("알림 설정", "월별 결과: 받음") and "월별 결과 끄기" in c.labels
    assert not member_of(db, USER).push_monthly_off
    with db.session() as s:
        assert {n.state for n in s.query(Notification)} == {"pending"}
    c.tap("월별 결과 끄기")
    assert member_of(db, USER).push_monthly_off


def test_a_question_about_a_topic_changes_nothing(chat, db, member):
    c = chat(USER)
    c.say("월별 결과 끄면 포인트 못 받아요?")
    assert not member_of(db, USER).push_monthly_off and pending_kinds(db) == {"monthly_result", "payout_notice"}


def pending_kinds(db) -> set[str]:
    with db.session() as s:
        return {n.kind for n in s.query(Notification) if n.state == "pending"}


@pytest.mark.parametrize("typed", ["월별 결과 알림 꺼줘", "월별 결과 알림 안 받을래요", "매달 결과 그만 보내"])
def test_a_topic_typed_off_is_turned_off_and_its_queue_dropped(chat, db, member, typed):
    c = chat(USER)
    c.say(typed)
    assert c.has("월별 결과 알림을 껐어요", "1건도 보내지 않아요", "월별 결과: 받지 않음"), c.text
    m = member_of(db, USER)
    assert m.push_monthly_off and not m.push_reminders_off and m.marketing_opt_in
    assert pending_kinds(db) == {"payout_notice"}


def test_several_topics_typed_off_then_on_again(chat, db, member):
    c = chat(USER)
    c.say("월별 결과 끄고 리마인더도 꺼줘")
    m = member_of(db, USER)
    assert m.push_monthly_off and m.push_reminders_off and m.marketing_opt_in
    c.say("알림 전부 꺼줘")
    assert c.has("월별 결과 알림은 이미 꺼져 있어요", "캠페인 소식 알림을 껐어요")
    assert not member_of(db, USER).marketing_opt_in and pending_kinds(db) == {"payout_notice"}
    c.say("리마인더 다시 받을래요")
    assert not member_of(db, USER).push_reminders_off and member_of(db, USER).push_monthly_off
    c.say("알림 다 켜줘")  # advertising again only with its consent: the button to give it
    m = member_of(db, USER)
    assert not m.push_monthly_off and not m.marketing_opt_in
    assert c.has("캠페인 소식은 광고라서 동의를 받고") and "캠페인 소식 켜기" in c.labels


def test_the_digest_typed_and_critical_notices_kept(chat, db, member):
    c = chat(USER)
    c.say("적립 알림 모아서 받을래요")
    assert member_of(db, USER).greenlife_digest and c.has("한 달에 한 번 모아서")
    c.say("월별 결과랑 지급 안내 알림 다 꺼줘")
    assert member_of(db, USER).push_monthly_off and c.has("지급 안내와 지급 보류 안내는 꼭 필요한 알림이라 끌 수 없어요")
    assert pending_kinds(db) == {"payout_notice"}


def test_typed_by_someone_not_a_member(chat):
    c = chat("u-nobody")
    c.say("알림 끄고 싶어요")
    assert "아직 탄소중립포인트 회원이 아니에요" in c.text


def test_typed_in_english(chat, db, member):
    c = chat(USER)
    c.say("English")
    c.say("stop reminders")
    assert c.has("Reminder messages are off.") and member_of(db, USER).push_reminders_off
