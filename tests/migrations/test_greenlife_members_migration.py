"""0008: every energy member with green-life rows gets a green-life membership and the rows are
repointed to it; members without green-life rows get none; downgrade gives the rows back."""
from __future__ import annotations

from alembic import command
from sqlalchemy import text

from tests.migrations.test_migrations import empty_url, seeded_at  # noqa: F401  (the fixture)

GREEN = "0009"


def _seed(conn) -> None:
    for mid, status in ((7, "active"), (8, "withdrawn"), (9, "active")):
        conn.execute(text(
            "INSERT INTO members (id, status, member_type, consents, incentive_type, marketing_opt_in,"
            " campaign_opt_out, is_friend, joined_at) VALUES (:id, :st, 'individual', '{}', 'cash',"
            " :f, :f, :t, '2024-03-01 00:00:00')"), {"id": mid, "st": status, "f": False, "t": True})
    for mid, item, day in ((7, "tumbler", "2026-03-02"), (7, "e_receipt", "2026-03-03"), (8, "tumbler", "2026-03-04")):
        conn.execute(text(
            "INSERT INTO greenlife_activities (member_id, item, quantity, activity_date, month, partner_ref,"
            " updated_at) VALUES (:m, :i, 2, :d, 202603, 'cafe', '2026-04-01 00:00:00')"),
            {"m": mid, "i": item, "d": day})
    conn.execute(text(
        "INSERT INTO greenlife_confirmations (id, month, members, total_won, confirmed_at)"
        " VALUES (1, 202602, 1, 5300, '2026-03-16 00:00:00')"))
    conn.execute(text(
        "INSERT INTO greenlife_awards (member_id, month, year, item_won, ignored_items, accrued_won, bonus_won,"
        " won, counted_toward_cap, cut_won, confirm_date, pay_from_date, confirmation_id, created_at)"
        " VALUES (7, 202602, 2026, '{}', '[]', 300, 5000, 5300, 5300, 0, '2026-03-16', '2026-03-23', 1,"
        " '2026-03-16 00:00:00')"))


def test_existing_rows_move_to_green_life_memberships(empty_url):  # noqa: F811
    with seeded_at(empty_url, "0007", _seed) as (cfg, engine):
        command.upgrade(cfg, GREEN)
        with engine.connect() as conn:
            gms = {mid: (gid, st, bool(age)) for gid, mid, st, age in conn.execute(text(
                "SELECT id, member_id, status, age_confirmed FROM greenlife_members"))}
            assert set(gms) == {7, 8}  # member 9 has no green-life rows
            assert gms[7][1:] == ("active", True) and gms[8][1] == "withdrawn"
            acts = conn.execute(text(
                "SELECT greenlife_member_id, item FROM greenlife_activities ORDER BY id")).all()
            assert [a[0] for a in acts] == [gms[7][0], gms[7][0], gms[8][0]]
            (award,) = conn.execute(text("SELECT greenlife_member_id, won FROM greenlife_awards")).all()
            assert tuple(award) == (gms[7][0], 5300)
            # a new membership gets a fresh id (the sequence is past the inserted rows)
            conn.execute(text(
                "INSERT INTO greenlife_members (status, seoul, age_confirmed, joined_at, updated_at)"
                " VALUES ('active', :f, :t, '2026-12-01 00:00:00', '2026-12-01 00:00:00')"), {"f": False, "t": True})
            conn.rollback()
        command.downgrade(cfg, "0007")
        with engine.connect() as conn:
            back = conn.execute(text("SELECT member_id FROM greenlife_activities ORDER BY id")).scalars().all()
            assert back == [7, 7, 8]
            assert conn.execute(text("SELECT member_id FROM greenlife_awards")).scalar_one() == 7
