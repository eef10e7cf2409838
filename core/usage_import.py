"""Usage import: `flask --app webhooks cpoint import-usage FILE.csv` (spec §4, §5; issue 3).

File: CSV with the header ``resource,customer_number,month,amount`` (then ``tariff`` and
``company`` in any order, both optional), UTF-8 (a BOM is accepted) or,
with ``encoding="cp949"``, CP949/EUC-KR as Korean utilities and Excel export it. Numbers are in
ASCII digits only (full-width digits are refused). Screening shared with the other operator
imports: :mod:`core.csv_screening`.

- resource: one of the rules' resources (electricity, water, gas), or its Korean name
  (core/data/imports.toml: the names utilities' sheets use);
- customer_number: the customer number, checked against the rules' format of the resource
  (a number short of its leading zero, as Excel leaves it, is refused with that explanation), or
  the data provider's unit key for managed-fee billing (letters and digits); spaces and hyphens
  are removed; stored only as the keyed hash ``supply_key_hash`` (an RRN-shaped value is refused
  and never echoed);
- month: ``YYYY-MM``, not after the current month (Asia/Seoul);
- company (optional column after amount): the utility company billing the number, a code or
  name of core/data/utility_companies.toml (a supply point is resource + company + number).
  Empty or absent: electricity goes to KEPCO; any other number goes to the one company it is
  already a supply point of (a member's account or earlier readings); a number that is a supply
  point at two or more companies refuses its rows (every line named, "add a company column"); a
  number known at none is kept under company "" until a member registers it
  (core.members.adopt_unassigned_readings);
- tariff (optional column after amount): the electricity tariff the month was billed under,
  ``general``, ``agricultural`` or ``late_night`` (or KEPCO's Korean names, core/data/imports.toml);
  empty or absent keeps what the month had. A half with a month under an excluded tariff (spec
  E5) is not evaluated for that resource: EXCLUDED_TARIFF;
- amount: a non-negative decimal in kWh or m3 with at most 3 decimals (``1234``, ``12.5``), at
  most the resource's plausible monthly use (ImportSettings, ``IMPORT_MAX_*``); above it the row
  is refused, or with ``allow_outliers`` imported and flagged: an ``import_changes`` row of kind
  ``outlier`` (key as for a reading, old_value = the bound, new_value = the amount).

The whole file is validated first. Any bad row rejects the file with every problem listed by line
number (the line a record starts on) and nothing is written (:class:`ImportRejected`). A row
repeated exactly is one row (a notice); rows with the same key and different amounts are all
refused, each naming the others. With ``skip_invalid`` the good rows are imported and the
rejected ones written beside the input as ``<name>.rejected.csv`` with the reason (a CSV syntax
error still rejects the whole file). Re-importing a month replaces its value and records
the old and new value in ``import_changes``; unchanged values are not touched. Readings for
customer numbers nobody has registered are kept (the member who registers later has history).

The write is one transaction. Rows are screened one at a time (results for repeated cells
remembered) and staged in a temporary table by a small id of their supply point (resource,
company, hash: tmp_usage_points, once each), through the driver (executemany on SQLite, one COPY
held open on PostgreSQL). Then, set-based: companies resolved on the supply points, duplicates
searched only when a point's rows did not come together or a month repeated, the changed
readings audited (the key names resource, company, hash and month) and updated, and the new
ones inserted in the primary key's order with a plain INSERT (no ON CONFLICT, identical SQL on
both databases but for the order). Issue 16's target: 1,000,000 readings within 3x of a plain
COPY of the same file (bench/import_usage.py).
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Column, DateTime, Integer, MetaData, PrimaryKeyConstraint, String, Table, bindparam, text

from core import spreadsheet
from core.clock import Clock, today_kst, utcnow_naive
from core.crypto import FieldCipher
from core.csv_screening import (  # noqa: F401 - re-exported for the other imports
    MAX_KEY_LEN,
    CsvRow,
    Duplicates,
    ImportRejected,
    ImportSettings,
    RowError,
    ascii_digits_problem,
    cells_of_lines,
    check_customer_number,
    exact_duplicate_notice,
    field_count_error,
    find_duplicates,
    msg,
    open_csv,
    parse_quantity,
    parse_tariff,
    read_csv_file,
    read_operator_csv,
    resource_of,
)
from core.db import Database
from core.db_bulk import PG_WORK_MEM, SQLITE_CACHE_KB, analyze_temporary, bulk_insert, driver_connection
from core.models.usage import AMOUNT, ImportRun
from core.pii import RRN_MASK, contains_rrn, digits_only, mask_number
from core.points.periods import month_of
from core.progress import invalidate_members
from core.readings_direct import DIRECT_COLUMNS, DirectFallback, DirectWriter
from core.rules import Rules, default_rules
from core.utility_companies import company_of_cell, national_company

USAGE_HEADER = ("resource", "customer_number", "month", "amount")
USAGE_OPTIONAL = ("tariff", "company")  # may follow the header, in any order
# A month cell as utilities and spreadsheets write it: 2026-01 (or 2026-1), 2026.01, 2026/01,
# 202601, the 1st of the month as a date (Excel turns 2026-01 into 2026-01-01 when it saves),
# and 2026년 1월. A date on another day is refused: a billing or reading date is not the month
# of use.
FILE_MONTH_RE = re.compile(
    r"^([0-9]{4})(?:([-./])([0-9]{1,2})(?:\2(?:0?1))?|([0-9]{2})|\s*\ub144\s*([0-9]{1,2})\s*\uc6d4)$")
OUTLIER_KIND = "outlier"  # import_changes.kind of a reading imported above its plausibility bound
_NOW = bindparam("now", type_=DateTime())
BATCH = 5000


# --- shared CSV machinery (also used by the activities and payout-result imports) ------------
# Reading, syntax, encodings, numbers and duplicates live in core.csv_screening (re-exported
# here for the imports that name them from this module).


@dataclass
class ImportResult:
    run_id: int | None
    rows_total: int
    inserted: int = 0
    changed: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejected_file: str | None = None
    errors: list[RowError] = field(default_factory=list)
    notices: list[RowError] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{self.rows_total} row(s): {self.inserted} new, {self.changed} changed, "
                 f"{self.unchanged} unchanged"]
        if self.rejected:
            parts.append(f"{self.rejected} rejected -> {self.rejected_file}")
        for key, value in self.extra.items():
            parts.append(f"{key}: {value}")
        if self.run_id is not None:
            parts.append(f"import run #{self.run_id}")
        return "; ".join(parts)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def safe_cell(value: str) -> str:
    """A cell as it may appear in reports: never an RRN."""
    return RRN_MASK if contains_rrn(value) else value


def write_rejects(path: Path, header: Sequence[str], rejects: Iterable[tuple[CsvRow, str]]) -> Path:
    """``<name>.rejected.csv`` beside the input: line, the original fields, reason."""
    out = path.with_name(f"{path.stem}.rejected.csv")
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = spreadsheet.writer(fh)
        writer.writerow(["line", *header, "reason"])
        for row, reason in rejects:
            cells = [safe_cell(v) for v in row.raw] + [""] * max(0, len(header) - len(row.raw))
            writer.writerow([row.line, *cells[:len(header)], reason])
    return out


@dataclass
class Screened:
    """What a validator found: good rows (one per key), (row, reason) for every bad one in file
    order, and notices that are not errors (an exact duplicate row counted once)."""

    good: list
    rejects: list[tuple[CsvRow, str]]
    notices: list[RowError] = field(default_factory=list)


class Problems:
    """Reasons collected per row line."""

    def __init__(self) -> None:
        self.bad: dict[int, tuple[CsvRow, list[str]]] = {}

    def add(self, row: CsvRow, reason: str | None) -> None:
        if reason:
            self.bad.setdefault(row.line, (row, []))[1].append(reason)

    def __contains__(self, line: int) -> bool:
        return line in self.bad

    def rejects(self) -> list[tuple[CsvRow, str]]:
        return [(row, "; ".join(reasons)) for row, reasons in
                sorted(self.bad.values(), key=lambda item: item[0].line)]


def settle_duplicates(good: list[tuple[Any, CsvRow]], problems: Problems, dupes: Duplicates) -> Screened:
    """Conflicting duplicates become problems; exact copies after the first are dropped with a
    notice."""
    for _, row in good:
        if row.line in dupes.conflicts:
            problems.add(row, dupes.conflicts[row.line])
    kept = [item for item, row in good if row.line not in problems and row.line not in dupes.exact]
    notices = [exact_duplicate_notice(line, first) for line, first in sorted(dupes.exact.items())]
    return Screened(kept, problems.rejects(), notices)


# --- usage --------------------------------------------------------------------------------

def normalise_customer_number(value: str) -> str:
    return digits_only(value)


def supply_key_hash(cipher: FieldCipher, resource: str, customer_number: str) -> str:
    """The key readings and ResourceAccount.supply_key_hash share (signup must use the same)."""
    return cipher.keyed_hash(normalise_customer_number(customer_number), purpose=resource)


def reading_key(resource: str, company: str, key_hash: str, month: int) -> str:
    """import_changes.key of a reading: its supply point (resource, company, hash; the company
    is "" for a unit or a number whose company is not known) and month. _SQL_KEY builds the same
    string."""
    return f"{resource}:{company}:{key_hash}:{month}"


_SQL_KEY = "p.resource || ':' || p.company || ':' || p.supply_key_hash || ':' || CAST(s.month AS VARCHAR(6))"
_STAGED = "tmp_usage_points p JOIN tmp_usage_import s ON s.point = p.id"  # a staged row and its supply point
_SAME_READING = ("r.resource = p.resource AND r.supply_key_hash = p.supply_key_hash AND r.company = p.company"
                 " AND r.month = s.month")
IMPORT_LOCK = 0x75736167  # pg_advisory_xact_lock key of the readings import ("usag")


def written_month(value: str | None) -> int | None:
    """A month as utilities, spreadsheets and operators write it (FILE_MONTH_RE) as yyyymm, or
    None; from 1990 (the programme's data start later)."""
    m = FILE_MONTH_RE.match((value or "").strip())
    number = m and (m.group(3) or m.group(4) or m.group(5))
    if not m or not number or not 1 <= int(number) <= 12 or int(m.group(1)) < 1990:
        return None
    return int(m.group(1)) * 100 + int(number)


def parse_month(value: str, today: date) -> tuple[int | None, str | None]:
    bad = ascii_digits_problem("month", value)
    if bad:
        return None, bad
    month = written_month(value)
    if month is None:
        return None, msg("usage.month", value=value)
    if month > month_of(today):
        return None, msg("usage.future", value=value)
    return month, None


def _month_text(month: int) -> str:
    return f"{month // 100:04d}-{month % 100:02d}"


def _show_value(value: Any) -> str:
    """A reading's (amount, tariff) as a conflicting duplicate lists it."""
    amount, tariff = value
    return f"{amount} ({tariff})" if tariff else f"{amount}"


def screen_file(path: Path, header, validate: Callable[[list[CsvRow]], Screened], skip_invalid: bool,
                encoding: str = "utf-8", optional: Sequence[str] = ()):
    """Read an operator CSV and validate every row before anything is written: any problem
    raises ImportRejected listing them all by line, unless `skip_invalid`, in which case the
    rejected rows are written beside the input with their reasons. A CSV syntax error rejects
    the file even then (the rows around it cannot be told apart). Returns (good rows, rejects,
    an ImportResult to fill)."""
    parsed = read_csv_file(path, header, encoding, optional)
    screened = validate(parsed.rows)
    errors = [RowError(row.line, reason) for row, reason in screened.rejects]
    if parsed.syntax_errors:
        extra = [RowError(0, msg("csv.syntax_not_skippable"))] if skip_invalid else []
        raise ImportRejected([*parsed.syntax_errors, *errors, *extra])
    if errors and not skip_invalid:
        raise ImportRejected(errors)
    result = ImportResult(None, len(parsed.rows), rejected=len(errors), errors=errors,
                          notices=screened.notices)
    if screened.rejects:
        result.rejected_file = str(write_rejects(path, parsed.columns or header, screened.rejects))
    if screened.notices:
        result.extra["duplicate rows counted once"] = len(screened.notices)
    return screened.good, screened.rejects, result


def open_run(session, kind: str, path: Path, result: ImportResult, started) -> ImportRun:
    """The import's ImportRun row, written in the import's own transaction."""
    run = ImportRun(kind=kind, file_name=path.name[:255], sha256=file_sha256(path),
                    status="partial" if result.rejected else "succeeded", rows_total=result.rows_total,
                    rows_rejected=result.rejected, rejected_file=result.rejected_file, started_at=started)
    session.add(run)
    session.flush()
    return run


def close_run(run: ImportRun, result: ImportResult, good_rows: int, clock: Clock) -> None:
    """Counts of an import that went through: what was not new or changed was unchanged."""
    result.unchanged = good_rows - result.inserted - result.changed
    run.rows_inserted, run.rows_changed = result.inserted, result.changed
    run.rows_unchanged, run.finished_at = result.unchanged, utcnow_naive(clock)
    result.run_id = run.id


def stage_rows(conn, staging: Table, payload: list[dict]) -> None:
    """Create the temporary staging table and fill it in batches."""
    staging.create(conn)  # a rollback removes it too (transactional DDL)
    for start in range(0, len(payload), BATCH):
        conn.execute(staging.insert(), payload[start:start + BATCH])


class UsageChecker:
    """The checks of one usage row, with the results for repeated cells remembered (a supply
    point's months repeat its resource and number; months and tariffs take few values), so a
    file of a million readings is screened at the speed of the few distinct values it holds.
    Holds no customer number beyond a bounded cache of the current import."""

    CACHE = 100_000

    def __init__(self, rules: Rules, today: date, bounds: Mapping[str, tuple[Decimal, str]],
                 allow_outliers: bool, key_hash: Callable[[str, str], str] | None = None) -> None:
        self.rules, self.today, self.bounds, self.allow_outliers = rules, today, bounds, allow_outliers
        self.key_hash = key_hash
        self._numbers: dict[tuple[str, str], tuple[str, str | None, str | None, list[str], str]] = {}
        self._months: dict[str, tuple[int | None, str | None]] = {}
        self._tariffs: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        self._companies: dict[tuple[str, str], tuple[str | None, str | None]] = {}

    def supply_point(self, resource_cell: str, number_cell: str
                     ) -> tuple[str, str | None, str | None, list[str], str]:
        """(resource, number, its key hash, reasons, the number masked), remembered by the
        cells as written."""
        key = (resource_cell, number_cell)
        hit = self._numbers.get(key)
        if hit is None:
            resource_cell, number_cell = resource_cell.strip(), number_cell.strip()
            reasons: list[str] = []
            resource = resource_of(resource_cell, self.rules) or resource_cell.lower()
            if resource not in self.rules.resources:
                reasons.append(msg("usage.unknown_resource", value=safe_cell(resource_cell),
                                   expected="|".join(self.rules.resources)))
            number, why = check_customer_number(resource, number_cell, self.rules)
            if why:
                reasons.append(why)
            hashed = self.key_hash(resource, number) if number and not reasons and self.key_hash else None
            if len(self._numbers) >= self.CACHE:
                self._numbers.clear()
            hit = self._numbers[key] = (resource, number, hashed, reasons, mask_number(number))
        return hit

    def month(self, cell: str) -> tuple[int | None, str | None]:
        hit = self._months.get(cell)
        if hit is None:
            hit = parse_month(cell.strip(), self.today)
            if len(self._months) < self.CACHE:
                self._months[cell] = hit
        return hit

    def tariff(self, resource: str, cell: str) -> tuple[str | None, str | None]:
        if not cell:
            return None, None
        key = (resource, cell)
        hit = self._tariffs.get(key)
        if hit is None:
            hit = parse_tariff(resource, cell, self.rules)
            if len(self._tariffs) < 1000:
                self._tariffs[key] = hit
        return hit

    def company(self, resource: str, cell: str) -> tuple[str | None, str | None]:
        """(company code, reason) of a `company` cell; an empty cell is (None, None): the
        import finds the company (resolve_companies)."""
        if not cell:
            return None, None
        key = (resource, cell)
        hit = self._companies.get(key)
        if hit is None:
            found = company_of_cell(resource, cell) if resource in self.rules.resources else None
            hit = (found.code, None) if found else (None, msg("usage.unknown_company", resource=resource,
                                                                 value=safe_cell(cell)))
            if len(self._companies) < 1000:
                self._companies[key] = hit
        return hit

    def check(self, values: Mapping[str, str]) -> tuple[tuple, list[str]]:
        """((resource, number, key hash, month, amount as written, bound if an outlier, tariff,
        number masked, company or None), reasons): the row is good when there are no reasons.
        Cells are stripped here."""
        return self.check_cells(values["resource"], values["customer_number"], values["month"],
                                values["amount"], values.get("tariff", ""), values.get("company", ""))

    def check_cells(self, resource_cell: str, number_cell: str, month_cell: str, amount_cell: str,
                    tariff_cell: str = "", company_cell: str = "") -> tuple[tuple, list[str]]:
        """As check, from the cells."""
        resource, number, hashed, found, masked = self.supply_point(resource_cell, number_cell)
        reasons = list(found) if found else []
        month, why = self.month(month_cell)
        if why:
            reasons.append(why)
        cell = amount_cell.strip()
        amount: str | None = cell
        if not _PLAIN_AMOUNT.match(cell):
            parsed, why = parse_quantity(cell)
            amount = None if why else format(parsed, "f")  # "1,234" -> "1234"
            if why:
                reasons.append(why)
        tariff, why = self.tariff(resource, tariff_cell.strip()) if tariff_cell else (None, None)
        if why:
            reasons.append(why)
        company, why = self.company(resource, company_cell.strip()) if company_cell else (None, None)
        if why:
            reasons.append(why)
        bound = None
        limits = self.bounds.get(resource)
        if amount is not None and limits is not None and float(amount) >= limits[0]:
            limit, env = limits
            if Decimal(amount) > limit:
                bound = limit
                if not self.allow_outliers:
                    reasons.append(msg("usage.outlier", amount=Decimal(amount), resource=resource,
                                       bound=limit, env=env, unit=msg(f"usage.units.{resource}")))
        return (resource, number, hashed, month, amount, bound, tariff, masked, company), reasons


_PLAIN_AMOUNT = re.compile(r"[0-9]{1,11}(?:\.[0-9]{1,3})?\Z")


def _import_staging(dialect: str = "") -> Table:
    """One row per good line of the file (duplicates settled in SQL), its supply point by the
    small id of tmp_usage_points: the rows bind and store integers, not 64-character hashes. On
    SQLite the table is its key (point, month, line): repeated keys are read off in order and
    nothing is sorted; on PostgreSQL a heap, which COPY fills fastest."""
    key = [PrimaryKeyConstraint("point", "month", "line")] if dialect == "sqlite" else []
    return Table(
        "tmp_usage_import", MetaData(),
        Column("line", Integer),
        Column("point", Integer),  # tmp_usage_points.id
        Column("month", Integer),
        Column("amount", AMOUNT),
        Column("tariff", String(24)),
        Column("outlier_bound", AMOUNT),
        *key,
        prefixes=["TEMPORARY"],
        sqlite_with_rowid=not key,
    )


def _points_table() -> Table:
    """The file's supply points: (resource, key hash, company) once each (an id given twice
    to one supply point is merged, :func:`_merge_points`), and the point as messages name it."""
    return Table(
        "tmp_usage_points", MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("resource", String(16)),
        Column("supply_key_hash", String(64)),
        Column("company", String(32)),  # "" until resolve_companies finds it
        Column("masked", String(48)),
        prefixes=["TEMPORARY"],
    )


STAGE_COLUMNS = ("line", "point", "month", "amount", "tariff", "outlier_bound")
POINTS_WAITING = 50_000  # PostgreSQL: new supply points held back while the rows' COPY is open
POINT_COLUMNS = ("id", "resource", "supply_key_hash", "company", "masked")


class PointIds:
    """Small integer ids of the file's supply points, each written once to tmp_usage_points.
    Bounded: past CACHE points the map starts again, and a point met again gets a second id
    (merged in SQL before anything reads them)."""

    CACHE = 200_000

    def __init__(self) -> None:
        self.ids: dict[tuple[str, str, str], int] = {}
        self.new: list[tuple] = []
        self.last = 0

    def of(self, resource: str, key_hash: str, company: str, masked: str) -> int:
        key = (resource, key_hash, company)
        pid = self.ids.get(key)
        if pid is None:
            if len(self.ids) >= self.CACHE:
                self.ids.clear()
            self.last += 1
            pid = self.ids[key] = self.last
            self.new.append((pid, resource, key_hash, company, masked))
        return pid


def _merge_points(conn) -> bool:
    """One id a supply point: rows staged under a second id of a point (or under a point whose
    company resolve_companies found) move to its first id. Whether any moved."""
    if conn.execute(text("SELECT 1 FROM tmp_usage_points GROUP BY resource, supply_key_hash, company"
                         " HAVING COUNT(*) > 1 LIMIT 1")).first() is None:
        return False
    conn.execute(text(
        "CREATE TEMPORARY TABLE tmp_usage_merge AS SELECT p.id, (SELECT MIN(q.id) FROM tmp_usage_points q"
        " WHERE q.resource = p.resource AND q.supply_key_hash = p.supply_key_hash AND q.company = p.company) AS first"
        " FROM tmp_usage_points p"))
    conn.execute(text("DELETE FROM tmp_usage_merge WHERE id = first"))
    conn.execute(text("UPDATE tmp_usage_import SET point = (SELECT m.first FROM tmp_usage_merge m"
                      " WHERE m.id = tmp_usage_import.point) WHERE point IN (SELECT id FROM tmp_usage_merge)"))
    conn.execute(text("DELETE FROM tmp_usage_points WHERE id IN (SELECT id FROM tmp_usage_merge)"))
    conn.execute(text("DROP TABLE tmp_usage_merge"))
    return True


def resolve_companies(conn, problems: Problems) -> set[int]:
    """The company of every staged supply point whose file named none (company ""): the one
    company the number already is a supply point of (a registered account, or readings); a
    number that is a supply point at two or more companies is ambiguous and its rows are
    refused (each naming the companies); a number known at none stays "" (NO_COMPANY: adopted
    by the member who registers it, core.members.adopt_unassigned_readings). Works on the
    file's supply points, not its rows. Returns the refused lines."""
    conn.execute(text(
        "CREATE TEMPORARY TABLE tmp_usage_companies AS"
        " SELECT k.id, a.company FROM tmp_usage_points k JOIN resource_accounts a"
        " ON a.resource = k.resource AND a.supply_key_hash = k.supply_key_hash WHERE k.company = '' AND a.company <> ''"
        " UNION SELECT k.id, r.company FROM tmp_usage_points k JOIN meter_readings r"
        " ON r.resource = k.resource AND r.supply_key_hash = k.supply_key_hash WHERE k.company = '' AND r.company <> ''"))
    listing: dict[int, list[str]] = {}
    for pid, company in conn.execute(text(
            "SELECT c.id, c.company FROM tmp_usage_companies c"
            " WHERE c.id IN (SELECT id FROM tmp_usage_companies GROUP BY id HAVING COUNT(*) > 1)")):
        listing.setdefault(pid, []).append(company)
    refused: set[int] = set()
    if listing:
        for line, pid, resource, masked in conn.execute(text(
                "SELECT s.line, p.id, p.resource, p.masked FROM tmp_usage_import s JOIN tmp_usage_points p"
                " ON p.id = s.point WHERE p.id IN (SELECT id FROM tmp_usage_companies GROUP BY id"
                " HAVING COUNT(*) > 1)")):
            reason = msg("usage.company_ambiguous", resource=resource, masked=masked,
                         companies=", ".join(sorted(listing[pid])))
            problems.bad.setdefault(line, (CsvRow(line, {}, []), []))[1].append(reason)
            refused.add(line)
        _delete_lines(conn, sorted(refused))
        conn.execute(text("DELETE FROM tmp_usage_companies WHERE id IN (SELECT id FROM tmp_usage_companies"
                          " GROUP BY id HAVING COUNT(*) > 1)"))
    # only points whose number has a company change (a file of numbers nobody has is left alone)
    if conn.execute(text("SELECT 1 FROM tmp_usage_companies LIMIT 1")).first() is not None:
        conn.execute(text(
            "UPDATE tmp_usage_points SET company = (SELECT c.company FROM tmp_usage_companies c"
            " WHERE c.id = tmp_usage_points.id) WHERE id IN (SELECT id FROM tmp_usage_companies)"))
    conn.execute(text("DROP TABLE tmp_usage_companies"))
    return refused


def _delete_lines(conn, lines: Sequence[int]) -> None:
    """Remove staged rows by line (one pass over the staging table, whatever the count)."""
    if not lines:
        return
    conn.execute(text("CREATE TEMPORARY TABLE tmp_usage_drop (line INTEGER PRIMARY KEY)"))
    for start in range(0, len(lines), 500):
        chunk = lines[start:start + 500]
        conn.execute(text(f"INSERT INTO tmp_usage_drop (line) VALUES {', '.join(f'({int(n)})' for n in chunk)}"))
    conn.execute(text("DELETE FROM tmp_usage_import WHERE line IN (SELECT line FROM tmp_usage_drop)"))
    conn.execute(text("DROP TABLE tmp_usage_drop"))


def _settle_duplicates_sql(conn, problems: Problems) -> tuple[list[RowError], set[int]]:
    """Rows of the staging table sharing (supply point, month): identical ones are one row
    (later copies removed, a notice each); differing ones are all refused (each naming the
    others) and removed. Returns (notices, lines of conflicting rows)."""
    rows = conn.execute(text(
        "SELECT s.point, s.month, p.resource, s.line, s.amount, s.tariff, p.masked"
        " FROM tmp_usage_import s JOIN (SELECT point, month FROM tmp_usage_import"
        " GROUP BY point, month HAVING COUNT(*) > 1) d ON d.point = s.point AND d.month = s.month"
        " JOIN tmp_usage_points p ON p.id = s.point ORDER BY s.point, s.month, s.line")).all()
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r[0], r[1]), []).append(r[2:])
    notices: list[RowError] = []
    drop: list[int] = []
    conflicts: set[int] = set()
    for (_, month), items in groups.items():
        resource = items[0][0]
        values = {(Decimal(str(r[2])).normalize(), r[3]) for r in items}
        if len(values) == 1:
            notices += [exact_duplicate_notice(r[1], items[0][1]) for r in items[1:]]
            drop += [r[1] for r in items[1:]]
            continue
        listing = ", ".join(f"{_show_value((_amount_text(r[2]), r[3]))} on line {r[1]}" for r in items)
        reason = msg("row.conflicting_duplicate", key=f"{resource} {items[0][4]} {_month_text(month)}",
                     listing=listing)
        for r in items:
            problems.bad.setdefault(r[1], (CsvRow(r[1], {}, []), []))[1].append(reason)
            conflicts.add(r[1])
            drop.append(r[1])
    _delete_lines(conn, drop)
    return sorted(notices, key=lambda e: e.line), conflicts


def _amount_text(value) -> str:
    """An amount as the file would write it (the staging column may hand back a float)."""
    d = Decimal(str(value)).quantize(Decimal("0.001")).normalize()
    return f"{d:f}"


@contextmanager
def bulk_connection(session):
    """The transaction's connection with a batch-sized SQLite page cache (reset before the
    commit)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
        conn.exec_driver_sql(f"PRAGMA temp.cache_size = -{SQLITE_CACHE_KB}")  # the staging table's
    elif conn.dialect.name == "postgresql":
        # the staging index, the duplicate groups and the key-order sort in memory (ends
        # with the transaction)
        conn.exec_driver_sql(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")
        conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{PG_WORK_MEM}'")
    try:
        yield conn
    finally:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA cache_size = -2000")  # SQLite's default
            conn.exec_driver_sql("PRAGMA temp.cache_size = -2000")


@dataclass
class StagedFile:
    """What the streaming pass of a readings file leaves for :func:`finish_readings`: the rows
    themselves are in the staging table (``tmp_usage_import``, STAGE_COLUMNS)."""

    path: Path
    encoding: str
    header: Sequence[str]
    optional: Sequence[str]
    columns: Sequence[str]
    total: int = 0
    problems: Problems = field(default_factory=Problems)
    syntax: list[RowError] = field(default_factory=list)
    tariffs: bool = False   # a staged row gives a tariff (else the tariff count is skipped)
    outliers: bool = False  # a staged row is above its bound (else the flags' scan is skipped)
    points: PointIds = field(default_factory=PointIds)
    # Could two staged rows share a supply point and month? Not when each point's rows came
    # together, none of them twice (as utilities write their files); else the staging table is
    # searched for them. Cheaper than the search, and no memory: the loops keep only the last
    # point's months.
    may_repeat: bool = True
    # PostgreSQL: the rows go straight into meter_readings (core.readings_direct) when set
    direct: DirectWriter | None = None
    _copy: Any = field(default=None, repr=False)  # PostgreSQL: (cursor, COPY manager, Copy) while open

    @contextmanager
    def staging(self, conn) -> Iterator[Table]:
        """The staging tables, created in the transaction (a rollback removes them too), for
        :meth:`stage` to fill. On PostgreSQL the rows go through one COPY held open for the
        whole file: the server stores rows while the file is still read (a COPY a batch would
        wait for the server at the end of each); the supply points follow when it closes,
        or sooner when many are waiting."""
        staging = _import_staging(conn.dialect.name)
        staging.create(conn)
        self._points = _points_table()
        self._points.create(conn)
        self._copy = None
        try:
            yield staging
            if self.direct is not None and self.direct.pending:
                self._copy_rows(conn, staging, self.direct.drain(self.points.new))
        except BaseException as exc:
            self._close_copy(exc)
            raise
        self._close_copy(None)
        self._write_points(conn)

    def stage(self, conn, staging: Table, batch: list[tuple]) -> None:
        """A batch of rows (STAGE_COLUMNS), after (SQLite) or with (PostgreSQL) the supply points
        they name."""
        if conn.dialect.name != "postgresql":
            self._write_points(conn)
            bulk_insert(conn, staging, batch, STAGE_COLUMNS, ready=True)
            return
        if self.direct is not None:
            block = self.direct.take(batch, self.points.new)
            if block:
                self._copy_rows(conn, staging, block)
            return
        self._copy_rows(conn, staging, batch)

    def _copy_rows(self, conn, staging: Table, rows: Sequence[tuple] | str) -> None:
        """Rows to the open COPY (opened if need be): tuples, or COPY's text (direct)."""
        if len(self.points.new) >= POINTS_WAITING:
            self._close_copy(None)
            self._write_points(conn)
        if self._copy is None:
            cursor = driver_connection(conn).cursor()
            target = f"meter_readings ({', '.join(DIRECT_COLUMNS)})" if self.direct is not None \
                else f"{staging.name} ({', '.join(STAGE_COLUMNS)})"
            # the driver's writer thread sends while this one reads on: the plain writer sends
            # in the caller's thread, which then waits on the server a block at a time
            manager = cursor.copy(f"COPY {target} FROM STDIN", writer=QueuedLibpqWriter(cursor))
            self._copy = (cursor, manager, manager.__enter__())
        if isinstance(rows, str):
            self._copy[2].write(rows)
            return
        write = self._copy[2].write_row
        for row in rows:
            write(row)

    def _write_points(self, conn) -> None:
        if self.points.new:
            if self.direct is not None:  # their companies first
                self.direct.settle(self.points.new)
            bulk_insert(conn, self._points, self.points.new, POINT_COLUMNS, ready=True)
            self.points.new = []
            if self.direct is not None:
                self.direct.points_written()

    def _close_copy(self, exc: BaseException | None) -> None:
        if self._copy is not None:
            cursor, manager, _ = self._copy
            self._copy = None
            try:
                manager.__exit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)
            finally:
                cursor.close()

    def refuse(self, line: int, raw: list[str], reasons: Sequence[str]) -> None:
        bad = CsvRow(line, {h: v.strip() for h, v in zip(self.columns, raw)}, raw)
        for reason in reasons:
            self.problems.add(bad, reason)

    def wrong_width(self, line: int, raw: list[str]) -> None:
        row = CsvRow(line, {}, raw, tuple(self.columns))
        self.problems.add(row, field_count_error(row, self.columns))


class RowStager:
    """The streaming loops' shared bookkeeping (customer-number and unit files): good rows
    batched into the staging table, whether two may share a supply point and month
    (StagedFile.may_repeat: the loops keep only the last point's months), and the fast path of
    a row whose supply point and month cells were found good before and whose amount is a plain
    number below the bound (no check repeated)."""

    def __init__(self, staged: StagedFile, conn, staging: Table) -> None:
        self.staged, self.conn, self.staging = staged, conn, staging
        self.batch: list[tuple] = []
        self.cur, self.repeat = 0, False  # the last row's supply point
        self.cur_months: set[int] = set()  # its months
        self.good_months: dict[str, int] = {}  # a month cell as written, found good -> yyyymm
        self.amounts: dict[str, float] = {}    # a plain amount cell -> its value (kWh and m3 repeat)
        self._plain = _PLAIN_AMOUNT.match
        if staged.direct is not None:  # the key refuses a repeated (point, month): no bookkeeping
            self.add = self._add_direct  # type: ignore[method-assign]

    def fast(self, line: int, hit: tuple[int, float], month_cell: str, amount: str) -> bool:
        """Stage the row when ``hit`` (its point's id, the amount its bound allows) lets it
        pass unchecked; False: check it in full."""
        month = self.good_months.get(month_cell)
        value = self.amounts.get(amount)
        if value is None and self._plain(amount):
            value = float(amount)
            if len(self.amounts) < PointIds.CACHE:
                self.amounts[amount] = value
        if month is None or value is None or value >= hit[1]:
            return False
        self.add(line, hit[0], month, amount, None, None)
        return True

    def good_month(self, cell: str, month: int) -> None:
        if len(self.good_months) < PointIds.CACHE:
            self.good_months[cell] = month

    def add(self, line: int, pid: int, month: int, amount: str, tariff: str | None, bound: str | None) -> None:
        self.batch.append((line, pid, month, amount, tariff, bound))
        if pid == self.cur:
            self.repeat = self.repeat or month in self.cur_months
            self.cur_months.add(month)
        else:
            self.repeat = self.repeat or pid != self.staged.points.last
            self.cur, self.cur_months = pid, {month}
        if len(self.batch) >= BATCH:
            self.staged.stage(self.conn, self.staging, self.batch)
            self.batch = []

    def _add_direct(self, line: int, pid: int, month: int, amount: str, tariff: str | None,
                    bound: str | None) -> None:
        self.batch.append((line, pid, month, amount, tariff, bound))
        if len(self.batch) >= BATCH:
            self.staged.stage(self.conn, self.staging, self.batch)
            self.batch = []

    def close(self) -> None:
        self.staged.stage(self.conn, self.staging, self.batch)
        self.batch = []
        self.staged.may_repeat = self.repeat


def start_readings(session, conn, path: Path, started) -> ImportRun:
    """The readings import's run (its id marks the rows it writes), and on PostgreSQL the lock
    that keeps imports of readings one at a time (the new rows go in with a plain INSERT, or
    straight from the file: core.readings_direct)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": IMPORT_LOCK})
    return open_run(session, "usage", path, ImportResult(None, 0), started)


DIRECT_WRITES = True  # PostgreSQL: try core.readings_direct first (tests compare both ways)


def read_readings(db: Database, conn, new_staged: Callable[[], StagedFile], read: Callable[[StagedFile], None],
                  *, run: ImportRun, clock: Clock, resolve: bool) -> StagedFile:
    """The streaming pass over a readings file: ``read`` fills a StagedFile made by
    ``new_staged``. On PostgreSQL the rows are first written straight into meter_readings
    (core.readings_direct) under a savepoint; a file that needs the staged way after all is
    rolled back to it and read again, staged."""
    if conn.dialect.name == "postgresql" and DIRECT_WRITES:
        staged = new_staged()
        direct = staged.direct = DirectWriter(db.engine, run.id, utcnow_naive(clock), resolve=resolve)
        conn.exec_driver_sql("SAVEPOINT readings_direct")
        try:
            read(staged)
        except Exception as exc:
            if not (isinstance(exc, DirectFallback) or _key_refused(exc)):
                raise
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT readings_direct")
        else:
            conn.exec_driver_sql("RELEASE SAVEPOINT readings_direct")
            return staged
        finally:
            direct.close()
    staged = new_staged()
    read(staged)
    return staged


def _key_refused(exc: BaseException) -> bool:
    """A unique violation (SQLSTATE 23505), from the driver or wrapped by SQLAlchemy."""
    return "23505" in (getattr(exc, "sqlstate", None), getattr(getattr(exc, "orig", None), "sqlstate", None))


def finish_readings(session, conn, staged: StagedFile, *, run: ImportRun, skip_invalid: bool, clock: Clock,
                    resolve: bool = True, unregistered: str = "supply points nobody has registered yet"
                    ) -> ImportResult:
    """The set-based half shared by the customer-number and the unit files, once the good rows
    are staged: companies resolved (``resolve``), duplicates settled, the whole file refused or
    its rejects written, then the audited upsert into meter_readings, outlier flags and the
    invalidation of prepared balance figures, all in the caller's transaction. Rows written
    straight into meter_readings (``staged.direct``) are all new: only the counts, flags and
    invalidation are left for them."""
    now = utcnow_naive(clock)
    problems, path = staged.problems, staged.path
    direct = staged.direct
    staged.points = PointIds()  # frees the map
    conn.execute(text("CREATE INDEX ix_tmp_usage_points_key ON tmp_usage_points (resource, supply_key_hash, company)"))
    if conn.dialect.name == "postgresql":
        analyze_temporary(conn, "tmp_usage_import", "tmp_usage_points")  # hash joins and aggregates
    ambiguous = resolve_companies(conn, problems) if resolve and direct is None else set()
    notices: list[RowError] = []
    conflicts: set[int] = set()
    if _merge_points(conn) or (staged.may_repeat and direct is None):
        notices, conflicts = _settle_duplicates_sql(conn, problems)
    conflicts |= ambiguous
    errors = [RowError(row.line, reason) for row, reason in problems.rejects()]
    if staged.syntax:
        extra = [RowError(0, msg("csv.syntax_not_skippable"))] if skip_invalid else []
        raise ImportRejected([*staged.syntax, *errors, *extra])
    if errors and not skip_invalid:
        raise ImportRejected(errors)
    result = ImportResult(None, staged.total, rejected=len(errors), errors=errors, notices=notices)
    if errors:
        rejects = problems.rejects()
        if conflicts:
            raw_of = cells_of_lines(path, staged.header, conflicts, staged.encoding, staged.optional)
            rejects = [(CsvRow(row.line, row.values, raw_of.get(row.line, row.raw)), reason)
                       for row, reason in rejects]
        result.rejected_file = str(write_rejects(path, staged.columns, rejects))
    if notices:
        result.extra["duplicate rows counted once"] = len(notices)
    good = direct.written if direct else conn.execute(text("SELECT COUNT(*) FROM tmp_usage_import")).scalar_one()
    run.status = "partial" if result.rejected else "succeeded"
    run.rows_total, run.rows_rejected, run.rejected_file = result.rows_total, result.rejected, result.rejected_file
    params = {"run": run.id, "now": now}
    if direct is not None:
        result.inserted = direct.written
        flags = len(direct.flags)
        for start in range(0, flags, BATCH):
            conn.execute(text(
                "INSERT INTO import_changes (import_run_id, kind, key, old_value, new_value, changed_at)"
                f" VALUES (:run, '{OUTLIER_KIND}', :key, :bound, :amount, :now)").bindparams(_NOW),
                [{**params, "key": k, "bound": b, "amount": a} for k, b, a in direct.flags[start:start + BATCH]])
        return _finish_run(conn, run, result, good, clock, unregistered, 0, flags)
    if conflicts:  # supply points none of whose rows are left
        conn.execute(text("DELETE FROM tmp_usage_points WHERE NOT EXISTS (SELECT 1 FROM tmp_usage_import s"
                          " WHERE s.point = tmp_usage_points.id)"))
    # Whether any of the file's supply points has readings already (else every row is new: no
    # audit, no update, no probe a row).
    known = conn.execute(text(
        "SELECT 1 FROM tmp_usage_points p WHERE EXISTS (SELECT 1 FROM meter_readings r"
        " WHERE r.resource = p.resource AND r.supply_key_hash = p.supply_key_hash AND r.company = p.company)"
        " LIMIT 1")).first() is not None
    tariffs = 0
    if known:
        # The changed readings' audit, before they change (the key names the supply point:
        # resource, company and hash, as meter_readings' primary key does).
        result.changed = conn.execute(text(
            "INSERT INTO import_changes (import_run_id, kind, key, old_value, new_value, changed_at)"
            f" SELECT :run, 'reading', {_SQL_KEY}, r.amount, s.amount, :now FROM {_STAGED}"
            f" JOIN meter_readings r ON {_SAME_READING} WHERE r.amount <> s.amount").bindparams(_NOW), params).rowcount
        tariffs = conn.execute(text(
            f"SELECT COUNT(*) FROM {_STAGED} JOIN meter_readings r ON {_SAME_READING}"
            " WHERE s.tariff IS NOT NULL AND COALESCE(r.tariff, '') <> s.tariff")).scalar_one() \
            if staged.tariffs else 0
        # Months already there and changed are updated; a tariff not given (NULL) keeps the
        # month's tariff, one given replaces it. Unchanged rows are not touched.
        conn.execute(text(
            "UPDATE meter_readings SET amount = s.amount, tariff = COALESCE(s.tariff, meter_readings.tariff),"
            " import_run_id = :run, updated_at = :now FROM (SELECT p.resource, p.supply_key_hash, p.company,"
            f" s.month, s.amount, s.tariff FROM {_STAGED}) s"
            " WHERE meter_readings.resource = s.resource AND meter_readings.supply_key_hash = s.supply_key_hash"
            " AND meter_readings.company = s.company AND meter_readings.month = s.month"
            " AND (meter_readings.amount <> s.amount OR (s.tariff IS NOT NULL"
            " AND COALESCE(meter_readings.tariff, '') <> s.tariff))").bindparams(_NOW), params)
    # New months: a plain INSERT of the rows not there (no ON CONFLICT: PostgreSQL's speculative
    # insertion doubles the cost of a row), in the primary key's order. SQLite: its
    # meter_readings is its primary key (appends, not random inserts), and the points' index
    # and the staging key give that order without a sort. PostgreSQL: one statement a
    # resource, sorted by the hash first ("C" order: abbreviated keys, no locale), so the
    # key's index is filled in order too (random inserts cost the index twice as much).
    absent = f" AND NOT EXISTS (SELECT 1 FROM meter_readings r WHERE {_SAME_READING})" if known else ""
    insert = ("INSERT INTO meter_readings (resource, supply_key_hash, company, month, amount, tariff,"
              " import_run_id, updated_at) SELECT p.resource, p.supply_key_hash, p.company, s.month, s.amount,"
              f" s.tariff, :run, :now FROM {_STAGED}")
    if conn.dialect.name == "postgresql":
        result.inserted = 0
        for (resource,) in conn.execute(text("SELECT DISTINCT resource FROM tmp_usage_points ORDER BY 1")).all():
            result.inserted += conn.execute(text(
                f"{insert} WHERE p.resource = :resource{absent} ORDER BY p.supply_key_hash COLLATE \"C\","
                " p.company COLLATE \"C\", s.month").bindparams(_NOW), {**params, "resource": resource}).rowcount
    else:
        result.inserted = conn.execute(text(
            # a point's rows come in month order by the staging key (ORDER BY ..., s.month would
            # sort every point's rows again)
            f"{insert} WHERE 1 = 1{absent} ORDER BY p.resource, p.supply_key_hash, p.company"
        ).bindparams(_NOW), params).rowcount
    flags = conn.execute(text(
        "INSERT INTO import_changes (import_run_id, kind, key, old_value, new_value, changed_at)"
        f" SELECT :run, '{OUTLIER_KIND}', {_SQL_KEY}, s.outlier_bound, s.amount, :now"
        f" FROM {_STAGED} WHERE s.outlier_bound IS NOT NULL").bindparams(_NOW), params).rowcount \
        if staged.outliers else 0
    return _finish_run(conn, run, result, good, clock, unregistered, tariffs, flags)


def _finish_run(conn, run: ImportRun, result: ImportResult, good: int, clock: Clock,
                unregistered: str, tariffs: int, flags: int) -> ImportResult:
    """Both ways' end: the count of supply points nobody has, the prepared figures of the
    members whose readings changed dropped, the run closed."""
    nobody = conn.execute(text(
        "SELECT COUNT(*) FROM tmp_usage_points u WHERE NOT EXISTS (SELECT 1 FROM resource_accounts a"
        " WHERE a.resource = u.resource AND a.supply_key_hash = u.supply_key_hash AND a.company = u.company)"
    )).scalar_one()
    # Prepared balance figures of every member whose readings this file touched are no
    # longer true: dropped in the same transaction (core.progress), made again in bulk.
    invalidate_members(conn, "SELECT a.member_id FROM resource_accounts a JOIN tmp_usage_points s"
                             " ON a.resource = s.resource AND a.supply_key_hash = s.supply_key_hash"
                             " AND a.company = s.company")
    conn.execute(text("DROP TABLE tmp_usage_import"))
    conn.execute(text("DROP TABLE tmp_usage_points"))
    close_run(run, result, good, clock)
    result.extra[unregistered] = nobody
    if tariffs:
        result.extra["months whose tariff changed"] = tariffs
    if flags:
        result.extra[f"flagged as outliers (import_changes kind '{OUTLIER_KIND}')"] = flags
    return result


def import_usage(db: Database, cipher: FieldCipher, clock: Clock, path: str | Path, *,
                 skip_invalid: bool = False, rules: Rules | None = None, encoding: str = "utf-8",
                 allow_outliers: bool = False, settings: ImportSettings | None = None) -> ImportResult:
    """Validate and import a usage CSV. Raises ImportRejected (nothing written) when the file or
    any row is bad and ``skip_invalid`` is off. `settings` holds the plausibility bounds.

    Streaming and bulk: records are screened one at a time and the good ones staged through the
    driver (core.db_bulk: COPY on PostgreSQL, executemany on SQLite) in batches; duplicates are
    found in SQL; only bad rows are held in memory."""
    rules = rules or default_rules()
    path = Path(path)
    started = utcnow_naive(clock)
    bounds = (settings or ImportSettings()).monthly_bounds()
    checker = UsageChecker(rules, today_kst(clock), bounds, allow_outliers,
                           lambda resource, number: supply_key_hash(cipher, resource, number))
    streams = [open_csv(path, USAGE_HEADER, encoding, USAGE_OPTIONAL)]  # file-level problems raise here
    columns = streams[0].columns
    tariff_at = columns.index("tariff") if "tariff" in columns else 0
    company_at = columns.index("company") if "company" in columns else 0
    # a resource one company supplies everywhere (KEPCO) needs no lookup
    national = {resource: national_company(resource) or "" for resource in rules.resources}
    below = {resource: float(limit) for resource, (limit, _) in bounds.items()}
    inf = float("inf")
    width, cells = len(columns), bool(tariff_at or company_at)

    def read(staged: StagedFile) -> None:
        point_of = staged.points.of
        total = 0
        # the cells (resource, number) as written of a supply point found good -> (its id, the
        # amount its bound allows): the fast path
        fast: dict[tuple[str, str], tuple[int, float]] = {}
        with staged.staging(conn) as staging:
            rows = RowStager(staged, conn, staging)
            # the file once more when the direct pass fell back (read_readings)
            stream = streams.pop() if streams else open_csv(path, USAGE_HEADER, encoding, USAGE_OPTIONAL)
            for line, raw in stream.rows(staged.syntax):
                total += 1
                if len(raw) != width:
                    staged.wrong_width(line, raw)
                    continue
                # the fast path: no tariff or company cell (else every check)
                hit = fast.get((raw[0], raw[1]))
                if hit is not None and not (cells and ((tariff_at and raw[tariff_at]) or (company_at and raw[company_at]))) \
                        and rows.fast(line, hit, raw[2], raw[3]):
                    continue
                (resource, number, hashed, month, amount, bound, tariff, masked, company), reasons = \
                    checker.check_cells(raw[0], raw[1], raw[2], raw[3], raw[tariff_at] if tariff_at else "",
                                        raw[company_at] if company_at else "")
                if reasons:
                    staged.refuse(line, raw, reasons)
                    continue
                assert number is not None and hashed is not None
                staged.tariffs = staged.tariffs or tariff is not None
                staged.outliers = staged.outliers or bound is not None
                pid = point_of(resource, hashed, company or national.get(resource, ""), masked)
                if not company and not (tariff_at and raw[tariff_at]):
                    if len(fast) >= PointIds.CACHE:
                        fast.clear()
                    fast[(raw[0], raw[1])] = (pid, below.get(resource, inf))
                rows.good_month(raw[2], month)
                rows.add(line, pid, month, amount, tariff, None if bound is None else str(bound))
            rows.close()
        staged.total = total

    with db.transaction() as session, bulk_connection(session) as conn:
        run = start_readings(session, conn, path, started)
        staged = read_readings(db, conn, lambda: StagedFile(path, encoding, USAGE_HEADER, USAGE_OPTIONAL, columns),
                               read, run=run, clock=clock, resolve=True)
        return finish_readings(session, conn, staged, run=run, skip_invalid=skip_invalid, clock=clock)
