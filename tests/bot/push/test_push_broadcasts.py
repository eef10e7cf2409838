"""Campaign broadcasts: segments, consent, quiet hours, once only, operator input."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from core import broadcasts
from core.clock import KST
from core.models import Campaign, CampaignBroadcast, CampaignPledge, LocalGovernment
from core.outbox import QuietHours
from tests.auxil.push import add_members, rows, states

QUIET = QuietHours.parse("21:00-08:00", 10)


@pytest.fixture
def campaign(db):
    with db.transaction() as s:
        s.add(LocalGovernment(code="41117", sido="경기도", name="수원시 영통구", address_prefixes=[], incentive_types=[]))
        s.add(LocalGovernment(code="36110", sido="세종특별자치시", name="세종특별자치시", address_prefixes=[], incentive_types=[]))
        s.add(Campaign(id="cmp-1", title="냉방 1도 올리기", summary="여름철 냉방 온도를 1도 높여요.", starts_on=date(2026, 11, 1),
                       ends_on=date(2026, 12, 31), active=True, created_at=datetime(2026, 1, 1)))
        s.add(Campaign(id="cmp-old", title="지난 캠페인", summary="끝났어요", starts_on=date(2025, 1, 1),
                       ends_on=date(2025, 2, 1), active=False, created_at=datetime(2025, 1, 1)))
    return "cmp-1"


def test_all_segment_queues_consenting_members_and_skips_the_rest_with_reasons(db, clock, campaign):
    add_members(db, 5, local_government_code="41117")
    add_members(db, 1, start=6, campaign_opt_out=True)
    add_members(db, 1, start=7, marketing_opt_in=False)
    add_members(db, 1, start=8, blocked_at=datetime(2026, 11, 1))
    add_members(db, 1, start=9, status="withdrawn")
    b = broadcasts.schedule(db, campaign_id=campaign, at=clock.now(), now=clock.now())
    e = broadcasts.expand(db, b.id, now=clock.now(), quiet=QUIET)
    assert e.queued == 5
    assert e.skipped == {"opted_out": 1, "no_marketing_consent": 1, "blocked": 1}  # withdrawn: not in the segment
    assert states(db) == {"pending": 5, "skipped": 3}
    with db.session() as s:
        row = s.get(CampaignBroadcast, b.id)
    assert (row.state, row.queued, row.skipped) == ("queued", 5, 3)
    assert {n.dedupe_key for n in rows(db, state="pending")} == {f"campaign:{i}:b{b.id}" for i in range(1, 6)}


def test_expanding_twice_writes_nothing_twice(db, clock, campaign):
    add_members(db, 30)
    b = broadcasts.schedule(db, campaign_id=campaign, at=clock.now(), now=clock.now())
    broadcasts.expand(db, b.id, now=clock.now(), quiet=QUIET, chunk=7)
    again = broadcasts.expand(db, b.id, now=clock.now(), quiet=QUIET, chunk=7)
    assert again.queued == 30 and len(rows(db)) == 30


@pytest.mark.parametrize("segment,value,expected", [
    ("region", "41117", [1, 2]), ("region", "경기도", [1, 2]), ("region", "세종특별자치시", [3]),
    ("member_type", "commercial", [3]), ("participants", None, [2]),
])
def test_segments(db, clock, campaign, segment, value, expected):
    add_members(db, 2, local_government_code="41117")
    add_members(db, 1, start=3, local_government_code="36110", member_type="commercial")
    with db.transaction() as s:
        s.add(CampaignPledge(campaign_id=campaign, member_id=2, pledged_at=datetime(2026, 11, 2)))
    b = broadcasts.schedule(db, campaign_id=campaign, at=clock.now(), now=clock.now(), segment=segment,
                            segment_value=value)
    broadcasts.expand(db, b.id, now=clock.now(), quiet=QUIET)
    assert sorted(n.member_id for n in rows(db)) == expected


@pytest.mark.parametrize("typed,stored", [
    ("41117", "41117"), ("경기", "경기도"), ("경기도", "경기도"), ("수원시 영통구", "41117"), ("경기 수원 영통구", "41117"),
    ("영통구", "41117"), ("수원시", "41110"), ("세종시", "세종특별자치시"),
])
def test_a_region_typed_as_operators_write_it(db, clock, campaign, typed, stored):
    with db.transaction() as s:
        s.add(LocalGovernment(code="41110", sido="경기도", name="수원시", address_prefixes=[], incentive_types=[]))
        s.add(LocalGovernment(code="41111", sido="경기도", name="수원시 장안구", address_prefixes=[], incentive_types=[]))
    add_members(db, 2, local_government_code="41117")
    add_members(db, 1, start=3, local_government_code="41111")
    add_members(db, 1, start=4, local_government_code="36110")
    b = broadcasts.schedule(db, campaign_id=campaign, at=clock.now(), now=clock.now(), segment="region",
                            segment_value=typed)
    assert b.segment_value == stored
    broadcasts.expand(db, b.id, now=clock.now(), quiet=QUIET)
    # a city's code takes in its 구
    expected = {"41117": [1, 2], "경기도": [1, 2, 3], "41110": [1, 2, 3], "세종특별자치시": [4]}[stored]
    assert sorted(n.member_id for n in rows(db)) == expected


def test_a_gu_name_several_cities_have_is_refused_with_the_codes(db, clock, campaign):
    with db.transaction() as s:
        s.add(LocalGovernment(code="26110", sido="부산광역시", name="중구", address_prefixes=[], incentive_types=[]))
        s.add(LocalGovernment(code="27110", sido="대구광역시", name="중구", address_prefixes=[], incentive_types=[]))
    with pytest.raises(broadcasts.BroadcastError, match=r"names 2 local governments; give the code: 26110 \(부산광역시 중구\)"):
        broadcasts.schedule(db, campaign_id=campaign, at=clock.now(), now=clock.now(), segment="region",
                            segment_value="중구")
    b = broadcasts.schedule(db, campaign_id=campaign, at=clock.now(), now=clock.now(), segment="region",
                            segment_value="부산 중구")
    assert b.segment_value == "26110"


def test_created_in_the_quiet_hours_waits_until_eight(db, clock, campaign):
    add_members(db, 2)
    night = datetime(2026, 11, 22, 23, 15, tzinfo=KST)
    b = broadcasts.schedule(db, campaign_id=campaign, at=night, now=night)
    e = broadcasts.expand(db, b.id, now=night, quiet=QUIET)
    assert e.held_until == datetime(2026, 11, 22, 23, 0)  # 08:00 KST on the 23rd, naive UTC
    assert {n.not_before for n in rows(db)} == {datetime(2026, 11, 22, 23, 0)}


def test_due_and_cancel(db, clock, campaign):
    add_members(db, 3)
    later = clock.now() + timedelta(hours=2)
    b = broadcasts.schedule(db, campaign_id=campaign, at=later, now=clock.now())
    assert broadcasts.due(db, now=clock.now()) == []
    assert broadcasts.due(db, now=later) == [b.id]
    assert broadcasts.cancel(db, b.id, now=clock.now())
    assert broadcasts.due(db, now=later) == []
    assert broadcasts.expand(db, b.id, now=later, quiet=QUIET).state == "cancelled"
    assert rows(db) == []
    assert not broadcasts.cancel(db, b.id, now=clock.now())


def test_cancel_after_queueing_skips_what_was_not_sent(db, clock, campaign):
    add_members(db, 3)
    b = broadcasts.schedule(db, campaign_id=campaign, at=clock.now(), now=clock.now())
    broadcasts.expand(db, b.id, now=clock.now(), quiet=QUIET)
    broadcasts.cancel(db, b.id, now=clock.now())
    assert {(n.state, n.last_error) for n in rows(db)} == {("skipped", "broadcast cancelled")}


@pytest.mark.parametrize("kw,message", [
    ({"campaign_id": "nope"}, "no campaign"),
    ({"campaign_id": "cmp-old"}, "not active"),
    ({"segment": "everyone"}, "segment must be one of"),
    ({"segment": "region"}, "needs a value"),
    ({"segment": "region", "segment_value": "화성"}, "unknown region"),
    ({"segment": "region", "segment_value": "서울 강남구"}, "Seoul is not in the programme"),
    ({"segment": "member_type", "segment_value": "alien"}, "unknown member type"),
    ({"segment": "all", "segment_value": "x"}, "takes no value"),
    ({"message": "   "}, "empty"),
    ({"message": "가" * 701}, "at most 700"),
])
def test_bad_operator_input_writes_nothing(db, clock, campaign, kw, message):
    args = dict(campaign_id=campaign, at=clock.now(), now=clock.now())
    args.update(kw)
    with pytest.raises(broadcasts.BroadcastError, match=message):
        broadcasts.schedule(db, **args)
    with db.session() as s:
        assert s.scalars(select(CampaignBroadcast)).all() == []


def test_naive_time_is_refused(db, clock, campaign):
    with pytest.raises(broadcasts.BroadcastError, match="time zone"):
        broadcasts.schedule(db, campaign_id=campaign, at=datetime(2026, 11, 23, 9, 0), now=clock.now())


def test_audience_is_the_campaigns_modules(db, clock, campaign):
    """Recipients are core.campaigns.campaign_audience(): members the chat cannot reach by
    botUserKey are left out with a reason, whatever else they agreed to."""
    add_members(db, 1)
    add_members(db, 1, start=2, bot_user_key=None, app_user_id="2718281828")
    add_members(db, 1, start=3, is_friend=False)
    b = broadcasts.schedule(db, campaign_id=campaign, at=clock.now(), now=clock.now())
    e = broadcasts.expand(db, b.id, now=clock.now(), quiet=QUIET)
    assert e.queued == 1 and e.skipped == {"not_in_campaign_audience": 1, "not_friend": 1}
