"""The settlement tables' references (core.models.references) hold like foreign keys, on both
backends: no row without its parent, whether inserted one by one or in bulk, and no parent
deleted or re-keyed while a row still points at it."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from core.models import LedgerEntry, PointStatement, StatementLine
from tests.auxil.engine import add_lg, add_member

NOW = datetime(2026, 7, 1)


def _run(conn) -> int:
    return conn.execute(text(
        "INSERT INTO settlement_runs (half, status, started_at, heartbeat_at, rules_source, members,"
        " created, changed, unchanged, adjustments, points_delta)"
        " VALUES ('2026H1', 'completed', :t, :t, 'test', 0, 0, 0, 0, 0, 0) RETURNING id"),
        {"t": NOW}).scalar_one()


def _statement(conn, member_id: int, run_id: int) -> int:
    return conn.execute(text(
        "INSERT INTO point_statements (member_id, half, member_type, points_table, schedule, rate,"
        " points_before_cap, points, won_before_cap, won, cap_points_per_half, cap_won_per_year,"
        " payout_month, status, version, result_hash, settlement_run_id, created_at, updated_at)"
        " VALUES (:m, '2026H1', 'individual', 'household', 's', 2, 10, 10, 20, 20, 100, 100,"
        " 202612, 'expected', 1, 'h', :r, :t, :t) RETURNING id"), {"m": member_id, "r": run_id, "t": NOW}).scalar_one()


def _lines_sql(rows: str) -> str:
    return ("INSERT INTO statement_lines (statement_id, member_id, half, resource, evaluated,"
            " reduction_points, maintenance_points, standard_points, points, standard_usage_qualified,"
            " earned_reduction, streak_before, streak_after) " + rows)


def _line(conn, statement_id: int, member_id: int, resource: str = "electricity", half="2026H1"):
    conn.execute(text(_lines_sql(
        "VALUES (:s, :m, :h, :res, true, 0, 0, 0, 0, false, false, 0, 0)")),
        {"s": statement_id, "m": member_id, "h": half, "res": resource})


@pytest.fixture
def parents(db, cipher):
    with db.transaction() as s:
        add_lg(s)
        a = add_member(s, cipher).id
        b = add_member(s, cipher).id
    with db.engine.begin() as conn:
        run = _run(conn)
        sid = _statement(conn, a, run)
        _line(conn, sid, a)
    return {"member": a, "bare_member": b, "run": run, "statement": sid}


def _count(db, model) -> int:
    with db.session() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_rows_with_their_parents_are_accepted(db, parents):
    assert _count(db, StatementLine) == 1 and _count(db, PointStatement) == 1


@pytest.mark.parametrize("case", ["line without statement", "statement for unknown member",
                                  "statement for unknown run", "ledger for unknown member",
                                  "ledger for unknown run"])
def test_a_row_without_its_parent_is_refused(db, parents, case):
    p = parents
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            if case == "line without statement":
                _line(conn, p["statement"], p["bare_member"])
            elif case == "statement for unknown member":
                _statement(conn, 99999, p["run"])
            elif case == "statement for unknown run":
                _statement(conn, p["bare_member"], 99999)
            else:
                member, run = (99999, p["run"]) if "member" in case else (p["member"], 99999)
                conn.execute(text(
                    "INSERT INTO points_ledger (member_id, half, kind, points, run_id, reference,"
                    " created_at) VALUES (:m, '2026H1', 'settlement', 5, :r, 'x', :t)"),
                    {"m": member, "r": run, "t": NOW})
    assert _count(db, StatementLine) == 1 and _count(db, PointStatement) == 1
    assert _count(db, LedgerEntry) == 0


def test_one_orphan_fails_a_bulk_insert_whole(db, parents):
    p = parents
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(text(_lines_sql(
                "SELECT :s, m, '2026H1', r, true, 0, 0, 0, 0, false, false, 0, 0 FROM"
                " (SELECT :a AS m, 'water' AS r UNION ALL SELECT :a, 'gas'"
                " UNION ALL SELECT :b, 'water') v")),
                {"s": p["statement"], "a": p["member"], "b": p["bare_member"]})
    assert _count(db, StatementLine) == 1


def test_a_referenced_parent_cannot_be_deleted_or_rekeyed(db, parents):
    p = parents
    for sql, params in (("DELETE FROM members WHERE id = :m", {"m": p["member"]}),
                        ("DELETE FROM settlement_runs WHERE id = :r", {"r": p["run"]}),
                        ("DELETE FROM point_statements WHERE id = :s", {"s": p["statement"]}),
                        ("UPDATE point_statements SET half = '2025H2' WHERE id = :s", {"s": p["statement"]}),
                        ("UPDATE members SET id = 99999 WHERE id = :m", {"m": p["member"]})):
        with pytest.raises(IntegrityError):
            with db.engine.begin() as conn:
                conn.execute(text(sql), params)
    with db.engine.begin() as conn:  # a parent nobody points at goes as usual
        conn.execute(text("DELETE FROM member_addresses WHERE member_id = :m"), {"m": p["bare_member"]})
        conn.execute(text("DELETE FROM members WHERE id = :m"), {"m": p["bare_member"]})
        conn.execute(text("UPDATE point_statements SET points = 11 WHERE id = :s"), {"s": p["statement"]})


def test_a_child_cannot_be_moved_to_a_missing_parent(db, parents):
    p = parents
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE statement_lines SET half = '2025H2' WHERE member_id = :m"),
                         {"m": p["member"]})
    with db.engine.begin() as conn:  # other columns change freely
        conn.execute(text("UPDATE statement_lines SET points = 3 WHERE member_id = :m"), {"m": p["member"]})


def test_a_parent_delete_waits_for_an_inserting_transaction_and_then_fails(db, parents):
    """No row locks on parents: the delete locks the child table, so it sees the new child."""
    import threading

    if not db.is_postgres:
        pytest.skip("SQLite has one writer at a time: the two cannot overlap")
    p = parents
    outcome = {}
    inserter = db.engine.connect()
    try:
        tx = inserter.begin()
        _statement(inserter, p["bare_member"], p["run"])  # not committed yet

        def delete_member():
            try:
                with db.engine.begin() as conn:
                    conn.execute(text("DELETE FROM member_addresses WHERE member_id = :m"),
                                 {"m": p["bare_member"]})
                    conn.execute(text("DELETE FROM members WHERE id = :m"), {"m": p["bare_member"]})
                outcome["result"] = "deleted"
            except IntegrityError:
                outcome["result"] = "refused"

        deleter = threading.Thread(target=delete_member)
        deleter.start()
        deleter.join(timeout=1.0)
        assert deleter.is_alive(), "the delete must wait for the inserting transaction"
        tx.commit()
        deleter.join(timeout=10)
    finally:
        inserter.close()
    assert outcome == {"result": "refused"}
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PointStatement)) == 2


def test_an_insert_waits_for_a_parent_delete_and_then_fails(db, parents):
    import threading

    if not db.is_postgres:
        pytest.skip("SQLite has one writer at a time: the two cannot overlap")
    p = parents
    outcome = {}
    deleter = db.engine.connect()
    try:
        tx = deleter.begin()
        deleter.execute(text("DELETE FROM member_addresses WHERE member_id = :m"), {"m": p["bare_member"]})
        deleter.execute(text("DELETE FROM members WHERE id = :m"), {"m": p["bare_member"]})

        def insert_statement():
            try:
                with db.engine.begin() as conn:
                    _statement(conn, p["bare_member"], p["run"])
                outcome["result"] = "inserted"
            except IntegrityError:
                outcome["result"] = "refused"

        inserter = threading.Thread(target=insert_statement)
        inserter.start()
        inserter.join(timeout=1.0)
        assert inserter.is_alive(), "the insert must wait for the deleting transaction"
        tx.commit()
        inserter.join(timeout=10)
    finally:
        deleter.close()
    assert outcome == {"result": "refused"}


def test_a_lookup_walks_the_keys_unique_index_whatever_the_statistics(db, parents):
    """While point_statements had no statistics, "half = n.half" looked one row cheap through
    ix_point_statements_half_lg, and a settlement's line check then read the whole half for
    every line. The lookup compares only the key's first column with "="."""
    if not db.is_postgres:
        pytest.skip("SQLite checks row by row through the key's unique index")
    with db.engine.connect() as conn:
        match = conn.execute(text(
            "SELECT cpoint_ref_match('p.', 'member_id,half', 'n.', 'member_id,half')")).scalar_one()
        assert match == "p.member_id = n.member_id AND p.half IS NOT DISTINCT FROM n.half"
        # what the insert check runs, over new rows of a half the statistics have never seen
        conn.execute(text("CREATE TEMPORARY TABLE n AS SELECT g AS member_id,"
                          " '2030H1'::varchar AS half FROM generate_series(1, 3000) g"))
        plan = "\n".join(conn.execute(text(
            "EXPLAIN SELECT EXISTS (SELECT 1 FROM n WHERE NOT EXISTS"
            f" (SELECT 1 FROM point_statements p WHERE {match}))")).scalars())
        assert "ix_point_statements_half_lg" not in plan
        assert "Index Cond: (half" not in plan
        conn.rollback()
