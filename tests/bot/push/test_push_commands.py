"""The operator commands: push, broadcast, outbox."""
from __future__ import annotations

import json
from datetime import date, datetime

import pytest
import responses
from sqlalchemy import select

from core.models import Campaign, CampaignBroadcast
from tests.auxil.push import BOT, add_members, add_notifications, states

TALK = f"http://kakao.test/v2/bots/{BOT}/talk"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["cpoint", *args])


@pytest.fixture
def campaign(db):
    with db.transaction() as s:
        s.add(Campaign(id="cmp-1", title="냉방 1도 올리기", summary="여름철 냉방 온도를 1도 높여요.", starts_on=date(2026, 11, 1),
                       ends_on=date(2026, 12, 31), active=True, created_at=datetime(2026, 1, 1)))


def test_push_sends_what_is_due_and_reports(app, db, clock, cli):
    app.extensions["cpoint"].push = app.extensions["cpoint"].push.__class__(rate_per_sec=10000)
    add_members(db, 130)
    add_members(db, 2, start=131, blocked_at=datetime(2026, 11, 1))
    add_notifications(db, range(1, 133), clock=clock)
    with responses.RequestsMock() as kakao:
        kakao.post(TALK, json={"taskId": "t", "status": "SUCCESS"})
        result = cli("push", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["sent"] == 130 and report["requests"] == 2 and report["skipped"] == {"blocked": 2}
    assert report["users_per_request"] == 65.0
    assert states(db) == {"sent": 130, "skipped": 2}


def test_push_exits_non_zero_on_a_refused_key(app, db, clock, cli):
    add_members(db, 1)
    add_notifications(db, [1], clock=clock)
    with responses.RequestsMock() as kakao:
        kakao.post(TALK, status=401, json={"message": "invalid appkey"})
        result = cli("push")
    assert result.exit_code == 1
    assert "KAKAO_REST_API_KEY" in result.output
    assert states(db) == {"pending": 1}


def test_push_without_a_bot_id_says_so(app, db, cli):
    app.config["CPOINT"].kakao_bot_id = None
    result = cli("push")
    assert result.exit_code == 2 and "KAKAO_BOT_ID" in result.output


def test_push_without_a_rest_key_spends_nothing(app, db, clock, cli):
    app.config["CPOINT"].event_api.rest_api_key = None
    add_members(db, 1)
    add_notifications(db, [1], clock=clock)
    result = cli("push")
    assert result.exit_code == 2 and "KAKAO_REST_API_KEY" in result.output
    assert states(db) == {"pending": 1}


def test_broadcast_schedules_and_previews_the_advertising_text(app, db, clock, cli, campaign):
    result = cli("broadcast", "--campaign", "cmp-1", "--at", "2026-11-23 09:30", "--segment", "all",
                 "--message", "이번 주 캠페인에 참여해 보세요.")
    assert result.exit_code == 0, result.output
    assert "scheduled for 2026-11-23 09:30 KST" in result.output
    assert "(광고) 탄소중립포인트 운영센터 1660-2030\n이번 주 캠페인에 참여해 보세요.\n수신거부: '수신거부'라고 보내 주세요(무료)" in result.output
    with db.session() as s:
        b = s.scalar(select(CampaignBroadcast))
    assert b.scheduled_at == datetime(2026, 11, 23, 0, 30)  # naive UTC
    listing = cli("broadcast", "--list")
    assert "scheduled\t2026-11-23 09:30 KST\tcmp-1\tall" in listing.output
    assert cli("broadcast", "--cancel", str(b.id)).exit_code == 0
    assert "cancelled" in cli("broadcast", "--list").output


def test_broadcast_to_a_member_type_named_in_korean(app, db, clock, cli, campaign):
    result = cli("broadcast", "--campaign", "cmp-1", "--segment", "member_type:상가")
    assert result.exit_code == 0, result.output
    with db.session() as s:
        b = s.scalar(select(CampaignBroadcast))
    assert (b.segment, b.segment_value) == ("member_type", "commercial")


def test_broadcast_at_night_says_when_it_will_go(app, db, clock, cli, campaign):
    result = cli("broadcast", "--campaign", "cmp-1", "--at", "2026-11-23T22:00")
    assert result.exit_code == 0, result.output
    assert "goes out at 2026-11-24 08:00 KST" in result.output


@pytest.mark.parametrize("args,message", [
    (["--campaign", "nope"], "no campaign"),
    (["--campaign", "cmp-1", "--at", "tomorrow"], "not a time"),
    (["--campaign", "cmp-1", "--segment", "region:화성"], "unknown region"),
    ([], "exactly one of"),
    (["--list", "--cancel", "3"], "exactly one of"),
    (["--cancel", "99"], "no broadcast 99"),
    (["--campaign", "cmp-1", "--at", "2025-11-23 09:30"], "2025-11-23 09:30 KST is in the past"),  # a year's typo
    (["--campaign", "cmp-1", "--segment", "member_type:아무나"], "unknown member type"),
])
def test_broadcast_refuses_bad_input_and_writes_nothing(db, cli, campaign, args, message):
    result = cli("broadcast", *args)
    assert result.exit_code != 0
    assert message in result.output
    with db.session() as s:
        assert s.scalars(select(CampaignBroadcast)).all() == []


def test_outbox_reports_states_dead_reasons_and_uncertain_batches(app, db, clock, cli):
    from core import outbox

    add_members(db, 4)
    add_notifications(db, [1, 2], clock=clock)
    add_notifications(db, [3], kind="payout_notice", period="2026H1", clock=clock)
    add_notifications(db, [4], kind="payout_reminder", period="2026H1", clock=clock)
    outbox.register_sender(db, "s", host="h", pid=1, now=clock.now())
    b1 = outbox.claim_batch(db, sender_id="s", now=clock.now(), limit=100, default_bot_id=BOT).batch
    outbox.record_dead(db, b1.id, error="HTTP 400 event not found", now=clock.now())
    b2 = outbox.claim_batch(db, sender_id="s", now=clock.now(), limit=100, default_bot_id=BOT).batch
    outbox.record_uncertain(db, b2.id, reason="sender died", now=clock.now(), policy="skip", max_attempts=5)
    result = cli("outbox")
    assert result.exit_code == 0, result.output
    assert "HTTP 400 event not found" in result.output and "      2  [monthly_result]" in result.output
    assert b2.id in result.output and "uncertain batches" in result.output
    data = json.loads(cli("outbox", "--json").output)
    assert data["by_state"] == {"dead": 2, "uncertain": 1, "pending": 1}
    assert data["dead"] == [{"reason": "HTTP 400 event not found", "count": 2, "kind": "monthly_result"}]
    # the operator decides: requeue the uncertain batch, and the dead ones after fixing the event name
    out = cli("outbox", "--requeue-uncertain", b2.id, "--requeue-dead", "--kind", "monthly_result").output
    assert "requeued 1 uncertain" in out and "requeued 2 dead" in out
    assert states(db) == {"pending": 4}
    assert cli("outbox", "--confirm-sent", "not-a-batch").exit_code == 2
