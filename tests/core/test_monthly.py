"""Monthly results: one outbox notification per member and month, with the member's figures."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.models import Notification
from core.monthly import queue_monthly_results
from tests.auxil.engine import add_lg, add_member, cli, half_rows, snapshot, write_usage_csv

E, G = "electricity", "gas"


def test_monthly_results_recorded_once_with_figures(app, db, cipher, clock, tmp_path):
    with db.transaction() as s:
        add_lg(s)
        a = add_member(s, cipher, accounts=[(E, "5000000001"), (G, "50001")]).id
        b = add_member(s, cipher, accounts=[(E, "5000000002")]).id
    # 2026H2 baselines 310/month; actuals Jul-Oct 290 for a (Sep missing), none for b's gas
    rows = half_rows(E, "5000000001", "2026H2", monthly_baseline=[310] * 6,
                     monthly_actual=[290, 290, None, 290, None, None])
    rows += half_rows(G, "50001", "2026H2", monthly_baseline=[50] * 6, monthly_actual=[40, 40, 40, 40, None, None])
    rows += half_rows(E, "5000000002", "2026H2", monthly_baseline=[300] * 6, monthly_actual=[300] * 4 + [None, None])
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "u.csv", rows)).exit_code == 0
    res = cli(app, "monthly-results", "--month", "2026-10")
    assert res.exit_code == 0, res.stderr
    assert "2 notification(s) recorded" in res.stdout
    with db.session() as s:
        notes = {n.member_id: n for n in s.scalars(select(Notification))}
    note = notes[a]
    assert (note.kind, note.period, note.dedupe_key, note.state) == (
        "monthly_result", "2026-10", f"monthly_result:{a}:2026-10", "pending")
    p = note.payload
    assert p["month"] == "2026-10" and p["half"] == "2026H2"
    elec = p["resources"][0]
    assert (elec["resource"], elec["usage"], elec["baseline"], elec["rate"]) == ("electricity", "290", "310", "6.45")
    assert elec["rate_to_date"] == "6.45" and elec["missing_months"] == ["2026-09"]
    assert (elec["provisional_band"], elec["provisional_points"]) == ("5", 5000)
    gas = p["resources"][1]
    assert (gas["rate_to_date"], gas["provisional_band"], gas["provisional_points"]) == ("20.00", "15", 8000)
    assert p["half_to_date"] == {"points": 13000, "won": 26000, "rate": "6.45"}
    assert p["missing_months"] == ["2026-09"]
    assert notes[b].payload["resources"][0]["provisional_points"] == 0
    # again: nothing new, through the CLI and the scheduler's entry point
    before = snapshot(db)
    assert "0 notification(s) recorded, 2 already recorded" in cli(app, "monthly-results", "--month", "2026-10").stdout
    assert queue_monthly_results(db, "2026-10", clock=clock).written == 0
    assert snapshot(db) == before


def test_monthly_results_refuses_bad_or_future_month(app, db):
    assert cli(app, "monthly-results", "--month", "2026-13").exit_code == 2
    res = cli(app, "monthly-results", "--month", "2027-01")
    assert res.exit_code == 2 and "in the future" in res.stderr
    # the month still running (clock: 2026-11-22): its results would be wrong and, recorded once
    # per member, the right ones never sent
    before = snapshot(db)
    res = cli(app, "monthly-results", "--month", "2026-11")
    assert res.exit_code == 2 and "2026-11 has not ended yet (it ends 2026-11-30)" in res.stderr
    assert "prepared from 2026-12-01" in res.stderr and snapshot(db) == before


@pytest.mark.parametrize("written", ["2026.10", "202610", "2026년 10월", "2026-10"])
def test_the_month_as_operators_write_it(written):
    from core.monthly import parse_month

    assert parse_month(written) == 202610


def test_the_push_budget_is_applied_before_any_notice_can_be_claimed(db, cipher, clock, tmp_path, app):
    # Issue 17: the notices are written `staged` (no sender claims them) and released through
    # the budget; a run cut short leaves them staged, and the next run releases them.
    from core.monthly import monthly_results
    from core.outbox import STAGED
    from core.push_budget import BudgetSettings

    with db.transaction() as s:
        add_lg(s)
        ids = [add_member(s, cipher, accounts=[(E, f"500000001{i}")], bot_user_key=f"u-budget-{i}",
                          address=f"경기도 수원시 영통구 매탄로 {i + 1}").id for i in range(3)]
    rows = []
    for i in range(3):
        rows += half_rows(E, f"500000001{i}", "2026H2", monthly_baseline=[310] * 6,
                          monthly_actual=[290, 290, 290, 290, None, None])
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "u.csv", rows)).exit_code == 0
    seen: list[set] = []
    from core import monthly as monthly_module

    real_insert = monthly_module._insert

    def watch(conn, out, period):  # what a sender could see while the notices are written
        n = real_insert(conn, out, period)
        seen.append({r[0] for r in conn.execute(select(Notification.state))})
        return n

    monthly_module._insert = watch
    try:
        result = monthly_results(db, "2026-10", clock, budget=BudgetSettings(price_won=15, national_won=30))
    finally:
        monthly_module._insert = real_insert
    assert seen and all(states == {STAGED} for states in seen)
    assert result.written == 3 and result.budget is not None and result.budget.held == 3
    with db.session() as s:
        assert {n.state for n in s.scalars(select(Notification))} == {"held"}
    # a run cut short before the release: its staged rows go out with the next run's
    with db.transaction() as s:
        s.query(Notification).update({"state": STAGED})
    again = monthly_results(db, "2026-10", clock)
    assert again.written == 0
    with db.session() as s:
        assert sorted((n.member_id, n.state) for n in s.scalars(select(Notification))) == [(i, "pending") for i in ids]


def test_monthly_results_fork_workers_only_without_other_working_threads(monkeypatch):
    """A process whose other threads work (the scheduler's job threads) starts its workers as
    fresh interpreters, not forked: a forked child could wait forever on a lock one of them
    held. Those take the shipped rules only (other rules: one process). Daemon threads (the
    CLI's model warm-up) do not count."""
    import os
    import threading
    from types import SimpleNamespace

    from core.monthly import default_workers, start_method
    from core.rules import default_rules, load_rules

    main, warm_up, job = (SimpleNamespace(daemon=False), SimpleNamespace(daemon=True),
                          SimpleNamespace(daemon=False))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert default_workers() == 2
    other = load_rules()
    monkeypatch.setattr(threading, "enumerate", lambda: [main, warm_up])
    assert start_method(default_rules()) == "fork" and start_method(other) == "fork"
    monkeypatch.setattr(threading, "enumerate", lambda: [main, warm_up, job])
    assert start_method(default_rules()) == "spawn" and start_method(other) is None
