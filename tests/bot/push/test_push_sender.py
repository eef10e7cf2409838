"""The sender end to end with the Event API mocked by `responses`: batching, rate, retries,
dead letters, uncertain batches, quiet hours, configuration errors."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy import select

from core.clock import utcnow_naive
from core.models import EventBatch, PushSender
from tests.auxil.push import BOT, add_members, add_notifications, rows, sender, states, wired

TALK = f"http://kakao.test/v2/bots/{BOT}/talk"


@pytest.fixture
def kakao():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def ok(kakao, n=None):
    counter = {"n": 0}

    def cb(request):
        counter["n"] += 1
        return 200, {}, json.dumps({"taskId": f"task-{counter['n']}", "status": "SUCCESS", "timestamp": 1})

    kakao.add_callback(responses.POST, TALK, callback=cb)
    return counter


def posted_users(kakao) -> list[str]:
    out = []
    for call in kakao.calls:
        if call.request.method == "POST":
            out.extend(u["id"] for u in json.loads(call.request.body)["user"])
    return out


def test_sends_everything_due_in_full_batches_at_the_rate(app, db, clock, kakao):
    add_members(db, 450)
    add_notifications(db, range(1, 451), clock=clock)
    ok(kakao)
    push, fake = wired(app, rate_per_sec=50)
    start = fake.now
    report = sender(push, fake).run()
    assert report.sent == 450 and report.requests == 5 and report.error is None
    users = posted_users(kakao)
    assert len(users) == 450 and len(set(users)) == 450
    sizes = [len(json.loads(c.request.body)["user"]) for c in kakao.calls]
    assert sizes == [100, 100, 100, 100, 50]
    # never faster than 50 users/s (no burst); at most one batch of tokens waited for in vain at
    # the end (a full batch is followed by a claim without a look first)
    assert 450 / 50 <= fake.now - start <= 450 / 50 + 100 / 50
    assert states(db) == {"sent": 450}
    body = json.loads(kakao.calls[0].request.body)
    assert body["event"]["name"] == "monthly_result"
    assert body["event"]["data"] == {"kind": "monthly_result", "period": "2026-10",
                                     "text": "10월 사용량 결과가 나왔어요. '결과 보기'를 누르면 내 감축률과 예상 포인트를 볼 수 있어요."}


def test_member_figures_never_ride_in_the_shared_data(app, db, clock, kakao):
    add_members(db, 2)
    add_notifications(db, [1], clock=clock, payload={"resources": [{"resource": "electricity", "usage": "291.5"}]})
    add_notifications(db, [2], clock=clock, payload={"resources": [{"resource": "electricity", "usage": "118.25"}]})
    ok(kakao)
    push, fake = wired(app)
    sender(push, fake).run()
    [call] = kakao.calls
    assert "291.5" not in call.request.body.decode() and "118.25" not in call.request.body.decode()


def test_event_names_come_from_the_settings(app, db, clock, kakao):
    add_members(db, 1)
    add_notifications(db, [1], kind="payout_reminder", period="2026H1", clock=clock)
    ok(kakao)
    push, fake = wired(app, event_payout_notice="payout_v2")
    sender(push, fake).run()
    body = json.loads(kakao.calls[0].request.body)
    assert body["event"]["name"] == "payout_v2"
    assert "2026년 상반기" in body["event"]["data"]["text"]


def test_a_second_run_sends_nothing_again(app, db, clock, kakao):
    add_members(db, 120)
    add_notifications(db, range(1, 121), clock=clock)
    ok(kakao)
    push, fake = wired(app)
    s = sender(push, fake)
    assert s.run().sent == 120
    assert s.run().sent == 0
    assert len(kakao.calls) == 2


def test_server_errors_are_retried_with_backoff_then_sent(app, db, clock, kakao):
    add_members(db, 3)
    add_notifications(db, [1, 2, 3], clock=clock)
    kakao.post(TALK, status=503, json={"message": "busy"})
    push, fake = wired(app, backoff_base_sec=4)
    s = sender(push, fake)
    r = s.run()
    assert (r.sent, r.retried, r.dead) == (0, 3, 0)
    n = rows(db)[0]
    assert n.state == "pending" and n.attempts == 1 and n.last_error.startswith("HTTP 503")
    delay = (n.not_before - utcnow_naive(clock)).total_seconds()
    assert 2 <= delay <= 4  # base 4 s, equal jitter
    assert s.run().sent == 0  # not due yet
    kakao.replace(responses.POST, TALK, json={"taskId": "t", "status": "SUCCESS"})
    clock.advance(seconds=5)
    assert s.run().sent == 3
    assert states(db) == {"sent": 3}


def test_gives_up_after_max_attempts_into_dead_with_the_reason(app, db, clock, kakao):
    add_members(db, 2)
    add_notifications(db, [1, 2], clock=clock)
    kakao.post(TALK, status=500, json={"message": "internal"})
    push, fake = wired(app, max_attempts=3, backoff_base_sec=1, backoff_max_sec=1)
    s = sender(push, fake)
    for _ in range(3):
        s.run()
        clock.advance(seconds=2)
    assert states(db) == {"dead": 2}
    assert rows(db)[0].last_error == "gave up after 3 attempts: HTTP 500 internal"
    assert len(kakao.calls) == 3


def test_429_honours_retry_after_and_pauses_the_sender(app, db, clock, kakao):
    add_members(db, 1)
    add_notifications(db, [1], clock=clock)
    kakao.post(TALK, status=429, json={"message": "slow down"}, headers={"Retry-After": "120"})
    push, fake = wired(app, backoff_base_sec=1)
    s = sender(push, fake)
    s.run()
    n = rows(db)[0]
    assert n.state == "pending"
    assert (n.not_before - utcnow_naive(clock)).total_seconds() >= 120
    assert push.limiter._paused_until - fake.now >= 119


def test_rejected_batch_is_dead_at_once(app, db, clock, kakao):
    add_members(db, 2)
    add_notifications(db, [1, 2], clock=clock)
    kakao.post(TALK, status=400, json={"status": "FAIL", "message": "event name not found"})
    push, fake = wired(app)
    r = sender(push, fake).run()
    assert r.dead == 2
    assert {n.last_error for n in rows(db)} == {"HTTP 400 event name not found"}


def test_wrong_key_stops_without_spending_attempts(app, db, clock, kakao):
    add_members(db, 250)
    add_notifications(db, range(1, 251), clock=clock)
    kakao.post(TALK, status=401, json={"status": "FAIL", "message": "invalid appkey"})
    push, fake = wired(app)
    r = sender(push, fake).run()
    assert r.error and "KAKAO_REST_API_KEY" in r.error
    assert len(kakao.calls) == 1  # stopped at the first refusal
    assert states(db) == {"pending": 250}
    assert {n.attempts for n in rows(db)} == {0}


def test_read_timeout_leaves_the_batch_uncertain_by_default(app, db, clock, kakao):
    add_members(db, 150)
    add_notifications(db, range(1, 151), clock=clock)
    responses_seq = [requests.exceptions.ReadTimeout("slow")]

    def cb(request):
        if responses_seq:
            raise responses_seq.pop()
        return 200, {}, json.dumps({"taskId": "t", "status": "SUCCESS"})

    kakao.add_callback(responses.POST, TALK, callback=cb)
    push, fake = wired(app)
    r = sender(push, fake).run()
    assert (r.uncertain, r.sent) == (100, 50)
    assert states(db) == {"uncertain": 100, "sent": 50}
    assert len(kakao.calls) == 2  # the uncertain batch is not posted again


def test_read_timeout_with_resend_policy_posts_again(app, db, clock, kakao):
    add_members(db, 10)
    add_notifications(db, range(1, 11), clock=clock)
    seq = [requests.exceptions.ReadTimeout("slow")]

    def cb(request):
        if seq:
            raise seq.pop()
        return 200, {}, json.dumps({"taskId": "t", "status": "SUCCESS"})

    kakao.add_callback(responses.POST, TALK, callback=cb)
    push, fake = wired(app, uncertain_policy="resend")
    r = sender(push, fake).run()
    assert r.sent == 10 and len(kakao.calls) == 2


def test_campaigns_are_held_in_quiet_hours_and_go_at_eight(app, db, clock, kakao):
    from core import broadcasts
    from core.models import Campaign

    with db.transaction() as s:
        s.add(Campaign(id="cmp-1", title="냉방 1도 올리기", summary="여름철 냉방 온도를 1도 높여요.", starts_on=clock.now().date(),
                       ends_on=clock.now().date() + timedelta(days=30), active=True, created_at=clock.now().replace(tzinfo=None)))
    add_members(db, 5)
    add_notifications(db, [1], clock=clock)  # an own-points notice goes at night too
    b = broadcasts.schedule(db, campaign_id="cmp-1", at=clock.now(), now=clock.now())
    from datetime import datetime

    from core.clock import KST
    clock.set(datetime(2026, 11, 22, 21, 30, tzinfo=KST))
    broadcasts.expand(db, b.id, now=clock.now(), quiet=app.config["CPOINT"].push.quiet())
    ok(kakao)
    push, fake = wired(app)
    s = sender(push, fake)
    r = s.run()
    assert r.sent == 1 and r.requests == 1
    assert json.loads(kakao.calls[0].request.body)["event"]["name"] == "monthly_result"
    clock.set(datetime(2026, 11, 23, 7, 59, tzinfo=KST))
    assert s.run().sent == 0
    clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=KST))
    r = s.run()
    assert r.sent == 5
    body = json.loads(kakao.calls[1].request.body)
    assert body["event"]["name"] == "campaign"
    assert body["event"]["data"]["text"].startswith("(광고) 탄소중립포인트 운영센터 1660-2030\n")
    assert body["event"]["data"]["text"].endswith("수신거부: '수신거부'라고 보내 주세요(무료)")


def test_a_message_that_cannot_be_built_is_dead_not_stuck(app, db, clock, kakao):
    add_members(db, 1)
    add_notifications(db, [1], kind="campaign", period="b999", clock=clock)  # no such broadcast
    push, fake = wired(app)
    r = sender(push, fake).run()
    assert r.dead == 1 and len(kakao.calls) == 0
    assert "no broadcast b999" in rows(db)[0].last_error


def test_sender_registers_and_deregisters(app, db, clock, kakao):
    push, fake = wired(app)
    s = sender(push, fake)
    s.run()
    with db.session() as ses:
        row = ses.get(PushSender, s.id)
        assert row is not None and row.stopped_at is None
    s.close()
    with db.session() as ses:
        assert ses.get(PushSender, s.id).stopped_at is not None


def test_start_recovers_a_dead_senders_batch(app, db, clock, kakao):
    from core import outbox

    add_members(db, 3)
    add_notifications(db, [1, 2, 3], clock=clock)
    outbox.register_sender(db, "ghost", host="box", pid=999999, now=clock.now())
    b = outbox.claim_batch(db, sender_id="ghost", now=clock.now(), limit=100, default_bot_id=BOT).batch
    ok(kakao)
    push, fake = wired(app)
    s = push.sender(host="box", alive=lambda pid: False, sleep=fake.sleep, monotonic=fake.monotonic)
    r = s.run()
    assert [o.batch_id for o in r.recovered] == [b.id]
    assert r.sent == 0 and states(db) == {"uncertain": 3}
    with db.session() as ses:
        assert ses.scalar(select(EventBatch.state).where(EventBatch.id == b.id)) == "uncertain"


def test_answers_whose_record_failed_are_recorded_first_next_time(app, db, clock, kakao, monkeypatch):
    from core import outbox

    add_members(db, 2)
    add_notifications(db, [1, 2], clock=clock)
    ok(kakao)
    push, fake = wired(app)
    s = sender(push, fake)
    real = outbox.record_accepted
    calls = {"n": 0}

    def flaky(*a, **kw):
        calls["n"] += 1
        raise RuntimeError("database went away")

    monkeypatch.setattr(outbox, "record_accepted", flaky)
    with pytest.raises(RuntimeError):
        s.run()
    assert states(db) == {"in_flight": 2}
    monkeypatch.setattr(outbox, "record_accepted", real)
    r = s.run()
    assert r.sent == 2 and states(db) == {"sent": 2}
    assert len(kakao.calls) == 1  # never posted twice


def test_no_connection_spends_no_attempt_and_backs_off_capped(app, db, clock, kakao):
    add_members(db, 2)
    add_notifications(db, [1, 2], clock=clock)
    kakao.post(TALK, body=requests.exceptions.ConnectionError(ConnectionRefusedError(111, "refused")))
    push, fake = wired(app, max_attempts=1, backoff_base_sec=2, backoff_max_sec=10)
    s = sender(push, fake)
    delays = []
    for _ in range(8):  # far more failures than PUSH_MAX_ATTEMPTS
        r = s.run()
        assert (r.retried, r.dead) == (2, 0)
        n = rows(db)[0]
        assert n.state == "pending" and n.attempts == 0 and n.batch_id is None
        assert n.last_error.startswith("connection failed")
        delays.append((n.not_before - utcnow_naive(clock)).total_seconds())
        clock.advance(seconds=11)
    assert delays[0] <= 2 and max(delays) <= 10 and delays[-1] >= 5  # grows, capped
    kakao.replace(responses.POST, TALK, json={"taskId": "t", "status": "SUCCESS"})
    assert s.run().sent == 2 and states(db) == {"sent": 2}


def test_a_stop_request_ends_a_long_pause_at_once(app, db, clock, kakao):
    add_members(db, 1)
    add_notifications(db, [1], clock=clock)
    ok(kakao)
    push, fake = wired(app)
    s = sender(push, fake)
    s.limiter.pause(300)  # e.g. after failures
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 3

    t0 = fake.monotonic()
    r = s.run(until_empty=False, stop=stop)
    assert fake.monotonic() - t0 < 1.0 and r.batches == 0 and states(db) == {"pending": 1}
