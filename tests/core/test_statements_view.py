"""The read API the chat uses: current half (provisional), last settled half, green-life year."""
from __future__ import annotations

from datetime import date

from core.statements import current_half_view, last_settled_half, statement_view
from tests.auxil.engine import add_lg, add_member, cli, half_rows, write_usage_csv

E = "electricity"


def test_current_half_and_last_settled(app, db, cipher, tmp_path):
    with db.transaction() as s:
        add_lg(s, rate="1.5")
        mid = add_member(s, cipher, accounts=[(E, "8000000001")]).id
    rows = half_rows(E, "8000000001", "2026H2", monthly_baseline=[300] * 6,
                     monthly_actual=[270, 270, 270, None, None, None])
    rows += half_rows(E, "8000000001", "2026H1", 1800, 1700)
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "u.csv", rows)).exit_code == 0
    with db.session() as s:
        assert last_settled_half(s, mid) is None
    assert cli(app, "settle", "--half", "2026H1").exit_code == 0
    with db.session() as s:
        assert last_settled_half(s, mid) == "2026H1"
        assert statement_view(s, mid, "2026H1")["points"] == 5000
        assert statement_view(s, mid, "2025H2") is None
        view = current_half_view(s, mid, date(2026, 11, 22))
    assert (view["half"], view["through_month"], view["provisional"]) == ("2026H2", "2026-11", True)
    elec = view["resources"][0]
    assert elec["months_with_data"] == ["2026-07", "2026-08", "2026-09"]
    assert elec["missing_months"] == ["2026-10", "2026-11"]
    assert (elec["usage"], elec["baseline"], elec["rate"], elec["provisional_band"]) == ("810", "900", "10.00", "10")
    assert (view["points"], view["won"], view["rate"], view["payout_month"]) == (10000, 15000, "1.50", "2027-06")
