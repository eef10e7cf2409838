"""Registered apartment complexes: `flask --app webhooks cpoint import-complexes FILE.csv`, the
lookup signup uses, and the unit key managed-fee readings are stored under.

File: CSV (UTF-8, or CP949 with ``encoding="cp949"``) with the header
``complex_code,name,road_address,jibun_address,dongs,electricity,water,gas``:

- complex_code: the complex's code (letters, digits, ``-`` and ``_``, at most 32), upper-cased;
- name: the complex's name;
- road_address: its road-name address (도로명, "경기도 수원시 영통구 광교호수로 152"), without a unit;
- jibun_address: its lot address (지번, "경기도 수원시 영통구 이의동 1350"), or empty;
- dongs: its buildings, ``101|102|103`` (a ``동`` suffix is accepted and dropped; commas or spaces
  also separate them, and ``101-115`` or ``101동~115동`` is each 동 of the range);
- electricity, water, gas: ``managed:<billing company>`` (billed in the management fee by that
  company: signup sets it without asking), ``separate`` (billed to the household: signup asks the
  customer number) or ``none`` (not supplied: signup skips it; not allowed for electricity).

The whole file is checked first and every problem reported by line number; nothing is written
when any row is bad. Importing is idempotent: a complex is inserted or updated by its code
(complexes absent from the file are kept).

A unit of a complex is ``(complex code, 동, 호)``. Its readings (core.unit_readings) are stored
like a customer number's, under ``unit_supply_key_hash``; a member whose address is in a
complex registers its managed resources under the same key (``baseline_history = supply_point``).
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core import texts
from core.clock import Clock, utcnow_naive
from core.crypto import FieldCipher
from core.csv_screening import (
    CsvRow,
    ImportRejected,
    RowError,
    ascii_digits_problem,
    field_count_error,
    find_duplicates,
    read_operator_csv,
)
from core.db import Database
from core.local_governments import (  # noqa: F401 - normalise_dong/ho re-exported
    ParsedAddress,
    Unit,
    looks_complete,
    normalise_dong,
    normalise_ho,
    parse_address,
)
from core.models import ApartmentComplex, Member, MeterReading, ResourceAccount
from core.rules import Rules, default_rules
from core.usage_import import ImportResult, close_run, open_run

COMPLEX_HEADER = ("complex_code", "name", "road_address", "jibun_address", "dongs", "electricity", "water", "gas")
MANAGED, SEPARATE, NONE = "managed", "separate", "none"
MAX_DONGS = 300
# The dongs as registries write them: 101|102, also "101, 102" or "101동 102동", and a run of
# consecutive numbers as a range ("101-115", "101동~115동").
_DONG_SEPARATORS = re.compile(r"[|,;/\s]+")
_DONG_RANGE = re.compile(r"^(\d{1,4})\s*\ub3d9?\s*[-~]\s*(\d{1,4})\s*\ub3d9?$")  # \ub3d9: 동


def _dong_cells(text: str) -> list[str]:
    """The cells of the dongs column, a range spelled out (a range of more than MAX_DONGS, or
    backwards, is left as one cell, which the 동 check refuses)."""
    cells: list[str] = []
    for part in (text or "").split("|"):
        part = part.strip()
        for cell in [part] if _DONG_RANGE.match(part) else _DONG_SEPARATORS.split(part):
            m = _DONG_RANGE.match(cell)
            first, last = (int(m.group(1)), int(m.group(2))) if m else (0, -1)
            if m and first <= last and last - first < MAX_DONGS:
                cells.extend(str(n) for n in range(first, last + 1))
            elif cell:
                cells.append(cell)
    return cells
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


def msg(key: str, /, **fmt) -> str:
    """An operator message of core/texts/en/complexes.toml."""
    value = texts.raw(f"complexes.{key}", lang="en")
    if not isinstance(value, str):
        raise KeyError(f"complexes.{key} is not a text")
    return value.format(**fmt)


# --- units ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ComplexUnit:
    """A unit of a registered complex."""

    code: str
    dong: str
    ho: str

    @property
    def key(self) -> str:
        """The unit key readings and accounts share (never shown; hashed per resource)."""
        return f"unit:{self.code}:{self.dong}:{self.ho}"

    @property
    def detail(self) -> str:
        """The unit as the member's address detail: '101동 1203호'."""
        return Unit(dong=self.dong, ho=self.ho).text


def unit_supply_key_hash(cipher: FieldCipher, resource: str, unit: ComplexUnit) -> str:
    """ResourceAccount.supply_key_hash and MeterReading.supply_key_hash of a unit's resource."""
    return cipher.keyed_hash(unit.key, purpose=resource)


# --- addresses -----------------------------------------------------------------------------------

def address_key(parsed: ParsedAddress) -> str:
    """What a complex is matched by: the canonical base address without spaces."""
    return re.sub(r"\s+", "", parsed.base)


def find_complex(session: Session, parsed: ParsedAddress) -> ApartmentComplex | None:
    """The registered complex at this address, in its road or its lot form."""
    key = address_key(parsed)
    return session.scalars(select(ApartmentComplex).where(
        or_(ApartmentComplex.road_key == key, ApartmentComplex.jibun_key == key))
        .order_by(ApartmentComplex.code)).first()


def road_form(cx: ApartmentComplex) -> ParsedAddress:
    """The complex's road address as a parsed address (without a unit)."""
    parsed = parse_address(cx.road_address)
    assert parsed is not None  # checked on import
    return parsed


def resource_modes(cx: ApartmentComplex) -> dict[str, dict]:
    return dict(cx.resources or {})


# --- members -------------------------------------------------------------------------------------

def managed_without_readings(session: Session, member: Member) -> set[str]:
    """Resources the member registered as billed in a complex's management fee for which no
    reading of the unit has arrived yet (the management office's data is not in)."""
    out = set()
    for acc in session.scalars(select(ResourceAccount).where(
            ResourceAccount.member_id == member.id, ResourceAccount.ended_on.is_(None),
            ResourceAccount.billing_mode == "managed_fee", ResourceAccount.complex_code.is_not(None))):
        has = session.scalars(select(MeterReading.month).where(
            MeterReading.resource == acc.resource, MeterReading.company == acc.company,
            MeterReading.supply_key_hash == acc.supply_key_hash)
            .limit(1)).first()
        if has is None:
            out.add(acc.resource)
    return out


# --- the import ----------------------------------------------------------------------------------

@dataclass
class ComplexRow:
    line: int
    code: str
    name: str
    road_address: str
    jibun_address: str | None
    road_key: str
    jibun_key: str | None
    dongs: list[str]
    resources: dict[str, dict]

    def values(self) -> dict:
        return {"name": self.name, "road_address": self.road_address, "jibun_address": self.jibun_address,
                "road_key": self.road_key, "jibun_key": self.jibun_key, "dongs": list(self.dongs),
                "resources": {r: dict(v) for r, v in self.resources.items()}}


@dataclass
class ComplexImportResult:
    rows_total: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    notices: list[RowError] = field(default_factory=list)
    run_id: int | None = None

    def summary(self) -> str:
        out = (f"{self.rows_total} complex(es): {self.inserted} new, {self.updated} updated, "
               f"{self.unchanged} unchanged")
        return out + (f"; import run #{self.run_id}" if self.run_id is not None else "")


def _address(value: str, kind: str, column: str) -> tuple[ParsedAddress | None, str | None]:
    parsed = parse_address(value)
    if parsed is None or parsed.kind != kind:
        return None, msg(f"{column}.form", value=value)
    if not looks_complete(parsed):
        return None, msg("address.incomplete", column=column, value=value)
    if parsed.detail:
        return None, msg("address.unit", column=column, value=value)
    return parsed, None


def _resource(value: str, resource: str) -> tuple[dict | None, str | None]:
    v = value.strip()
    low = v.lower()
    if low in (SEPARATE, NONE):
        if low == NONE and resource == "electricity":
            return None, msg("resource.electricity_none")
        return {"mode": low, "company": None}, None
    head, sep, company = v.partition(":")
    if sep and head.strip().lower() == MANAGED:
        company = re.sub(r"\s+", " ", company).strip()
        if not company or len(company) > 64:
            return None, msg("resource.company", resource=resource, value=value)
        return {"mode": MANAGED, "company": company}, None
    return None, msg("resource.mode", resource=resource, value=value)


def validate_complexes(rows: Sequence[CsvRow], rules: Rules) -> tuple[list[ComplexRow], list[RowError], list[RowError]]:
    """(good rows, errors, notices). Exact duplicate rows are one row; a code or an address given
    twice with different values is refused on every line that gives it."""
    good: list[ComplexRow] = []
    errors: list[RowError] = []
    for row in rows:
        if not row.values:
            errors.append(RowError(row.line, field_count_error(row, COMPLEX_HEADER)))
            continue
        v = row.values
        problems: list[str] = []
        code = v["complex_code"].upper()
        if not _CODE_RE.match(code):
            problems.append(msg("code", value=v["complex_code"]))
        name = re.sub(r"\s+", " ", v["name"]).strip()
        if not name or len(name) > 100:
            problems.append(msg("name"))
        road, why = _address(v["road_address"], "road", "road_address")
        if why:
            problems.append(why)
        jibun = None
        if v["jibun_address"]:
            jibun, why = _address(v["jibun_address"], "lot", "jibun_address")
            if why:
                problems.append(why)
        dongs: list[str] = []
        cells = _dong_cells(v["dongs"])
        if not cells:
            problems.append(msg("dongs.empty"))
        for cell in cells:
            bad = ascii_digits_problem("dongs", cell)
            dong = None if bad else normalise_dong(cell)
            if bad:
                problems.append(bad)
            elif dong is None:
                problems.append(msg("dongs.bad", value=cell))
            elif dong in dongs:
                problems.append(msg("dongs.repeated", value=cell))
            else:
                dongs.append(dong)
        if len(dongs) > MAX_DONGS:
            problems.append(msg("dongs.too_many", max=MAX_DONGS))
        resources = {}
        for resource in rules.resources:
            if resource not in v:
                continue
            spec, why = _resource(v[resource], resource)
            if why:
                problems.append(why)
            else:
                assert spec is not None
                resources[resource] = spec
        if problems:
            errors.extend(RowError(row.line, p) for p in problems)
            continue
        assert road is not None
        good.append(ComplexRow(row.line, code, name, road.base, jibun.base if jibun else None,
                               address_key(road), address_key(jibun) if jibun else None, dongs, resources))
    by_line = {r.line: r for r in rows}
    dupes = find_duplicates([(g.code, repr(g.values()), by_line[g.line]) for g in good], lambda k: str(k),
                            lambda value: "")
    errors.extend(RowError(line, reason) for line, reason in dupes.conflicts.items())
    notices = [RowError(line, msg("exact_duplicate", first=first)) for line, first in sorted(dupes.exact.items())]
    kept = [g for g in good if g.line not in dupes.conflicts and g.line not in dupes.exact]
    owner: dict[str, ComplexRow] = {}
    for g in kept:
        for key in filter(None, (g.road_key, g.jibun_key)):
            other = owner.get(key)
            if other is not None and other.code != g.code:
                errors.append(RowError(g.line, msg("address.shared", other=other.code, line=other.line)))
            owner.setdefault(key, g)
    return kept, sorted(errors, key=lambda e: e.line), notices


def _address_owners(session: Session, keys: set[str]) -> Mapping[str, str]:
    out: dict[str, str] = {}
    if not keys:
        return out
    for cx in session.scalars(select(ApartmentComplex).where(
            or_(ApartmentComplex.road_key.in_(keys), ApartmentComplex.jibun_key.in_(keys)))):
        for key in (cx.road_key, cx.jibun_key):
            if key in keys:
                out[key] = cx.code
    return out


def import_complexes(db: Database, clock: Clock, path: str | Path, *, rules: Rules | None = None,
                     encoding: str = "utf-8") -> ComplexImportResult:
    """Validate and import a complexes CSV in one transaction. Raises ImportRejected (nothing
    written) listing every problem by line."""
    rules = rules or default_rules()
    path = Path(path)
    started = utcnow_naive(clock)
    rows = read_operator_csv(path, COMPLEX_HEADER, encoding)
    good, errors, notices = validate_complexes(rows, rules)
    if errors:
        raise ImportRejected(errors)
    result = ComplexImportResult(len(rows), notices=notices)
    with db.transaction() as session:
        keys = {k for g in good for k in (g.road_key, g.jibun_key) if k}
        taken = _address_owners(session, keys)
        clashes = [RowError(g.line, msg("address.registered", other=taken[k]))
                   for g in good for k in (g.road_key, g.jibun_key) if k and taken.get(k, g.code) != g.code]
        if clashes:
            raise ImportRejected(clashes)
        now = utcnow_naive(clock)
        existing = {cx.code: cx for cx in session.scalars(
            select(ApartmentComplex).where(ApartmentComplex.code.in_([g.code for g in good])))}
        for g in good:
            values = g.values()
            cx = existing.get(g.code)
            if cx is None:
                session.add(ApartmentComplex(code=g.code, updated_at=now, **values))
                result.inserted += 1
            elif any(getattr(cx, k) != val for k, val in values.items()):
                for k, val in values.items():
                    setattr(cx, k, val)
                cx.updated_at = now
                result.updated += 1
            else:
                result.unchanged += 1
        run_result = ImportResult(None, len(rows))
        run = open_run(session, "complexes", path, run_result, started)
        run_result.inserted, run_result.changed = result.inserted, result.updated
        close_run(run, run_result, len(good), clock)
        result.run_id = run.id
    return result
