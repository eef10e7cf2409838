"""Unit readings: the billing company's file of a complex's managed-fee units, imported by
`flask --app webhooks cpoint import-usage FILE.csv` when the header is
``resource,complex_code,dong,ho,month,amount`` (the customer-number file is core.usage_import).

- resource: as in the customer-number file (a code or a Korean name);
- complex_code: a complex registered with `import-complexes` that bills the resource in its
  management fee (``managed:<company>``);
- dong: one of the complex's 동, bare or with its suffix (``101``, ``101동``);
- ho: the 호, bare or with its suffix (``1203``, ``1203호``); empty when the dong column holds the
  whole unit (``101-1203``, ``101동 1203호``), as some registries export it;
- month, amount: as in the customer-number file (YYYY-MM, not in the future; a plain decimal with
  at most 3 decimals, within the IMPORT_MAX_* plausibility bound unless ``allow_outliers``).

The same screening and the same streaming, set-based write as the customer-number file: each
record is checked (with the results for repeated cells remembered) and staged in batches, then
core.usage_import.finish_readings settles duplicates and upserts, exactly as for customer numbers
(core.csv_screening, core.usage_import). The whole file is validated first (every problem by line; nothing written), ASCII digits only, exact
duplicate rows counted once, conflicting ones refused naming each line, ``skip_invalid`` writes
``<name>.rejected.csv``, CP949 with ``encoding="cp949"``. Each reading is stored under the unit's
key (core.complexes.unit_supply_key_hash) under no utility company (""), so readings of units nobody has registered yet are
kept and count for the member who registers the unit later; managed-fee accounts of the unit are
then settled from them like any supply point.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from core.clock import Clock, today_kst, utcnow_naive
from core.complexes import MANAGED, ComplexUnit, msg, normalise_dong, normalise_ho, unit_supply_key_hash
from core.crypto import FieldCipher
from core.csv_screening import (
    ENCODINGS,
    UTF8_BOM,
    ImportSettings,
    ascii_digits_problem,
    header_column,
    open_csv,
)
from core.csv_screening import msg as import_msg
from core.db import Database
from core.models import ApartmentComplex
from core.rules import Rules, default_rules
from core.usage_import import (
    _PLAIN_AMOUNT,
    ImportResult,
    PointIds,
    RowStager,
    StagedFile,
    bulk_connection,
    finish_readings,
    parse_month,
    parse_quantity,
    read_readings,
    resource_of,
    safe_cell,
    start_readings,
)
from core.utility_companies import NO_COMPANY

UNIT_HEADER = ("resource", "complex_code", "dong", "ho", "month", "amount")
NOBODY = "units nobody has registered yet"
# The whole unit in the dong column with the ho column empty, as some registries export it:
# "101-1203", "101동 1203호", "101동1203호"
_UNIT_IN_ONE = re.compile(r"^(\d{1,4})\s*(?:\ub3d9\s*-?|-|\s)\s*(\d{1,5})\s*\ud638?$")  # 동, 호


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
    cells = [header_column(c.strip().strip('"'), UNIT_HEADER) for c in line.strip().split(",")]
    return tuple(cells) == UNIT_HEADER


@dataclass(frozen=True)
class ComplexInfo:
    dongs: tuple[str, ...]
    modes: Mapping[str, str]  # resource -> managed | separate | none


def complex_infos(session, codes: set[str]) -> dict[str, ComplexInfo]:
    if not codes:
        return {}
    return {cx.code: ComplexInfo(tuple(cx.dongs or ()), {r: v.get("mode", "") for r, v in (cx.resources or {}).items()})
            for cx in session.scalars(select(ApartmentComplex).where(ApartmentComplex.code.in_(codes)))}


class UnitChecker:
    """The checks of one unit row (core.usage_import.UsageChecker's counterpart): complexes are
    looked up once each, and 동, 호, months and unit keys are remembered by the cells as written,
    so a file of a million readings is screened at the speed of its distinct values."""

    CACHE = 100_000

    def __init__(self, session, cipher: FieldCipher, rules: Rules, today: date,
                 bounds: Mapping[str, tuple[Decimal, str]], allow_outliers: bool) -> None:
        self.session, self.cipher, self.rules, self.today = session, cipher, rules, today
        self.bounds, self.allow_outliers = bounds, allow_outliers
        self._resources: dict[str, tuple[str, str | None]] = {}
        self._complexes: dict[str, ComplexInfo | None] = {}
        self._dongs: dict[str, tuple[str | None, str | None]] = {}
        self._hos: dict[str, tuple[str | None, str | None]] = {}
        self._months: dict[str, tuple[int | None, str | None]] = {}
        self._keys: dict[tuple[str, ComplexUnit], str] = {}

    def _resource(self, cell: str) -> tuple[str, str | None]:
        hit = self._resources.get(cell)
        if hit is None:
            resource = resource_of(cell, self.rules) or cell.lower()
            why = None if resource in self.rules.resources else import_msg(
                "usage.unknown_resource", value=safe_cell(cell), expected="|".join(self.rules.resources))
            hit = (resource, why)
            if len(self._resources) < 1000:
                self._resources[cell] = hit
        return hit

    def _complex(self, code: str) -> ComplexInfo | None:
        if code not in self._complexes:
            if len(self._complexes) >= self.CACHE:
                self._complexes.clear()
            self._complexes[code] = complex_infos(self.session, {code}).get(code)
        return self._complexes[code]

    def _dong(self, cell: str) -> tuple[str | None, str | None]:
        return self._unit_part(self._dongs, "dong", cell, normalise_dong, "units.dong_format")

    def _ho(self, cell: str) -> tuple[str | None, str | None]:
        return self._unit_part(self._hos, "ho", cell, normalise_ho, "units.ho")

    def _unit_part(self, cache: dict[str, tuple[str | None, str | None]], field: str, cell: str,
                   normalise: Callable[[str], str | None], message: str) -> tuple[str | None, str | None]:
        """(the 동 or 호 as keyed, reason) of a cell, remembered by the cell as written."""
        hit = cache.get(cell)
        if hit is None:
            bad = ascii_digits_problem(field, cell)
            part = None if bad else normalise(cell)
            hit = (part, bad or (None if part else msg(message, value=safe_cell(cell))))
            if len(cache) < self.CACHE:
                cache[cell] = hit
        return hit

    def _month(self, cell: str) -> tuple[int | None, str | None]:
        hit = self._months.get(cell)
        if hit is None:
            hit = parse_month(cell, self.today)
            if len(self._months) < self.CACHE:
                self._months[cell] = hit
        return hit

    def _key(self, resource: str, unit: ComplexUnit) -> str:
        hit = self._keys.get((resource, unit))
        if hit is None:
            if len(self._keys) >= self.CACHE:
                self._keys.clear()
            hit = self._keys[(resource, unit)] = unit_supply_key_hash(self.cipher, resource, unit)
        return hit

    def check(self, line: int, raw: list[str]) -> tuple[tuple | None, list[str]]:
        """(the staged row in core.usage_import.STAGE_COLUMNS order, or None; reasons)."""
        resource_cell, code_cell, dong_cell, ho_cell, month_cell, amount_cell = (v.strip() for v in raw)
        reasons: list[str] = []
        whole = _UNIT_IN_ONE.match(dong_cell) if not ho_cell else None
        if whole:
            dong_cell, ho_cell = whole.group(1), whole.group(2)
        resource, why = self._resource(resource_cell)
        if why:
            reasons.append(why)
        code = code_cell.upper()
        info = self._complex(code)
        if info is None:
            reasons.append(msg("units.unknown_complex", value=safe_cell(code_cell)))
        elif why is None and info.modes.get(resource) != MANAGED:
            reasons.append(msg("units.not_managed", code=code, resource=resource,
                               mode=info.modes.get(resource) or "none"))
        dong, why = self._dong(dong_cell)
        if why:
            reasons.append(why)
        elif info is not None and dong not in info.dongs:
            reasons.append(msg("units.dong", value=dong_cell, code=code, dongs="|".join(info.dongs[:20])))
        ho, why = self._ho(ho_cell)
        if why:
            reasons.append(why)
        month, why = self._month(month_cell)
        if why:
            reasons.append(why)
        if _PLAIN_AMOUNT.match(amount_cell):
            amount: Decimal | None = Decimal(amount_cell)
        else:
            amount, why = parse_quantity(amount_cell)
            if why:
                reasons.append(why)
        bound = None
        limits = self.bounds.get(resource)
        if amount is not None and limits is not None and amount > limits[0]:
            bound, env = limits
            if not self.allow_outliers:
                reasons.append(import_msg("usage.outlier", amount=amount, resource=resource, bound=bound,
                                          env=env, unit=import_msg(f"usage.units.{resource}")))
        if reasons:
            return None, reasons
        assert dong is not None and ho is not None and month is not None and amount is not None
        unit = ComplexUnit(code, dong, ho)
        point = (resource, self._key(resource, unit), f"{code} {unit.detail}")
        return (line, resource, point[1], NO_COMPANY, month, str(amount), None,
                None if bound is None else str(bound), point[2]), reasons


def import_unit_readings(db: Database, cipher: FieldCipher, clock: Clock, path: str | Path, *,
                         skip_invalid: bool = False, rules: Rules | None = None, encoding: str = "utf-8",
                         allow_outliers: bool = False, settings: ImportSettings | None = None) -> ImportResult:
    """Validate and import a unit-readings CSV (ImportRejected, nothing written, when any row
    is bad and ``skip_invalid`` is off). One transaction, streamed: the same staging, duplicate
    settling, audited upsert and flags as core.usage_import.import_usage (finish_readings)."""
    rules = rules or default_rules()
    path = Path(path)
    started = utcnow_naive(clock)
    bounds = (settings or ImportSettings()).monthly_bounds()
    streams = [open_csv(path, UNIT_HEADER, encoding)]  # file-level problems raise here
    columns = streams[0].columns
    width = len(columns)
    below = {resource: float(limit) for resource, (limit, _) in bounds.items()}
    inf = float("inf")
    with db.transaction() as session, bulk_connection(session) as conn, ExitStack() as lookups:
        # PostgreSQL: the complexes are read on a connection of their own, as the rows' COPY
        # holds the import's open (closing it for each new complex code would wait for the
        # server to take every row sent). SQLite stages with plain inserts: its own session.
        checker = UnitChecker(lookups.enter_context(db.transaction(deferred=True)) if db.is_postgres else session,
                              cipher, rules, today_kst(clock), bounds, allow_outliers)

        def read(staged: StagedFile) -> None:
            point_of = staged.points.of
            # the cells (resource, complex, 동, 호) as written of a unit found good -> (its supply
            # point's id, the amount its bound allows): the fast path
            fast: dict[tuple[str, ...], tuple[int, float]] = {}
            # the file once more when the direct pass fell back (read_readings)
            stream = streams.pop() if streams else open_csv(path, UNIT_HEADER, encoding)
            with staged.staging(conn) as staging:
                rows = RowStager(staged, conn, staging)
                for line, raw in stream.rows(staged.syntax):
                    staged.total += 1
                    if len(raw) != width:
                        staged.wrong_width(line, raw)
                        continue
                    hit = fast.get((raw[0], raw[1], raw[2], raw[3]))
                    if hit is not None and rows.fast(line, hit, raw[4], raw[5]):
                        continue
                    row, reasons = checker.check(line, raw)
                    if row is None:
                        staged.refuse(line, raw, reasons)
                        continue
                    staged.outliers = staged.outliers or row[7] is not None
                    pid = point_of(row[1], row[2], NO_COMPANY, row[8])
                    if len(fast) >= PointIds.CACHE:
                        fast.clear()
                    fast[(raw[0], raw[1], raw[2], raw[3])] = (pid, below.get(row[1], inf))
                    rows.good_month(raw[4], row[4])
                    rows.add(line, pid, row[4], row[5], None, row[7])
                rows.close()

        run = start_readings(session, conn, path, started)
        staged = read_readings(db, conn, lambda: StagedFile(path, encoding, UNIT_HEADER, (), columns), read,
                               run=run, clock=clock, resolve=False)
        return finish_readings(session, conn, staged, run=run, skip_invalid=skip_invalid, clock=clock,
                               resolve=False, unregistered=NOBODY)
