"""Helpers for the database-backed points engine tests (imported by basename)."""
from __future__ import annotations

import csv
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from core.db import Base
from core.members import adopt_unassigned_readings
from core.models import LocalGovernment, Member, MemberAddress, ResourceAccount
from core.points.periods import Half
from core.usage_import import supply_key_hash
from core.utility_companies import default_company

CSV_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"


def snapshot(db) -> dict[str, int]:
    """Row count of every table: a change anywhere shows."""
    with db.session() as s:
        return {t.name: s.execute(select(func.count()).select_from(t)).scalar_one()
                for t in Base.metadata.sorted_tables}


def add_lg(s, code="41117", sido="경기도", name="수원시 영통구", rate="2", **kw) -> LocalGovernment:
    lg = s.get(LocalGovernment, code)
    if lg is None:
        lg = LocalGovernment(code=code, sido=sido, name=name, address_prefixes=[f"{sido} {name}"],
                             won_per_point=Decimal(rate), incentive_types=["cash", "donation"], **kw)
        s.add(lg)
        s.flush()
    return lg


def add_greenlife(s, member=None, *, bot_user_key=None, seoul=False, name=None, status="active"):
    """A green-life membership: linked to `member` (joined with one tap) or alone."""
    from core.models import GreenlifeMember

    now = datetime(2020, 1, 1)
    g = GreenlifeMember(member_id=member.id if member is not None else None, status=status,
                        bot_user_key=bot_user_key, name=name, seoul=seoul, sido=None, age_confirmed=True,
                        joined_at=now, updated_at=now)
    s.add(g)
    s.flush()
    return g


def add_member(s, cipher, *, lg="41117", member_type="individual", accounts=(), name="홍길동",
               joined=date(2020, 1, 1), incentive="cash", account_number="1002-123-456789",
               holder=None, address="경기도 수원시 영통구 매탄로 1", bot_user_key=None,
               address_history=None) -> Member:
    """accounts: (resource, customer_number) or (resource, number, billing_mode, registered_on[,
    utility company]); the company defaults to the region's first (core.utility_companies)."""
    m = Member(
        member_type=member_type, name=name, head_of_household=name, mobile="01012345678",
        local_government_code=lg, address=address, address_detail="101동 1001호",
        incentive_type=incentive, bank_name="우리은행" if account_number else None,
        account_number_enc=cipher.encrypt(account_number) if account_number else None,
        account_holder=(holder if holder is not None else name) if account_number else None,
        consents={}, joined_at=datetime.combine(joined, datetime.min.time()),
        bot_user_key=bot_user_key,
    )
    s.add(m)
    s.flush()
    for valid_from, code in (address_history or [(joined, lg)]):
        s.add(MemberAddress(member_id=m.id, local_government_code=code, valid_from=valid_from))
    added = []
    for spec in accounts:
        resource, number = spec[0], spec[1]
        mode = spec[2] if len(spec) > 2 else "separate"
        registered = spec[3] if len(spec) > 3 else joined
        company = spec[4] if len(spec) > 4 else default_company(resource, lg) if number and mode != "not_used" else ""
        added.append(ResourceAccount(
            member_id=m.id, resource=resource, billing_mode=mode,
            customer_number_enc=cipher.encrypt(number) if number and mode != "not_used" else None,
            supply_key_hash=supply_key_hash(cipher, resource, number) if number and mode != "not_used" else None,
            company=company, registered_on=registered))
    s.add_all(added)
    s.flush()
    adopt_unassigned_readings(s, added)  # as a signup does
    return m


def write_usage_csv(path: Path, rows) -> Path:
    """rows: (resource, customer_number, yyyymm int or 'YYYY-MM', amount)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["resource", "customer_number", "month", "amount"])
        for resource, number, month, amount in rows:
            if isinstance(month, int):
                month = f"{month // 100:04d}-{month % 100:02d}"
            w.writerow([resource, number, month, amount])
    return path


def write_activities_csv(path: Path, rows) -> Path:
    """A partner's green-life activities file (import-activities)."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["member_ref", "item", "quantity", "date", "partner_ref"])
        w.writerows(rows)
    return path


def spread(total, parts=6) -> list[Decimal]:
    total = int(total)
    base, extra = divmod(total, parts)
    return [Decimal(base + (1 if i < extra else 0)) for i in range(parts)]


def half_rows(resource, number, half, baseline=None, actual=None, *, monthly_baseline=None,
              monthly_actual=None, years=(1, 2), skip_actual=()) -> list[tuple]:
    """CSV rows whose B(m) equal in each earlier year (as in spec §13)."""
    half = Half.parse(half)
    b = monthly_baseline if monthly_baseline is not None else (
        spread(baseline) if baseline is not None else [None] * 6)
    a = monthly_actual if monthly_actual is not None else (
        spread(actual) if actual is not None else [None] * 6)
    rows = []
    for month, bv, av in zip(half.months, b, a):
        if bv is not None:
            for back in years:
                rows.append((resource, number, month - 100 * back, bv))
        if av is not None and month not in skip_actual:
            rows.append((resource, number, month, av))
    return rows


def cli(app, *args):
    """Run `flask cpoint ...`; the result has exit_code, stdout and stderr (click >= 8.2)."""
    return app.test_cli_runner().invoke(args=["cpoint", *map(str, args)])
