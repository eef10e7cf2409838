"""The balance card's settled half and green-life year, prepared in bulk, equal the live reads."""
from __future__ import annotations

from datetime import date

from core.greenlife_members import membership_for_user
from core.prepared_extras import extras_for
from core.statements import greenlife_year_view, last_settled_half, settled_halves, statement_view
from tests.auxil.engine import add_greenlife, add_lg, add_member, cli, half_rows, write_activities_csv, write_usage_csv

E = "electricity"
TODAY = date(2026, 11, 22)


def _live(s, member_id, user_key):
    last = last_settled_half(s, member_id)
    g = membership_for_user(s, user_key)
    return {"last": last, "settled": statement_view(s, member_id, last) if last else None,
            "greenlife": greenlife_year_view(s, g.id, TODAY.year, TODAY) if g is not None else None,
            "halves": len(settled_halves(s, member_id))}


def test_bulk_extras_equal_live_reads(app, db, cipher, tmp_path):
    with db.transaction() as s:
        add_lg(s, rate="1.5")
        settled = add_member(s, cipher, accounts=[(E, "8000000001")], bot_user_key="user-a")
        add_greenlife(s, settled)                          # joined with one tap
        alone = add_member(s, cipher, accounts=[(E, "8000000002")], bot_user_key="user-b",
                           address="경기도 수원시 영통구 매탄로 2")
        add_greenlife(s, None, bot_user_key="user-b")      # joined alone under the same chat user
        bare = add_member(s, cipher, accounts=[(E, "8000000003")], bot_user_key="user-c",
                          address="경기도 수원시 영통구 매탄로 3")
        ids = {"user-a": settled.id, "user-b": alone.id, "user-c": bare.id}
    rows = half_rows(E, "8000000001", "2026H1", 1800, 1600) + half_rows(E, "8000000002", "2026H1", 1800, 1790)
    assert cli(app, "import-usage", write_usage_csv(tmp_path / "u.csv", rows)).exit_code == 0
    assert cli(app, "settle", "--half", "2026H1").exit_code == 0
    f = write_activities_csv(tmp_path / "a.csv", [(ids["user-a"], "tumbler", 10, "2026-03-06", "cafe-9"),
                                         (ids["user-a"], "e_receipt", 4, "2026-11-05", "shop-1")])
    res = cli(app, "import-activities", f)
    assert res.exit_code == 0, res.stderr
    assert cli(app, "greenlife-confirm", "--month", "2026-03").exit_code == 0

    with db.engine.connect() as conn:
        bulk = extras_for(conn, [(mid, key, None) for key, mid in ids.items()], date(2026, 11, 1))
    with db.session() as s:
        live = {mid: _live(s, mid, key) for key, mid in ids.items()}
    assert bulk == live
    a = bulk[ids["user-a"]]
    assert a["last"] == "2026H1" and a["settled"]["points"] > 0
    assert a["greenlife"]["awarded"] > 0 and a["greenlife"]["this_month"]["items"][0]["item"] == "e_receipt"
    assert bulk[ids["user-b"]]["greenlife"] is not None and bulk[ids["user-b"]]["greenlife"]["awarded"] == 0
    assert bulk[ids["user-c"]] == {"last": "2026H1", "settled": live[ids["user-c"]]["settled"], "greenlife": None,
                                   "halves": 1}
