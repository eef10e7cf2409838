"""Issue 17: push preferences. Each topic switch is respected by the sender; payout notices and
held-payment warnings (critical) are still sent; turning a topic off drops what is queued."""
from __future__ import annotations

import json

import pytest
import responses

from core import push_preferences as P
from core.models import Member
from tests.auxil.push import BOT, add_members, add_notifications, rows, sender, wired

TALK = f"http://kakao.test/v2/bots/{BOT}/talk"


@pytest.fixture
def kakao():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(TALK, json={"taskId": "t", "status": "SUCCESS"})
        yield rsps


def posted(kakao) -> list[tuple[str, str]]:
    out = []
    for call in kakao.calls:
        body = json.loads(call.request.body)
        out.extend((body["event"]["data"]["kind"], u["id"]) for u in body["user"])
    return out


@pytest.mark.parametrize("column, topic_kind", [("push_monthly_off", "monthly_result"),
                                                ("push_reminders_off", "reminder")])
def test_a_topic_turned_off_is_skipped_and_critical_notices_still_go(app, db, clock, kakao, column, topic_kind):
    add_members(db, 2)
    add_members(db, 1, start=3, **{column: True})
    for kind, period in ((topic_kind, "2026-10"), ("payout_notice", "2026H1"), ("payout_reminder", "2026H1")):
        add_notifications(db, [1, 2, 3], kind=kind, period=period, clock=clock)
    push, fake = wired(app, rate_per_sec=10000)
    report = sender(push, fake).run()
    assert report.skipped == {"topic_off": 1}
    sent = posted(kakao)
    assert sorted(u for k, u in sent if k == topic_kind) == ["user-000001", "user-000002"]
    for critical in ("payout_notice", "payout_reminder"):
        assert sorted(u for k, u in sent if k == critical) == ["user-000001", "user-000002", "user-000003"]
    [off] = rows(db, member_id=3, kind=topic_kind)
    assert (off.state, off.last_error) == ("skipped", "topic_off")


def test_campaign_opt_out_is_respected_by_the_sender(app, db, clock, kakao):
    add_members(db, 1)
    add_members(db, 1, start=2, campaign_opt_out=True)
    add_notifications(db, [1, 2], kind="payout_notice", period="2026H1", clock=clock)
    push, fake = wired(app, rate_per_sec=10000)
    sender(push, fake).run()
    assert sorted(u for _k, u in posted(kakao)) == ["user-000001", "user-000002"]  # critical: both


@pytest.mark.parametrize("topic, kind", [("monthly", "monthly_result"), ("reminders", "reminder"),
                                         ("campaign", "campaign")])
def test_turning_a_topic_off_drops_what_is_queued_for_it_only(db, clock, topic, kind):
    add_members(db, 1)
    add_notifications(db, [1], kind=kind, period="2026-10", clock=clock)
    add_notifications(db, [1], kind="payout_notice", period="2026H1", clock=clock)
    with db.transaction() as s:
        m = s.get(Member, 1)
        assert P.set_topic(s, clock, m, topic, False) == 1
        assert not P.preferences(m).on(topic)
    assert [(r.kind, r.state) for r in rows(db)] == [(kind, "skipped"), ("payout_notice", "pending")]
    with db.transaction() as s:
        m = s.get(Member, 1)
        if topic == "campaign":
            with pytest.raises(P.ConsentNeeded):
                P.set_topic(s, clock, m, topic, True)
        else:
            assert P.set_topic(s, clock, m, topic, True) == 0
            assert P.preferences(m).on(topic)
