"""Members from the programme's registry: `flask --app webhooks cpoint import-members FILE`
(issue 15).

About 2.4 million households joined through the website and their local governments before the
chat existed. This import brings them in, so that they are settled like chat members and can
link their KakaoTalk account (core.member_link).

File: CSV, UTF-8 with or without a BOM, header exactly :data:`MEMBER_HEADER`:

- member_no: the registry's member number (1-20 letters, digits, hyphens; kept in upper case);
  a re-import matches on it and updates;
- member_type: a member type of the rules (``points_table_by_member_type``);
- name, mobile: checked as in a chat signup (core.members.normalise_name / normalise_mobile);
- address (road or lot, starting with its 시/도) and unit (may be empty): one member per
  household (the same keyed household hash as a chat signup), not in Seoul (Eco-mileage);
- joined_on: ``YYYY-MM-DD`` or as registries write it (core.csv_screening.written_day); the member's accounts and first address row date from it, so the
  settlement evaluates the member from then on under the spec's rules (E7);
- electricity, water, gas: a customer number (the rules' format), ``managed`` (관리비 합산) or
  empty (not used; electricity is required); a customer number is used once per company. The
  registry names no utility company: a number's supply point is at the default company of the
  member's 시·군·구 (core.utility_companies.default_company: where several serve the region, the
  first the data lists). Readings imported before, kept under no company, are adopted;
- incentive_type: a code of the rules' incentive types offered by the member's 시·군·구
  (empty: the programme default); bank and account are needed only for cash.

No field may hold a resident registration number: such a row is refused and the value is never
echoed (the rejects file shows it masked).

The import streams, in two passes, so that a national file (2.4 million rows) does not have
to fit in memory. The first pass reads and checks every row, keeping of the good ones only
what the duplicate checks need (fixed-size keys, sorted once at the end to find the file's
repeated member numbers, households and customer numbers) and checking them against the
database's members in chunked lookups; the good rows wait, secrets already encrypted, in an
unnamed temporary file. Any bad row rejects the file (:class:`ImportRejected`, every problem by
line number) before anything is written. With ``skip_invalid`` the good rows are imported and
the others written to ``<name>.rejected.csv`` beside the input.

The second pass is one transaction: new members, their accounts and address rows go in, in
batches, through :func:`core.db_bulk.bulk_insert` (COPY on PostgreSQL), their ids taken
beforehand (nothing is read back). On PostgreSQL the new members are written earlier, by a
thread of their own in that transaction while the first pass goes on (the server's key checks
and indexes then cost no waiting), and kept only when the first pass refuses no row for a key
repeated in the file (else rolled back and written again here). Members already imported (same
member_no) are read a chunk at a time with their accounts and updated only where something
changed, each change audited (core.audit: the fields that changed, never their values).
Customer numbers and accounts are encrypted and hashed exactly as for a chat signup.

An address written with the name of a 시·군·구 that a reorganisation abolished before the
import's day goes to its successor when the address says which (core.sigungu.current_unit);
otherwise the row is refused, naming the successors.
"""
from __future__ import annotations

import hashlib
import marshal
import queue
import re
import sys
import tempfile
import threading
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sqlalchemy import Text, any_, bindparam, cast, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core import audit
from core.clock import Clock, today_kst, utcnow_naive
from core.crypto import FieldCipher
from core.csv_screening import (
    CsvRow,
    ImportRejected,
    RowError,
    cells_of_lines,
    code_of,
    field_count_error,
    msg,
    open_csv,
    written_day,
)
from core.db import Database
from core.db_bulk import SQLITE_DEFAULT_CACHE_KB, bulk_insert, db_time, driver_connection
from core.local_governments import (
    ParsedAddress,
    canonical_sido_text,
    clean,
    household_key,
    looks_complete,
    parse_address,
    strip_markup,
    unit_structure,
)
from core.members import (
    CASH,
    HOUSEHOLD_PURPOSE,
    InvalidValue,
    adopt_all_unassigned_readings,
    looks_like_rrn,
    normalise_account_number,
    normalise_bank,
    normalise_customer_number,
    normalise_mobile,
    normalise_name,
    offered_incentive_types,
)
from core.models import LocalGovernment, Member, MemberAddress, ResourceAccount
from core.pii import RRN_MASK, RRN_RE, mask_number
from core.rules import Rules, default_rules
from core.sigungu import current_unit
from core.sqla import table_of
from core.usage_import import ImportResult, close_run, open_run, write_rejects
from core.utility_companies import NO_COMPANY, default_company

MEMBER_HEADER = ("member_no", "member_type", "name", "mobile", "address", "unit", "joined_on",
                 "electricity", "water", "gas", "incentive_type", "bank", "account")
MANAGED = "managed"
FIRST_JOIN_YEAR = 2008  # the programme's predecessor (탄소포인트제) started in 2008
_MEMBER_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$")
KST_OFFSET = timedelta(hours=9)
ADDRESS_CACHE = 50_000  # parsed buildings and units kept for the rows to come
KEY_SIZE = 16  # bytes of a keyed hash kept for the duplicate checks
MEMBER_NO_SIZE = 20
LOOKUP_CHUNK = 5000  # rows checked against the database at a time
SQLITE_CHUNK = 1000  # values of one IN list
AUDIT_ACTION = "member.import_update"
# SQLite page cache of the import's writes: at 100,000 members the whole import took 12.7 s
# with 32 MB, 12.1 s with 64 MB, 11.8 s with 128 MB (one run each; the default 2 MB cost some
# 1.5 s of CPU more than 128 MB); its memory counts against the import's peak
IMPORT_PAGE_CACHE_KB = 32768
WRITER_SWITCH_INTERVAL = 0.0005  # seconds: sys.setswitchinterval while the early writer runs
_UNPARSED = ParsedAddress(sido=None, base="", detail="", kind="none")  # cache marker


class Choice(NamedTuple):
    """A resource of a registry row (core.members.ResourceChoice, compact: 2.4 million rows)."""

    resource: str
    billing_mode: str
    customer_number: str | None = None


@dataclass(slots=True)
class RegistryMember:
    """One valid row, normalised, with its keyed hashes and (still plain) secrets."""

    line: int
    member_no: str
    member_type: str
    name: str
    mobile: str
    address: str
    unit: str | None
    household_hash: str
    lg_code: str | None
    joined_on: date
    resources: list[Choice]
    supply_hashes: dict[str, str] = field(default_factory=dict)  # resource -> hash (numbers only)
    # resource -> utility company of the customer number: the registry names none, so the
    # default of the member's 시·군·구 (core.utility_companies; where several serve it, the first).
    supply_companies: dict[str, str] = field(default_factory=dict)
    incentive_type: str = "donation"
    bank: str | None = None
    account: str | None = None


def _bounded(cache: dict) -> None:
    """Empty a cache that reached ADDRESS_CACHE entries: a national file holds far more
    buildings and units than are worth keeping, and a building's rows tend to come together."""
    if len(cache) >= ADDRESS_CACHE:
        cache.clear()


# --- local governments in memory ----------------------------------------------------------------

class GovernmentIndex:
    """Every local government's address prefixes, canonical, for a longest word-prefix match
    without a query per row (the same answer as core.local_governments.match_local_government)."""

    def __init__(self, governments: Iterable[LocalGovernment], today: date | None = None) -> None:
        self.today = today
        self.by_code: dict[str, LocalGovernment] = {}
        self.by_prefix: dict[str, LocalGovernment] = {}
        for lg in governments:
            self.by_code[lg.code] = lg
            for prefix in lg.address_prefixes or []:
                p = canonical_sido_text(prefix)
                if p and p not in self.by_prefix:
                    self.by_prefix[p] = lg
        self._offered: dict[str | None, list[str]] = {}
        self._bases: dict[str, ParsedAddress] = {}
        self._details: dict[str, tuple[str, str]] = {}
        self._complete: dict[str, bool] = {}
        self._matched: dict[str, tuple[LocalGovernment | None, str | None]] = {}
        self._banks: dict[str, str | None] = {}
        self.rrn_seen: dict[str, bool] = {}  # a non-ASCII cell -> has_rrn
        self._names: dict[tuple[str, str], str] = {}  # "" for a name refused
        self._days: dict[str, tuple[date | None, str | None]] = {}

    def complete(self, parsed: ParsedAddress) -> bool:
        found = self._complete.get(parsed.base)
        if found is None:
            _bounded(self._complete)
            found = self._complete[parsed.base] = looks_complete(parsed)
        return found

    def match(self, base: str) -> LocalGovernment | None:
        return self.place(base)[0]

    def place(self, base: str) -> tuple[LocalGovernment | None, str | None]:
        """The local government of an address on `today` and, when the address names a unit
        that a reorganisation abolished without saying which successor it is in, why it has
        none (core.sigungu.current_unit: never the ended unit)."""
        if base not in self._matched:
            _bounded(self._matched)
            self._matched[base] = self._place(base)
        return self._matched[base]

    def _place(self, base: str) -> tuple[LocalGovernment | None, str | None]:
        lg = self._match(base)
        if lg is None or self.today is None:
            return lg, None
        placed = current_unit(lg.code, base, self.today)
        if placed.code is not None:
            return (lg if placed.code == lg.code else self.by_code.get(placed.code)), None
        assert placed.ended is not None
        return None, msg("members.address_reorganised", unit=f"{placed.ended.sido} {placed.ended.name}",
                         day=placed.ended.valid_to, successors=", ".join(u.name for u in placed.candidates))

    def _match(self, base: str) -> LocalGovernment | None:
        words = base.split(" ")
        for k in range(len(words), 0, -1):
            found = self.by_prefix.get(" ".join(words[:k]))
            if found is not None:
                return found
        return None

    def address(self, address: str, unit: str) -> tuple[ParsedAddress | None, str]:
        """The parsed address (as parse_address gives it: a unit typed into the address column
        when the unit column is empty counts) and the household key; the building's address
        is parsed once for all its units, and each unit's structure once for all buildings."""
        if unit:
            base = self._bases.get(address)
            if base is None:
                _bounded(self._bases)
                base = self._bases[address] = parse_address(address, "") or _UNPARSED
            if base is _UNPARSED:
                return None, ""
            detail = self._details.get(unit)
            if detail is None:
                _bounded(self._details)
                text = clean(strip_markup(unit))
                detail = self._details[unit] = (text, unit_structure(text).key)
            parsed = ParsedAddress(sido=base.sido, base=base.base, detail=detail[0], kind=base.kind)
            return parsed, f"{parsed.base}|{detail[1]}"
        whole = parse_address(address)
        return whole, household_key(whole) if whole is not None else ""

    def name(self, value: str, member_type: str) -> str:
        """core.members.normalise_name, once for each name and type (names repeat)."""
        key = (value, member_type)
        found = self._names.get(key)
        if found is None:
            _bounded(self._names)
            try:
                found = self._names[key] = normalise_name(value, member_type)
            except InvalidValue:
                found = self._names[key] = ""
        if not found:
            raise InvalidValue("name")
        return found

    def day(self, value: str, today: date) -> tuple[date | None, str | None]:
        """parse_joined_on, once for each date written (a few thousand days for millions of rows)."""
        found = self._days.get(value)
        if found is None:
            _bounded(self._days)
            found = self._days[value] = parse_joined_on(value, today)
        return found

    def bank(self, value: str) -> str:
        """core.members.normalise_bank, once for each spelling (a registry names few banks)."""
        if value not in self._banks:
            _bounded(self._banks)
            try:
                self._banks[value] = normalise_bank(value)
            except InvalidValue:
                self._banks[value] = None
        found = self._banks[value]
        if found is None:
            raise InvalidValue("bank")
        return found

    def offered(self, lg: LocalGovernment | None, rules: Rules) -> list[str]:
        key = lg.code if lg is not None else None
        if key not in self._offered:
            self._offered[key] = offered_incentive_types(lg, rules)
        return self._offered[key]


# --- validation -------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _fixed_choice(resource: str, billing_mode: str) -> Choice:
    return Choice(resource, billing_mode)


def _resource_choice(resource: str, value: str, rules: Rules, reasons: list[str]) -> Choice | None:
    if value == "":
        return _fixed_choice(resource, "not_used")
    if value.lower() == MANAGED:
        return _fixed_choice(resource, "managed_fee")
    billing = code_of("billing_aliases", value) if not value.isascii() else None
    if billing is not None:  # '관리비', '사용안함'
        return _fixed_choice(resource, "managed_fee" if billing == MANAGED else "not_used")
    if value.isascii() and value.isdigit() and _format(rules, resource).fullmatch(value):
        return Choice(resource, "separate", value)  # the common case, as the rules write it
    try:
        return Choice(resource, "separate", normalise_customer_number(resource, value, rules))
    except InvalidValue as exc:
        if re.search(r"[A-Za-z]", value) and not re.search(r"\d", value):
            reasons.append(msg("members.billing", resource=resource))
        else:
            reasons.append(msg("members.customer_number", resource=resource,
                               reason="it must be " + _format_hint(rules.customer_number_formats[resource])
                               if exc.reason == "format" else exc.reason))
        return None


@lru_cache(maxsize=16)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _format(rules: Rules, resource: str) -> re.Pattern[str]:
    return _compiled(rules.customer_number_formats[resource])


def _format_hint(pattern: str) -> str:
    m = re.fullmatch(r"\^?\\d\{(\d+)(?:,(\d+))?\}\$?", pattern)
    if not m:
        return f"digits matching {pattern}"
    return f"{m.group(1)} digits" if m.group(2) is None else f"{m.group(1)} to {m.group(2)} digits"


def parse_joined_on(value: str, today: date) -> tuple[date | None, str | None]:
    """A joining day as registries and spreadsheets write it: 2020-03-01, 2020.03.01, 2020/3/1,
    20200301, 2020년 3월 1일, with Excel's time of midnight after it ('2020-03-01 0:00:00').
    Day-first or month-first forms (01/03/2020) are ambiguous and refused."""
    day = written_day(value)
    if day is None:
        return None, msg("members.joined_on", value=value)
    if day > today or day.year < FIRST_JOIN_YEAR:
        return None, msg("members.joined_on_range", value=value, first=FIRST_JOIN_YEAR)
    return day, None


_DIGIT = re.compile(r"\d")
RRN_DIGITS = 13


def has_rrn(value: str) -> bool:
    """core.members.looks_like_rrn, without its folding for the many cells that cannot hold
    one: fewer than 13 characters, or ASCII with fewer than 13 digits."""
    if len(value) < RRN_DIGITS:
        return False
    if value.isascii():
        if len(_DIGIT.findall(value)) < RRN_DIGITS:
            return False
    elif len(_DIGIT.findall(unicodedata.normalize("NFKC", value))) < RRN_DIGITS:
        return False  # NFKC: full-width and other compatibility digits count too
    return looks_like_rrn(value)


def rrn_columns(values: dict[str, str], cache: dict[str, bool] | None = None) -> list[str]:
    """The columns of a row whose cell looks like an RRN (has_rrn), in MEMBER_HEADER order.
    Most cells are too short to hold one; an ASCII cell needs one search (folding changes only
    its spaces, which the pattern allows anyway, and its dots, read as hyphens); `cache` keeps
    the answer for other cells (addresses repeat, a building's units one after the other)."""
    out: list[str] = []
    for column in MEMBER_HEADER:
        value = values[column]
        if len(value) < RRN_DIGITS:
            continue
        if value.isascii():
            found = RRN_RE.search(value.replace(".", "-") if "." in value else value) is not None
        elif cache is None:
            found = has_rrn(value)
        else:
            known = cache.get(value)
            if known is None:
                _bounded(cache)
                known = cache[value] = has_rrn(value)
            found = known
        if found:
            out.append(column)
    return out


# The usual spellings, answered without folding (core.members would give the same answer):
# a mobile number of ASCII digits with or without hyphens at the usual places, an account
# number of ASCII digits and single hyphens.
_PLAIN_MOBILE = re.compile(r"(01[016789])-?([0-9]{3,4})-?([0-9]{4})")
_PLAIN_ACCOUNT = re.compile(r"[0-9]+(?:-[0-9]+)*")


def _mobile(value: str) -> str:
    m = _PLAIN_MOBILE.fullmatch(value)
    if m is not None:  # the digits split by their count as normalise_mobile splits them
        return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return normalise_mobile(value)


def _account(value: str) -> str:
    """normalise_account_number of a cell of a row already found free of RRNs."""
    if _PLAIN_ACCOUNT.fullmatch(value) is not None:
        digits = value.replace("-", "")
        if 10 <= len(digits) <= 14:
            return digits
    return normalise_account_number(value)


def check_row(row: CsvRow, rules: Rules, cipher: FieldCipher, index: GovernmentIndex, today: date,
              reasons: list[str]) -> RegistryMember | None:
    """One row, checked as a chat signup checks what a citizen types (no database access)."""
    v = row.values
    rrn = rrn_columns(v, index.rrn_seen)
    if rrn:
        reasons.extend(msg("members.rrn", column=column) for column in rrn)
        return None
    member_no = v["member_no"].upper()
    if not _MEMBER_NO.match(member_no):
        reasons.append(msg("members.member_no"))
    member_type = v["member_type"].lower()
    member_type = member_type if member_type in rules.points_table_by_member_type else (
        code_of("member_type_aliases", member_type) or member_type)
    if member_type not in rules.points_table_by_member_type:
        reasons.append(msg("members.member_type", value=v["member_type"],
                           expected="|".join(rules.points_table_by_member_type)))
        name = None
    else:
        try:
            name = index.name(v["name"], member_type)
        except InvalidValue:
            name = None
            reasons.append(msg("members.name", member_type=member_type))
    try:
        mobile = _mobile(v["mobile"])
    except InvalidValue:
        mobile = None
        reasons.append(msg("members.mobile"))
    parsed, household = index.address(v["address"], v["unit"])
    lg = None
    if parsed is None:
        reasons.append(msg("members.address"))
    elif parsed.is_seoul:
        reasons.append(msg("members.seoul"))
    elif not index.complete(parsed):
        reasons.append(msg("members.address_sido"))
    else:
        lg, why = index.place(parsed.base)
        if why:
            reasons.append(why)
    joined_on, why = index.day(v["joined_on"], today)
    if why:
        reasons.append(why)
    choices = [c for resource in rules.resources
               if (c := _resource_choice(resource, v.get(resource, ""), rules, reasons)) is not None]
    if any(c.resource == "electricity" and c.billing_mode == "not_used" for c in choices):
        reasons.append(msg("members.electricity_required"))
    incentive = v["incentive_type"].lower() or rules.default_incentive_type
    incentive = incentive if incentive in rules.incentive_types else (
        code_of("incentive_type_aliases", incentive) or incentive)
    bank = account = None
    if incentive not in rules.incentive_types:
        reasons.append(msg("members.incentive_type", value=v["incentive_type"],
                           expected="|".join(rules.incentive_types)))
    elif parsed is not None and not parsed.is_seoul:
        offered = index.offered(lg, rules)
        if incentive not in offered:
            reasons.append(msg("members.incentive_not_offered", value=incentive,
                               local_government=lg.name if lg else msg("members.unknown_local_government"),
                               offered="|".join(offered)))
    if incentive == CASH and not v["bank"] and not v["account"]:
        pass  # no account on record: imported, its payouts held (HOLD_NO_ACCOUNT) until the member adds one
    elif incentive == CASH:
        try:
            bank = index.bank(v["bank"])
        except InvalidValue:
            reasons.append(msg("members.bank"))
        try:
            account = _account(v["account"])
        except InvalidValue:
            reasons.append(msg("members.account"))
    if reasons:
        return None
    assert parsed is not None and joined_on is not None and name is not None and mobile is not None
    return RegistryMember(
        line=row.line, member_no=member_no, member_type=member_type, name=name, mobile=mobile,
        address=parsed.base, unit=parsed.detail or None,
        household_hash=cipher.keyed_hash(household, purpose=HOUSEHOLD_PURPOSE),
        lg_code=lg.code if lg else None, joined_on=joined_on, resources=choices,
        supply_hashes={c.resource: cipher.keyed_hash(c.customer_number, purpose=c.resource)
                       for c in choices if c.customer_number},
        supply_companies={c.resource: default_company(c.resource, lg.code if lg else None)
                          for c in choices if c.customer_number},
        incentive_type=incentive, bank=bank, account=account)


def _in_chunks(session: Session, query, column, values: Sequence) -> list:
    """``query`` for the rows whose ``column`` is one of ``values``: on PostgreSQL one text
    parameter per LOOKUP_CHUNK values, split by the server (psycopg parses a query of a thousand
    IN parameters again on every call, and dumping an array parameter cost a microsecond or
    two a value); on SQLite IN lists. Values are member numbers, keyed hashes or ids: none
    holds a comma (one that did would be looked up through an array parameter)."""
    out: list = []
    if session.get_bind().dialect.name == "postgresql":
        for start in range(0, len(values), LOOKUP_CHUNK):
            part = [str(v) for v in values[start:start + LOOKUP_CHUNK]]
            joined = ",".join(part)
            wanted: ColumnElement
            if joined.count(",") == len(part) - 1:
                wanted = cast(func.string_to_array(bindparam("values", joined, type_=Text), ","),
                              ARRAY(column.type))
            else:
                wanted = bindparam("values", list(values[start:start + LOOKUP_CHUNK]), type_=ARRAY(column.type))
            out.extend(session.execute(query.where(column == any_(wanted))).all())
        return out
    for start in range(0, len(values), SQLITE_CHUNK):
        out.extend(session.execute(query.where(column.in_(values[start:start + SQLITE_CHUNK]))).all())
    return out


def _key(keyed_hash: str) -> bytes:
    """A keyed hash as the duplicate checks remember it: its first 128 bits (a collision among
    millions of rows is as unlikely as one of the whole hash)."""
    return bytes.fromhex(keyed_hash[:32])


class _Keys:
    """Keys of one kind (fixed size) and the line each was on, appended as records to one
    buffer: a few bytes a row where a dict entry costs hundreds, for a national file of
    millions of rows. The repeated keys are found once, at the end, by sorting."""

    __slots__ = ("size", "buf")

    def __init__(self, size: int) -> None:
        self.size = size
        self.buf = bytearray()

    def add(self, key: bytes, line: int) -> None:
        self.buf += key.ljust(self.size, b"\0")
        self.buf += line.to_bytes(4, "little")

    def repeated(self) -> dict[bytes, list[int]]:
        """Every key seen on more than one line -> its lines in file order."""
        rows = np.frombuffer(self.buf, dtype=np.dtype([("key", f"S{self.size}"), ("line", "<u4")]))
        if len(rows) < 2:
            return {}
        order = np.argsort(rows["key"], kind="stable")  # stable: a key's lines stay in file order
        keys = rows["key"][order]
        same = keys[1:] == keys[:-1]
        out: dict[bytes, list[int]] = {}
        for i in np.flatnonzero(same):
            lines = out.setdefault(bytes(keys[i]), [int(rows["line"][order[i]])])
            lines.append(int(rows["line"][order[i + 1]]))
        return out


def _supply_key(company: str, keyed_hash: str) -> bytes:
    """A supply point (company and customer number) as the duplicate checks remember it."""
    return hashlib.blake2b(f"{company}:{keyed_hash}".encode(), digest_size=KEY_SIZE).digest()


def _lines(lines: Iterable[int]) -> str:
    return ", ".join(map(str, lines))


# A registry member as the first pass spills it (marshal) for the second: (line, id of the
# member already imported under the member_no or None, its values of SPILL_COLUMNS, joined_on
# as a day ordinal, ((resource, billing_mode, customer_number_enc, supply_key_hash, company), ...)).
# Secrets are encrypted before they reach the spill file.
Spilled = tuple[int, "int | None", tuple, int, tuple]

SPILL_COLUMNS = ("member_no", "member_type", "name", "mobile", "local_government_code", "address",
                 "address_detail", "household_hash", "incentive_type", "bank_name", "account_number_enc",
                 "account_holder")
MEMBER_COLUMNS = ("id", *SPILL_COLUMNS, "status", "consents", "marketing_opt_in", "campaign_opt_out",
                  "is_friend", "joined_at")
ACCOUNT_COLUMNS = ("member_id", "resource", "billing_mode", "customer_number_enc", "supply_key_hash", "company",
                   "tariff", "registered_on", "ended_on")
ADDRESS_COLUMNS = ("member_id", "local_government_code", "valid_from")
_COL = {name: i for i, name in enumerate(SPILL_COLUMNS)}


@dataclass
class Screening:
    """What the first pass found. Only bad rows' reasons and the keys of the duplicate checks
    are held; the good rows wait, encrypted, in the spill file."""

    columns: tuple[str, ...]
    rows_total: int = 0
    syntax_errors: list[RowError] = field(default_factory=list)
    refused: dict[int, list[str]] = field(default_factory=dict)  # line -> reasons
    spilled: int = 0
    repeated: int = 0  # rows refused for a key repeated in the file (they may have been good alone)
    existing: int = 0  # spilled rows of members already imported (to update)
    no_account: int = 0  # good rows paid in cash with no account on record (their payouts are held)


class _FirstPass:
    """Every row checked as it is read; the file's keys (member_no, household, customer numbers)
    remembered compactly for the duplicate checks; the good rows checked against the database
    in chunks of LOOKUP_CHUNK and spilled, encrypted, for the write."""

    def __init__(self, session: Session, rules: Rules, cipher: FieldCipher, today: date, spill,
                 writer: _EarlyWriter | None = None, encoding: str = "utf-8") -> None:
        self.session, self.rules, self.cipher, self.today, self.spill = session, rules, cipher, today, spill
        self.writer, self.encoding = writer, encoding
        self.index = GovernmentIndex(session.scalars(select(LocalGovernment)), today)
        self.numbers, self.households = _Keys(MEMBER_NO_SIZE), _Keys(KEY_SIZE)
        self.supplies = {resource: _Keys(KEY_SIZE) for resource in rules.resources}
        self.taken: dict[int, list[str]] = {}  # line -> reasons found against the database
        self.chunk: list[RegistryMember] = []
        self.repeated = 0
        self.no_account = array("I")  # lines of cash members without an account (4 bytes each)

    def run(self, path: Path) -> Screening:
        stream = open_csv(path, MEMBER_HEADER, self.encoding)
        out = Screening(stream.columns)
        for line, raw in stream.rows(out.syntax_errors):
            out.rows_total += 1
            reasons: list[str] = []
            no = ""
            if len(raw) != len(stream.columns):
                reasons.append(field_count_error(CsvRow(line, {}, raw, stream.columns), MEMBER_HEADER))
            else:
                values = {h: v.strip() for h, v in zip(stream.columns, raw)}
                member = check_row(CsvRow(line, values, raw), self.rules, self.cipher, self.index,
                                   self.today, reasons)
                if member is not None:
                    no = member.member_no
                    if member.incentive_type == CASH and member.account is None:
                        self.no_account.append(line)
                    self._remember(member)
                    if len(self.chunk) >= LOOKUP_CHUNK:
                        self._against_database(out)
                elif not rrn_columns(values):  # of an RRN row nothing is used
                    no = values["member_no"].upper()
                    no = no if _MEMBER_NO.match(no) else ""
            if reasons:
                out.refused[line] = reasons
            if no:
                self.numbers.add(no.encode(), line)
        self._against_database(out)
        self._repeated(path, out.refused)
        out.repeated = self.repeated
        for line, reasons in self.taken.items():  # only rows the file itself did not refuse
            out.refused.setdefault(line, reasons)
        out.no_account = sum(1 for line in self.no_account if line not in out.refused)
        return out

    def _remember(self, member: RegistryMember) -> None:
        self.households.add(_key(member.household_hash), member.line)
        for resource, h in member.supply_hashes.items():  # a supply point: company and number
            self.supplies[resource].add(_supply_key(member.supply_companies.get(resource, NO_COMPANY), h),
                                        member.line)
        self.chunk.append(member)

    def _repeated(self, path: Path, refused: dict[int, list[str]]) -> None:
        """Every row of a repeated key is refused (which one is right?)."""
        def refuse(lines: list[int], text: str) -> None:
            self.repeated += len(lines)
            for line in lines:
                refused.setdefault(line, []).append(text)

        for no, lines in self.numbers.repeated().items():
            no_text = no.rstrip(b"\0").decode()
            refuse(lines, msg("members.member_no_duplicate", member_no=no_text, lines=_lines(lines)))
        for lines in self.households.repeated().values():
            refuse(lines, msg("members.household_duplicate", lines=_lines(lines)))
        supplies = {resource: keys.repeated() for resource, keys in self.supplies.items()}
        first = {lines[0] for repeated in supplies.values() for lines in repeated.values()}
        numbers = self._customer_numbers(path, first)  # the few rows whose number is shown, masked
        for resource, repeated in supplies.items():
            for lines in repeated.values():
                masked = mask_number(numbers.get((lines[0], resource)))
                refuse(lines, msg("members.customer_number_duplicate", resource=resource, masked=masked,
                                  lines=_lines(lines)))

    def _customer_numbers(self, path: Path, lines: set[int]) -> dict[tuple[int, str], str]:
        """(line, resource) -> customer number of the given (valid) rows, read again."""
        out: dict[tuple[int, str], str] = {}
        if not lines:
            return out
        for line, raw in cells_of_lines(path, MEMBER_HEADER, lines, self.encoding).items():
            member = check_row(CsvRow(line, {h: v.strip() for h, v in zip(MEMBER_HEADER, raw)}, raw),
                               self.rules, self.cipher, self.index, self.today, [])
            for choice in member.resources if member is not None else ():
                if choice.customer_number:
                    out[(line, choice.resource)] = choice.customer_number
        return out

    def _against_database(self, out: Screening) -> None:
        """The chunk's rows against the database's members (members already imported under the
        same member_no may keep their own household and numbers); the good ones spilled."""
        chunk, self.chunk = self.chunk, []
        if not chunk:
            return
        session = self.session
        withdrawn: set[str] = set()
        known: dict[str, int] = {}
        for no, member_id, status in _in_chunks(session, select(Member.member_no, Member.id, Member.status),
                                                Member.member_no, [m.member_no for m in chunk]):
            known[no] = member_id
            if status != "active":
                withdrawn.add(no)
        households = dict(_in_chunks(
            session, select(Member.household_hash, Member.id).where(Member.status == "active"),
            Member.household_hash, list({m.household_hash for m in chunk})))
        supplies: dict[tuple[str, str, str], int] = {}
        # Every resource's numbers in one lookup by the hash alone, the rest told here: the
        # only index the lookup can use is then the hash's (with the resource in SQL, PostgreSQL
        # read all of a resource's active accounts through the unique index of resource, company
        # and hash, and the early writer's rows with them).
        for resource, h, company, member_id, ended_on in _in_chunks(
                session, select(ResourceAccount.resource, ResourceAccount.supply_key_hash, ResourceAccount.company,
                                ResourceAccount.member_id, ResourceAccount.ended_on),
                ResourceAccount.supply_key_hash, list({h for m in chunk for h in m.supply_hashes.values()})):
            if ended_on is None:
                supplies[(resource, company, h)] = member_id
        good: list[Spilled] = []
        for member in chunk:
            own = known.get(member.member_no)
            reasons: list[str] = []
            if member.member_no in withdrawn:
                reasons.append(msg("members.withdrawn", member_no=member.member_no, member_id=own))
            else:
                holder = households.get(member.household_hash)
                if holder is not None and holder != own:
                    reasons.append(msg("members.household_taken", member_id=holder))
                for choice in member.resources:
                    if choice.customer_number:
                        holder = supplies.get((choice.resource, member.supply_companies.get(choice.resource, NO_COMPANY),
                                               member.supply_hashes[choice.resource]))
                        if holder is not None and holder != own:
                            reasons.append(msg("members.customer_number_taken", resource=choice.resource,
                                               masked=mask_number(choice.customer_number), member_id=holder))
            if reasons:
                self.taken[member.line] = reasons
            else:
                good.append((member.line, own, member_values(member, self.cipher),
                             member.joined_on.toordinal(), account_values(member, self.cipher)))
        data = marshal.dumps(good)  # loads of one bytes object: marshal.load reads a file in tiny pieces
        self.spill.write(len(data).to_bytes(8, "little"))
        self.spill.write(data)
        out.spilled += len(good)
        out.existing += sum(1 for item in good if item[1] is not None)
        if self.writer is not None:
            self.writer.put([item for item in good if item[1] is None])


def _spilled(spill) -> Iterator[list[Spilled]]:
    spill.seek(0)
    while size := spill.read(8):
        yield marshal.loads(spill.read(int.from_bytes(size, "little")))


def _masked(row: CsvRow) -> CsvRow:
    """The row as it may be written to the rejects file: an RRN-shaped cell masked."""
    if not any(has_rrn(v) for v in row.raw):
        return row
    return CsvRow(row.line, {}, [RRN_MASK if has_rrn(v) else v for v in row.raw])


def screen_members(session: Session, path: Path, rules: Rules, cipher: FieldCipher, today: date,
                   spill, skip_invalid: bool, writer: _EarlyWriter | None = None,
                   encoding: str = "utf-8") -> tuple[Screening, ImportResult]:
    """The first pass over the whole file. Any problem raises ImportRejected listing them all
    by line, unless `skip_invalid`: then the refused rows go to ``<name>.rejected.csv`` beside
    the input (a CSV syntax error rejects the file even then). `writer`: new members good so
    far are handed to it as each chunk is screened."""
    screening = _FirstPass(session, rules, cipher, today, spill, writer, encoding).run(path)
    refused = screening.refused
    errors = [RowError(line, "; ".join(refused[line])) for line in sorted(refused)]
    if screening.syntax_errors:
        extra = [RowError(0, msg("csv.syntax_not_skippable"))] if skip_invalid else []
        raise ImportRejected([*screening.syntax_errors, *errors, *extra])
    if errors and not skip_invalid:
        raise ImportRejected(errors)
    result = ImportResult(None, screening.rows_total, rejected=len(errors), errors=errors)
    if screening.no_account:
        result.extra["cash without an account (payouts held until the member adds one)"] = screening.no_account
    if errors:
        raw = cells_of_lines(path, MEMBER_HEADER, set(refused), encoding)
        rejects = [(_masked(CsvRow(e.line, {}, raw.get(e.line, []))), e.message) for e in errors]
        result.rejected_file = str(write_rejects(path, screening.columns or MEMBER_HEADER, rejects))
    return screening, result


# --- writing ----------------------------------------------------------------------------------

def _joined_at(day: date) -> datetime:
    """Midnight of the joining day in Korea, as the naive UTC time members.joined_at holds."""
    return datetime.combine(day, time.min) - KST_OFFSET


def member_values(m: RegistryMember, cipher: FieldCipher) -> tuple:
    """The SPILL_COLUMNS of an imported member, encrypted as a chat signup encrypts."""
    cash = m.incentive_type == CASH and m.account is not None
    return (m.member_no, m.member_type, m.name, m.mobile, m.lg_code, m.address, m.unit, m.household_hash,
            m.incentive_type, m.bank if cash else None,
            cipher.encrypt(m.account) if cash and m.account else None, m.name if cash else None)


def account_values(m: RegistryMember, cipher: FieldCipher) -> tuple:
    """(resource, billing_mode, customer_number_enc, supply_key_hash, company) of each resource."""
    return tuple((c.resource, c.billing_mode, cipher.encrypt(c.customer_number) if c.customer_number else None,
                  m.supply_hashes.get(c.resource), m.supply_companies.get(c.resource, NO_COMPANY))
                 for c in m.resources)


class _MemberIds:
    """Ids for new members, taken before their rows are written, so that accounts and addresses
    need no read-back by member_no (on PostgreSQL that read-back, on a table filled in the same
    transaction, took half the import's time at 20,000 members and grew faster than the rows)."""

    def __init__(self, conn) -> None:
        self.conn = conn
        self.last: int | None = None

    def take(self, n: int) -> list[int]:
        if self.conn.dialect.name == "postgresql":
            return list(self.conn.execute(text(
                "SELECT nextval(pg_get_serial_sequence('members', 'id')) FROM generate_series(1, :n)"),
                {"n": n}).scalars())
        if self.last is None:  # SQLite: the transaction holds the write lock since BEGIN
            self.last = self.conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM members")).scalar_one()
        first, self.last = self.last + 1, self.last + n
        return list(range(first, self.last + 1))


def _insert(conn, ids: _MemberIds, part: list[Spilled]) -> None:
    """New members, their accounts and address rows, in the driver's form (COPY / executemany)."""
    taken = ids.take(len(part))
    sqlite = conn.dialect.name == "sqlite"
    days: dict[int, tuple] = {}  # day ordinal -> (joined_at, joined_on) as the driver takes them
    members: list[tuple] = []
    accounts: list[tuple] = []
    addresses: list[tuple] = []
    lg = _COL["local_government_code"]
    for member_id, (_line, _own, values, joined, resources) in zip(taken, part):
        day = days.get(joined)
        if day is None:
            on = date.fromordinal(joined)
            day = days[joined] = (db_time(conn, _joined_at(on)), on.isoformat() if sqlite else on)
        members.append((member_id, *values, "active", "{}", False, False, False, day[0]))
        addresses.append((member_id, values[lg], day[1]))
        accounts.extend((member_id, resource, mode, enc, h, company, None, day[1], None)
                        for resource, mode, enc, h, company in resources)
    bulk_insert(conn, table_of(Member), members, MEMBER_COLUMNS, ready=True)
    bulk_insert(conn, table_of(ResourceAccount), accounts, ACCOUNT_COLUMNS, ready=True)
    bulk_insert(conn, table_of(MemberAddress), addresses, ADDRESS_COLUMNS, ready=True)


def _decrypted(cipher: FieldCipher, token: str | None) -> str | None:
    return cipher.decrypt(token) if token else None


def _update(session: Session, cipher: FieldCipher, member: Member, row: tuple, joined: int, accounts: tuple,
            today: date) -> list[str]:
    """Bring an imported member in line with its registry row; returns the fields that changed."""
    changed: list[str] = []
    for column in ("member_type", "name", "mobile", "address", "address_detail", "household_hash",
                   "local_government_code", "incentive_type", "bank_name", "account_holder"):
        value = row[_COL[column]]
        if getattr(member, column) != value:
            changed.append(column)
            setattr(member, column, value)
    account_enc = row[_COL["account_number_enc"]]
    if _decrypted(cipher, member.account_number_enc) != _decrypted(cipher, account_enc):
        changed.append("account")
        member.account_number_enc = account_enc
    lg_code = row[_COL["local_government_code"]]
    if "local_government_code" in changed or "address" in changed:
        session.add(MemberAddress(member_id=member.id, local_government_code=lg_code, valid_from=today))
    joined_on = date.fromordinal(joined)
    active = {a.resource: a for a in member.accounts if a.ended_on is None}
    for resource, mode, enc, supply_hash, company in accounts:
        current = active.get(resource)
        if current is not None and current.billing_mode == mode and current.supply_key_hash == supply_hash \
                and current.company == company:
            continue
        if current is not None:
            current.ended_on = today
        session.add(ResourceAccount(
            member_id=member.id, resource=resource, billing_mode=mode, customer_number_enc=enc,
            supply_key_hash=supply_hash, company=company, registered_on=today if current else joined_on))
        changed.append(resource)
    return changed


class _EarlyWriter:
    """New members written while the first pass still reads (PostgreSQL), in the import's own
    transaction, by a thread of its own: the server checks keys and indexes the rows of one
    chunk while this process checks and encrypts the next (written after the first pass, the
    server's part of the COPYs was a third of the import's time). The first pass still decides:
    when it refuses any row the transaction is rolled back, so nothing it wrote stays, and the
    rows are written again the ordinary way (skip_invalid) or not at all."""

    def __init__(self, session: Session, batch: int) -> None:
        self.conn = session.connection()
        self.ids = _MemberIds(self.conn)
        self.batch = batch
        self.inserted = 0
        self.error: BaseException | None = None
        self.queue: queue.Queue[list[Spilled] | None] = queue.Queue(maxsize=2)  # a chunk or two ahead
        self.thread = threading.Thread(target=self._run, name="import-members-writer", daemon=True)
        # The writer wakes at every socket wait of the COPY; at the default interval (5 ms) it
        # waited behind the checking thread for the GIL at each, and fell behind the reading.
        self.switch = sys.getswitchinterval()
        sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
        self.thread.start()

    def put(self, rows: list[Spilled]) -> None:
        for start in range(0, len(rows), self.batch):
            self.queue.put(rows[start:start + self.batch])

    def _run(self) -> None:
        while (rows := self.queue.get()) is not None:
            if self.error is None:  # after an error the rest is only drained: the work is rolled back
                try:
                    _insert(self.conn, self.ids, rows)
                    self.inserted += len(rows)
                except BaseException as exc:  # noqa: BLE001 - handed to the importing thread
                    self.error = exc

    def close(self) -> bool:
        """Wait for the rows handed over; whether all of them were written."""
        self.queue.put(None)
        self.thread.join()
        sys.setswitchinterval(self.switch)
        return self.error is None


class _Redo(Exception):
    """The early writes were rolled back (some row was refused, or the writer failed); the
    first pass's findings are kept for the ordinary second pass."""

    def __init__(self, screening: Screening, result: ImportResult) -> None:
        super().__init__("early writes rolled back")
        self.screening, self.result = screening, result


def _write(session: Session, cipher: FieldCipher, spill, refused: dict[int, list[str]], result: ImportResult,
           run, today: date, now: datetime, operator: str, batch: int, *, new_written: bool) -> None:
    """The second pass: new members (unless `new_written`: the early writer has) and updates of
    members already imported, from the spill file."""
    conn = session.connection()
    ids = _MemberIds(conn)
    key = audit.audit_key(cipher)
    new: list[Spilled] = []
    for part in _spilled(spill):
        # the part's members already imported, with their accounts, in one query (not one a row)
        existing = {m.id: m for (m,) in _in_chunks(
            session, select(Member), Member.id,
            [item[1] for item in part if item[1] is not None and item[0] not in refused])}
        for item in part:
            line, own, row, joined, accounts = item
            if line in refused:
                continue
            if own is None:
                if new_written:
                    continue
                new.append(item)
                if len(new) >= batch:
                    _insert(conn, ids, new)
                    result.inserted += len(new)
                    new = []
                continue
            member = existing.get(own)
            if member is None or member.status != "active":
                continue
            changed = _update(session, cipher, member, row, joined, accounts, today)
            if changed:
                session.flush()
                result.changed += 1
                audit.record(session, key, now, operator, AUDIT_ACTION, subject=f"member:{member.id}",
                             scope="all", detail={"member_no": row[_COL["member_no"]], "fields": changed,
                                                  "import_run": run.id})
    if new:
        _insert(conn, ids, new)
        result.inserted += len(new)


def import_members(db: Database, cipher: FieldCipher, clock: Clock, path: str | Path, *,
                   skip_invalid: bool = False, rules: Rules | None = None,
                   operator: str = "cli", batch: int = 5_000, early: bool | None = None,
                   encoding: str = "utf-8") -> ImportResult:
    """Validate and import a registry CSV. Raises ImportRejected (nothing written) when the
    file or any row is bad and ``skip_invalid`` is off.

    Two passes, so that memory does not grow with the file's rows beyond the keys of the
    duplicate checks: the first reads and checks the whole file, spilling the good rows
    (encrypted) to an unnamed temporary file; the second writes them from there in batches of
    `batch`, in one transaction. On PostgreSQL (`early`: None chooses by the database) the new
    members are written during the first pass, in that transaction, kept only when the first
    pass refuses nothing (:class:`_EarlyWriter`)."""
    rules = rules or default_rules()
    path = Path(path)
    started = utcnow_naive(clock)
    today = today_kst(clock)
    if early is None:
        early = db.engine.dialect.name == "postgresql"
    with tempfile.TemporaryFile() as spill:
        if early:
            try:
                with db.transaction() as session:
                    writer = _EarlyWriter(session, batch)
                    try:
                        with db.session() as s:
                            # The tables the writer fills look empty to the planner (their rows are
                            # not committed) yet grow on disk: its lookups chose sequential scans,
                            # each reading every row written so far (quadratic in the file).
                            s.execute(text("SET LOCAL enable_seqscan = off"))
                            screening, result = screen_members(s, path, rules, cipher, today, spill, skip_invalid,
                                                               writer, encoding)
                    finally:
                        written = writer.close()
                    # rows refused alone or against the database were never handed to the writer;
                    # a row refused for a key repeated in the file may have been
                    if not written or screening.repeated:
                        raise _Redo(screening, result)
                    result.inserted = writer.inserted
                    _finish(session, cipher, clock, path, spill, screening, result, operator, batch, started,
                            today, new_written=True)
                return result
            except _Redo as redo:
                screening, result = redo.screening, redo.result
        else:
            with db.session() as s:
                screening, result = screen_members(s, path, rules, cipher, today, spill, skip_invalid,
                                                   encoding=encoding)
        with db.transaction() as session:
            _finish(session, cipher, clock, path, spill, screening, result, operator, batch, started, today,
                    new_written=False)
    return result


def _finish(session: Session, cipher: FieldCipher, clock: Clock, path: Path, spill, screening: Screening,
            result: ImportResult, operator: str, batch: int, started: datetime, today: date, *,
            new_written: bool) -> None:
    """The second pass in the import's transaction, its run recorded."""
    refused = screening.refused
    run = open_run(session, "members", path, result, started)
    if screening.existing or not new_written:  # else the early writer wrote every row
        with _page_cache(session):
            _write(session, cipher, spill, refused, result, run, today, utcnow_naive(clock), operator, batch,
                   new_written=new_written)
    adopt_all_unassigned_readings(session)
    close_run(run, result, screening.rows_total - len(refused), clock)


@contextmanager
def _page_cache(session: Session) -> Iterator[None]:
    """SQLite: a larger page cache while the rows go in. With the default 2 MB the indexes of
    members and accounts outgrew it at some 50,000 members, and each batch read back the index
    pages the previous one had evicted (the write grew faster than the rows)."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = driver_connection(conn)
    raw.execute(f"PRAGMA cache_size = -{IMPORT_PAGE_CACHE_KB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = -{SQLITE_DEFAULT_CACHE_KB}")
