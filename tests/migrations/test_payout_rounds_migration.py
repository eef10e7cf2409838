"""0020: existing payout files become round 1; a statement may then have a released line beside
its current one, never two current ones; downgrade refuses while later rounds exist."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.migrations.test_migrations import empty_url, seeded_at  # noqa: F401  (the fixture)
from tests.migrations.test_utility_companies_migration import _seed as _seed_member

LINE = ("INSERT INTO payout_lines (id, batch_id, statement_id, member_id, half, local_government_code,"
        " incentive_type, points, rate, won_before_cap, won, payout_month, status, created_at)"
        " VALUES (:id, :b, 1, 7, '2025H1', '41130', 'cash', 100, 2, 200, 200, 202512, :st, '2025-12-01 00:00:00')")


def _seed(conn) -> None:
    _seed_member(conn)
    conn.execute(text("INSERT INTO settlement_runs (id, half, status, started_at, heartbeat_at, members, created,"
                      " changed, unchanged, adjustments, points_delta) VALUES (1, '2025H1', 'completed',"
                      " '2025-07-01 00:00:00', '2025-07-01 00:00:00', 1, 1, 0, 0, 0, 100)"))
    conn.execute(text(
        "INSERT INTO point_statements (id, member_id, half, member_type, points_table, schedule,"
        " local_government_code, rate, points_before_cap, points, won_before_cap, won, cap_points_per_half,"
        " cap_won_per_year, payout_month, status, hold_reason, version, result_hash, settlement_run_id,"
        " created_at, updated_at) VALUES (1, 7, '2025H1', 'individual', 'household', 's', '41130', 2, 100, 100,"
        " 200, 200, 50000, 100000, 202512, 'held', 'HOLD_NO_ACCOUNT', 1, 'h', 1, '2025-07-01 00:00:00',"
        " '2025-07-01 00:00:00')"))
    conn.execute(text("INSERT INTO payout_batches (id, half, scope, rows, held, total_points, total_won,"
                      " created_at) VALUES (1, '2025H1', 'all', 1, 1, 100, 0, '2025-12-01 00:00:00')"))
    conn.execute(text(LINE), {"id": 1, "b": 1, "st": "held"})


def test_existing_files_are_round_one_and_one_line_per_statement_stays_current(empty_url):  # noqa: F811
    with seeded_at(empty_url, "0019", _seed) as (cfg, engine):
        command.upgrade(cfg, "0020")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT round FROM payout_batches")).scalar() == 1
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO payout_batches (id, half, scope, round, rows, held, total_points,"
                              " total_won, created_at) VALUES (2, '2025H1', 'all', 2, 1, 0, 100, 200,"
                              " '2026-01-05 00:00:00')"))
            conn.execute(text("UPDATE payout_lines SET status = 'released' WHERE id = 1"))
            conn.execute(text(LINE), {"id": 2, "b": 2, "st": "expected"})
        with pytest.raises(IntegrityError), engine.begin() as conn:  # a second current line
            conn.execute(text(LINE), {"id": 3, "b": 2, "st": "expected"})
        with pytest.raises(RuntimeError, match="later payout round"):
            command.downgrade(cfg, "0019")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM payout_lines WHERE id = 2"))
            conn.execute(text("DELETE FROM payout_batches WHERE id = 2"))
            conn.execute(text("UPDATE payout_lines SET status = 'held' WHERE id = 1"))
        command.downgrade(cfg, "0019")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM payout_lines")).scalar() == 1
