"""Demo citizens (the emulator's user switcher) and the demo data set (`cpoint demo-data`)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from core import texts

# Every chat user the emulator may act as has a key with this prefix; real botUserKeys are
# 70-character hex strings, so the emulator can never speak as a real citizen.
DEMO_USER_PREFIX = "demo-"
DEMO_USER_KEY_RE = re.compile(r"^demo-[A-Za-z0-9_-]{1,60}$")


@dataclass(frozen=True)
class DemoCitizen:
    key: str
    name: str
    about: str  # one line shown in the emulator's user switcher


def _demo_data(key: str):
    """A value of core/data/demo.toml: the demo's names, addresses and campaign words."""
    return texts.data("demo", key)


DEMO_CITIZENS: tuple[DemoCitizen, ...] = tuple(
    DemoCitizen(c["key"], c["name"], c["about"]) for c in _demo_data("citizens"))


def is_demo_user_key(key: object) -> bool:
    return isinstance(key, str) and bool(DEMO_USER_KEY_RE.match(key))


# --- the demo data set -----------------------------------------------------------------------
#
# `load_demo` builds a small, believable programme through the real core functions: local
# governments seeded, members created by `core.members.create_member` (each on its join day, so
# the join rules apply), two years of readings imported by `core.usage_import.import_usage`
# from a CSV file, the last complete half settled by `core.settlement.settle_half`, an active
# campaign with pledges, and notifications in the outbox. Deterministic: the same seed and the
# same day give the same data.
#
# It never runs against a database that holds real members: every member must have a demo key
# (`demo-...`), unless the operator says --force. Withdrawn members have no key left, so a
# database with one is refused too (safe side).

import csv  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
from datetime import date, datetime, time, timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import func, or_, select  # noqa: E402

from core import broadcasts  # noqa: E402
from core.clock import KST, Clock, FixedClock, today_kst, utcnow_naive  # noqa: E402
from core.models import CampaignBroadcast  # noqa: E402
from core.monthly import queue_monthly_results  # noqa: E402
from core.settlement import settle_half  # noqa: E402

DEMO_SEED = 2026
DEMO_FILE_PREFIX = "cpoint-demo-usage"
CAMPAIGN_ID = "cmp-demo-one-degree"
PAST_CAMPAIGN_ID = "cmp-demo-tumbler"


class DemoRefused(RuntimeError):
    """The database holds members that are not demo members."""


@dataclass
class DemoSummary:
    loaded: bool
    message: str
    members: int = 0
    readings: int = 0
    half: str | None = None
    settled: str | None = None
    notifications: int = 0


@dataclass(frozen=True)
class _Person:
    key: str
    name: str
    member_type: str
    lg: str  # local government code
    address: str
    detail: str
    incentive: str
    joined: date
    resources: tuple  # (resource, billing_mode) ...
    trend: float  # yearly change of use: -0.1 = 10 % less each year
    marketing: bool
    mobile: str


# Where demo members live: code -> (address prefix, road names). All outside Seoul.
_PLACES = {code: (p["prefix"], tuple(p["roads"])) for code, p in _demo_data("places").items()}
_FAMILY = _demo_data("names.family")
_GIVEN = tuple(_demo_data("names.given"))
_ORGS = {kind: tuple(names) for kind, names in _demo_data("names.orgs").items()}
_FOREIGN = tuple(_demo_data("names.foreign"))
_TYPES = (("individual", 22), ("commercial", 6), ("public", 3), ("school", 3), ("foreigner", 4))


def _dt(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), KST)


def _last_complete_half(today: date) -> str:
    return f"{today.year - 1}H2" if today.month <= 6 else f"{today.year}H1"


def _half_start(half: str) -> date:
    return date(int(half[:4]), 1 if half.endswith("1") else 7, 1)


def _people(rng: random.Random, today: date) -> list[_Person]:
    half_start = _half_start(_last_complete_half(today))
    fixed = [
        _Person(p["key"], p["name"], p["member_type"], p["lg"], p["address"], p["detail"], p["incentive"],
                half_start + timedelta(days=p["joined"]), tuple(tuple(r) for r in p["resources"]), p["trend"],
                p["marketing"], p["mobile"])
        for p in _demo_data("people")
    ]
    people = list(fixed)
    types = [t for t, n in _TYPES for _ in range(n)]
    codes = list(_PLACES)
    for i, member_type in enumerate(types, start=1):
        code = codes[i % len(codes)]
        prefix, roads = _PLACES[code]
        if member_type in _ORGS:
            name = rng.choice(_ORGS[member_type])
        elif member_type == "foreigner":
            name = rng.choice(_FOREIGN)
        else:
            name = rng.choice(_FAMILY) + rng.choice(_GIVEN)
        household = member_type in ("individual", "foreigner")
        detail = ""
        if household and rng.random() < 0.7:
            dong, floor, unit = rng.randint(101, 115), rng.randint(1, 25), rng.randint(1, 4)
            detail = _demo_data("address.detail").format(dong=dong, floor=floor, unit=unit)
        address = f"{prefix} {rng.choice(roads)} {100 + i * 7}"
        resources = [("electricity", "separate")]
        if rng.random() < 0.7:
            resources.append(("water", "separate"))
        if rng.random() < 0.6:
            resources.append(("gas", "separate"))
        # joins spread over the last two and a half years, more of them recently
        joined = today - timedelta(days=int(900 * rng.random() ** 1.6) + 15)
        incentive = rng.choice(("cash", "donation", "local_currency", "cash"))
        people.append(_Person(f"demo-member-{i:03d}", name, member_type, code, address, detail, incentive, joined,
                              tuple(resources), rng.choice((-0.15, -0.1, -0.07, -0.04, -0.02, 0.0, 0.03, 0.06)),
                              rng.random() < 0.6, f"010-{rng.randint(2000, 9999)}-{rng.randint(1000, 9999)}"))
    return people


def _customer_number(rng: random.Random, resource: str) -> str:
    if resource == "electricity":
        return "0" + "".join(str(rng.randint(0, 9)) for _ in range(9))
    return "".join(str(rng.randint(0, 9)) for _ in range(rng.choice((8, 10, 12))))


# monthly profile (Jan..Dec) and base level per resource
_SEASON = {
    "electricity": (1.10, 1.02, 0.92, 0.85, 0.86, 0.95, 1.18, 1.30, 1.05, 0.88, 0.92, 1.05),
    "water": (0.95, 0.93, 0.97, 1.00, 1.02, 1.05, 1.10, 1.12, 1.04, 0.98, 0.95, 0.94),
    "gas": (1.75, 1.60, 1.25, 0.85, 0.55, 0.40, 0.35, 0.35, 0.45, 0.75, 1.20, 1.60),
}
_BASE = {"electricity": (280, 420), "water": (11, 22), "gas": (45, 85)}
_SCALE = {"commercial": 4.0, "public": 6.0, "school": 9.0}


def _readings(rng: random.Random, person: _Person, resource: str, months: list[int], last: int) -> dict[int, Decimal]:
    lo, hi = _BASE[resource]
    base = rng.uniform(lo, hi) * _SCALE.get(person.member_type, 1.0)
    out = {}
    for m in months:
        years_back = ((last // 100) * 12 + last % 100 - (m // 100) * 12 - m % 100) / 12
        level = base * (1 + person.trend) ** (-years_back) * _SEASON[resource][m % 100 - 1]
        value = level * rng.uniform(0.94, 1.06)
        places = "1" if resource == "electricity" else "0.1"
        out[m] = Decimal(str(round(value, 1))).quantize(Decimal(places))
    return out


def demo_state(session) -> tuple[int, int]:
    """(members that are not demo members, demo members)."""
    from core.models import Member

    real = session.scalar(select(func.count()).select_from(Member).where(
        or_(Member.bot_user_key.is_(None), ~Member.bot_user_key.like(DEMO_USER_PREFIX + "%"))))
    demo = session.scalar(select(func.count()).select_from(Member).where(
        Member.bot_user_key.like(DEMO_USER_PREFIX + "%")))
    return int(real or 0), int(demo or 0)


def _already_loaded(session) -> bool:
    from core.models import ImportRun, Member

    has_run = session.scalar(select(func.count()).select_from(ImportRun).where(
        ImportRun.file_name.like(DEMO_FILE_PREFIX + "%")))
    has_member = session.scalar(select(func.count()).select_from(Member).where(
        Member.bot_user_key == DEMO_CITIZENS[1].key))
    return bool(has_run) and bool(has_member)


def load_demo(db, cipher, clock: Clock, *, seed: int = DEMO_SEED, force: bool = False, rules=None,
              settle: bool = True) -> DemoSummary:
    """Load the demo data set (see above). Refuses (DemoRefused) when real members exist unless
    `force`; does nothing when the demo is already there. Each step is idempotent, so a run that
    stopped half-way is completed by running it again."""
    from core.local_governments import parse_address, seed_local_governments
    from core.members import AlreadyMember, ResourceChoice, SignupData, create_member, member_for_user
    from core.points.periods import add_months, month_of
    from core.rules import default_rules
    from core.usage_import import import_usage

    rules = rules or default_rules()
    with db.session() as s:
        real, _demo = demo_state(s)
        if real and not force:
            raise DemoRefused(
                f"the database holds {real} member(s) that are not demo members; demo data is only "
                "loaded into an empty or demo database (use --force to load it anyway)")
        if _already_loaded(s):
            return DemoSummary(False, "demo data is already loaded; nothing to do")

    rng = random.Random(seed)
    today = today_kst(clock)
    half = _last_complete_half(today)
    people = _people(rng, today)
    last = add_months(month_of(today), -1)
    first = add_months(month_of(_half_start(half)), -24)
    months = []
    while first <= last:
        months.append(first)
        first = add_months(first, 1)

    # 1. local governments and members, each created on its join day
    from core.models import LocalGovernment

    with db.transaction() as s:
        seed_local_governments(s)
        offered = {lg.code: list(lg.incentive_types or []) for lg in s.scalars(select(LocalGovernment))}
    numbers: dict[tuple[str, str], str | None] = {}
    created = 0
    for p in people:
        choices = []
        for resource, mode in p.resources:
            number = _customer_number(rng, resource) if mode == "separate" else None
            numbers[(p.key, resource)] = number
            choices.append(ResourceChoice(resource, mode, number))
        incentive = p.incentive if p.incentive in offered.get(p.lg, []) else "donation"
        parsed = parse_address(p.address, p.detail)
        if parsed is None:
            raise RuntimeError(f"demo address does not parse: {p.address}")
        data = SignupData(
            member_type=p.member_type, user_key=p.key, name=p.name, mobile=p.mobile, address=parsed,
            resources=choices, consents={"terms": True, "privacy": True, "third_party": True, "optional": p.marketing},
            marketing_opt_in=p.marketing, bot_id=None, plusfriend_user_key="pf-" + p.key[-10:], is_friend=True,
            incentive_type=incentive,
            bank_name=_demo_data("payout.bank") if incentive == "cash" else None,
            account_number=("3333" + "".join(str(rng.randint(0, 9)) for _ in range(9))) if incentive == "cash" else None,
            account_holder=p.name if incentive == "cash" else None,
            head_of_household=p.name if p.member_type in ("individual", "foreigner") else None,
        )
        with db.transaction() as s:
            if member_for_user(s, p.key) is not None:
                continue
            try:
                create_member(s, cipher, FixedClock(_dt(p.joined)), data, rules)
                created += 1
            except AlreadyMember:
                continue

    # 2. readings of every supply point, imported as an operator would
    rows = []
    for p in people:
        for resource, _mode in p.resources:
            number = numbers.get((p.key, resource))
            if not number:
                continue
            for month, amount in _readings(rng, p, resource, months, last).items():
                rows.append((resource, number, f"{month // 100:04d}-{month % 100:02d}", str(amount)))
    with tempfile.TemporaryDirectory(prefix="cpoint-demo-") as tmp:
        path = Path(tmp) / f"{DEMO_FILE_PREFIX}-{seed}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["resource", "customer_number", "month", "amount"])
            w.writerows(rows)
        import_usage(db, cipher, clock, path, rules=rules)

    # 3. the last complete half settled with the real settlement
    settled = None
    if settle:
        settled = settle_half(db, half, clock, rules=rules).summary()

    # 4. campaigns, pledges and the outbox
    notifications = _campaigns_and_outbox(db, clock, rng, people, today, last)
    return DemoSummary(True, f"demo data loaded: {len(people)} members ({created} new), {len(rows)} readings, "
                             f"{half} settled, {notifications} notification(s) queued",
                       members=len(people), readings=len(rows), half=half, settled=settled,
                       notifications=notifications)


def _campaigns_and_outbox(db, clock: Clock, rng: random.Random, people: list[_Person], today: date,
                          last_month: int) -> int:
    """An active and a past campaign, pledges, and notifications in the outbox: the monthly
    results of last month (core.monthly, every figure from core.points) and a campaign broadcast
    (core.broadcasts, which leaves out members without advertising consent)."""
    from core.campaigns import pledge
    from core.models import Campaign, Member

    now = utcnow_naive(clock)
    with db.transaction() as s:
        if s.get(Campaign, CAMPAIGN_ID) is None:
            active = _demo_data("campaigns.active")
            s.add(Campaign(id=CAMPAIGN_ID, title=active["title"], summary=active["summary"],
                           image_url=None, detail_url="https://www.cpoint.or.kr", starts_on=today - timedelta(days=20),
                           ends_on=today + timedelta(days=70), active=True, created_at=now))
        if s.get(Campaign, PAST_CAMPAIGN_ID) is None:
            past = _demo_data("campaigns.past")
            s.add(Campaign(id=PAST_CAMPAIGN_ID, title=past["title"], summary=past["summary"], image_url=None,
                           detail_url="https://www.cpoint.or.kr", starts_on=today - timedelta(days=200),
                           ends_on=today - timedelta(days=30), active=False, created_at=now))
        s.flush()
        members = {m.bot_user_key: m for m in s.scalars(
            select(Member).where(Member.bot_user_key.like(DEMO_USER_PREFIX + "%"), Member.status == "active"))}
        for key in [p.key for p in people if p.marketing][:12]:
            if key in members:
                pledge(s, clock, members[key], CAMPAIGN_ID)
    period = f"{last_month // 100:04d}-{last_month % 100:02d}"
    count = queue_monthly_results(db, period, clock=clock).written
    count += _broadcast(db, clock)
    return count


def _broadcast(db, clock: Clock) -> int:
    with db.session() as s:
        if s.scalar(select(func.count()).select_from(CampaignBroadcast).where(
                CampaignBroadcast.campaign_id == CAMPAIGN_ID)):
            return 0
    now = clock.now()
    b = broadcasts.schedule(db, campaign_id=CAMPAIGN_ID, at=now, now=now, segment="all",
                            message=_demo_data("broadcast.message"),
                            created_by="demo")
    result = broadcasts.expand(db, b.id, now=now, quiet=None)
    return int(result.queued)
