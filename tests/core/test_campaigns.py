"""core.campaigns: active list, a pledge recorded once, my campaigns, the broadcast audience."""
from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from core import campaigns as C
from core import members as M
from core.clock import today_kst, utcnow_naive
from core.local_governments import parse_address, seed_local_governments
from core.models import Campaign, CampaignPledge, Member


def add_campaign(s, clock, cid, title, starts=date(2026, 11, 1), ends=date(2026, 12, 31), active=True):
    s.add(Campaign(id=cid, title=title, summary=f"{title} 요약", image_url=f"https://example.org/{cid}.png",
                   detail_url=None, starts_on=starts, ends_on=ends, active=active, created_at=utcnow_naive(clock)))


def make_member(s, cipher, clock, user, address, number, opt_in=False):
    return M.create_member(s, cipher, clock, M.SignupData(
        member_type="individual", user_key=user, name="김민지", mobile="010-2222-3333",
        address=parse_address(address), resources=[M.ResourceChoice("electricity", "separate", number)],
        consents={"terms": "t", "privacy": "t", "third_party": "t", "optional": opt_in}, marketing_opt_in=opt_in))


@pytest.fixture
def world(db, cipher, clock):
    with db.transaction() as s:
        seed_local_governments(s)
        add_campaign(s, clock, "cmp-b", "나중에 끝나는", ends=date(2027, 1, 31))
        add_campaign(s, clock, "cmp-a", "곧 끝나는", ends=date(2026, 11, 30))
        add_campaign(s, clock, "cmp-old", "끝난", starts=date(2026, 1, 1), ends=date(2026, 6, 30))
        add_campaign(s, clock, "cmp-off", "중지된", active=False)
        add_campaign(s, clock, "cmp-future", "다음 달", starts=date(2026, 12, 1))
        m = make_member(s, cipher, clock, "u-c1", "경기도 수원시 영통구 예시로 1", "1000000001", opt_in=True)
        return m.id


def test_active_campaigns_are_open_today_ending_soonest_first(db, clock, world):
    with db.session() as s:
        today = today_kst(clock)
        assert [c.id for c in C.active_campaigns(s, today)] == ["cmp-a", "cmp-b"]
        assert C.count_active_campaigns(s, today) == 2


def test_a_pledge_is_recorded_once(db, clock, world):
    with db.transaction() as s:
        first = C.pledge(s, clock, s.get(Member, world), "cmp-a")
        again = C.pledge(s, clock, s.get(Member, world), "cmp-a")
        assert first.created and not again.created and again.pledge.id == first.pledge.id
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CampaignPledge)) == 1
        assert [c.id for c, _ in C.my_campaigns(s, s.get(Member, world))] == ["cmp-a"]


def test_closed_or_unknown_campaigns_are_refused(db, clock, world):
    with db.transaction() as s:
        member = s.get(Member, world)
        for cid in ("cmp-old", "cmp-off", "cmp-future"):
            with pytest.raises(C.CampaignClosed):
                C.pledge(s, clock, member, cid)
        with pytest.raises(C.CampaignNotFound):
            C.pledge(s, clock, member, "cmp-none")


def test_concurrent_double_tap_records_one_pledge(db, clock, world):
    errors = []

    def tap():
        try:
            with db.transaction() as s:
                C.pledge(s, clock, s.get(Member, world), "cmp-b")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tap) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CampaignPledge)) == 1
    # SQLite may refuse a concurrent writer with "database is locked"; never a second pledge.
    assert all("locked" in str(e) or "could not serialize" in str(e) for e in errors)


def test_audience_honours_consent_and_opt_out(db, cipher, clock, world):
    with db.transaction() as s:
        make_member(s, cipher, clock, "u-c2", "경기도 과천시 별양로 12", "1000000002", opt_in=False)
        m3 = make_member(s, cipher, clock, "u-c3", "세종 한누리대로 2130", "1000000003", opt_in=True)
        M.set_marketing(s, clock, m3, False)  # one tap: 수신거부
    with db.session() as s:
        audience = [m.bot_user_key for m in s.scalars(C.campaign_audience())]
        assert audience == ["u-c1"]
        assert C.may_receive_campaigns(s.get(Member, world))


def test_leaving_deletes_the_pledge_once_and_keeps_a_closed_campaigns(db, clock, world):
    with db.transaction() as s:
        C.pledge(s, clock, s.get(Member, world), "cmp-a")
    with db.transaction() as s:
        member = s.get(Member, world)
        assert C.leave(s, clock, member, "cmp-a").left is True
        assert C.leave(s, clock, member, "cmp-a").left is False  # a retried leave changes nothing
        assert s.scalars(select(CampaignPledge)).all() == []
        C.pledge(s, clock, member, "cmp-a")  # joined again while it runs
        s.get(Campaign, "cmp-a").ends_on = date(2020, 1, 1)
        s.flush()
        with pytest.raises(C.CampaignClosed):
            C.leave(s, clock, member, "cmp-a")
        assert len(s.scalars(select(CampaignPledge)).all()) == 1
        with pytest.raises(C.CampaignNotFound):
            C.leave(s, clock, member, "cmp-nope")
