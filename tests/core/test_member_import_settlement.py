"""An imported member is settled like any other member, from joined_on, and its statement is
read by member_no through the operator API (scope and audit as for bot_user_key)."""
from __future__ import annotations

from sqlalchemy import select

from core.models import AuditEntry
from tests.auxil.engine import add_lg, cli, half_rows, write_usage_csv
from tests.auxil.operators import make_operator, token_for
from tests.core.test_member_import import n, write

E = "electricity"


def test_imported_member_who_joined_in_2024_is_settled_for_2026h1(app, client, db, cipher, clock, tmp_path):
    with db.transaction() as s:
        add_lg(s)
        add_lg(s, code="41135", name="성남시 분당구")
    res = cli(app, "import-members", write(tmp_path / "m.csv", [n(1, joined_on="2024-05-02")]))
    assert res.exit_code == 0, res.stderr
    # spec §13 example 1: baseline 2,000 kWh, actual 1,900 kWh -> 5 % -> 5,000 P, 10,000 won
    usage = half_rows(E, "1100000001", "2026H1", 2000, 1900)
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "u.csv", usage)).exit_code == 0
    settled = cli(app, "settle", "--half", "2026H1", "--verify", "-1")
    assert settled.exit_code == 0 and "1 new statement(s) (5000 P)" in settled.stdout, settled.stdout

    make_operator(db, cipher, clock)
    auth = {"Authorization": f"Bearer {token_for(db, clock, 'admin')}"}
    resp = client.get("/admin/api/statements?member_no=M0001&half=2026H1", headers=auth)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["half"], body["points"], body["won"], body["payout_month"]) == ("2026H1", 5000, 10000, "2026-12")
    elec = next(r for r in body["resources"] if r["resource"] == E)
    assert (elec["baseline"], elec["actual"], elec["rate"], elec["band"]) == ("2000", "1900", "5.00", "5")

    assert client.get("/admin/api/statements?member_no=NOPE&half=2026H1", headers=auth).status_code == 404
    assert client.get("/admin/api/statements?half=2026H1", headers=auth).status_code == 400
    assert client.get("/admin/api/statements?member_no=M0001&bot_user_key=x&half=2026H1",
                      headers=auth).status_code == 400

    # a 시·군·구 operator elsewhere does not see the member; the refusal is audited
    make_operator(db, cipher, clock, "bundang", "lg_operator", ["41135"])
    other = {"Authorization": f"Bearer {token_for(db, clock, 'bundang')}"}
    assert client.get("/admin/api/statements?member_no=M0001&half=2026H1", headers=other).status_code == 404
    with db.session() as s:
        actions = [(e.operator, e.action, e.subject) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.seq))
                   if e.action.startswith("statement.")]
    assert actions[0][1] == "statement.view" and actions[0][2].startswith("member:")
    assert ("bundang", "statement.view_refused", "member_no") in actions
