"""Usage import: `flask --app webhooks cpoint import-usage FILE.csv` (spec §4, §5; issue 3).

File: UTF-8 CSV (a BOM is accepted) with the header ``resource,customer_number,month,amount``.

- resource: one of the rules' resources (electricity, water, gas);
- customer_number: the customer number, or the data provider's unit key for managed-fee billing;
  spaces and hyphens are removed; stored only as the keyed hash ``supply_key_hash`` (an
  RRN-shaped value is refused and never echoed);
- month: ``YYYY-MM``, not after the current month (Asia/Seoul);
- amount: a non-negative decimal in kWh or m3 with at most 3 decimals (``1234``, ``12.5``).

The whole file is validated first. Any bad row (also a key repeated inside the file) rejects the
file with every problem listed by line number and nothing is written (:class:`ImportRejected`).
With ``skip_invalid`` the good rows are imported and the rejected ones written beside the input
as ``<name>.rejected.csv`` with the reason. Re-importing a month replaces its value and records
the old and new value in ``import_changes``; unchanged values are not touched. Readings for
customer numbers nobody has registered are kept (the member who registers later has history).

The write is one transaction: rows are staged in a temporary table with batched inserts, the
changes are audited and the readings upserted with two set-based statements (``INSERT ... ON
CONFLICT DO UPDATE ... WHERE changed``, identical on SQLite and PostgreSQL).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Iterable, Sequence

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, bindparam, text

from core.clock import Clock, today_kst, utcnow_naive
from core.crypto import FieldCipher
from core.db import Database
from core.models.usage import AMOUNT, ImportRun
from core.pii import RRN_MASK, contains_rrn, digits_only, mask_number
from core.points.periods import month_of
from core.rules import Rules, default_rules

USAGE_HEADER = ("resource", "customer_number", "month", "amount")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
AMOUNT_RE = re.compile(r"^\d{1,11}(\.\d{1,3})?$")
MAX_KEY_LEN = 40
KEY_RE = re.compile(r"^[0-9A-Za-z]+$")
_NOW = bindparam("now", type_=DateTime())
BATCH = 5000


# --- shared CSV machinery (also used by the activities and payout-result imports) ------------

@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportRejected(Exception):
    """The file was not imported; ``errors`` lists every problem by line number."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors = list(errors)
        super().__init__(f"{len(self.errors)} problem(s)")


@dataclass
class CsvRow:
    line: int
    values: dict[str, str]
    raw: list[str]


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


def read_operator_csv(path: Path, header: Sequence[str]) -> list[CsvRow]:
    """Rows of an operator CSV as dicts, with their line numbers. Raises ImportRejected for
    problems of the file as a whole (encoding, header); blank lines are skipped; a row with the
    wrong number of fields is a row error collected by the caller (values = {})."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportRejected([RowError(0, f"cannot read {path}: {exc.strerror or exc}")]) from None
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ImportRejected([RowError(line, "the file is not UTF-8 text")]) from None
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        first = next(reader, None)
    except csv.Error as exc:
        raise ImportRejected([RowError(1, f"unreadable CSV: {exc}")]) from None
    if first is None:
        raise ImportRejected([RowError(1, "the file is empty")])
    got = [h.strip().lower() for h in first]
    if got != list(header):
        raise ImportRejected([RowError(1, f"header must be {','.join(header)} (got {','.join(first)})")])
    rows: list[CsvRow] = []
    try:
        for raw in reader:
            line = reader.line_num
            if not raw or all(not v.strip() for v in raw):
                continue
            if len(raw) != len(header):
                rows.append(CsvRow(line, {}, raw))
                continue
            rows.append(CsvRow(line, {h: v.strip() for h, v in zip(header, raw)}, raw))
    except csv.Error as exc:
        raise ImportRejected([RowError(reader.line_num, f"unreadable CSV: {exc}")]) from None
    return rows


def field_count_error(row: CsvRow, header: Sequence[str]) -> str:
    return f"expected {len(header)} fields ({','.join(header)}), got {len(row.raw)}"


def parse_quantity(value: str, what: str = "amount") -> tuple[Decimal | None, str | None]:
    """A non-negative plain decimal with at most 3 decimals, else (None, reason)."""
    if value == "":
        return None, f"{what} is empty"
    if value.startswith("-"):
        return None, f"{what} must not be negative: {value!r}"
    if not AMOUNT_RE.match(value):
        return None, f"{what} must be a non-negative decimal with at most 3 decimals: {value!r}"
    try:
        return Decimal(value), None
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return None, f"{what} is not a number: {value!r}"


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


def mark_duplicates(keyed: list[tuple[tuple, CsvRow]], describe: Callable[[tuple], str]
                    ) -> dict[int, str]:
    """Rows whose key repeats inside the file: {line: reason} for every occurrence."""
    seen: dict[tuple, list[int]] = {}
    for key, row in keyed:
        seen.setdefault(key, []).append(row.line)
    problems: dict[int, str] = {}
    for key, lines in seen.items():
        if len(lines) < 2:
            continue
        for line in lines:
            others = ", ".join(str(x) for x in lines if x != line)
            problems[line] = f"duplicate key {describe(key)} (also on line {others})"
    return problems


# --- usage --------------------------------------------------------------------------------

def normalise_customer_number(value: str) -> str:
    return digits_only(value)


def supply_key_hash(cipher: FieldCipher, resource: str, customer_number: str) -> str:
    """The key readings and ResourceAccount.supply_key_hash share (signup must use the same)."""
    return cipher.keyed_hash(normalise_customer_number(customer_number), purpose=resource)


@dataclass(frozen=True)
class UsageRow:
    line: int
    resource: str
    customer_number: str
    month: int
    amount: Decimal


def parse_month(value: str, today: date) -> tuple[int | None, str | None]:
    m = MONTH_RE.match(value)
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1990:
        return None, f"month must be YYYY-MM: {value!r}"
    month = int(m.group(1)) * 100 + int(m.group(2))
    if month > month_of(today):
        return None, f"month {value} is in the future"
    return month, None


def validate_usage(rows: list[CsvRow], rules: Rules, today: date
                   ) -> tuple[list[UsageRow], list[tuple[CsvRow, str]]]:
    """Good rows and (row, reason) for every bad one, in file order."""
    good: list[tuple[UsageRow, CsvRow]] = []
    bad: dict[int, tuple[CsvRow, list[str]]] = {}

    def problem(row: CsvRow, reason: str) -> None:
        bad.setdefault(row.line, (row, []))[1].append(reason)

    for row in rows:
        if not row.values:
            problem(row, field_count_error(row, USAGE_HEADER))
            continue
        v = row.values
        resource = v["resource"].lower()
        if resource not in rules.resources:
            problem(row, f"unknown resource {safe_cell(v['resource'])!r} "
                         f"(expected {'|'.join(rules.resources)})")
        number = normalise_customer_number(v["customer_number"])
        if not number:
            problem(row, "customer_number is empty")
        elif contains_rrn(v["customer_number"]):
            problem(row, "customer_number looks like a resident registration number; never send one")
        elif len(number) > MAX_KEY_LEN or not KEY_RE.match(number):
            problem(row, f"customer_number {mask_number(number)} must be letters and digits "
                         f"(at most {MAX_KEY_LEN})")
        month, why = parse_month(v["month"], today)
        if why:
            problem(row, why)
        amount, why = parse_quantity(v["amount"])
        if why:
            problem(row, why)
        if row.line not in bad:
            assert month is not None and amount is not None  # else problem() marked the row bad
            good.append((UsageRow(row.line, resource, number, month, amount), row))

    dupes = mark_duplicates(
        [((u.resource, u.customer_number, u.month), row) for u, row in good],
        lambda k: f"{k[0]} {mask_number(k[1])} {k[2] // 100:04d}-{k[2] % 100:02d}")
    for u, row in good:
        if u.line in dupes:
            problem(row, dupes[u.line])
    rejects = [(row, "; ".join(reasons)) for row, reasons in
               sorted(bad.values(), key=lambda item: item[0].line)]
    return [u for u, _ in good if u.line not in bad], rejects


def _staging_table() -> Table:
    return Table(
        "tmp_usage_import", MetaData(),
        Column("resource", String(16), primary_key=True),
        Column("supply_key_hash", String(64), primary_key=True),
        Column("month", Integer, primary_key=True),
        Column("amount", AMOUNT),
        prefixes=["TEMPORARY"],
    )


def screen_file(path: Path, header, validate, skip_invalid: bool):
    """Read an operator CSV and validate every row before anything is written: any problem
    raises ImportRejected listing them all by line, unless `skip_invalid`, in which case the
    rejected rows are written beside the input with their reasons. Returns
    (good rows, rejects, an ImportResult to fill)."""
    rows = read_operator_csv(path, header)
    good, rejects = validate(rows)
    errors = [RowError(row.line, reason) for row, reason in rejects]
    if rejects and not skip_invalid:
        raise ImportRejected(errors)
    result = ImportResult(None, len(rows), rejected=len(rejects), errors=errors)
    if rejects:
        result.rejected_file = str(write_rejects(path, header, rejects))
    return good, rejects, result


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
                 skip_invalid: bool = False, rules: Rules | None = None) -> ImportResult:
    """Validate and import a usage CSV. Raises ImportRejected (nothing written) when the file or
    any row is bad and ``skip_invalid`` is off."""
    rules = rules or default_rules()
    path = Path(path)
    started = utcnow_naive(clock)
    good, rejects, result = screen_file(
        path, USAGE_HEADER, lambda rows: validate_usage(rows, rules, today_kst(clock)), skip_invalid)

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
        conn.execute(text("DROP TABLE tmp_usage_import"))
        close_run(run, result, len(good), clock)
    result.extra["supply points nobody has registered yet"] = unregistered
    return result
