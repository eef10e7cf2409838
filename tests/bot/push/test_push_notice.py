"""The notice skill: each member sees their own latest notice as a valid v2.0 reply."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from bot.kakao.validate import validate_response
from core import broadcasts
from core.models import Campaign, Member, Notification
from tests.auxil.push import add_members, add_notifications, all_text, post_skill, skill_payload

MONTHLY = {"month": "2026-10", "half": "2026H2",
           "resources": [{"resource": "electricity", "usage": "290", "baseline": "310.5", "rate": "6.449",
                          "rate_to_date": "3.20", "provisional_band": None, "provisional_points": 0},
                         {"resource": "water", "usage": "12.5", "baseline": "12", "rate": "-4.1"},
                         {"resource": "gas", "missing": True, "missing_months": ["2026-10"]},
                         {"resource": "heat", "usage": "1"}],
           "half_to_date": {"rate": "3.2", "points": 5000, "won": 10000},
           "missing_months": ["2026-09"]}


def sent(db, **where):
    with db.transaction() as s:
        q = update(Notification).values(state="sent", sent_at=datetime(2026, 11, 20, 1, 0))
        for k, v in where.items():
            q = q.where(getattr(Notification, k) == v)
        s.execute(q)


def ask(client, user="user-000001", **kw):
    reply = post_skill(client, skill_payload(user, **kw))
    assert validate_response(reply) == []
    assert reply["version"] == "2.0"
    return reply


def test_monthly_result_shows_the_members_own_figures(client, db, clock):
    add_members(db, 2)
    add_notifications(db, [1], clock=clock, payload=MONTHLY)
    add_notifications(db, [2], clock=clock, payload={**MONTHLY, "resources": [
        {"resource": "electricity", "usage": "999", "baseline": "1000", "rate": "0.1"}]})
    sent(db)
    reply = ask(client)
    text = all_text(reply)
    assert "10월 사용량 결과" in text and "2026년 하반기 기준" in text
    assert "290kWh · 기준 310.5kWh\n6.44% 감축" in text  # truncated, never rounded up
    assert "4.10% 증가" in text and "10월 자료가 아직 없어요" in text
    assert "10,000원" in text and "전기 사용량은 기준보다 3.20% 줄었어요" in text and "9월 자료가 아직" in text
    assert "999" not in text  # member 2's figures are not shown to member 1
    assert [q["label"] for q in reply["template"]["quickReplies"]] == ["포인트 조회", "처음으로"]


def test_provisional_points_and_a_rise_are_said_plainly(client, db, clock):
    add_members(db, 1)
    add_notifications(db, [1], clock=clock, payload={
        "month": "2026-10", "half": "2026H2", "half_to_date": {"rate": "-2.5", "points": 3000, "won": 6000},
        "resources": [{"resource": "water", "usage": "10", "baseline": "11", "rate": "9.09", "provisional_points": 3000}]})
    sent(db)
    text = all_text(ask(client))
    assert "9.09% 감축 · 예상 3,000P" in text and "기준보다 2.50% 늘었어요" in text


def test_latest_pushed_notice_wins_and_pending_ones_are_not_shown(client, db, clock):
    add_members(db, 1)
    add_notifications(db, [1], clock=clock, payload=MONTHLY)
    add_notifications(db, [1], kind="payout_notice", period="2026H1", clock=clock,
                      payload={"half": "2026H1", "points": 5000, "won": 10000, "payout_month": 202612})
    sent(db, kind="monthly_result")
    assert "10월 사용량 결과" in all_text(ask(client))
    sent(db, kind="payout_notice")
    with db.transaction() as s:
        s.execute(update(Notification).where(Notification.kind == "payout_notice")
                  .values(sent_at=datetime(2026, 11, 21, 1, 0)))
    text = all_text(ask(client))
    assert "2026년 상반기 포인트 지급 안내" in text and "5,000P" in text and "2026년 12월" in text


def test_a_button_can_name_the_notice(client, db, clock):
    add_members(db, 1)
    add_notifications(db, [1], clock=clock, payload=MONTHLY)
    add_notifications(db, [1], kind="payout_notice", period="2026H1", clock=clock, payload={"won": 3000})
    sent(db)
    text = all_text(ask(client, extra={"kind": "monthly_result", "period": "2026-10"}))
    assert "10월 사용량 결과" in text
    text = all_text(ask(client, params={"kind": "payout_notice"}))
    assert "3,000원" in text


def test_payout_hold_asks_to_fix_my_info(client, db, clock):
    add_members(db, 1)
    add_notifications(db, [1], kind="payout_notice", period="2026H1", clock=clock,
                      payload={"half": "2026H1", "points": 5000, "won": 10000, "payout_month": 202612,
                               "status": "held", "hold_reason": "HOLD_NO_ACCOUNT"})
    sent(db)
    reply = ask(client)
    assert "계좌 정보가 없어요" in all_text(reply)
    assert "내 정보 수정" in [q["label"] for q in reply["template"]["quickReplies"]]


def test_payout_reminder(client, db, clock):
    add_members(db, 1)
    add_notifications(db, [1], kind="payout_reminder", period="2026H1", clock=clock,
                      payload={"half": "2026H1", "won": 10000, "hold_reason": "HOLD_HOLDER_MISMATCH"})
    sent(db)
    text = all_text(ask(client))
    assert "2026년 상반기 포인트 지급 전에 확인해 주세요" in text and "예금주 이름이 회원 이름과 달라요" in text


def test_campaign_notice_is_labelled_advertising_with_the_opt_out(client, db, clock):
    with db.transaction() as s:
        s.add(Campaign(id="cmp-1", title="냉방 1도 올리기", summary="여름철 냉방 온도를 1도 높여요.",
                       starts_on=clock.now().date(), ends_on=clock.now().date() + timedelta(days=9), active=True,
                       created_at=datetime(2026, 1, 1)))
    add_members(db, 1)
    b = broadcasts.schedule(db, campaign_id="cmp-1", at=clock.now(), now=clock.now(), message="이번 주 캠페인에 참여해 보세요.")
    broadcasts.expand(db, b.id, now=clock.now(), quiet=None)
    sent(db)
    reply = ask(client)
    first = reply["template"]["outputs"][0]["simpleText"]["text"]
    assert first.startswith("(광고) 탄소중립포인트 운영센터 1660-2030\n이번 주 캠페인에 참여해 보세요.")
    assert first.endswith("수신거부: '수신거부'라고 보내 주세요(무료)")
    opt_out = [q for q in reply["template"]["quickReplies"] if q["label"] == "수신거부"]
    assert opt_out and opt_out[0]["extra"] == {"action": "opt_out"}


def test_own_points_notices_are_not_advertising(client, db, clock):
    add_members(db, 1)
    add_notifications(db, [1], clock=clock, payload=MONTHLY)
    sent(db)
    assert "(광고)" not in all_text(ask(client))


def test_non_member_and_nothing_to_show_get_a_polite_menu(client, db, clock):
    reply = ask(client, user="stranger-0001")
    assert "아직 탄소중립포인트에 가입하지 않으셨어요" in all_text(reply)
    assert "가입하기" in [q["label"] for q in reply["template"]["quickReplies"]]
    add_members(db, 1)
    reply = ask(client)
    assert "지금은 새로 온 알림이 없어요" in all_text(reply)


@pytest.mark.parametrize("payload", [
    {"resources": "nonsense"}, {"month": "October"}, {"resources": [{"resource": "electricity", "usage": "x"}]},
    {"half_to_date": {"won": "lots"}}, None,
])
def test_unreadable_payloads_still_get_a_valid_reply(client, db, clock, payload):
    add_members(db, 1)
    add_notifications(db, [1], clock=clock, payload=payload)
    sent(db)
    reply = ask(client)
    assert reply["template"]["outputs"]


def test_withdrawn_member_sees_nothing_of_theirs(client, db, clock):
    add_members(db, 1, status="withdrawn")
    add_notifications(db, [1], clock=clock, payload=MONTHLY)
    sent(db)
    assert "10월" not in all_text(ask(client))


def test_is_friend_in_payloads_updates_reachability(client, db, clock):
    add_members(db, 1)
    ask(client, is_friend=False)
    with db.session() as s:
        assert s.get(Member, 1).is_friend is False
    ask(client, is_friend=True)
    with db.session() as s:
        assert s.get(Member, 1).is_friend is True
    ask(client, is_friend=False, surface="BuilderBotTest")  # the console test sends no isFriend
    with db.session() as s:
        assert s.get(Member, 1).is_friend is True


def test_the_friendship_read_with_the_state_is_used_only_while_nothing_was_written():
    from types import SimpleNamespace

    from bot.push.reachability import CHANNEL_SURFACE, after_turn

    class Tx:
        def __init__(self, opened):
            self.opened, self.reads = opened, []

    class Store:
        @staticmethod
        def reach(tx, user_key):
            tx.reads.append(user_key)
            return None  # no member: nothing to write

    turn = SimpleNamespace(surface=CHANNEL_SURFACE, user_key="u-1", is_friend=True)
    quiet = Tx(opened=False)
    after_turn(SimpleNamespace(tx=quiet, turn=turn, member_reach=(), store=Store))
    assert quiet.reads == []  # the turn's first read already said: no member
    written = Tx(opened=True)  # the turn wrote (a signup may have created the member)
    after_turn(SimpleNamespace(tx=written, turn=turn, member_reach=(), store=Store))
    assert written.reads == ["u-1"]


def test_a_member_who_chose_english_sees_the_notice_in_english(client, db, clock):
    from core.models import DialogState

    add_members(db, 1)
    add_notifications(db, [1], clock=clock, payload=MONTHLY)
    sent(db)
    with db.transaction() as s:
        s.add(DialogState(user_key="user-000001", lang="en", slots={}, failures=0, version=1,
                          updated_at=datetime(2026, 11, 20, 1, 0)))
    reply = ask(client)
    text = all_text(reply)
    assert "Month 10 usage result" in text and "second half 2026" in text
    assert "290kWh · baseline 310.5kWh\nCut 6.44%" in text and "₩10,000" in text
    assert [q["label"] for q in reply["template"]["quickReplies"]] == ["Points", "Home"]


COACHED = {**MONTHLY, "projection": {
    "half": "2026H2", "through_month": 202611, "points": 5000, "won": 10000, "resources": [
        {"resource": "electricity", "rate_to_date": "5", "pace_band": "5", "pace_points": 5000,
         "maintenance": False, "streak": 0, "months_left": 3, "next_band": "10", "less_per_month": 18,
         "bill_won_per_month": 2700, "gain_points": 5000, "gain_won": 10000, "top_band": False},
        {"resource": "water", "rate_to_date": "3.1", "pace_band": None, "pace_points": 450,
         "maintenance": True, "streak": 2, "months_left": 3, "next_band": None, "less_per_month": None,
         "bill_won_per_month": None, "gain_points": 0, "gain_won": 0, "top_band": False}]},
    "comparison": [{"resource": "electricity", "month": "2026-10", "usage": "290", "efficient": "250",
                    "average": "310", "peers": 41, "same_size": True, "verdict": "good"}]}


def test_monthly_result_coaches_toward_the_next_band_and_compares(client, db, clock):
    add_members(db, 1)
    add_notifications(db, [1], clock=clock, payload=COACHED)
    sent(db)
    reply = ask(client)
    text = all_text(reply)
    assert "남은 3개월 동안 월 18kWh씩 덜 쓰면 10% 구간 (+5,000P, 10,000원)" in text
    assert "요금으로는 월 약 2,700원을 아껴요." in text
    assert "감축 유지 중이에요 (연속 2반기 감축). 기준보다 적게만 쓰면 유지 포인트 450P를 지켜요." in text
    assert "비슷한 가구와 비교 (10월, 같은 시·군·구)" in text
    assert "전기: 잘하고 있어요. 우리 집 290kWh · 효율 좋은 이웃 250kWh · 평균 310kWh" in text
    assert len(reply["template"]["outputs"]) <= 3


def test_the_coached_rate_is_the_notices_own_truncated_rate(client, db, clock):
    """The projection carries the rate at full precision; shown truncated like every rate, it
    is the figure the notice's closing line gives (2.9695... read 2.97 there, 2.96 here)."""
    payload = {**COACHED, "half_to_date": {"rate": "2.96", "points": 0, "won": 0}}
    payload["projection"] = {**COACHED["projection"], "resources": [
        {**COACHED["projection"]["resources"][0], "rate_to_date": "2.969543147208121827411167513"}]}
    add_members(db, 1)
    add_notifications(db, [1], clock=clock, payload=payload)
    sent(db)
    text = all_text(ask(client))
    assert "전기: 지금까지 기준보다 2.96% 줄었어요." in text and "기준보다 2.96% 줄었어요. 예상" in text
    assert "2.97" not in text and "㎥" not in text


def test_a_change_below_a_hundredth_of_a_percent_is_no_change(client, db, clock):
    payload = {**MONTHLY, "resources": [{"resource": "electricity", "usage": "310.49", "baseline": "310.5",
                                         "rate": "0.003"}],
               "half_to_date": {"rate": "0.004", "points": 0, "won": 0}}
    add_members(db, 1)
    add_notifications(db, [1], clock=clock, payload=payload)
    sent(db)
    text = all_text(ask(client))
    assert "기준과 같아요" in text and "기준과 거의 같아요" in text and "0.00%" not in text


def test_greenlife_digest_folds_the_month_into_one_notice(client, db, clock):
    from bot.push.render import event_text

    add_members(db, 1)
    add_notifications(db, [1], kind="greenlife_digest", period="2026-03", clock=clock,
                      payload={"month": "2026-03", "won": 15000, "accrued_won": 10000, "bonus_won": 5000,
                               "cut_won": 0, "items": {"e_receipt": 2000}, "pay_from_date": "2026-04-23"})
    sent(db)
    text = all_text(ask(client))
    assert "3월 녹색생활 실천 포인트" in text and "15,000" in text and "5,000" in text
    assert "4월 23일부터" in text and "연간 한도" not in text
    assert "3월 녹색생활 실천 포인트" in event_text("greenlife_digest", "2026-03", operator="x", contact="y")


def test_a_held_payment_paid_later_says_so(client, db, clock):
    add_members(db, 1)
    add_notifications(db, [1], kind="payout_notice", period="2026H1", clock=clock,
                      payload={"half": "2026H1", "points": 5000, "won": 10000, "payout_month": 202702,
                               "status": "expected", "hold_reason": None, "released": True})
    sent(db)
    text = all_text(ask(client))
    assert "보류됐던 지급액이에요" in text and "2027년 2월에 지급해요" in text and "보류될 수 있어요" not in text


def test_monthly_result_of_a_cash_member_without_an_account_says_the_payout_would_be_held(client, db, clock):
    from tests.auxil.engine import add_lg

    with db.transaction() as s:
        add_lg(s)
    add_members(db, 2, incentive_type="cash", local_government_code="41117")
    add_notifications(db, [1, 2], clock=clock, payload=MONTHLY)
    sent(db)
    with db.transaction() as s:  # member 2 has their own account
        s.get(Member, 2).account_number_enc, s.get(Member, 2).account_holder = "enc", "홍길동"
    reply = ask(client)
    assert "이대로 정산되면 지급이 보류돼요" in all_text(reply)
    assert [q["label"] for q in reply["template"]["quickReplies"]] == ["계좌 등록", "포인트 조회", "처음으로"]
    assert "보류" not in all_text(ask(client, user="user-000002"))
