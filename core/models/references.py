"""References of the settlement's bulk tables, enforced by triggers instead of foreign keys.

A foreign key on PostgreSQL checks every inserted row on its own (one lookup and one row lock
per row, per key). A settlement inserts hundreds of thousands of statements, lines and ledger
entries in a handful of statements, and those per-row checks were a third of its write cost.
Here each reference is checked once per statement over the statement's transition table, and a
row without a parent fails the statement with SQLSTATE 23503, the foreign key violation.
Deleting or re-keying a parent that is still referenced fails the same way.

Concurrency without row locks: instead of locking every parent a child points at (what a
foreign key does), the rare side locks. A delete or re-key of a parent takes a SHARE lock on
the child table before it looks for children, so it waits for transactions inserting children
to end and then sees their rows; and an insert into the child table waits for such a parent
change to end, then looks for its parents afresh. This holds in READ COMMITTED, where every
query of the check takes a new snapshot (the application's isolation level).

SQLite has no statement-level triggers and one writer at a time; there the same rules are row
triggers (one mechanism on both backends keeps the schemas alike).

Not covered, as with any trigger: TRUNCATE of a parent alone (use CASCADE, or truncate the
children in the same command, as tests do).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class Reference:
    child: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"ref_{self.child}_{'_'.join(self.columns)}"


REFERENCES = (
    Reference("point_statements", ("member_id",), "members", ("id",)),
    Reference("point_statements", ("settlement_run_id",), "settlement_runs", ("id",)),
    Reference("statement_lines", ("member_id", "half"), "point_statements", ("member_id", "half")),
    Reference("points_ledger", ("member_id",), "members", ("id",)),
    Reference("points_ledger", ("run_id",), "settlement_runs", ("id",)),
)

# Inserts, the bulk path, are checked per statement over the transition table. Updates of the
# key columns and deletes of parents are rare: updates are row triggers that fire only when a
# key column changed (so the many ordinary updates of members cost nothing), deletes are
# checked per statement. Functions take (other table, child columns, parent columns) as
# trigger arguments; transition tables are visible to EXECUTE.
_PG_FUNCTIONS = (
    """
CREATE OR REPLACE FUNCTION cpoint_ref_cols(prefix text, cols text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
  SELECT string_agg(prefix || quote_ident(c), ', ') FROM unnest(string_to_array(cols, ',')) c
$f$""",
    # The lookup condition of a reference: "=" on the first column only, IS NOT DISTINCT FROM
    # (same result here: rows with a NULL key are never looked up) on the others, which no
    # index can serve. So the lookup always walks an index led by the first column (the key's
    # unique index), never one led by a later column: while point_statements has no statistics
    # (a new database, or statements just written in the same run), the planner reckons
    # "half = n.half" finds one row and may look every line up through
    # ix_point_statements_half_lg, reading the whole half for each line.
    """
CREATE OR REPLACE FUNCTION cpoint_ref_match(a text, a_cols text, b text, b_cols text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
  SELECT string_agg(a || quote_ident(x.c) || CASE WHEN x.i = 1 THEN ' = ' ELSE
                    ' IS NOT DISTINCT FROM ' END || b || quote_ident(y.c), ' AND ' ORDER BY x.i)
  FROM unnest(string_to_array(a_cols, ',')) WITH ORDINALITY x(c, i)
  JOIN unnest(string_to_array(b_cols, ',')) WITH ORDINALITY y(c, i) USING (i)
$f$""",
    """
CREATE OR REPLACE FUNCTION cpoint_ref_inserted() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  n_cols text := cpoint_ref_cols('n.', TG_ARGV[1]);
  orphan boolean;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM new_rows n WHERE ROW(%s) IS NOT NULL'
                 ' AND NOT EXISTS (SELECT 1 FROM %I p WHERE %s))', n_cols, TG_ARGV[0],
                 cpoint_ref_match('p.', TG_ARGV[2], 'n.', TG_ARGV[1])) INTO orphan;
  IF orphan THEN
    RAISE EXCEPTION 'insert on table "%" violates reference (%) to "%"',
      TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[0] USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $f$""",
    """
CREATE OR REPLACE FUNCTION cpoint_ref_rekeyed() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  found boolean;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I p WHERE %s)', TG_ARGV[0],
                 cpoint_ref_match('p.', TG_ARGV[2], '($1).', TG_ARGV[1]))
    USING NEW INTO found;
  IF NOT found THEN
    RAISE EXCEPTION 'update on table "%" violates reference (%) to "%"',
      TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[0] USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $f$""",
    """
CREATE OR REPLACE FUNCTION cpoint_ref_parent_deleted() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  referenced boolean;
BEGIN
  EXECUTE format('LOCK TABLE %I IN SHARE MODE', TG_ARGV[0]);  -- inserters first (see above)
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM old_rows o JOIN %I c ON %s)', TG_ARGV[0],
                 cpoint_ref_match('c.', TG_ARGV[1], 'o.', TG_ARGV[2])) INTO referenced;
  IF referenced THEN
    RAISE EXCEPTION 'delete on table "%" violates reference (%) from "%"',
      TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[0] USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $f$""",
    """
CREATE OR REPLACE FUNCTION cpoint_ref_parent_rekeyed() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
  referenced boolean;
BEGIN
  EXECUTE format('LOCK TABLE %I IN SHARE MODE', TG_ARGV[0]);
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I c WHERE %s)', TG_ARGV[0],
                 cpoint_ref_match('c.', TG_ARGV[1], '($1).', TG_ARGV[2]))
    USING OLD INTO referenced;
  IF referenced THEN
    RAISE EXCEPTION 'update on table "%" violates reference (%) from "%"',
      TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[0] USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NULL;
END $f$""",
)


def _pg_triggers(ref: Reference) -> list[str]:
    args = f"'{{other}}', '{','.join(ref.columns)}', '{','.join(ref.parent_columns)}'"
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ref.columns)
    p_changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ref.parent_columns)
    specs = (
        ("ins", ref.child, "AFTER INSERT", "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
         "cpoint_ref_inserted", ref.parent),
        ("upd", ref.child, f"AFTER UPDATE OF {', '.join(ref.columns)}",
         f"FOR EACH ROW WHEN ({changed})", "cpoint_ref_rekeyed", ref.parent),
        ("parent_del", ref.parent, "AFTER DELETE",
         "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT", "cpoint_ref_parent_deleted",
         ref.child),
        ("parent_upd", ref.parent, f"AFTER UPDATE OF {', '.join(ref.parent_columns)}",
         f"FOR EACH ROW WHEN ({p_changed})", "cpoint_ref_parent_rekeyed", ref.child),
    )
    out = []
    for when, table, event, how, function, other in specs:
        out += [f"DROP TRIGGER IF EXISTS {ref.name}_{when} ON {table}",
                f"CREATE TRIGGER {ref.name}_{when} {event} ON {table} {how}"
                f" EXECUTE FUNCTION {function}({args.format(other=other)})"]
    return out


def _sqlite_triggers(ref: Reference) -> list[str]:
    def match(row: str, cols, other: str, other_cols) -> str:
        return " AND ".join(f"{other}.{oc} = {row}.{c}" for c, oc in zip(cols, other_cols))

    not_null = " AND ".join(f"NEW.{c} IS NOT NULL" for c in ref.columns)
    orphan = (f"{not_null} AND NOT EXISTS (SELECT 1 FROM {ref.parent} p"
              f" WHERE {match('NEW', ref.columns, 'p', ref.parent_columns)})")
    referenced = (f"EXISTS (SELECT 1 FROM {ref.child} c"
                  f" WHERE {match('OLD', ref.parent_columns, 'c', ref.columns)})")
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in ref.parent_columns)
    fail = f"SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed ({ref.name})')"
    out = []
    for when, head, cond in (
            ("ins", f"BEFORE INSERT ON {ref.child}", orphan),
            ("upd", f"BEFORE UPDATE OF {', '.join(ref.columns)} ON {ref.child}", orphan),
            ("parent_del", f"BEFORE DELETE ON {ref.parent}", referenced),
            ("parent_upd", f"BEFORE UPDATE OF {', '.join(ref.parent_columns)} ON {ref.parent}",
             f"({changed}) AND {referenced}")):
        out += [f"DROP TRIGGER IF EXISTS {ref.name}_{when}",
                f"CREATE TRIGGER {ref.name}_{when} {head} WHEN {cond} BEGIN {fail}; END"]
    return out


def ddl(dialect: str) -> list[str]:
    """Statements that (re)create the checks; each may run again."""
    if dialect == "postgresql":
        return list(_PG_FUNCTIONS) + [s for ref in REFERENCES for s in _pg_triggers(ref)]
    if dialect == "sqlite":
        return [s for ref in REFERENCES for s in _sqlite_triggers(ref)]
    raise ValueError(f"no reference triggers for {dialect}")


def install(conn: Connection) -> None:
    escape = conn.dialect.name == "postgresql"  # the driver reads % as a placeholder
    for statement in ddl(conn.dialect.name):
        conn.exec_driver_sql(statement.replace("%", "%%") if escape else statement)


def uninstall(conn: Connection) -> None:
    """Drop the triggers (and, on PostgreSQL, their functions)."""
    for statement in ddl(conn.dialect.name):
        if statement.startswith("DROP TRIGGER"):
            conn.exec_driver_sql(statement)
    if conn.dialect.name == "postgresql":
        for name in ("cpoint_ref_inserted", "cpoint_ref_rekeyed", "cpoint_ref_parent_deleted",
                     "cpoint_ref_parent_rekeyed"):
            conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS cpoint_ref_cols(text, text)")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS cpoint_ref_match(text, text, text, text)")


def table_dependencies(tables: dict) -> list[tuple]:
    """(parent, child) Table pairs for sqlalchemy.schema.sort_tables' extra_dependencies."""
    return [(tables[r.parent], tables[r.child]) for r in REFERENCES
            if r.parent in tables and r.child in tables]
