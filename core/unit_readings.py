"""Unit readings: the billing company's file of a complex's managed-fee units, imported by
`flask --app webhooks cpoint import-usage FILE.csv` when the header is
``resource,complex_code,dong,ho,month,amount`` (the customer-number file is core.usage_import).

- resource: as in the customer-number file (a code or a Korean name);
- complex_code: a complex registered with `import-complexes` that bills the resource in its
  management fee (``managed:<company>``);
- dong: one of the complex's 동, bare or with its suffix (``101``, ``101동``);
- ho: the 호, bare or with its suffix (``1203``, ``1203호``);
- month, amount: as in the customer-number file (YYYY-MM, not in the future; a plain decimal with
  at most 3 decimals, within the IMPORT_MAX_* plausibility bound unless ``allow_outliers``).

The same screening as the customer-number file (core.csv_screening, core.usage_import): the whole
file is validated first (every problem by line; nothing written), ASCII digits only, exact
duplicate rows counted once, conflicting ones refused naming each line, ``skip_invalid`` writes
``<name>.rejected.csv``, CP949 with ``encoding="cp949"``. Each reading is stored under the unit's
key (core.complexes.unit_supply_key_hash), so readings of units nobody has registered yet are
kept and count for the member who registers the unit later; managed-fee accounts of the unit are
then settled from them like any supply point.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, bindparam, select, text

from core.clock import Clock, today_kst, utcnow_naive
from core.complexes import MANAGED, ComplexUnit, msg, normalise_dong, normalise_ho, unit_supply_key_hash
from core.crypto import FieldCipher
from core.csv_screening import (
    ENCODINGS,
    UTF8_BOM,
    CsvRow,
    ImportSettings,
    ascii_digits_problem,
    field_count_error,
    find_duplicates,
)
from core.csv_screening import msg as import_msg
from core.db import Database
from core.models import ApartmentComplex, ImportChange
from core.models.usage import AMOUNT
from core.rules import Rules, default_rules
from core.sqla import table_of
from core.usage_import import (
    OUTLIER_KIND,
    ImportResult,
    Problems,
    Screened,
    close_run,
    open_run,
    parse_month,
    parse_quantity,
    reading_key,
    resource_of,
    safe_cell,
    screen_file,
    settle_duplicates,
    stage_rows,
)

UNIT_HEADER = ("resource", "complex_code", "dong", "ho", "month", "amount")
_NOW = bindparam("now", type_=DateTime())


def is_unit_file(path: str | Path, encoding: str = "utf-8") -> bool:
    """Does the file start with the unit file's header? (Anything unreadable: no, and the
    customer-number import reports what is wrong with it.)"""
    try:
        with Path(path).open("rb") as fh:
            first = fh.readline(4096)
        if first.startswith(UTF8_BOM):
            first = first[len(UTF8_BOM):]
        line = first.decode(ENCODINGS.get((encoding or "").lower(), "utf-8"))
    except (OSError, UnicodeDecodeError, LookupError):
        return False
    cells = [c.strip().strip('"').strip().lower() for c in line.strip().split(",")]
    return tuple(cells) == UNIT_HEADER


@dataclass(frozen=True)
class UnitRow:
    line: int
    resource: str
    unit: ComplexUnit
    month: int
    amount: Decimal
    outlier_bound: Decimal | None = None


@dataclass(frozen=True)
class ComplexInfo:
    dongs: tuple[str, ...]
    modes: Mapping[str, str]  # resource -> managed | separate | none


def complex_infos(session, codes: set[str]) -> dict[str, ComplexInfo]:
    if not codes:
        return {}
    return {cx.code: ComplexInfo(tuple(cx.dongs or ()), {r: v.get("mode", "") for r, v in (cx.resources or {}).items()})
            for cx in session.scalars(select(ApartmentComplex).where(ApartmentComplex.code.in_(codes)))}


def validate_units(rows: list[CsvRow], rules: Rules, today: date, complexes: Mapping[str, ComplexInfo], *,
                   bounds: Mapping[str, tuple[Decimal, str]] | None = None,
                   allow_outliers: bool = False) -> Screened:
    bounds = bounds if bounds is not None else ImportSettings().monthly_bounds()
    good: list[tuple[UnitRow, CsvRow]] = []
    problems = Problems()
    for row in rows:
        if not row.values:
            problems.add(row, field_count_error(row, UNIT_HEADER))
            continue
        v = row.values
        resource = resource_of(v["resource"], rules) or v["resource"].lower()
        if resource not in rules.resources:
            problems.add(row, import_msg("usage.unknown_resource", value=safe_cell(v["resource"]),
                                         expected="|".join(rules.resources)))
        code = v["complex_code"].upper()
        info = complexes.get(code)
        if info is None:
            problems.add(row, msg("units.unknown_complex", value=safe_cell(v["complex_code"])))
        elif resource in rules.resources and info.modes.get(resource) != MANAGED:
            problems.add(row, msg("units.not_managed", code=code, resource=resource,
                                  mode=info.modes.get(resource) or "none"))
        dong = None
        bad = ascii_digits_problem("dong", v["dong"])
        if bad:
            problems.add(row, bad)
        else:
            dong = normalise_dong(v["dong"])
            if dong is None:
                problems.add(row, msg("units.dong_format", value=safe_cell(v["dong"])))
            elif info is not None and dong not in info.dongs:
                problems.add(row, msg("units.dong", value=v["dong"], code=code, dongs="|".join(info.dongs[:20])))
        ho = None
        bad = ascii_digits_problem("ho", v["ho"])
        if bad:
            problems.add(row, bad)
        else:
            ho = normalise_ho(v["ho"])
            if ho is None:
                problems.add(row, msg("units.ho", value=safe_cell(v["ho"])))
        month, why = parse_month(v["month"], today)
        problems.add(row, why)
        amount, why = parse_quantity(v["amount"])
        problems.add(row, why)
        bound = None
        if amount is not None and resource in bounds and amount > bounds[resource][0]:
            bound, env = bounds[resource]
            if not allow_outliers:
                problems.add(row, import_msg("usage.outlier", amount=amount, resource=resource, bound=bound,
                                             env=env, unit=import_msg(f"usage.units.{resource}")))
        if row.line not in problems:
            assert dong is not None and ho is not None and month is not None and amount is not None
            good.append((UnitRow(row.line, resource, ComplexUnit(code, dong, ho), month, amount, bound), row))
    dupes = find_duplicates(
        [((u.resource, u.unit, u.month), u.amount, row) for u, row in good],
        lambda k: f"{k[0]} {k[1].code} {k[1].detail} {k[2] // 100:04d}-{k[2] % 100:02d}")
    return settle_duplicates(good, problems, dupes)


def _staging_table() -> Table:
    return Table(
        "tmp_unit_import", MetaData(),
        Column("resource", String(16), primary_key=True),
        Column("supply_key_hash", String(64), primary_key=True),
        Column("month", Integer, primary_key=True),
        Column("amount", AMOUNT),
        prefixes=["TEMPORARY"],
    )


def import_unit_readings(db: Database, cipher: FieldCipher, clock: Clock, path: str | Path, *,
                         skip_invalid: bool = False, rules: Rules | None = None, encoding: str = "utf-8",
                         allow_outliers: bool = False, settings: ImportSettings | None = None) -> ImportResult:
    """Validate and import a unit-readings CSV (ImportRejected, nothing written, when any row
    is bad and ``skip_invalid`` is off). One transaction; the same set-based upsert and audit
    as core.usage_import.import_usage."""
    rules = rules or default_rules()
    path = Path(path)
    started = utcnow_naive(clock)
    bounds = (settings or ImportSettings()).monthly_bounds()

    def validate(rows: list[CsvRow]) -> Screened:
        codes = {r.values["complex_code"].upper() for r in rows if r.values}
        with db.session() as s:
            infos = complex_infos(s, codes)
        return validate_units(rows, rules, today_kst(clock), infos, bounds=bounds, allow_outliers=allow_outliers)

    good, _rejects, result = screen_file(path, UNIT_HEADER, validate, skip_invalid, encoding)
    staging = _staging_table()
    now = utcnow_naive(clock)
    hashes = {(u.resource, u.unit): unit_supply_key_hash(cipher, u.resource, u.unit) for u in good}
    with db.transaction() as session:
        run = open_run(session, "usage", path, result, started)
        conn = session.connection()
        stage_rows(conn, staging, [{"resource": u.resource, "supply_key_hash": hashes[(u.resource, u.unit)],
                                    "month": u.month, "amount": u.amount} for u in good])
        params = {"run": run.id, "now": now}
        result.inserted = conn.execute(text(
            "SELECT COUNT(*) FROM tmp_unit_import s WHERE NOT EXISTS (SELECT 1 FROM meter_readings r"
            " WHERE r.resource = s.resource AND r.company = '' AND r.supply_key_hash = s.supply_key_hash"
            " AND r.month = s.month)")).scalar_one()
        result.changed = conn.execute(text(
            "INSERT INTO import_changes (import_run_id, kind, key, old_value, new_value, changed_at)"
            " SELECT :run, 'reading', s.resource || ':' || s.supply_key_hash || ':' ||"
            " CAST(s.month AS VARCHAR(6)), r.amount, s.amount, :now"
            " FROM tmp_unit_import s JOIN meter_readings r ON r.resource = s.resource AND r.company = ''"
            " AND r.supply_key_hash = s.supply_key_hash AND r.month = s.month"
            " WHERE r.amount <> s.amount").bindparams(_NOW), params).rowcount
        conn.execute(text(
            "INSERT INTO meter_readings (resource, company, supply_key_hash, month, amount, import_run_id,"
            " updated_at) SELECT s.resource, '', s.supply_key_hash, s.month, s.amount, :run, :now"
            " FROM tmp_unit_import s WHERE 1 = 1"
            " ON CONFLICT (resource, company, supply_key_hash, month) DO UPDATE SET amount = excluded.amount,"
            " import_run_id = excluded.import_run_id, updated_at = excluded.updated_at"
            " WHERE meter_readings.amount <> excluded.amount").bindparams(_NOW), params)
        unregistered = conn.execute(text(
            "SELECT COUNT(*) FROM (SELECT DISTINCT s.resource, s.supply_key_hash"
            " FROM tmp_unit_import s WHERE NOT EXISTS (SELECT 1 FROM resource_accounts a"
            " WHERE a.resource = s.resource AND a.company = '' AND a.supply_key_hash = s.supply_key_hash)) u"
        )).scalar_one()
        conn.execute(text("DROP TABLE tmp_unit_import"))
        flags = [{"import_run_id": run.id, "kind": OUTLIER_KIND,
                  "key": reading_key(u.resource, hashes[(u.resource, u.unit)], u.month),
                  "old_value": u.outlier_bound, "new_value": u.amount, "changed_at": now}
                 for u in good if u.outlier_bound is not None]
        if flags:
            conn.execute(table_of(ImportChange).insert(), flags)
        close_run(run, result, len(good), clock)
    result.extra["units nobody has registered yet"] = unregistered
    if flags:
        result.extra[f"flagged as outliers (import_changes kind '{OUTLIER_KIND}')"] = len(flags)
    return result
