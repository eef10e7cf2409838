"""0016: accounts with a customer number get their region's default company, complex units keep
""; readings take the company of the account holding their number, orphan electricity readings
KEPCO and other orphans "" (adopted on registration); downgrade gives one reading per key back."""
from __future__ import annotations

from alembic import command
from sqlalchemy import text

from tests.migrations.test_migrations import empty_url, seeded_at  # noqa: F401  (the fixture)


def _seed(conn) -> None:
    conn.execute(text("INSERT INTO local_governments (code, sido, name, address_prefixes, won_per_point,"
                      " incentive_types, payout_month_h1, payout_month_h2, figures_default)"
                      " VALUES ('41130', '경기도', '성남시', '[]', 2, '[]', 12, 6, :f)"), {"f": False})
    conn.execute(text(
        "INSERT INTO members (id, status, member_type, consents, incentive_type, marketing_opt_in,"
        " campaign_opt_out, is_friend, joined_at, local_government_code) VALUES (7, 'active', 'individual', '{}',"
        " 'cash', :f, :f, :t, '2024-03-01 00:00:00', '41130')"), {"f": False, "t": True})
    for aid, resource, key, cx in ((1, "electricity", "he", None), (2, "gas", "hg", None), (3, "water", "hu", "CX1")):
        conn.execute(text(
            "INSERT INTO resource_accounts (id, member_id, resource, billing_mode, supply_key_hash, registered_on,"
            " complex_code) VALUES (:id, 7, :r, :m, :h, '2024-03-01', :cx)"),
            {"id": aid, "r": resource, "m": "managed_fee" if cx else "separate", "h": key, "cx": cx})
    for resource, key in (("electricity", "he"), ("gas", "hg"), ("water", "hu"), ("electricity", "orphan-e"),
                          ("gas", "orphan-g")):
        conn.execute(text("INSERT INTO meter_readings (resource, supply_key_hash, month, amount, updated_at)"
                          " VALUES (:r, :h, 202501, 10, '2025-02-01 00:00:00')"), {"r": resource, "h": key})


def test_existing_supply_points_get_their_region_s_company(empty_url):  # noqa: F811
    with seeded_at(empty_url, "0015", _seed) as (cfg, engine):
        command.upgrade(cfg, "0016")
        with engine.connect() as conn:
            accounts = dict(conn.execute(text("SELECT id, company FROM resource_accounts")).all())
            readings = {(r, h): c for r, h, c in conn.execute(text(
                "SELECT resource, supply_key_hash, company FROM meter_readings"))}
        assert accounts == {1: "KEPCO", 2: "KOONE", 3: ""}  # 성남 gas: the first of its two companies
        assert readings == {("electricity", "he"): "KEPCO", ("gas", "hg"): "KOONE", ("water", "hu"): "",
                            ("electricity", "orphan-e"): "KEPCO", ("gas", "orphan-g"): ""}
        with engine.begin() as conn:  # the same number at a second company, then down again
            conn.execute(text("INSERT INTO meter_readings (resource, supply_key_hash, company, month, amount,"
                              " updated_at) VALUES ('gas', 'hg', 'SAMCHULLY', 202501, 12, '2025-02-01 00:00:00')"))
        command.downgrade(cfg, "0015")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM meter_readings WHERE supply_key_hash = 'hg'")).scalar() == 1
