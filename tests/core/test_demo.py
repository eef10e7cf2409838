"""`cpoint demo-data`: a believable demo through the real core functions, never over real members."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.clock import utcnow_naive
from core.demo import DEMO_CITIZENS, DemoRefused, load_demo
from core.models import (
    Campaign,
    CampaignPledge,
    ImportRun,
    LocalGovernment,
    Member,
    MeterReading,
    Notification,
    PointStatement,
    SettlementRun,
)


def count(s, model, *where):
    return s.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_loads_members_readings_a_settled_half_and_a_campaign(db, cipher, clock):
    summary = load_demo(db, cipher, clock)
    assert summary.loaded and summary.half == "2026H1"
    with db.session() as s:
        members = s.scalars(select(Member)).all()
        assert len(members) == summary.members >= 30
        assert all(m.bot_user_key.startswith("demo-") for m in members)
        assert {c.key for c in DEMO_CITIZENS if c.key != "demo-visitor"} <= {m.bot_user_key for m in members}
        assert "demo-visitor" not in {m.bot_user_key for m in members}  # left for the signup in the emulator
        assert {m.member_type for m in members} >= {"individual", "commercial", "public", "school", "foreigner"}
        assert len({m.local_government_code for m in members}) >= 3
        assert count(s, LocalGovernment) >= 3
        # two years of readings before the settled half, through last month
        months = s.execute(select(func.min(MeterReading.month), func.max(MeterReading.month))).one()
        assert months == (202401, 202610)
        assert count(s, MeterReading) == summary.readings
        assert count(s, ImportRun) == 1
        run = s.scalars(select(SettlementRun)).one()
        assert run.half == "2026H1" and run.status == "completed"
        statements = s.scalars(select(PointStatement).where(PointStatement.half == "2026H1")).all()
        assert statements and sum(st.points for st in statements) > 0
        assert any(st.points == 0 for st in statements)  # not everyone saves
        active = s.scalars(select(Campaign).where(Campaign.active.is_(True))).all()
        assert [c.id for c in active] == ["cmp-demo-one-degree"]
        assert count(s, CampaignPledge) > 0
        assert count(s, Notification, Notification.state != "skipped") == summary.notifications > 0
        assert count(s, Notification, Notification.kind == "monthly_result") >= 5
        # the campaign broadcast leaves out members without advertising consent, with the reason
        if count(s, Notification, Notification.kind == "campaign"):
            assert count(s, Notification, Notification.kind == "campaign", Notification.state == "skipped") > 0
        # personal data at rest as the real signup stores it
        m = s.scalars(select(Member).where(Member.bot_user_key == "demo-citizen-01")).one()
        assert m.account_number_enc and not m.account_number_enc.isdigit()
        assert all(a.customer_number_enc and a.supply_key_hash for a in m.accounts)


def test_demo_is_deterministic_and_runs_once(db, cipher, clock):
    first = load_demo(db, cipher, clock)
    with db.session() as s:
        keys = sorted(s.scalars(select(Member.bot_user_key)).all())
        total = s.scalar(select(func.sum(PointStatement.points)))
    again = load_demo(db, cipher, clock)
    assert not again.loaded and "already" in again.message
    with db.session() as s:
        assert sorted(s.scalars(select(Member.bot_user_key)).all()) == keys
        assert count(s, SettlementRun) == 1 and count(s, ImportRun) == 1
    assert first.members == len(keys) and total > 0


def test_demo_refuses_a_database_with_real_members(db, cipher, clock):
    with db.transaction() as s:
        s.add(Member(member_type="individual", bot_user_key="a1b31d3ae2abcb27a9cec0a44417c85fde01456c1a3bbb78c9a",
                     name="실제 회원", joined_at=utcnow_naive(clock), consents={}))
    with pytest.raises(DemoRefused, match="1 member"):
        load_demo(db, cipher, clock)
    with db.session() as s:
        assert count(s, Member) == 1 and count(s, MeterReading) == 0 and count(s, LocalGovernment) == 0
    assert load_demo(db, cipher, clock, force=True, settle=False).loaded


def test_cli_command(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["cpoint", "demo-data"])
    assert result.exit_code == 0, result.output
    assert "demo data loaded" in result.output and "settled 2026H1" in result.output
    result = runner.invoke(args=["cpoint", "demo-data"])
    assert result.exit_code == 0 and "already loaded" in result.output

    with db.transaction() as s:
        s.scalars(select(Member)).first().bot_user_key = "real-user-key"
    result = runner.invoke(args=["cpoint", "demo-data"])
    assert result.exit_code == 3 and "refused" in result.output
