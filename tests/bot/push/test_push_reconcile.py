"""Task reconciliation: results looked up later, per-user failures recorded, members marked
unreachable (not for our own skill server's errors), lookups retried then given up."""
from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from sqlalchemy import select

from core.clock import utcnow_naive
from core.models import EventBatch, Member
from tests.auxil.push import BOT, add_members, add_notifications, rows, sender, wired

TALK = f"http://kakao.test/v2/bots/{BOT}/talk"


@pytest.fixture
def kakao():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def send_all(app, db, clock, kakao, n, task="task-1"):
    add_members(db, n)
    add_notifications(db, range(1, n + 1), clock=clock)
    kakao.post(TALK, json={"taskId": task, "status": "SUCCESS"})
    push, fake = wired(app, task_check_delay_sec=60, task_check_max=3)
    assert sender(push, fake).run().sent == n
    return push


def test_nothing_is_looked_up_before_the_delay(app, db, clock, kakao):
    push = send_all(app, db, clock, kakao, 3)
    assert push.reconcile().checked == 0
    clock.advance(seconds=61)
    kakao.get("http://kakao.test/v1/tasks/task-1", json={"status": "ALL SUCCESS", "allRequestCount": 3, "successCount": 3})
    r = push.reconcile()
    assert (r.checked, r.done, r.delivered) == (1, 1, 3)
    assert {n.delivery for n in rows(db)} == {"delivered"}
    with db.session() as s:
        b = s.scalar(select(EventBatch))
    assert (b.task_state, b.success_count, b.fail_count) == ("done", 3, 0)
    assert push.reconcile().checked == 0  # done once


def test_failed_users_are_recorded_and_marked_unreachable(app, db, clock, kakao):
    push = send_all(app, db, clock, kakao, 4)
    clock.advance(seconds=61)
    kakao.get("http://kakao.test/v1/tasks/task-1", json={
        "status": "2 FAIL", "allRequestCount": 4, "successCount": 2, "userKeyResolvingFailCount": 0,
        "fail": {"count": 2, "list": [
            {"userId": "user-000002", "reqUserType": "botUserKey", "errorMsg": {"errorType": "102", "msg": "not a friend"}},
            {"userId": "user-000003", "reqUserType": "botUserKey",
             "errorMsg": {"errorType": 201, "msg": "Bot skill server responded with an HTTP error."}}]}})
    r = push.reconcile()
    assert (r.failed, r.delivered, r.unreachable) == (2, 2, 1)
    by_member = {n.member_id: n for n in rows(db)}
    assert by_member[2].delivery == "failed" and "not a friend" in by_member[2].delivery_error
    assert by_member[3].delivery == "failed" and "201" in by_member[3].delivery_error
    assert by_member[1].delivery == by_member[4].delivery == "delivered"
    with db.session() as s:
        friends = dict(s.execute(select(Member.id, Member.is_friend)).all())
    assert friends == {1: True, 2: False, 3: True, 4: True}  # 201 is our fault, not member 3's
    # the unreachable member is skipped next time
    add_notifications(db, [1, 2], period="2026-11", clock=clock)
    kakao.replace(responses.POST, TALK, json={"taskId": "task-2", "status": "SUCCESS"})
    r2 = sender(*wired(app)).run()
    assert r2.sent == 1 and r2.skipped == {"not_friend": 1}


def test_incomplete_fail_list_leaves_the_rest_unknown(app, db, clock, kakao):
    push = send_all(app, db, clock, kakao, 3)
    clock.advance(seconds=61)
    kakao.get("http://kakao.test/v1/tasks/task-1", json={"status": "1 FAIL", "allRequestCount": 3, "successCount": 2,
                                                         "userKeyResolvingFailCount": 1, "fail": {"count": 1, "list": []}})
    r = push.reconcile()
    assert r.done == 1 and r.delivered == 0
    assert {n.delivery for n in rows(db)} == {None}


def test_lookups_back_off_then_give_up(app, db, clock, kakao):
    push = send_all(app, db, clock, kakao, 1)
    kakao.get("http://kakao.test/v1/tasks/task-1", status=404, json={"message": "not yet"})
    clock.advance(seconds=61)
    assert push.reconcile().later == 1
    with db.session() as s:
        b = s.scalar(select(EventBatch))
    assert b.task_next_check_at == utcnow_naive(clock) + timedelta(seconds=60)
    clock.advance(seconds=61)
    assert push.reconcile().later == 1
    clock.advance(seconds=121)
    assert push.reconcile().unverified == 1
    with db.session() as s:
        b = s.scalar(select(EventBatch))
    assert b.task_state == "unverified" and "3 lookups" in b.error
    clock.advance(days=1)
    assert push.reconcile().checked == 0
