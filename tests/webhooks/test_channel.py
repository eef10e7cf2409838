"""POST /kakao/channel: the channel add/block webhook."""
from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from sqlalchemy import func, select

from core.models import ChannelEvent, Member

KEY = "test-kakao-admin-key"  # tests/conftest.py make_config


def add_member(db, mid=1, app_user_id="2718281828", **kw):
    with db.transaction() as s:
        s.add(Member(id=mid, member_type="individual", bot_user_key=f"user-{mid}", app_user_id=app_user_id,
                     joined_at=datetime(2026, 1, 1), is_friend=True, **kw))


def post(client, body, *, rid="res-1", key=KEY, raw=None):
    headers = {"Content-Type": "application/json", "User-Agent": "KakaoOpenAPI/1.0"}
    if key is not None:
        headers["Authorization"] = f"KakaoAK {key}"
    if rid is not None:
        headers["X-Kakao-Resource-ID"] = rid
    data = raw if raw is not None else json.dumps(body).encode()
    return client.post("/kakao/channel", data=data, headers=headers)


def event(kind="blocked", user="2718281828", at="2025-12-01T01:23:45Z", **kw):
    body = {"event": kind, "id": user, "id_type": "app_user_id", "channel_public_id": "_ZeUTxl",
            "channel_uuid": "@cpointbot", "updated_at": at}
    body.update(kw)
    return body


def member(db, mid=1) -> Member:
    with db.session() as s:
        return s.get(Member, mid)


def test_blocked_then_added_updates_reachability(client, db):
    add_member(db)
    resp = post(client, event("blocked"))
    assert resp.status_code == 200 and resp.get_json() == {"status": "applied"}
    m = member(db)
    assert m.is_friend is False and m.blocked_at == datetime(2025, 12, 1, 1, 23, 45)
    resp = post(client, event("added", at="2025-12-02T00:00:00Z"), rid="res-2")
    assert resp.get_json() == {"status": "applied"}
    m = member(db)
    assert m.is_friend is True and m.blocked_at is None


@pytest.mark.parametrize("key", [None, "wrong", "", "test-kakao-admin-ke", "TEST-KAKAO-ADMIN-KEY"])
def test_wrong_or_missing_admin_key_is_401_and_writes_nothing(client, db, key):
    add_member(db)
    resp = post(client, event(), key=key)
    assert resp.status_code == 401
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChannelEvent)) == 0
    assert member(db).is_friend is True


def test_not_kakaoak_scheme_is_401(client, db):
    resp = client.post("/kakao/channel", data=json.dumps(event()),
                       headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    assert resp.status_code == 401


def test_closed_while_no_admin_key_is_configured(app, client, db):
    app.config["CPOINT"].kakao_admin_key = None
    assert post(client, event()).status_code == 401


def test_same_resource_id_is_applied_once(client, db):
    add_member(db)
    assert post(client, event("blocked")).get_json() == {"status": "applied"}
    post(client, event("added", at="2025-12-02T00:00:00Z"), rid="res-2")
    # Kakao delivers the first notification again: it must not block the member again
    assert post(client, event("blocked")).get_json() == {"status": "duplicate"}
    assert member(db).is_friend is True
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChannelEvent)) == 2


def test_older_notification_arriving_late_changes_nothing(client, db):
    add_member(db)
    post(client, event("added", at="2025-12-02T00:00:00Z"), rid="res-new")
    assert post(client, event("blocked", at="2025-12-01T00:00:00Z"), rid="res-old").get_json() == {"status": "stale"}
    assert member(db).is_friend is True


def test_unknown_user_and_open_id_are_kept_but_change_nobody(client, db):
    add_member(db)
    assert post(client, event(user="999")).get_json() == {"status": "no_member"}
    assert post(client, event(id_type="open_id"), rid="res-2").get_json() == {"status": "unsupported_id"}
    assert member(db).is_friend is True


def test_deprecated_fields_are_accepted(client, db):
    add_member(db)
    body = {"event": "blocked", "id": 2718281828, "id_type": "app_user_id", "plus_friend_public_id": "_ZeUTxl",
            "timestamp": 1764552225000}
    assert post(client, body).get_json() == {"status": "applied"}
    assert member(db).blocked_at == datetime(2025, 12, 1, 1, 23, 45)


@pytest.mark.parametrize("raw", [b"not json", b"[]", json.dumps({"event": "muted", "id": "1"}).encode(),
                                 json.dumps({"event": "blocked"}).encode(),
                                 json.dumps({"event": "blocked", "id": "1", "id_type": "phone"}).encode()])
def test_malformed_bodies_are_400_and_write_nothing(client, db, raw):
    resp = post(client, None, raw=raw)
    assert resp.status_code == 400
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChannelEvent)) == 0


def test_oversized_body_is_413(client, db):
    resp = post(client, None, raw=b"{" + b" " * 9000 + b"}")
    assert resp.status_code == 413


def test_missing_resource_id_still_deduplicates_identical_bodies(client, db):
    add_member(db)
    assert post(client, event(), rid=None).get_json() == {"status": "applied"}
    assert post(client, event(), rid=None).get_json() == {"status": "duplicate"}


def test_answers_well_within_three_seconds(client, db):
    add_member(db)
    started = time.perf_counter()
    for i in range(20):
        assert post(client, event("blocked" if i % 2 else "added", at=f"2025-12-01T01:00:{i:02d}Z"),
                    rid=f"r-{i}").status_code == 200
    assert (time.perf_counter() - started) / 20 < 0.5


def test_blocked_member_gets_no_push(client, db, app):
    from core import outbox

    add_member(db)
    post(client, event("blocked"))
    with db.transaction() as s:
        outbox.enqueue(s, member_id=1, kind="monthly_result", period="2026-10", payload={}, now=datetime(2026, 11, 20))
    outbox.register_sender(db, "s", host="h", pid=1, now=datetime(2026, 11, 20))
    r = outbox.claim_batch(db, sender_id="s", now=datetime(2026, 11, 20), limit=100, default_bot_id="bot")
    assert r.batch is None and r.skipped == {"blocked": 1}


def test_skill_payloads_update_friendship_within_the_turn(db, kakao):
    """isFriend present -> reachable; absent on the channel surface -> not reachable."""
    from tests.auxil.support import make_payload

    add_member(db)
    kakao.post("help", make_payload("user-1", "도움말", "help", is_friend=False))
    assert member(db).is_friend is False
    kakao.post("help", make_payload("user-1", "도움말", "help", is_friend=True))
    assert member(db).is_friend is True


def test_a_failing_after_turn_hook_never_costs_the_reply(app, db, kakao):
    from bot.kakao.validate import validate_response
    from tests.auxil.support import make_payload, reply_texts

    def broken(ctx):
        raise RuntimeError("hook bug")

    app.extensions["cpoint_bot"].after_turn.insert(0, broken)
    add_member(db)
    reply = kakao.post("help", make_payload("user-1", "도움말", "help", is_friend=False)).get_json()
    assert validate_response(reply) == [] and "요청번호" not in reply_texts(reply)
    assert member(db).is_friend is False  # the next hook still ran
