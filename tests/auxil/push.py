"""Helpers of the push tests: members, notifications, a fake monotonic clock, a wired Push."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from core import outbox
from core.clock import utcnow_naive
from core.models import Member, Notification
from tests.auxil.support import reply_texts

BOT = "660c83a8ad9bb98ef71a0bd6"


class FakeTime:
    """monotonic() and sleep() for rate limiters and senders: sleeping moves time on."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)


def add_members(db, n: int, *, start: int = 1, clock=None, **fields) -> list[int]:
    now = utcnow_naive(clock) if clock else datetime(2026, 1, 1)
    ids = []
    with db.transaction() as s:
        for i in range(start, start + n):
            values = dict(member_type="individual", bot_user_key=f"user-{i:06d}", bot_id=BOT, joined_at=now,
                          status="active", is_friend=True, marketing_opt_in=True, campaign_opt_out=False,
                          name="홍길동", address="경기도 수원시 영통구 예시로 1", incentive_type="donation")
            values.update(fields)
            s.add(Member(id=i, **values))
            ids.append(i)
    return ids


def add_notifications(db, member_ids, *, kind="monthly_result", period="2026-10", clock=None, payload=None,
                      **extra) -> int:
    now = utcnow_naive(clock) if clock else datetime(2026, 1, 1)
    with db.transaction() as s:
        return outbox.enqueue_many(s, [dict({"member_id": m, "kind": kind, "period": period,
                                             "payload": payload or {}}, **extra) for m in member_ids], now=now)


def states(db) -> dict[str, int]:
    out: dict[str, int] = {}
    with db.session() as s:
        for (state,) in s.execute(select(Notification.state)):
            out[state] = out.get(state, 0) + 1
    return out


def rows(db, **where) -> list[Notification]:
    with db.session() as s:
        q = select(Notification).order_by(Notification.id)
        for k, v in where.items():
            q = q.where(getattr(Notification, k) == v)
        return list(s.scalars(q))


def wired(app, *, session=None, fake: FakeTime | None = None, **settings):
    """A Push built like production, with the settings changed and a fake time for the limiter."""
    from bot.push.runtime import build_push, make_limiter

    services = app.extensions["cpoint"]
    services.push = replace(services.push, **settings) if settings else services.push
    fake = fake or FakeTime()
    limiter = make_limiter(services.push, clock=fake.monotonic, sleep=fake.sleep)
    return build_push(services, session=session, limiter=limiter), fake


def sender(push, fake: FakeTime, **kw):
    import random

    return push.sender(sleep=fake.sleep, monotonic=fake.monotonic, rng=random.Random(7), **kw)


def skill_payload(user_key: str, skill: str = "notice", *, extra: dict | None = None, utterance: str = "",
                  is_friend: bool | None = True, surface: str = "Kakaotalk.plusfriend", bot_id: str = BOT,
                  params: dict | None = None) -> dict:
    """A SkillPayload as Open Builder sends it (see tests/fixtures/kakao)."""
    props = {"botUserKey": user_key, "plusfriendUserKey": "pf-" + user_key[-6:]}
    if is_friend:
        props["isFriend"] = True
    return {
        "intent": {"id": f"blk-{skill}", "name": skill},
        "userRequest": {"timezone": "Asia/Seoul", "params": {"surface": surface},
                        "block": {"id": f"blk-{skill}", "name": skill}, "utterance": utterance, "lang": "ko",
                        "user": {"id": user_key, "type": "botUserKey", "properties": props}},
        "bot": {"id": bot_id, "name": "탄소중립포인트 도우미"},
        "action": {"id": f"act-{skill}", "name": skill, "params": params or {}, "detailParams": {},
                   "clientExtra": extra},
        "contexts": [],
        "flow": {"trigger": {"type": "TEXT_INPUT"}},
    }


def post_skill(client, payload: dict, skill: str = "notice"):
    resp = client.post(f"/kakao/skills/{skill}", data=json.dumps(payload, ensure_ascii=False).encode(),
                       headers={"Content-Type": "application/json", "X-Skill-Secret": "test-skill-secret"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


all_text = reply_texts  # the one reply walker, tests/support.py
