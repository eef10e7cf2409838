"""Issue 17: the cost estimate and the monthly budget cap per scope. What would exceed a cap is
held with its reason (never dropped), listed by `cpoint outbox` and on the dashboard, and sent
once an operator releases it. Critical notices are never held."""
from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import date, datetime

import pytest
import responses

from bot.scheduler.jobs import JobContext, run_broadcasts
from core import broadcasts, push_budget
from core.local_governments import seed_local_governments
from core.models import Campaign
from tests.auxil.operators import code_for, csrf, login, make_operator
from tests.auxil.push import BOT, add_members, add_notifications, rows, sender, states, wired

TALK = f"http://kakao.test/v2/bots/{BOT}/talk"
SUWON, SEONGNAM = "41117", "41135"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["cpoint", *args])


@pytest.fixture
def campaign(db):
    with db.transaction() as s:
        seed_local_governments(s)
        s.add(Campaign(id="cmp-1", title="냉방 1도 올리기", summary="여름철 냉방 온도를 1도 높여요.", starts_on=date(2026, 11, 1),
                       ends_on=date(2026, 12, 31), active=True, created_at=datetime(2026, 1, 1)))


def settings(app, **kw):
    services = app.extensions["cpoint"]
    services.push = replace(services.push, **kw)
    return services.push


def run_due_broadcasts(app, db, clock):
    ps = app.extensions["cpoint"].push
    return run_broadcasts(JobContext(db, clock, ps, holder="test"))


def test_an_over_budget_broadcast_is_held_shown_and_sent_once_released(app, db, cipher, clock, cli, client, campaign):
    ps = settings(app, budget_national_won=100, rate_per_sec=10000)  # 10 messages x 15 won = 150 > 100
    add_members(db, 10, local_government_code=SUWON)
    add_members(db, 1, start=11, blocked_at=datetime(2026, 11, 1))
    b = broadcasts.schedule(db, campaign_id="cmp-1", at=clock.now(), now=clock.now())
    [out] = run_due_broadcasts(app, db, clock)
    assert out.detail["held_over_budget"] == 10 and out.detail["queued"] == 0
    assert states(db) == {"held": 10, "skipped": 1}
    reason = rows(db, state="held")[0].last_error
    assert reason == "budget national: 0 won committed this month + 150 won > cap 100 won"

    # shown: the outbox command and the dashboard, with the reason
    listing = cli("outbox")
    assert listing.exit_code == 0 and f"campaign:b{b.id}  {reason}" in listing.output
    data = json.loads(cli("outbox", "--json").output.strip().splitlines()[-1])
    assert data["held"] == [{"kind": "campaign", "period": f"b{b.id}", "reason": reason, "count": 10}]
    secret = make_operator(db, cipher, clock, "admin", "admin")
    assert login(client, "admin", code=code_for(secret, clock)).status_code == 302
    page = client.get("/admin/pushes").get_data(as_text=True)
    assert html.escape(reason) in page and f'data-period="b{b.id}"' in page and "보류 풀고 발송" in page

    # the sender leaves held rows alone
    with responses.RequestsMock(assert_all_requests_are_fired=False) as kakao:
        kakao.post(TALK, json={"taskId": "t", "status": "SUCCESS"})
        push, fake = wired(app)
        assert sender(push, fake).run().sent == 0
        # released by the operator: sent
        resp = client.post("/admin/pushes/release", data={"kind": "campaign", "period": f"b{b.id}",
                                                           "csrf_token": csrf(page)})
        assert resp.status_code == 302 and "released+10" in resp.headers["Location"].replace("%20", "+")
        assert sender(push, fake).run().sent == 10
    assert states(db) == {"sent": 10, "skipped": 1}
    assert ps.price_won == 15


def test_a_local_cap_holds_only_that_scope(app, db, clock, cli, campaign):
    settings(app)
    add_members(db, 3, local_government_code=SUWON)
    add_members(db, 2, start=4, local_government_code=SEONGNAM)
    result = cli("budget", "--scope", SUWON, "--won", "30")
    assert result.exit_code == 0, result.output
    assert "budget 41117: 30 won a month" in result.output
    assert cli("budget", "--scope", "99999", "--won", "1").exit_code == 2
    dry = cli("broadcast", "--campaign", "cmp-1", "--dry-run")
    assert dry.exit_code == 0 and "would be HELD" in dry.output and "budget 41117: 0 won committed" in dry.output
    assert "dry run: nothing scheduled" in dry.output
    with db.session() as s:
        assert s.query(broadcasts.CampaignBroadcast).count() == 0
    broadcasts.schedule(db, campaign_id="cmp-1", at=clock.now(), now=clock.now())
    run_due_broadcasts(app, db, clock)
    by_member = {n.member_id: n.state for n in rows(db)}
    assert by_member == {1: "held", 2: "held", 3: "held", 4: "pending", 5: "pending"}
    listing = cli("budget")
    assert re.search(r"41117\s+0 won\s+cap 30\s+경기도 수원시 영통구", listing.output)
    assert re.search(r"41135\s+30 won\s+no cap", listing.output)


def test_monthly_results_over_budget_are_held_and_critical_notices_never(db, clock):
    add_members(db, 4)
    add_notifications(db, range(1, 5), clock=clock)  # monthly_result 2026-10
    add_notifications(db, range(1, 5), kind="payout_notice", period="2026H1", clock=clock)
    budget = push_budget.BudgetSettings(price_won=15, national_won=100)
    out = push_budget.apply_budget(db, "payout_notice", "2026H1", budget, now=clock.now(), quiet=None)
    assert out.held == 0 and out.estimate.cost_won == 60
    out = push_budget.apply_budget(db, "monthly_result", "2026-10", budget, now=clock.now(), quiet=None)
    # 60 won of payout notices committed + 60 won of results > 100 won
    assert out.held == 4 and out.estimate.as_dict()["messages"] == 4
    assert {(n.kind, n.state) for n in rows(db)} == {("payout_notice", "pending"), ("monthly_result", "held")}
    with db.transaction() as s:
        assert push_budget.release_held(s, "monthly_result", "2026-10", now=clock.now()) == 4
    assert states(db) == {"pending": 8}


def test_the_estimate_counts_what_the_sender_would_skip(db, clock):
    add_members(db, 3)
    add_members(db, 1, start=4, blocked_at=datetime(2026, 11, 1))
    add_members(db, 1, start=5, push_monthly_off=True)
    add_notifications(db, range(1, 6), clock=clock)
    with db.session() as s:
        est = push_budget.estimate_group(s, "monthly_result", "2026-10", now=clock.now(), quiet=None, price_won=15)
    assert (est.recipients, est.messages, est.cost_won) == (3, 3, 45)
    assert est.skipped == {"blocked": 1, "topic_off": 1}


def test_the_set_based_estimate_counts_as_the_senders_rule_per_member(db, clock):
    """estimate_group counts per combination of the skip columns; on members with every kind of
    value the sender's rule looks at (empty and missing user ids (one empty botUserKey: unique), NULL switches, several
    시·군·구) it gives what core.outbox.skip_reason gives member by member."""
    import random

    from sqlalchemy import select

    from core.models import Member

    with db.transaction() as s:
        seed_local_governments(s)
    rnd = random.Random(5)
    for i in range(1, 241):
        add_members(db, 1, start=i, status=rnd.choice(("active", "active", "withdrawn")),
                    blocked_at=rnd.choice((None, None, datetime(2026, 11, 1))),
                    is_friend=rnd.choice((True, True, False, None)),
                    bot_user_key="" if i == 7 else rnd.choice((None, f"user-{i:06d}")), app_user_id=rnd.choice((None, "", f"app-{i}")),
                    campaign_opt_out=rnd.choice((True, False, None)), marketing_opt_in=rnd.choice((True, False, None)),
                    push_monthly_off=rnd.choice((True, False)), push_reminders_off=rnd.choice((True, False)),
                    local_government_code=rnd.choice((None, SUWON, SEONGNAM)))
    for kind in ("monthly_result", "campaign", "reminder"):
        add_notifications(db, range(1, 241), kind=kind, clock=clock)
        with db.session() as s:
            est = push_budget.estimate_group(s, kind, "2026-10", now=clock.now(), quiet=None, price_won=15)
            members = s.execute(select(*push_budget._MEMBER_COLUMNS).order_by(Member.id)).all()
        one_by_one = push_budget.estimate_members(members, kind, now=clock.now(), quiet=None, price_won=15)
        assert (est.recipients, est.skipped, est.by_scope) == (one_by_one.recipients, one_by_one.skipped,
                                                               one_by_one.by_scope)
        assert est.recipients and len(est.skipped) >= 4


def test_a_dry_run_at_night_says_when_the_recipients_get_it(app, db, clock, cli, campaign):
    settings(app)
    add_members(db, 4)
    add_members(db, 1, start=5, marketing_opt_in=False)
    dry = cli("broadcast", "--campaign", "cmp-1", "--at", "2026-11-23 22:00", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "recipients: 4" in dry.output and "left out: 1 (no marketing consent: 1)" in dry.output
    assert "get it at 2026-11-24 08:00 KST" in dry.output
    assert "messages: 4" in dry.output and "cost: 60 won at 15 won a message" in dry.output


def test_a_local_operator_sees_and_releases_only_their_members(app, db, cipher, clock, client, campaign):
    settings(app, budget_national_won=10)
    add_members(db, 2, local_government_code=SUWON)
    add_members(db, 2, start=3, local_government_code=SEONGNAM)
    b = broadcasts.schedule(db, campaign_id="cmp-1", at=clock.now(), now=clock.now())
    run_due_broadcasts(app, db, clock)
    make_operator(db, cipher, clock, "kim", "lg_operator", [SUWON])
    assert login(client, "kim").status_code == 302
    page = client.get("/admin/pushes").get_data(as_text=True)
    assert '<td class="num">2</td>' in page  # their two members, not four
    client.post("/admin/pushes/release", data={"kind": "campaign", "period": f"b{b.id}", "csrf_token": csrf(page)})
    assert {n.member_id: n.state for n in rows(db)} == {1: "pending", 2: "pending", 3: "held", 4: "held"}
    make_operator(db, cipher, clock, "viewer", "readonly", [SEONGNAM])
    viewer = app.test_client()
    assert login(viewer, "viewer").status_code == 302
    page = viewer.get("/admin/pushes").get_data(as_text=True)
    assert "보류 풀고 발송" not in page and '<td class="num">2</td>' in page
    with viewer.session_transaction() as sess:
        token = sess["csrf"]
    assert viewer.post("/admin/pushes/release", data={"kind": "campaign", "period": f"b{b.id}",
                                                      "csrf_token": token}).status_code == 403


def test_a_cap_scope_by_name_as_operators_type_it(app, cli, campaign):
    settings(app)
    assert "budget 41117: 40 won a month" in cli("budget", "--scope", "수원시 영통구", "--won", "40").output
    assert "budget national: 500 won a month" in cli("budget", "--scope", "National", "--won", "500").output
    province = cli("budget", "--scope", "경기", "--won", "1")
    assert province.exit_code == 2 and "is a province" in province.output
    unknown = cli("budget", "--scope", "없는구", "--won", "1")
    assert unknown.exit_code == 2 and "unknown scope" in unknown.output
