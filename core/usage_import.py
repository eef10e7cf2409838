"""Usage import: `flask --app webhooks cpoint import-usage FILE.csv` (spec §4, §5; issue 3).

File: CSV with the header ``resource,customer_number,month,amount``, UTF-8 (a BOM is accepted) or,
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

The write is one transaction: rows are staged in a temporary table with batched inserts, the
changes are audited and the readings upserted with two set-based statements (``INSERT ... ON
CONFLICT DO UPDATE ... WHERE changed``, identical on SQLite and PostgreSQL).
"""
from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, bindparam, text

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
    check_customer_number,
    exact_duplicate_notice,
    field_count_error,
    find_duplicates,
    msg,
    parse_quantity,
    read_csv_file,
    read_operator_csv,
    resource_of,
)
from core.db import Database
from core.models.usage import AMOUNT, ImportChange, ImportRun
from core.pii import RRN_MASK, contains_rrn, digits_only, mask_number
from core.points.periods import month_of
from core.progress import invalidate_members
from core.rules import Rules, default_rules
from core.sqla import table_of

USAGE_HEADER = ("resource", "customer_number", "month", "amount")
MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})$")
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
        writer = csv.writer(fh)
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


def reading_key(resource: str, key_hash: str, month: int) -> str:
    """import_changes.key of a reading (the SQL audit builds the same string)."""
    return f"{resource}:{key_hash}:{month}"


@dataclass(frozen=True)
class UsageRow:
    line: int
    resource: str
    customer_number: str
    month: int
    amount: Decimal
    outlier_bound: Decimal | None = None  # set when imported above the plausibility bound


def parse_month(value: str, today: date) -> tuple[int | None, str | None]:
    bad = ascii_digits_problem("month", value)
    if bad:
        return None, bad
    m = MONTH_RE.match(value)
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1990:
        return None, msg("usage.month", value=value)
    month = int(m.group(1)) * 100 + int(m.group(2))
    if month > month_of(today):
        return None, msg("usage.future", value=value)
    return month, None


def _month_text(month: int) -> str:
    return f"{month // 100:04d}-{month % 100:02d}"


def validate_usage(rows: list[CsvRow], rules: Rules, today: date, *,
                   bounds: Mapping[str, tuple[Decimal, str]] | None = None,
                   allow_outliers: bool = False) -> Screened:
    """Good rows (one per key) and (row, reason) for every bad one, in file order. `bounds`:
    resource -> (largest plausible monthly amount, its setting); a row above it is refused, or
    kept with `outlier_bound` set when `allow_outliers`."""
    bounds = bounds if bounds is not None else ImportSettings().monthly_bounds()
    good: list[tuple[UsageRow, CsvRow]] = []
    problems = Problems()
    for row in rows:
        if not row.values:
            problems.add(row, field_count_error(row, USAGE_HEADER))
            continue
        v = row.values
        resource = resource_of(v["resource"], rules) or v["resource"].lower()
        if resource not in rules.resources:
            problems.add(row, msg("usage.unknown_resource", value=safe_cell(v["resource"]),
                                  expected="|".join(rules.resources)))
        number, why = check_customer_number(resource, v["customer_number"], rules)
        problems.add(row, why)
        month, why = parse_month(v["month"], today)
        problems.add(row, why)
        amount, why = parse_quantity(v["amount"])
        problems.add(row, why)
        bound = None
        if amount is not None and resource in bounds and amount > bounds[resource][0]:
            bound, env = bounds[resource]
            if not allow_outliers:
                problems.add(row, msg("usage.outlier", amount=amount, resource=resource, bound=bound,
                                      env=env, unit=msg(f"usage.units.{resource}")))
        if row.line not in problems:
            assert number is not None and month is not None and amount is not None
            good.append((UsageRow(row.line, resource, number, month, amount, bound), row))
    dupes = find_duplicates(
        [((u.resource, u.customer_number, u.month), u.amount, row) for u, row in good],
        lambda k: f"{k[0]} {mask_number(k[1])} {_month_text(k[2])}")
    return settle_duplicates(good, problems, dupes)


def _staging_table() -> Table:
    return Table(
        "tmp_usage_import", MetaData(),
        Column("resource", String(16), primary_key=True),
        Column("supply_key_hash", String(64), primary_key=True),
        Column("month", Integer, primary_key=True),
        Column("amount", AMOUNT),
        prefixes=["TEMPORARY"],
    )


def screen_file(path: Path, header, validate: Callable[[list[CsvRow]], Screened], skip_invalid: bool,
                encoding: str = "utf-8"):
    """Read an operator CSV and validate every row before anything is written: any problem
    raises ImportRejected listing them all by line, unless `skip_invalid`, in which case the
    rejected rows are written beside the input with their reasons. A CSV syntax error rejects
    the file even then (the rows around it cannot be told apart). Returns (good rows, rejects,
    an ImportResult to fill)."""
    parsed = read_csv_file(path, header, encoding)
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
        result.rejected_file = str(write_rejects(path, header, screened.rejects))
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


def import_usage(db: Database, cipher: FieldCipher, clock: Clock, path: str | Path, *,
                 skip_invalid: bool = False, rules: Rules | None = None, encoding: str = "utf-8",
                 allow_outliers: bool = False, settings: ImportSettings | None = None) -> ImportResult:
    """Validate and import a usage CSV. Raises ImportRejected (nothing written) when the file or
    any row is bad and ``skip_invalid`` is off. `settings` holds the plausibility bounds."""
    rules = rules or default_rules()
    path = Path(path)
    started = utcnow_naive(clock)
    bounds = (settings or ImportSettings()).monthly_bounds()
    good, rejects, result = screen_file(
        path, USAGE_HEADER,
        lambda rows: validate_usage(rows, rules, today_kst(clock), bounds=bounds, allow_outliers=allow_outliers),
        skip_invalid, encoding)

    staging = _staging_table()
    now = utcnow_naive(clock)
    with db.transaction() as session:
        run = open_run(session, "usage", path, result, started)
        conn = session.connection()
        stage_rows(conn, staging, [{"resource": u.resource,
                                    "supply_key_hash": supply_key_hash(cipher, u.resource, u.customer_number),
                                    "month": u.month, "amount": u.amount} for u in good])  # dropped below
        params = {"run": run.id, "now": now}
        result.inserted = conn.execute(text(
            "SELECT COUNT(*) FROM tmp_usage_import s WHERE NOT EXISTS (SELECT 1 FROM meter_readings r"
            " WHERE r.resource = s.resource AND r.supply_key_hash = s.supply_key_hash"
            " AND r.month = s.month)")).scalar_one()
        result.changed = conn.execute(text(
            "INSERT INTO import_changes (import_run_id, kind, key, old_value, new_value, changed_at)"
            " SELECT :run, 'reading', s.resource || ':' || s.supply_key_hash || ':' ||"
            " CAST(s.month AS VARCHAR(6)), r.amount, s.amount, :now"
            " FROM tmp_usage_import s JOIN meter_readings r ON r.resource = s.resource"
            " AND r.supply_key_hash = s.supply_key_hash AND r.month = s.month"
            " WHERE r.amount <> s.amount").bindparams(_NOW), params).rowcount
        conn.execute(text(
            "INSERT INTO meter_readings (resource, supply_key_hash, month, amount, import_run_id, updated_at)"
            " SELECT s.resource, s.supply_key_hash, s.month, s.amount, :run, :now"
            " FROM tmp_usage_import s WHERE 1 = 1"
            " ON CONFLICT (resource, supply_key_hash, month) DO UPDATE SET amount = excluded.amount,"
            " import_run_id = excluded.import_run_id, updated_at = excluded.updated_at"
            " WHERE meter_readings.amount <> excluded.amount").bindparams(_NOW), params)
        unregistered = conn.execute(text(
            "SELECT COUNT(*) FROM (SELECT DISTINCT s.resource, s.supply_key_hash"
            " FROM tmp_usage_import s WHERE NOT EXISTS (SELECT 1 FROM resource_accounts a"
            " WHERE a.resource = s.resource AND a.supply_key_hash = s.supply_key_hash)) u"
        )).scalar_one()
        # Prepared balance figures of every member whose readings this file touched are no
        # longer true: dropped in the same transaction (core.progress), made again in bulk.
        invalidate_members(conn, "SELECT a.member_id FROM resource_accounts a JOIN tmp_usage_import s"
                                 " ON a.resource = s.resource AND a.supply_key_hash = s.supply_key_hash")
        conn.execute(text("DROP TABLE tmp_usage_import"))
        flags = [{"import_run_id": run.id, "kind": OUTLIER_KIND,
                  "key": reading_key(u.resource, supply_key_hash(cipher, u.resource, u.customer_number), u.month),
                  "old_value": u.outlier_bound, "new_value": u.amount, "changed_at": now}
                 for u in good if u.outlier_bound is not None]
        if flags:
            conn.execute(table_of(ImportChange).insert(), flags)
        close_run(run, result, len(good), clock)
    result.extra["supply points nobody has registered yet"] = unregistered
    if flags:
        result.extra[f"flagged as outliers (import_changes kind '{OUTLIER_KIND}')"] = len(flags)
    return result
