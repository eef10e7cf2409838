"""core.outbox: claiming batches, who is skipped, quiet hours, state transitions, orphans."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core import outbox
from core.clock import KST
from core.models import EventBatch, Member
from core.outbox import QuietHours
from tests.auxil.push import BOT, add_members, add_notifications, rows, states

NOW = datetime(2026, 11, 22, 1, 0)  # 10:00 KST, naive UTC


def claim(db, limit=100, sender="s-1", now=NOW, quiet=None, kinds=None):
    return outbox.claim_batch(db, sender_id=sender, now=now, limit=limit, default_bot_id=BOT, quiet=quiet, kinds=kinds)


def register(db, sender="s-1", host="h", pid=4242, now=NOW):
    outbox.register_sender(db, sender, host=host, pid=pid, now=now)


# -- quiet hours ----------------------------------------------------------------------------

@pytest.mark.parametrize("hhmm,quiet", [("20:49", False), ("20:50", True), ("21:00", True), ("23:59", True),
                                        ("00:00", True), ("07:59", True), ("08:00", False), ("12:00", False)])
def test_quiet_hours_with_margin(hhmm, quiet):
    q = QuietHours.parse("21:00-08:00", margin_minutes=10)
    h, m = map(int, hhmm.split(":"))
    assert q.contains(datetime(2026, 11, 22, h, m, tzinfo=KST)) is quiet


def test_quiet_hours_reopen_next_morning_kst():
    q = QuietHours.parse("21:00-08:00")
    assert q.reopens_at(datetime(2026, 11, 22, 22, 30, tzinfo=KST)) == datetime(2026, 11, 23, 8, 0, tzinfo=KST)
    assert q.reopens_at(datetime(2026, 11, 23, 3, 0, tzinfo=KST)) == datetime(2026, 11, 23, 8, 0, tzinfo=KST)
    # not_before is naive UTC: 08:00 KST = 23:00 UTC the day before
    assert q.hold_until(datetime(2026, 11, 22, 22, 30, tzinfo=KST)) == datetime(2026, 11, 22, 23, 0)
    assert q.hold_until(datetime(2026, 11, 22, 12, 0, tzinfo=KST)) is None


def test_same_day_quiet_window_and_bad_input():
    q = QuietHours.parse("01:00-05:00")
    assert q.contains(datetime(2026, 1, 1, 3, 0, tzinfo=KST)) and not q.contains(datetime(2026, 1, 1, 6, 0, tzinfo=KST))
    for bad in ("", "21-08", "25:00-08:00", "08:00-08:00"):
        with pytest.raises(ValueError):
            QuietHours.parse(bad)


# -- enqueue --------------------------------------------------------------------------------

def test_enqueue_is_once_per_member_kind_period(db):
    add_members(db, 3)
    assert add_notifications(db, [1, 2, 3]) == 3
    assert add_notifications(db, [1, 2, 3]) == 0
    assert add_notifications(db, [1], period="2026-11") == 1
    with db.transaction() as s:
        assert outbox.enqueue(s, member_id=1, kind="payout_notice", period="2026H1", payload={"won": 1}, now=NOW)
        assert not outbox.enqueue(s, member_id=1, kind="payout_notice", period="2026H1", payload={"won": 2}, now=NOW)
    [n] = rows(db, kind="payout_notice")
    assert n.dedupe_key == "payout_notice:1:2026H1" and n.payload == {"won": 1}
    with db.transaction() as s, pytest.raises(ValueError):
        outbox.enqueue(s, member_id=1, kind="spam", period="x", payload={}, now=NOW)


# -- claiming -------------------------------------------------------------------------------

def test_batches_hold_at_most_100_users_of_one_kind_period_and_bot(db):
    register(db)
    add_members(db, 230)
    add_members(db, 20, start=231, bot_id=BOT + "!")  # development channel
    add_members(db, 5, start=251, bot_id=None)  # unknown bot: the operating one
    add_notifications(db, range(1, 256))
    add_notifications(db, range(1, 11), kind="payout_notice", period="2026H1")
    seen = []
    while True:
        r = claim(db)
        if r.batch is None:
            break
        b = r.batch
        assert 1 <= b.size <= 100
        assert len({i.recipient_id for i in b.items}) == b.size
        with db.session() as s:
            members = {m.id: m for m in s.scalars(select(Member).where(Member.id.in_([i.member_id for i in b.items])))}
        assert {(members[i.member_id].bot_id or BOT) for i in b.items} == {b.bot_id}
        seen.append((b.kind, b.period, b.bot_id, b.size))
    assert sorted(seen) == sorted([("monthly_result", "2026-10", BOT, 100), ("monthly_result", "2026-10", BOT, 100),
                                   ("monthly_result", "2026-10", BOT, 35), ("monthly_result", "2026-10", BOT + "!", 20),
                                   ("payout_notice", "2026H1", BOT, 10)])
    assert states(db) == {"in_flight": 265}
    with db.session() as s:
        assert s.scalar(select(EventBatch).where(EventBatch.bot_id == BOT + "!")).user_count == 20


def test_claim_marks_rows_and_counts_the_attempt(db):
    register(db)
    add_members(db, 2)
    add_members(db, 1, start=3, bot_user_key=None, app_user_id="2718281828")
    add_notifications(db, [1, 2, 3])
    b = claim(db).batch
    assert [(i.recipient_type, i.recipient_id, i.attempts) for i in b.items] == [
        ("bot_user_key", "user-000001", 1), ("bot_user_key", "user-000002", 1), ("app_user_id", "2718281828", 1)]
    for n in rows(db):
        assert (n.state, n.claimed_by, n.batch_id, n.attempts, n.bot_id) == ("in_flight", "s-1", b.id, 1, BOT)
        assert n.claimed_at == NOW


@pytest.mark.parametrize("fields,kind,reason", [
    ({"status": "withdrawn"}, "monthly_result", "withdrawn"),
    ({"blocked_at": NOW}, "monthly_result", "blocked"),
    ({"is_friend": False}, "monthly_result", "not_friend"),
    ({"bot_user_key": None, "app_user_id": None}, "monthly_result", "no_user_key"),
    ({"campaign_opt_out": True}, "campaign", "opted_out"),
    ({"marketing_opt_in": False}, "campaign", "no_marketing_consent"),
])
def test_unreachable_or_unwilling_members_are_skipped_with_the_reason(db, fields, kind, reason):
    register(db)
    add_members(db, 1)
    add_members(db, 1, start=2, **fields)
    period = "b1" if kind == "campaign" else "2026-10"
    add_notifications(db, [1, 2], kind=kind, period=period)
    r = claim(db)
    assert r.skipped == {reason: 1}
    assert [i.member_id for i in r.batch.items] == [1]
    [skipped] = rows(db, member_id=2)
    assert (skipped.state, skipped.last_error) == ("skipped", reason)


def test_own_points_notices_ignore_campaign_opt_out(db):
    register(db)
    add_members(db, 1, campaign_opt_out=True, marketing_opt_in=False)
    add_notifications(db, [1], kind="payout_notice", period="2026H1")
    assert claim(db).batch.size == 1


def test_skipped_members_do_not_shrink_the_batch(db):
    register(db)
    add_members(db, 50, blocked_at=NOW)
    add_members(db, 150, start=51)
    add_notifications(db, range(1, 201))
    r = claim(db)
    assert r.batch.size == 100 and r.skipped == {"blocked": 50}


def test_same_user_twice_waits_for_the_next_batch(db):
    register(db)
    add_members(db, 1, app_user_id="42", bot_user_key=None)
    add_members(db, 1, start=2, app_user_id="42", bot_user_key=None)  # e.g. re-joined household
    add_notifications(db, [1, 2])
    first = claim(db).batch
    assert first.size == 1
    assert states(db) == {"in_flight": 1, "pending": 1}
    assert claim(db).batch.size == 1


def test_not_before_is_respected(db):
    register(db)
    add_members(db, 2)
    add_notifications(db, [1], not_before=NOW + timedelta(minutes=5))
    add_notifications(db, [2])
    assert [i.member_id for i in claim(db).batch.items] == [2]
    assert claim(db).batch is None
    assert claim(db, now=NOW + timedelta(minutes=5)).batch.size == 1


def test_campaigns_wait_out_the_quiet_hours_but_own_notices_do_not(db):
    register(db)
    add_members(db, 3)
    add_notifications(db, [1, 2], kind="campaign", period="b1")
    add_notifications(db, [3], kind="monthly_result")
    q = QuietHours.parse("21:00-08:00", 10)
    night = datetime(2026, 11, 22, 22, 0, tzinfo=KST).astimezone(UTC).replace(tzinfo=None)
    r = claim(db, now=night, quiet=q)
    assert r.held == 2 and r.batch.kind == "monthly_result"
    assert claim(db, now=night, quiet=q).batch is None
    for n in rows(db, kind="campaign"):
        assert n.state == "pending" and n.not_before == datetime(2026, 11, 22, 23, 0)  # 08:00 KST
    at_eight = datetime(2026, 11, 23, 8, 0, tzinfo=KST).astimezone(UTC).replace(tzinfo=None)
    assert claim(db, now=at_eight, quiet=q).batch.size == 2


def test_twenty_fifty_margin_holds_campaigns(db):
    register(db)
    add_members(db, 1)
    add_notifications(db, [1], kind="campaign", period="b1")
    q = QuietHours.parse("21:00-08:00", 10)
    at = datetime(2026, 11, 22, 20, 55, tzinfo=KST).astimezone(UTC).replace(tzinfo=None)
    assert claim(db, now=at, quiet=q).batch is None
    assert outbox.peek_due(db, now=at, limit=100, quiet=q) == 0


def test_two_claimers_never_share_a_row(db):
    """Concurrent claims (threads, one connection each): every row in exactly one batch."""
    for i in range(4):
        register(db, sender=f"s-{i}", pid=100 + i)
    add_members(db, 1000)
    add_notifications(db, range(1, 1001))
    got: dict[str, list[int]] = {}
    errors = []

    def work(sender):
        try:
            while True:
                r = claim(db, sender=sender)
                if r.batch is None:
                    return
                got.setdefault(sender, []).extend(i.notification_id for i in r.batch.items)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"s-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [n for v in got.values() for n in v]
    assert len(ids) == 1000 and len(set(ids)) == 1000


# -- answers --------------------------------------------------------------------------------

def test_accepted_marks_sent_with_the_task(db):
    register(db)
    add_members(db, 3)
    add_notifications(db, [1, 2, 3])
    b = claim(db).batch
    assert outbox.record_accepted(db, b.id, task_id="t-1", now=NOW, check_at=NOW + timedelta(minutes=1)) == 3
    for n in rows(db):
        assert (n.state, n.task_id, n.sent_at) == ("sent", "t-1", NOW)
    with db.session() as s:
        eb = s.get(EventBatch, b.id)
    assert (eb.state, eb.task_id, eb.task_state) == ("accepted", "t-1", "pending")


def test_retry_backs_off_then_dies_with_the_reason(db):
    register(db)
    add_members(db, 1)
    add_notifications(db, [1])
    now = NOW
    for attempt in range(1, 4):
        b = claim(db, now=now).batch
        assert b.items[0].attempts == attempt
        retried, dead = outbox.record_retry(db, b.id, error="HTTP 503", now=now, max_attempts=3,
                                            delay=lambda a: 10 * a, http_status=503)
        [n] = rows(db)
        if attempt < 3:
            assert (retried, dead) == (1, 0)
            assert n.state == "pending" and n.not_before == now + timedelta(seconds=10 * attempt)
            assert claim(db, now=now).batch is None  # not before the backoff
            now = n.not_before
        else:
            assert (retried, dead) == (0, 1)
            assert n.state == "dead" and n.last_error == "gave up after 3 attempts: HTTP 503"


def test_retry_after_is_a_floor(db):
    register(db)
    add_members(db, 1)
    add_notifications(db, [1])
    b = claim(db).batch
    outbox.record_retry(db, b.id, error="429", now=NOW, max_attempts=5, delay=lambda a: 1,
                        not_before=NOW + timedelta(seconds=30))
    assert rows(db)[0].not_before == NOW + timedelta(seconds=30)


def test_dead_release_and_uncertain(db):
    register(db)
    add_members(db, 3)
    for m in (1, 2, 3):
        add_notifications(db, [m], period=f"2026-0{m}")
    b1, b2, b3 = claim(db).batch, claim(db).batch, claim(db).batch
    outbox.record_dead(db, b1.id, error="HTTP 400 event not found", now=NOW)
    outbox.release_batch(db, b2.id, error="HTTP 401", now=NOW)
    outbox.record_uncertain(db, b3.id, reason="read timeout", now=NOW, policy="skip", max_attempts=5)
    n1, n2, n3 = rows(db)
    assert (n1.state, n1.last_error) == ("dead", "HTTP 400 event not found")
    assert (n2.state, n2.attempts) == ("pending", 0)  # the attempt was not the message's fault
    assert (n3.state, n3.last_error) == ("uncertain", "read timeout")


def test_uncertain_resend_policy_requeues(db):
    register(db)
    add_members(db, 1)
    add_notifications(db, [1])
    b = claim(db).batch
    outbox.record_uncertain(db, b.id, reason="read timeout", now=NOW, policy="resend", max_attempts=5)
    [n] = rows(db)
    assert n.state == "pending" and n.batch_id is None and "re-sent" in n.last_error


def test_late_answer_after_an_uncertain_verdict_marks_sent(db):
    register(db)
    add_members(db, 1)
    add_notifications(db, [1])
    b = claim(db).batch
    outbox.record_uncertain(db, b.id, reason="sender died", now=NOW, policy="skip", max_attempts=5)
    assert outbox.record_accepted(db, b.id, task_id="t", now=NOW) == 1
    assert rows(db)[0].state == "sent"


# -- orphans --------------------------------------------------------------------------------

def test_batch_of_a_dead_process_becomes_uncertain(db):
    register(db, sender="dead", host="box", pid=111)
    register(db, sender="me", host="box", pid=222)
    add_members(db, 2)
    add_notifications(db, [1, 2])
    b = claim(db, sender="dead").batch
    alive = {222: True, 111: False}
    found = outbox.recover_orphans(db, now=NOW, lease=timedelta(seconds=60), me="me", host="box",
                                   policy="skip", max_attempts=5, alive=alive.get, my_pid=222)
    assert [o.batch_id for o in found] == [b.id] and "gone" in found[0].why
    assert states(db) == {"uncertain": 2}
    with db.session() as s:
        assert s.get(EventBatch, b.id).state == "uncertain"
    # found once only
    assert outbox.recover_orphans(db, now=NOW, lease=timedelta(seconds=60), me="me", host="box", policy="skip",
                                  max_attempts=5, alive=alive.get, my_pid=222) == []


def test_live_sender_is_left_alone_until_its_lease_expires(db):
    register(db, sender="other", host="elsewhere", pid=111)
    add_members(db, 1)
    add_notifications(db, [1])
    claim(db, sender="other")
    kw = dict(lease=timedelta(seconds=60), me="me", host="box", policy="skip", max_attempts=5)
    assert outbox.recover_orphans(db, now=NOW + timedelta(seconds=59), **kw) == []
    assert states(db) == {"in_flight": 1}
    found = outbox.recover_orphans(db, now=NOW + timedelta(seconds=61), **kw)
    assert len(found) == 1 and "heartbeat" in found[0].why


def test_same_pid_as_me_means_the_old_process_died(db):
    """A restarted container often reuses the pid: a different sender id with my pid is dead."""
    register(db, sender="old", host="box", pid=7)
    add_members(db, 1)
    add_notifications(db, [1])
    claim(db, sender="old")
    found = outbox.recover_orphans(db, now=NOW, lease=timedelta(seconds=60), me="new", host="box", policy="skip",
                                   max_attempts=5, alive=lambda pid: True, my_pid=7)
    assert len(found) == 1


def test_operator_requeue_and_confirm(db):
    register(db)
    add_members(db, 2)
    add_notifications(db, [1], period="2026-01")
    add_notifications(db, [2], period="2026-02")
    b1, b2 = claim(db).batch, claim(db).batch
    outbox.record_uncertain(db, b1.id, reason="x", now=NOW, policy="skip", max_attempts=5)
    outbox.record_uncertain(db, b2.id, reason="x", now=NOW, policy="skip", max_attempts=5)
    assert outbox.settle_uncertain(db, batch_id=b1.id, now=NOW) == 1
    assert outbox.requeue(db, now=NOW, batch_id=b2.id) == 1
    assert states(db) == {"sent": 1, "pending": 1}
    rep = outbox.report(db)
    assert rep.by_state == {"sent": 1, "pending": 1} and rep.uncertain_batches == []


def test_a_batch_holds_users_of_one_chat_language_and_its_text_is_theirs(db):
    # Issue 14: one Event API call shares one text; English users get theirs in English.
    from bot.push.render import EventData
    from core.models import DialogState

    register(db)
    add_members(db, 6)
    with db.transaction() as s:
        for i in (2, 5):
            s.add(DialogState(user_key=f"user-{i:06d}", slots={}, updated_at=NOW, lang="en"))
    add_notifications(db, range(1, 7))
    batches = []
    while (b := claim(db).batch) is not None:
        batches.append((b.lang, sorted(i.member_id for i in b.items)))
    assert batches == [(None, [1, 3, 4, 6]), ("en", [2, 5])]
    data = EventData(db, operator="탄소중립포인트", contact="1660-2030")
    assert data("monthly_result", "2026-10", "en")["text"].startswith("Your usage result for month 10")
    assert data("monthly_result", "2026-10", None)["text"].startswith("10월 사용량 결과가 나왔어요")
