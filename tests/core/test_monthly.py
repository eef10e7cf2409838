"""Monthly results: one outbox notification per member and month, with the member's figures."""
from __future__ import annotations

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
    assert queue_monthly_results(db, "2026-10", clock=clock) == 0
    assert snapshot(db) == before


def test_monthly_results_refuses_bad_or_future_month(app, db):
    assert cli(app, "monthly-results", "--month", "2026-13").exit_code == 2
    res = cli(app, "monthly-results", "--month", "2027-01")
    assert res.exit_code == 2 and "in the future" in res.stderr
