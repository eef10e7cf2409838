"""Green-life practice points (spec §9): activity import and monthly confirmation.

Import: `flask --app webhooks cpoint import-activities FILE.csv [--encoding cp949]`, UTF-8 (or
CP949/EUC-KR) CSV with the header ``member_ref,item,quantity,date,partner_ref``, numbers in ASCII
digits (screening shared with the usage import: core.csv_screening):

- member_ref: the green-life membership: its number ``G<id>`` (core.greenlife_members.number), or
  the energy member's id (``Member.id``, as the partner mapping sent it before green-life had its
  own membership) resolved to that member's green-life membership; it must be active;
- item: an item code of the rules (``e_receipt``, ``tumbler``, ``cup_return``, ``refill_station``,
  ``reusable_delivery``, ``zev_rental``, ``eco_product``, ``recyclables``, ``phone_return``, ...)
  or its Korean name in the rules, whole or one of its parts; items the rules do not accrue (prizes, unconfirmed ones) are kept and listed, never paid;
- quantity: a non-negative decimal with at most 3 decimals (receipts, cups, km, kg);
- date: the day of the action (the return date for car rentals), not in the future:
  ``YYYY-MM-DD``, or as partners write it (core.csv_screening.written_day);
- partner_ref: the reporting partner (app or shop id), up to 64 characters.

Same rules as the usage import: the whole file is validated first (a key repeated in the file
with another quantity, an unknown member or item, a month already confirmed: every problem by
line, nothing written; a row repeated exactly counts once;
``--skip-invalid`` imports the good rows and writes the rest beside the input). Re-importing a
key replaces the quantity and audits the change (ImportChange kind ``activity``).

Confirmation: `cpoint greenlife-confirm --month 2026-10` (from the 16th of the next month)
awards every member with activities that month: Σ quantity x unit per item, the first-action
bonus once ever, the yearly cap (the award crossing it is cut to the remainder; later ones 0)
via core.points.greenlife.greenlife_month_award. One award per (member, month) and one
confirmation per month (unique keys): running it again changes nothing. Months must be
confirmed in order within a year, so the running yearly total is always complete.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, select, text
from sqlalchemy.exc import IntegrityError

from core import texts
from core.clock import Clock, today_kst, utcnow_naive
from core.csv_screening import ascii_digits_problem, find_duplicates, msg, written_day
from core.db import Database
from core.greenlife_members import ref_problem, resolve_refs
from core.models.greenlife import GreenlifeAward, GreenlifeConfirmation
from core.models.usage import AMOUNT
from core.points.greenlife import greenlife_dates, greenlife_month_award
from core.points.periods import int_to_month, month_of
from core.progress import invalidate_all
from core.rules import Rules, default_rules
from core.sqla import table_of
from core.usage_import import (
    _NOW,
    BATCH,
    CsvRow,
    ImportResult,
    Problems,
    Screened,
    close_run,
    field_count_error,
    open_run,
    parse_quantity,
    safe_cell,
    screen_file,
    settle_duplicates,
    stage_rows,
)

ACTIVITY_HEADER = ("member_ref", "item", "quantity", "date", "partner_ref")


def item_code(cell: str, rules) -> str:
    """The green-life item a cell names: its code (any case) or its name in the rules, whole or
    one of its parts ('전자영수증', '텀블러' of '텀블러·다회용컵'), compared without spaces."""
    code = cell.strip().lower()
    if code in rules.greenlife.items:
        return code
    typed = "".join(cell.split())
    for item in rules.greenlife.items.values():
        name = "".join(item.name.split())
        if typed and (typed == name or typed in name.split("\u00b7")):
            return item.code
    return code


class GreenlifeError(ValueError):
    pass


@dataclass(frozen=True)
class ActivityRow:
    line: int
    greenlife_member_id: int
    item: str
    quantity: Decimal
    day: date
    partner_ref: str


def validate_activities(db: Database, rows: list[CsvRow], rules: Rules, today: date) -> Screened:
    problems = Problems()
    good: list[tuple[ActivityRow, CsvRow]] = []

    refs = {r.values["member_ref"].strip() for r in rows if r.values}
    with db.session() as s:
        active = resolve_refs(s, refs)
        confirmed = {m for (m,) in s.execute(text("SELECT month FROM greenlife_confirmations"))}
    for row in rows:
        if not row.values:
            problems.add(row, field_count_error(row, ACTIVITY_HEADER))
            continue
        v = row.values
        ref = v["member_ref"].strip()
        if ascii_digits_problem("member_ref", ref):
            problems.add(row, ascii_digits_problem("member_ref", ref))
        elif ref_problem(ref):
            problems.add(row, msg("activities.member_ref", value=safe_cell(ref)))
        elif ref not in active:
            problems.add(row, msg("activities.no_member", ref=ref))
        item = item_code(v["item"], rules)
        if item not in rules.greenlife.items:
            problems.add(row, msg("activities.unknown_item", value=safe_cell(v["item"])))
        quantity, why = parse_quantity(v["quantity"], "quantity")
        problems.add(row, why)
        day = None
        if ascii_digits_problem("date", v["date"]):
            problems.add(row, ascii_digits_problem("date", v["date"]))
        else:
            day = written_day(v["date"])
            if day is None:
                problems.add(row, msg("activities.date", value=safe_cell(v["date"])))
        if day is not None:
            if day > today:
                problems.add(row, msg("activities.future", day=day))
            elif month_of(day) in confirmed:
                problems.add(row, msg("activities.confirmed", month=int_to_month(month_of(day))))
        partner = v["partner_ref"]
        if not partner or len(partner) > 64:
            problems.add(row, msg("activities.partner_ref"))
        if row.line not in problems:
            assert quantity is not None and day is not None  # else a problem marked the row bad
            good.append((ActivityRow(row.line, active[ref], item, quantity, day, partner), row))
    dupes = find_duplicates([((a.greenlife_member_id, a.item, a.day, a.partner_ref), a.quantity, row) for a, row in good],
                            lambda k: f"{k[0]} {k[1]} {k[2]} {k[3]}")
    return settle_duplicates(good, problems, dupes)


def _staging() -> Table:
    return Table("tmp_activity_import", MetaData(),
                 Column("greenlife_member_id", Integer, primary_key=True),
                 Column("item", String(32), primary_key=True),
                 Column("activity_date", Date, primary_key=True),
                 Column("partner_ref", String(64), primary_key=True),
                 Column("month", Integer), Column("quantity", AMOUNT), prefixes=["TEMPORARY"])


def import_activities(db: Database, clock: Clock, path: str | Path, *, skip_invalid: bool = False,
                      rules: Rules | None = None, encoding: str = "utf-8") -> ImportResult:
    rules = rules or default_rules()
    path = Path(path)
    started = utcnow_naive(clock)
    good, rejects, result = screen_file(
        path, ACTIVITY_HEADER, lambda rows: validate_activities(db, rows, rules, today_kst(clock)), skip_invalid,
        encoding)
    staging = _staging()
    now = utcnow_naive(clock)
    with db.transaction() as s:
        invalidate_all(s.connection())  # the balance card shows green-life: prepared rows go
        run = open_run(s, "activities", path, result, started)
        conn = s.connection()
        stage_rows(conn, staging, [{"greenlife_member_id": a.greenlife_member_id, "item": a.item, "activity_date": a.day,
                                    "partner_ref": a.partner_ref, "month": month_of(a.day),
                                    "quantity": a.quantity} for a in good])
        key = ("g.greenlife_member_id = t.greenlife_member_id AND g.item = t.item AND g.activity_date = t.activity_date"
               " AND g.partner_ref = t.partner_ref")
        params = {"run": run.id, "now": now}
        result.inserted = conn.execute(text(
            f"SELECT COUNT(*) FROM tmp_activity_import t WHERE NOT EXISTS (SELECT 1 FROM"
            f" greenlife_activities g WHERE {key})")).scalar_one()
        result.changed = conn.execute(text(
            "INSERT INTO import_changes (import_run_id, kind, key, old_value, new_value, changed_at)"
            " SELECT :run, 'activity', 'G' || CAST(t.greenlife_member_id AS VARCHAR(12)) || ':' || t.item || ':' ||"
            " CAST(t.activity_date AS VARCHAR(10)) || ':' || t.partner_ref, g.quantity, t.quantity, :now"
            f" FROM tmp_activity_import t JOIN greenlife_activities g ON {key}"
            " WHERE g.quantity <> t.quantity").bindparams(_NOW), params).rowcount
        conn.execute(text(
            "INSERT INTO greenlife_activities (greenlife_member_id, item, quantity, activity_date, month,"
            " partner_ref, import_run_id, updated_at) SELECT t.greenlife_member_id, t.item, t.quantity,"
            " t.activity_date, t.month, t.partner_ref, :run, :now FROM tmp_activity_import t WHERE 1 = 1"
            " ON CONFLICT (greenlife_member_id, item, activity_date, partner_ref) DO UPDATE SET"
            " quantity = excluded.quantity, import_run_id = excluded.import_run_id,"
            " updated_at = excluded.updated_at WHERE greenlife_activities.quantity <> excluded.quantity"
        ).bindparams(_NOW), params)
        conn.execute(text("DROP TABLE tmp_activity_import"))
        close_run(run, result, len(good), clock)
    return result


@dataclass
class ConfirmResult:
    month: str
    members: int = 0
    total_won: int = 0
    bonuses: int = 0
    capped: int = 0
    already: bool = False
    digests: int = 0            # quiet digests queued (members who asked for one)
    confirm_date: date | None = None
    pay_from_date: date | None = None

    def summary(self) -> str:
        if self.already:
            return f"green-life {self.month} was already confirmed: nothing changed"
        return (f"green-life {self.month} confirmed: {self.members} member(s), {self.total_won} won"
                f" ({self.bonuses} first-action bonus(es), {self.capped} cut by the yearly cap);"
                f" paid from {self.pay_from_date}; {self.digests} digest message(s) queued")


def confirm_month(db: Database, clock: Clock, month: str, *, rules: Rules | None = None,
                  early: bool = False) -> ConfirmResult:
    from core.monthly import parse_month

    rules = rules or default_rules()
    try:
        m = parse_month(month)
    except ValueError as exc:
        raise GreenlifeError(str(exc)) from None
    confirm_on, pay_from = greenlife_dates(m, rules)
    result = ConfirmResult(int_to_month(m), confirm_date=confirm_on, pay_from_date=pay_from)
    if today_kst(clock) < confirm_on and not early:
        raise GreenlifeError(f"{result.month} is confirmed on {confirm_on}, not before")
    year = m // 100
    now = utcnow_naive(clock)
    with db.transaction() as s:
        invalidate_all(s.connection())  # the balance card shows green-life: prepared rows go
        if s.scalar(select(GreenlifeConfirmation.id).where(GreenlifeConfirmation.month == m)):
            result.already = True
            return result
        pending = s.execute(text(
            "SELECT DISTINCT a.month FROM greenlife_activities a WHERE a.month >= :first AND a.month < :m"
            " AND NOT EXISTS (SELECT 1 FROM greenlife_confirmations c WHERE c.month = a.month)"
            " ORDER BY a.month"), {"first": year * 100 + 1, "m": m}).scalars().all()
        if pending:
            raise GreenlifeError("confirm the earlier months of the year first: "
                                 + ", ".join(int_to_month(x) for x in pending))
        quantities: dict[int, dict[str, Decimal]] = {}
        for member_id, item, qty in s.execute(text(
                "SELECT a.greenlife_member_id, a.item, SUM(a.quantity) FROM greenlife_activities a"
                " JOIN greenlife_members g ON g.id = a.greenlife_member_id WHERE a.month = :m"
                " AND g.status = 'active' GROUP BY a.greenlife_member_id, a.item"
                " ORDER BY a.greenlife_member_id"), {"m": m}):
            quantities.setdefault(member_id, {})[item] = Decimal(str(qty)).quantize(Decimal("0.001"))
        if rules.greenlife.excludes_seoul:
            seoul = {gid for (gid,) in s.execute(text(
                "SELECT g.id FROM greenlife_members g LEFT JOIN members mb ON mb.id = g.member_id"
                " WHERE g.seoul = :yes OR mb.address LIKE :seoul"),
                {"yes": True, "seoul": texts.data("addresses", "seoul_prefix") + "%"})}
            quantities = {k: v for k, v in quantities.items() if k not in seoul}
        counted = {mid: n for mid, n in s.execute(text(
            "SELECT greenlife_member_id, SUM(counted_toward_cap) FROM greenlife_awards WHERE year = :y"
            " AND month < :m GROUP BY greenlife_member_id"), {"y": year, "m": m}).all()}
        bonus_given = {mid for (mid,) in s.execute(text(
            "SELECT DISTINCT greenlife_member_id FROM greenlife_awards WHERE bonus_won > 0"))}
        item_caps = bool(rules.greenlife.item_caps)
        conf = GreenlifeConfirmation(month=m, members=0, total_won=0, confirmed_at=now)
        s.add(conf)
        try:
            s.flush()
        except IntegrityError:
            raise GreenlifeError(f"{result.month} was just confirmed by another run") from None
        rows: list[dict[str, Any]] = []
        for member_id, qty in quantities.items():
            per_item: dict[str, int] | None = None
            if item_caps:
                per_item = {}
                for (item_won,) in s.execute(select(GreenlifeAward.item_won).where(
                        GreenlifeAward.greenlife_member_id == member_id, GreenlifeAward.year == year)):
                    for k, v in item_won.items():
                        per_item[k] = per_item.get(k, 0) + v
            award = greenlife_month_award(m, qty, rules, awarded_this_year=int(counted.get(member_id) or 0),
                                          bonus_already_given=member_id in bonus_given,
                                          item_awarded_this_year=per_item)
            rows.append({"greenlife_member_id": member_id, "month": m, "year": year,
                         "item_won": dict(award.item_won), "ignored_items": list(award.ignored_items),
                         "accrued_won": award.accrued_won, "bonus_won": award.bonus_won,
                         "won": award.won, "counted_toward_cap": award.counted_toward_cap,
                         "cut_won": award.cut_won, "confirm_date": award.confirm_date,
                         "pay_from_date": award.pay_from_date, "confirmation_id": conf.id,
                         "created_at": now})
            result.bonuses += award.bonus_granted
            result.capped += award.cut_won > 0
        for start in range(0, len(rows), BATCH):
            s.execute(table_of(GreenlifeAward).insert(), rows[start:start + BATCH])
        result.members = len(rows)
        result.total_won = sum(r["won"] for r in rows)
        conf.members, conf.total_won = result.members, result.total_won
        result.digests = _queue_digests(s, rows, m, now)
    return result


def _queue_digests(session, rows: list[dict[str, Any]], month: int, now) -> int:
    """One message folding the month's accruals for each linked energy member who asked for
    the quiet digest (Member.greenlife_digest), in the confirmation's transaction; its dedupe
    key (member, kind, month) keeps a re-run from queuing it twice. Returns how many."""
    from core.outbox import DIGEST_KIND, enqueue_many

    if not rows:
        return 0
    wanted = {gid: mid for gid, mid in session.execute(text(
        "SELECT g.id, g.member_id FROM greenlife_members g JOIN members mb ON mb.id = g.member_id"
        " WHERE mb.greenlife_digest = :yes AND mb.status = 'active'"), {"yes": True})}
    period = int_to_month(month)
    digests = [{"member_id": wanted[r["greenlife_member_id"]], "kind": DIGEST_KIND, "period": period,
                "payload": {"month": period, "won": r["won"], "accrued_won": r["accrued_won"],
                            "bonus_won": r["bonus_won"], "cut_won": r["cut_won"],
                            "items": {k: v for k, v in r["item_won"].items() if v},
                            "pay_from_date": r["pay_from_date"].isoformat()}}
               for r in rows if r["greenlife_member_id"] in wanted]
    return enqueue_many(session, digests, now=now)
