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
- joined_on: ``YYYY-MM-DD``; the member's accounts and first address row date from it, so the
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

The whole file is validated before anything is written, with sets rather than per-row queries:
the rows among themselves, then the households and customer numbers of the file against the
database in chunked ``IN`` lookups. Any bad row rejects the file (:class:`ImportRejected`, every
problem by line number). With ``skip_invalid`` the good rows are imported and the others written
to ``<name>.rejected.csv`` beside the input.

The write is one transaction: new members, their accounts and address rows go in through
:func:`core.db_bulk.bulk_insert` (COPY on PostgreSQL); members already imported (same member_no)
are updated only where something changed, each change audited (core.audit: the fields that
changed, never their values). Customer numbers and accounts are encrypted and hashed exactly as
for a chat signup.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.clock import Clock, today_kst, utcnow_naive
from core.crypto import FieldCipher
from core.csv_screening import CsvRow, field_count_error, msg, read_csv_file
from core.db import Database
from core.db_bulk import bulk_insert
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
from core.pii import RRN_MASK, mask_number
from core.rules import Rules, default_rules
from core.sqla import table_of
from core.usage_import import ImportResult, Screened, close_run, open_run, screen_file
from core.utility_companies import NO_COMPANY, default_company

MEMBER_HEADER = ("member_no", "member_type", "name", "mobile", "address", "unit", "joined_on",
                 "electricity", "water", "gas", "incentive_type", "bank", "account")
MANAGED = "managed"
FIRST_JOIN_YEAR = 2008  # the programme's predecessor (탄소포인트제) started in 2008
_MEMBER_NO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
KST_OFFSET = timedelta(hours=9)
LOOKUP_CHUNK = 1000
AUDIT_ACTION = "member.import_update"
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


# --- local governments in memory ----------------------------------------------------------------

class GovernmentIndex:
    """Every local government's address prefixes, canonical, for a longest word-prefix match
    without a query per row (the same answer as core.local_governments.match_local_government)."""

    def __init__(self, governments: Iterable[LocalGovernment]) -> None:
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

    def complete(self, parsed: ParsedAddress) -> bool:
        found = self._complete.get(parsed.base)
        if found is None:
            found = self._complete[parsed.base] = looks_complete(parsed)
        return found

    def match(self, base: str) -> LocalGovernment | None:
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
                base = self._bases[address] = parse_address(address, "") or _UNPARSED
            if base is _UNPARSED:
                return None, ""
            detail = self._details.get(unit)
            if detail is None:
                text = clean(strip_markup(unit))
                detail = self._details[unit] = (text, unit_structure(text).key)
            parsed = ParsedAddress(sido=base.sido, base=base.base, detail=detail[0], kind=base.kind)
            return parsed, f"{parsed.base}|{detail[1]}"
        whole = parse_address(address)
        return whole, household_key(whole) if whole is not None else ""

    def offered(self, lg: LocalGovernment | None, rules: Rules) -> list[str]:
        key = lg.code if lg is not None else None
        if key not in self._offered:
            self._offered[key] = offered_incentive_types(lg, rules)
        return self._offered[key]


# --- validation -------------------------------------------------------------------------------

class _Row:
    """Reasons for one CSV row."""

    __slots__ = ("row", "reasons")

    def __init__(self, row: CsvRow) -> None:
        self.row = row
        self.reasons: list[str] = []


def _resource_choice(resource: str, value: str, rules: Rules, reasons: list[str]) -> Choice | None:
    if value == "":
        return Choice(resource, "not_used")
    if value.lower() == MANAGED:
        return Choice(resource, "managed_fee")
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
    m = _ISO_DATE.match(value)
    if not m:
        return None, msg("members.joined_on", value=value)
    try:
        day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
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


def check_row(row: CsvRow, rules: Rules, cipher: FieldCipher, index: GovernmentIndex, today: date,
              reasons: list[str]) -> RegistryMember | None:
    """One row, checked as a chat signup checks what a citizen types (no database access)."""
    v = row.values
    rrn = [column for column in MEMBER_HEADER if has_rrn(v[column])]
    if rrn:
        reasons.extend(msg("members.rrn", column=column) for column in rrn)
        return None
    member_no = v["member_no"].upper()
    if not _MEMBER_NO.match(member_no):
        reasons.append(msg("members.member_no"))
    member_type = v["member_type"].lower()
    if member_type not in rules.points_table_by_member_type:
        reasons.append(msg("members.member_type", value=v["member_type"],
                           expected="|".join(rules.points_table_by_member_type)))
        name = None
    else:
        try:
            name = normalise_name(v["name"], member_type)
        except InvalidValue:
            name = None
            reasons.append(msg("members.name", member_type=member_type))
    try:
        mobile = normalise_mobile(v["mobile"])
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
        lg = index.match(parsed.base)
    joined_on, why = parse_joined_on(v["joined_on"], today)
    if why:
        reasons.append(why)
    choices = [c for resource in rules.resources
               if (c := _resource_choice(resource, v.get(resource, ""), rules, reasons)) is not None]
    if any(c.resource == "electricity" and c.billing_mode == "not_used" for c in choices):
        reasons.append(msg("members.electricity_required"))
    incentive = v["incentive_type"].lower() or rules.default_incentive_type
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
    if incentive == CASH:
        try:
            bank = normalise_bank(v["bank"])
        except InvalidValue:
            reasons.append(msg("members.bank"))
        try:
            account = normalise_account_number(v["account"])
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


def _lines(rows: Sequence[RegistryMember]) -> str:
    return ", ".join(str(r.line) for r in rows)


def _in_chunks(session: Session, query, column, values: Sequence) -> list:
    out: list = []
    for start in range(0, len(values), LOOKUP_CHUNK):
        out.extend(session.execute(query.where(column.in_(values[start:start + LOOKUP_CHUNK]))).all())
    return out


def validate_members(session: Session, rows: list[CsvRow], rules: Rules, cipher: FieldCipher,
                     today: date, reread: Callable[[], list[CsvRow]] | None = None) -> Screened:
    """Every row checked, then the file's rows among themselves (member_no, household,
    customer numbers), then against the database's active members (members already imported
    under the same member_no may keep their own household and numbers). The raw cells of a
    row that passed its own checks are dropped (memory) and read again by `reread` only if the
    row is refused later."""
    index = GovernmentIndex(session.scalars(select(LocalGovernment)))
    checked: list[_Row] = []
    good: list[tuple[RegistryMember, _Row]] = []
    by_no: dict[str, list[int]] = {}  # member_no -> lines, of every row (valid or not) with a well-formed number
    numbers: list[str] = []
    for row in rows:
        item = _Row(row)
        checked.append(item)
        no = ""
        if not row.values:
            item.reasons.append(field_count_error(row, MEMBER_HEADER))
        else:
            member = check_row(row, rules, cipher, index, today, item.reasons)
            if member is not None:
                good.append((member, item))
                no = member.member_no
                row.raw = []  # read again from the file should the row be refused later
            elif not any(has_rrn(x) for x in row.values.values()):  # of an RRN row nothing is used
                no = row.values["member_no"].upper()
                no = no if _MEMBER_NO.match(no) else ""
            row.values = {}  # only the raw cells stay, for the rejects file (memory: millions of rows)
        numbers.append(no)
        if no:
            by_no.setdefault(no, []).append(row.line)

    # The file among itself: every row of a repeated key is refused (which one is right?).
    def refuse_repeated(key_of, message) -> None:
        first: dict = {}  # key -> index in good (only repeated keys get a list)
        repeated: dict = {}
        for i, (member, _item) in enumerate(good):
            for key in key_of(member):
                j = first.setdefault(key, i)
                if j != i:
                    repeated.setdefault(key, [j]).append(i)
        for key, indexes in repeated.items():
            text = message(key, [good[i][0] for i in indexes])
            for i in indexes:
                good[i][1].reasons.append(text)

    for item, no in zip(checked, numbers):
        if no and len(by_no[no]) > 1:
            item.reasons.append(msg("members.member_no_duplicate", member_no=no,
                                    lines=", ".join(map(str, by_no[no]))))
    refuse_repeated(lambda m: [m.household_hash],
                    lambda _k, ms: msg("members.household_duplicate", lines=_lines(ms)))
    refuse_repeated(lambda m: [(r, m.supply_companies.get(r, ""), h) for r, h in m.supply_hashes.items()],
                    lambda k, ms: msg("members.customer_number_duplicate", resource=k[0],
                                      masked=mask_number(next(c.customer_number for c in ms[0].resources
                                                              if c.resource == k[0]) or ""),
                                      lines=_lines(ms)))
    good = [(m, item) for m, item in good if not item.reasons]

    # Against the database, in chunked lookups.
    withdrawn: set[str] = set()
    known: dict[str, int] = {}
    for no, member_id, status in _in_chunks(session, select(Member.member_no, Member.id, Member.status),
                                            Member.member_no, [m.member_no for m, _ in good]):
        known[no] = member_id
        if status != "active":
            withdrawn.add(no)
    households = dict(_in_chunks(
        session, select(Member.household_hash, Member.id).where(Member.status == "active"),
        Member.household_hash, list({m.household_hash for m, _ in good})))
    supplies: dict[tuple[str, str, str], int] = {}
    for resource in rules.resources:
        hashes = list({m.supply_hashes[resource] for m, _ in good if resource in m.supply_hashes})
        for h, company, member_id in _in_chunks(
                session, select(ResourceAccount.supply_key_hash, ResourceAccount.company,
                                ResourceAccount.member_id).where(
                    ResourceAccount.resource == resource, ResourceAccount.ended_on.is_(None)),
                ResourceAccount.supply_key_hash, hashes):
            supplies[(resource, company, h)] = member_id
    for member, item in good:
        own = known.get(member.member_no)
        if member.member_no in withdrawn:
            item.reasons.append(msg("members.withdrawn", member_no=member.member_no, member_id=own))
            continue
        holder = households.get(member.household_hash)
        if holder is not None and holder != own:
            item.reasons.append(msg("members.household_taken", member_id=holder))
        for choice in member.resources:
            if choice.customer_number:
                holder = supplies.get((choice.resource, member.supply_companies.get(choice.resource, ""),
                                       member.supply_hashes[choice.resource]))
                if holder is not None and holder != own:
                    item.reasons.append(msg("members.customer_number_taken", resource=choice.resource,
                                            masked=mask_number(choice.customer_number), member_id=holder))

    refused = [item for item in checked if item.reasons]
    if reread is not None and any(not item.row.raw for item in refused):
        wanted = {item.row.line for item in refused if not item.row.raw}
        raw = {row.line: row.raw for row in reread() if row.line in wanted}
        for item in refused:
            if not item.row.raw:
                item.row.raw = raw.get(item.row.line, [])
    rejects = [(_masked(item.row), "; ".join(item.reasons)) for item in refused]
    return Screened([m for m, item in good if not item.reasons], rejects)


def _masked(row: CsvRow) -> CsvRow:
    """The row as it may be written to the rejects file: an RRN-shaped cell masked."""
    if not any(has_rrn(v) for v in row.raw):
        return row
    return CsvRow(row.line, {}, [RRN_MASK if has_rrn(v) else v for v in row.raw])


# --- writing ----------------------------------------------------------------------------------

def _joined_at(day: date) -> datetime:
    """Midnight of the joining day in Korea, as the naive UTC time members.joined_at holds."""
    return datetime.combine(day, time.min) - KST_OFFSET


def member_row(m: RegistryMember, cipher: FieldCipher) -> dict:
    """The members row of a new imported member (encrypted as a chat signup encrypts)."""
    cash = m.incentive_type == CASH and m.account is not None
    return {
        "status": "active", "member_no": m.member_no, "member_type": m.member_type,
        "name": m.name, "mobile": m.mobile, "local_government_code": m.lg_code,
        "address": m.address, "address_detail": m.unit, "household_hash": m.household_hash,
        "incentive_type": m.incentive_type,
        "bank_name": m.bank if cash else None,
        "account_number_enc": cipher.encrypt(m.account) if cash and m.account else None,
        "account_holder": m.name if cash else None,
        "consents": {}, "marketing_opt_in": False, "campaign_opt_out": False, "is_friend": False,
        "joined_at": _joined_at(m.joined_on),
    }


def account_rows(m: RegistryMember, member_id: int, cipher: FieldCipher, day: date) -> list[dict]:
    return [{"member_id": member_id, "resource": c.resource, "billing_mode": c.billing_mode,
             "customer_number_enc": cipher.encrypt(c.customer_number) if c.customer_number else None,
             "supply_key_hash": m.supply_hashes.get(c.resource),
             "company": m.supply_companies.get(c.resource, NO_COMPANY), "tariff": None,
             "registered_on": day, "ended_on": None} for c in m.resources]


def _insert_new(session: Session, cipher: FieldCipher, new: list[RegistryMember], batch: int = 5_000) -> None:
    conn = session.connection()
    members, accounts, addresses = table_of(Member), table_of(ResourceAccount), table_of(MemberAddress)
    for start in range(0, len(new), batch):
        part = new[start:start + batch]
        bulk_insert(conn, members, [member_row(m, cipher) for m in part])
        ids = dict(_in_chunks(session, select(Member.member_no, Member.id), Member.member_no,
                              [m.member_no for m in part]))
        bulk_insert(conn, accounts, [row for m in part for row in account_rows(m, ids[m.member_no], cipher, m.joined_on)])
        bulk_insert(conn, addresses, [{"member_id": ids[m.member_no], "local_government_code": m.lg_code,
                                       "valid_from": m.joined_on} for m in part])


def _update(session: Session, cipher: FieldCipher, member: Member, m: RegistryMember, today: date) -> list[str]:
    """Bring an imported member in line with its registry row; returns the fields that changed."""
    changed: list[str] = []
    cash = m.incentive_type == CASH and m.account is not None
    wanted = {"member_type": m.member_type, "name": m.name, "mobile": m.mobile, "address": m.address,
              "address_detail": m.unit, "household_hash": m.household_hash,
              "local_government_code": m.lg_code, "incentive_type": m.incentive_type,
              "bank_name": m.bank if cash else None, "account_holder": m.name if cash else None}
    for column, value in wanted.items():
        if getattr(member, column) != value:
            changed.append(column)
            setattr(member, column, value)
    current_account = cipher.decrypt(member.account_number_enc) if member.account_number_enc else None
    if current_account != (m.account if cash else None):
        changed.append("account")
        member.account_number_enc = cipher.encrypt(m.account) if cash and m.account else None
    if "local_government_code" in changed or "address" in changed:
        session.add(MemberAddress(member_id=member.id, local_government_code=m.lg_code, valid_from=today))
    active = {a.resource: a for a in member.accounts if a.ended_on is None}
    for choice in m.resources:
        current = active.get(choice.resource)
        if current is not None and current.billing_mode == choice.billing_mode \
                and current.supply_key_hash == m.supply_hashes.get(choice.resource) \
                and current.company == m.supply_companies.get(choice.resource, NO_COMPANY):
            continue
        if current is not None:
            current.ended_on = today
        session.add(ResourceAccount(
            member_id=member.id, resource=choice.resource, billing_mode=choice.billing_mode,
            customer_number_enc=cipher.encrypt(choice.customer_number) if choice.customer_number else None,
            supply_key_hash=m.supply_hashes.get(choice.resource),
            company=m.supply_companies.get(choice.resource, NO_COMPANY),
            registered_on=today if current else m.joined_on))
        changed.append(choice.resource)
    return changed


def import_members(db: Database, cipher: FieldCipher, clock: Clock, path: str | Path, *,
                   skip_invalid: bool = False, rules: Rules | None = None,
                   operator: str = "cli") -> ImportResult:
    """Validate and import a registry CSV. Raises ImportRejected (nothing written) when the
    file or any row is bad and ``skip_invalid`` is off."""
    rules = rules or default_rules()
    path = Path(path)
    started = utcnow_naive(clock)
    today = today_kst(clock)
    with db.session() as s:
        good, _rejects, result = screen_file(
            path, MEMBER_HEADER,
            lambda rows: validate_members(s, rows, rules, cipher, today,
                                          reread=lambda: read_csv_file(path, MEMBER_HEADER).rows),
            skip_invalid)
    now = utcnow_naive(clock)
    with db.transaction() as session:
        run = open_run(session, "members", path, result, started)
        known = dict(_in_chunks(session, select(Member.member_no, Member.id), Member.member_no,
                                [m.member_no for m in good]))
        new = [m for m in good if m.member_no not in known]
        _insert_new(session, cipher, new)
        result.inserted = len(new)
        key = audit.audit_key(cipher)
        for m in good:
            member_id = known.get(m.member_no)
            if member_id is None:
                continue
            member = session.get(Member, member_id)
            if member is None or member.status != "active":
                continue
            changed = _update(session, cipher, member, m, today)
            if changed:
                session.flush()
                result.changed += 1
                audit.record(session, key, now, operator, AUDIT_ACTION, subject=f"member:{member.id}",
                             scope="all", detail={"member_no": m.member_no, "fields": changed,
                                                  "import_run": run.id})
        adopt_all_unassigned_readings(session)
        close_run(run, result, len(good), clock)
    return result

