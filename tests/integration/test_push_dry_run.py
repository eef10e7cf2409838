"""Issue 17: `cpoint broadcast --dry-run` prints figures equal to what the real send then sends,
counted by the Event API stand-in on loopback (real HTTP, real sender)."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from bot.push.standin import StandIn
from bot.scheduler.jobs import JobContext, run_broadcasts
from core.models import Campaign
from tests.auxil.push import add_members
from tests.auxil.pushproc import REST_KEY
from tests.integration.test_push_standin import real_push


@pytest.fixture
def standin():
    with StandIn(key=REST_KEY) as s:
        yield s


def test_dry_run_figures_equal_the_real_send(app, db, clock, standin):
    with db.transaction() as s:
        s.add(Campaign(id="cmp-1", title="냉방 1도 올리기", summary="여름철 냉방 온도를 1도 높여요.", starts_on=date(2026, 11, 1),
                       ends_on=date(2026, 12, 31), active=True, created_at=datetime(2026, 1, 1)))
    add_members(db, 230)
    add_members(db, 7, start=231, blocked_at=datetime(2026, 11, 1))
    add_members(db, 5, start=238, campaign_opt_out=True)
    add_members(db, 4, start=243, marketing_opt_in=False)
    add_members(db, 3, start=247, is_friend=False)
    push = real_push(app, standin, rate_per_sec=10000, price_won=15)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["cpoint", "broadcast", "--campaign", "cmp-1", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    recipients = int(re.search(r"recipients: (\d+)", dry.output).group(1))
    messages = int(re.search(r"messages: (\d+)", dry.output).group(1))
    cost = int(re.search(r"cost: ([\d,]+) won", dry.output).group(1).replace(",", ""))
    assert "quiet hours" not in dry.output  # 10:00 KST

    real = runner.invoke(args=["cpoint", "broadcast", "--campaign", "cmp-1"])
    assert real.exit_code == 0, real.output
    assert f"recipients: {recipients}" in real.output  # the same estimate before the real one
    run_broadcasts(JobContext(db, clock, push.settings, holder="test"))
    sender = push.sender()
    report = sender.run()
    sender.close()
    stats = standin.stats()
    assert report.sent == stats["users"] == stats["distinct"] == recipients == messages == 230
    assert cost == stats["users"] * 15
