"""Every 시·군·구 of the address system (core/data/sigungu.csv) and its loading.

The shipped list names each unit with its official code, its 시/도, its kind, the unit that runs
the programme (an 일반구 such as 수원시 팔달구 belongs to 수원시) and its scheme (Seoul's 구 are
Eco-mileage, spec E3). `load_sigungu()` gives every energy-scheme programme unit a
`local_governments` row, so any address in Korea outside Seoul finds its 시·군·구; rows it creates
carry the documented defaults (rate, incentive types, payout months) and `figures_default`, until
an operator loads the real figures (`load-local-governments`). Rows that exist are never changed:
an operator's figures stay.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.local_governments import (
    SIDO_SPELLINGS,
    LocalGovernmentDataError,
    assign_missing_local_governments,
    prefixes_for,
)
from core.members import FALLBACK_INCENTIVE_TYPES
from core.models import LocalGovernment

SIGUNGU_FILE = Path(__file__).with_name("data") / "sigungu.csv"
COLUMNS = ("code", "sido", "name", "kind", "programme_code", "scheme", "valid_from", "valid_to")
KINDS = ("gu", "si", "gun", "ilban_gu", "special_si", "admin_si")  # 자치구 시 군 일반구 특별자치시 행정시
SCHEMES = ("energy", "ecomileage")
# Default incentive types of a 시·군·구 whose own list an operator has not loaded (spec §8.3:
# cash to an own-name account is the most common; donation is the programme default): the
# same list members are offered when their 시·군·구 lists none.
DEFAULT_INCENTIVE_TYPES = FALLBACK_INCENTIVE_TYPES


@dataclass(frozen=True)
class Sigungu:
    code: str
    sido: str
    name: str
    kind: str
    programme_code: str
    scheme: str
    valid_from: date | None
    valid_to: date | None

    @property
    def runs_programme(self) -> bool:
        """The unit itself runs the programme (not an 일반구)."""
        return self.programme_code == self.code

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


def read_sigungu(text: str) -> list[Sigungu]:
    """Parse the list; every bad row is reported with its line number."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines or tuple(c.strip() for c in next(csv.reader(io.StringIO(lines[0][1])))) != COLUMNS:
        raise LocalGovernmentDataError([f"line {lines[0][0] if lines else 1}: header must be {','.join(COLUMNS)}"])
    out: list[Sigungu] = []
    errors: list[str] = []
    seen: set[str] = set()
    for n, line in lines[1:]:
        values = [v.strip() for v in next(csv.reader(io.StringIO(line)))]
        if len(values) != len(COLUMNS):
            errors.append(f"line {n}: {len(values)} fields, expected {len(COLUMNS)}")
            continue
        v = dict(zip(COLUMNS, values))
        problems = []
        for col in ("code", "programme_code"):
            if not re.fullmatch(r"\d{5}", v[col]):
                problems.append(f"{col} {v[col]!r} is not 5 digits")
        if v["code"] in seen:
            problems.append(f"code {v['code']} repeated")
        if v["sido"] not in SIDO_SPELLINGS:
            problems.append(f"sido {v['sido']!r} is not a province (sido) name")
        if v["kind"] not in KINDS:
            problems.append(f"kind {v['kind']!r}")
        if v["scheme"] not in SCHEMES:
            problems.append(f"scheme {v['scheme']!r}")
        if (v["kind"] == "ilban_gu") == (v["programme_code"] == v["code"]):
            problems.append("an ilban_gu (and only an ilban_gu) is run by another unit")
        days: dict[str, date | None] = {}
        for col in ("valid_from", "valid_to"):
            try:
                days[col] = date.fromisoformat(v[col]) if v[col] else None
            except ValueError:
                problems.append(f"{col} {v[col]!r} is not YYYY-MM-DD")
        if problems:
            errors.extend(f"line {n}: {p}" for p in problems)
            continue
        seen.add(v["code"])
        out.append(Sigungu(v["code"], v["sido"], v["name"], v["kind"], v["programme_code"], v["scheme"],
                           days.get("valid_from"), days.get("valid_to")))
    codes = {s.code: s for s in out}
    for s in out:
        parent = codes.get(s.programme_code)
        if parent is None or not parent.runs_programme:
            errors.append(f"{s.code}: programme_code {s.programme_code} is not a unit of the list")
    if errors:
        raise LocalGovernmentDataError(errors)
    return out


@lru_cache(maxsize=1)
def shipped_sigungu() -> tuple[Sigungu, ...]:
    return tuple(read_sigungu(SIGUNGU_FILE.read_text(encoding="utf-8")))


def sigungu_by_code() -> dict[str, Sigungu]:
    return _by_code()


@lru_cache(maxsize=1)
def _by_code() -> dict[str, Sigungu]:
    return {s.code: s for s in shipped_sigungu()}


# --- successors of abolished units ------------------------------------------------------------

SUCCESSORS_FILE = Path(__file__).with_name("data") / "sigungu_successors.csv"
SUCCESSOR_COLUMNS = ("code", "successor", "dong")
_GA = re.compile(r"\d+\uac00$")  # 항동7가 (ending in 가, U+AC00) is a part of 항동


@dataclass(frozen=True)
class Succession:
    """Where an abolished unit went: all of it to `whole`, or by 법정동 (`by_dong`)."""

    code: str
    whole: str | None
    by_dong: dict[str, str]

    @property
    def successors(self) -> tuple[str, ...]:
        return (self.whole,) if self.whole else tuple(dict.fromkeys(self.by_dong.values()))


def read_successors(text: str, units: dict[str, Sigungu] | None = None) -> dict[str, Succession]:
    """Parse the successors list; every bad row is reported with its line number. An abolished
    unit must have ended (valid_to) and each successor begun the next day."""
    units = units if units is not None else sigungu_by_code()
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines or tuple(c.strip() for c in next(csv.reader(io.StringIO(lines[0][1])))) != SUCCESSOR_COLUMNS:
        raise LocalGovernmentDataError(
            [f"line {lines[0][0] if lines else 1}: header must be {','.join(SUCCESSOR_COLUMNS)}"])
    whole: dict[str, str] = {}
    by_dong: dict[str, dict[str, str]] = {}
    errors: list[str] = []
    for n, line in lines[1:]:
        values = [v.strip() for v in next(csv.reader(io.StringIO(line)))]
        if len(values) != len(SUCCESSOR_COLUMNS):
            errors.append(f"line {n}: {len(values)} fields, expected {len(SUCCESSOR_COLUMNS)}")
            continue
        code, successor, dong = values
        old, new = units.get(code), units.get(successor)
        if old is None or old.valid_to is None:
            errors.append(f"line {n}: {code} is not a unit of the list that ended")
            continue
        if new is None or new.valid_from is None or new.valid_from != old.valid_to + timedelta(days=1):
            errors.append(f"line {n}: {successor} is not a unit of the list begun the day after {code} ended")
            continue
        if dong and not re.fullmatch(r"[\uac00-\ud7a30-9]+\ub3d9", dong):  # a name ending in 동
            errors.append(f"line {n}: dong {dong!r} is not a dong name (ending in dong)")
            continue
        if (code in whole) or (not dong and code in by_dong) or dong in by_dong.get(code, {}):
            errors.append(f"line {n}: {code} {dong or '(whole)'} is given a successor twice")
            continue
        if dong:
            by_dong.setdefault(code, {})[dong] = successor
        else:
            whole[code] = successor
    if errors:
        raise LocalGovernmentDataError(errors)
    return {code: Succession(code, whole.get(code), by_dong.get(code, {})) for code in {*whole, *by_dong}}


@lru_cache(maxsize=1)
def shipped_successors() -> dict[str, Succession]:
    return read_successors(SUCCESSORS_FILE.read_text(encoding="utf-8"))


class Placement(NamedTuple):
    """The unit an address belongs to on a day: `code` (None when the address does not say which
    successor of an abolished unit it is in: `ended` and `candidates` then say why)."""

    code: str | None
    ended: Sigungu | None = None
    candidates: tuple[Sigungu, ...] = ()


def current_unit(code: str, base: str, day: date) -> Placement:
    """The unit that runs an address matched to unit `code` on `day`: the unit itself while it
    exists (or when the list knows no successor), else its successor (core/data/
    sigungu_successors.csv): the only one, or the one of the 법정동 the address names. An
    address that names none of them gets no unit, never the ended one."""
    unit = sigungu_by_code().get(code)
    if unit is None or unit.valid_to is None or day <= unit.valid_to:
        return Placement(code)
    succession = shipped_successors().get(code)
    if succession is None:
        return Placement(code)
    if succession.whole:
        return Placement(succession.whole)
    found = {succession.by_dong[d] for word in base.split(" ")
             if (d := _GA.sub("", word)) in succession.by_dong}
    if len(found) == 1:
        return Placement(found.pop())
    units = sigungu_by_code()
    return Placement(None, unit, tuple(units[c] for c in succession.successors))


def programme_code(code: str) -> str | None:
    """The code of the unit running the programme for a 시·군·구 code: 41111 (수원시 장안구) ->
    41110 (수원시); a unit that runs it itself gives its own code; unknown codes None."""
    s = sigungu_by_code().get(code)
    return s.programme_code if s else None


def totals_per_sido(day: date, kinds: tuple[str, ...] = ("gu", "si", "gun")) -> dict[str, int]:
    """Number of units of the given kinds per 시/도 on a day (자치단체 by default)."""
    return dict(Counter(s.sido for s in shipped_sigungu() if s.kind in kinds and s.valid_on(day)))


def programme_units(scheme: str = "energy") -> list[Sigungu]:
    """The units that run a scheme (every one ever valid in the list: members keep the unit
    of their address history after a reorganisation)."""
    return [s for s in shipped_sigungu() if s.runs_programme and s.scheme == scheme]


def _prefixes(unit: Sigungu) -> list[str]:
    """Address prefixes of a programme unit ("경기도 수원시", "경기 수원시"); an address in one of
    its 일반구 ("경기도 수원시 팔달구 ...") starts with them, so it finds the 시."""
    return prefixes_for(unit.sido, unit.name)


def load_sigungu(session: Session, rules=None) -> int:
    """Give every energy-scheme programme unit a local_governments row with the documented
    defaults (idempotent; existing rows, an operator's figures, are left as they are). Then
    members whose address was not matched yet get their 시·군·구. Returns the rows added.
    Runs in the caller's transaction."""
    from core.rules import default_rules

    rules = rules or default_rules()
    have = set(session.scalars(select(LocalGovernment.code)))
    added = 0
    types = [t for t in DEFAULT_INCENTIVE_TYPES if t in rules.incentive_types]
    for unit in programme_units("energy"):
        if unit.code in have:
            continue
        session.add(LocalGovernment(
            code=unit.code, sido=unit.sido, name=unit.name, address_prefixes=_prefixes(unit),
            won_per_point=rules.rate.default, incentive_types=list(types),
            payout_month_h1=rules.payout_month[1].month, payout_month_h2=rules.payout_month[2].month,
            contact=None, figures_default=True))
        added += 1
    session.flush()
    assign_missing_local_governments(session)
    return added
