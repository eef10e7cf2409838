"""Monthly results (spec §10): `flask --app webhooks cpoint monthly-results --month 2026-10`.

For each member with a registered resource: the month's usage U(m, Y), its baseline B(m), the
half-to-date rate over the months of the half with data, the provisional (예상) band and points
(core.points.baseline.half_to_date + core.points.award.provisional_award; standard usage is
only known at settlement), and the missing months. One `monthly_result` notification per
member and month goes to the outbox (dedupe key ``monthly_result:{member_id}:{YYYY-MM}``,
INSERT ... ON CONFLICT DO NOTHING): running it again for the same month records nothing new,
and two processes cannot both record one.

Payload (read by bot/push/render.py)::

    {"month": "2026-10", "half": "2026H2",
     "resources": [{"resource": "electricity", "usage": "290", "baseline": "310", "rate": "6.45",
                    "rate_to_date": "3.20", "provisional_band": "5", "provisional_points": 5000,
                    "months_with_data": ["2026-07", ...], "missing_months": []}
                   | {"resource": "gas", "missing": true, "missing_months": ["2026-10"], ...}],
     "half_to_date": {"rate": "3.20", "points": 5000, "won": 10000},   # rate: electricity's
     "missing_months": ["2026-09"],
     "projection": {... core.points.projection.Projection.as_dict ...} | None,
     "comparison": [{"resource": "electricity", "verdict": "great" | "good" | "more",
                     "efficient": "250", "average": "310", "peers": 41, ...}]}   # [] under 20 peers

The balance card's figures (core.progress) are prepared in the same run, for today's month.

Set-based: the readings come from the settlement's staging aggregate (one GROUP BY query into a
temporary table); members who already have the month's notification are not computed again.
Chunk by chunk (one transaction each, memory one chunk's): the chunk's cards are prepared from
the staged readings (core.progress.iter_prepared), then its notices are computed, reusing what
the cards computed of each account (B_H, the half so far, the provisional award:
core.progress.AccountFigures) when the staged readings are the card's; then the cards are
written and the notices recorded by one INSERT ... ON CONFLICT DO NOTHING.
tests/core/test_monthly_shortcuts.py checks that a run without these shortcuts writes the same
rows.

Side by side: from PARALLEL_FROM members (core.settlement.workers.member_ranges) the members are
split into id ranges, one forked worker process each (:func:`default_workers`), each staging
and preparing its range on its own connections, chunk by chunk as above; the comparison groups
span every member, so the parent reads them once (while the workers stage) and hands them
over. A worker's chunks commit on their own: a run that fails (any worker) leaves the notices
it recorded staged, and the next run computes only the members still without one, as after
any crash.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import traceback
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import text

from core.clock import Clock, SystemClock, today_kst, utcnow_naive
from core.db import Database
from core.db_bulk import db_time, insert_ignore, json_text, reset_connection, tune_connection
from core.local_government_rates import local_government_table
from core.models.outbox import Notification
from core.outbox import STAGED, QuietHours
from core.points import reasons
from core.points.award import provisional_award, won_for
from core.points.baseline import (
    SOURCE_FILLED,
    HalfBaseline,
    HalfToDate,
    format_rate,
    half_to_date,
    monthly_baseline,
)
from core.points.evaluation import is_registered_for_half
from core.points.periods import Half, int_to_month, month_last_day
from core.progress import AccountFigures, Comparison, PreparedChunk, comparison_of, iter_prepared, write_rows
from core.push_budget import BudgetOutcome, BudgetSettings, apply_budget
from core.rules import Rules, default_rules
from core.settlement.python_engine import MILLI, Row
from core.settlement.staging import fill_staging, read_rows, staging_table
from core.settlement.workers import member_ranges
from core.sqla import table_of
from core.usage_import import written_month

KIND = "monthly_result"
CHUNK = 2000


class MonthlyError(ValueError):
    pass


@dataclass
class MonthlyResult:
    month: str
    members: int = 0
    written: int = 0
    already: int = 0
    budget: BudgetOutcome | None = None  # the push budget applied to the month's notices

    def summary(self) -> str:
        held = f", {self.budget.held} held over the push budget" if self.budget and self.budget.held else ""
        return (f"monthly results {self.month}: {self.written} notification(s) recorded, "
                f"{self.already} already recorded, {self.members} member(s) with resources{held}")


@contextmanager
def fewer_collections(gen0: int = 50_000) -> Iterator[None]:
    """The run makes millions of short-lived objects (views, engine lines) that reference
    counting frees; a young-generation collection every 700 allocations finds nothing and
    costs about a tenth of the run. Its threshold is raised for the run and put back after
    (process-wide: collections happen less often meanwhile, nothing else changes)."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], gen0), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def parse_month(value: str) -> int:
    """YYYY-MM, or as operators also write it: 2026.10, 202610, 2026년 10월."""
    month = written_month(value)
    if month is None:
        raise MonthlyError(f"month must be YYYY-MM: {value!r}")
    return month


def dedupe_key(member_id: int, period: str) -> str:
    return f"{KIND}:{member_id}:{period}"


def _readings(row: Row, half: Half) -> dict[int, Decimal]:
    out = {}
    for prefix, back in (("a", 0), ("p", 100), ("q", 200)):
        values = getattr(row, prefix)
        for i, m in enumerate(half.months):
            if values[i] is not None:
                out[m - back] = Decimal(values[i]) / MILLI
    return out


def _amount(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text_ = format(value.normalize(), "f")
    return text_


def _month_baseline(hb: HalfBaseline, month: int) -> Decimal | None:
    """B(m) as monthly_baseline gives it for the readings ``hb`` was made from: the half's
    month baseline unless it was filled (no reading a year or two before), else None."""
    for mb in hb.months:
        if mb.month == month:
            return None if mb.source == SOURCE_FILLED else mb.value
    return None  # NO_BASELINE: no month has one


_TO_DATE_FIELDS = ("half", "through_month", "months_with_data", "missing_months", "baseline", "actual", "rate",
                   "reason", "baseline_exact")
assert tuple(f.name for f in fields(HalfToDate)) == _TO_DATE_FIELDS  # _to_date builds every field


def _to_date(known: AccountFigures, month: int) -> HalfToDate | None:
    """half_to_date(readings, half, through_month=month) from the card's, made through a later
    month of the same half, when no month read lies after ``month`` (then the months with data,
    A, B and the rate are the same; only the months named missing stop at ``month``)."""
    td = known.to_date
    if td.through_month < month or (td.months_with_data and td.months_with_data[-1] > month):
        return None
    if td.through_month == month:
        return td
    # dataclasses.replace, written out (asked for every account of every notice)
    return HalfToDate(td.half, month, td.months_with_data, tuple(m for m in td.missing_months if m <= month),
                      td.baseline, td.actual, td.rate, td.reason, td.baseline_exact)


def resource_figures(row: Row, month: int, half: Half, rules: Rules,
                     baseline: HalfBaseline | None = None, known: AccountFigures | None = None) -> dict:
    """One resource's monthly figures (pure functions of core.points); ``baseline``: the
    account's B_H when the balance card's preparation has it already; ``known``: what the card
    computed of the account, reused when the staged readings are the card's (same half)."""
    out: dict = {"resource": row.resource}
    if row.billing_mode == "not_used":
        return out | {"reason": reasons.RESOURCE_NOT_USED, "missing": True}
    td = prov = None
    if known is not None and known.key == row.a + row.p + row.q and known.baseline.half == half:
        readings = known.readings
        base = _month_baseline(known.baseline, month)
        td = _to_date(known, month)
        if td is not None and known.streak == row.streak_before:
            prov = known.provisional
        if td is None:
            td = half_to_date(readings, half, rules, through_month=month, baseline=known.baseline)
    else:
        readings = _readings(row, half)
        base, _ = monthly_baseline(readings, month, rules)
        td = half_to_date(readings, half, rules, through_month=month, baseline=baseline)
    usage = readings.get(month)
    out |= {
        "usage": _amount(usage), "baseline": _amount(base),
        "months_with_data": [int_to_month(m) for m in td.months_with_data],
        "missing_months": [int_to_month(m) for m in td.missing_months],
    }
    if usage is None:
        out["missing"] = True
    if usage is not None and base:
        out["rate"] = format_rate((base - usage) * 100 / base)
    if not is_registered_for_half(row.registered_on, half, rules):
        return out | {"reason": reasons.NOT_REGISTERED_FOR_HALF, "provisional_points": 0}
    if row.resource == "electricity" and row.tariff in rules.excluded_electricity_tariffs:
        return out | {"reason": reasons.EXCLUDED_TARIFF, "provisional_points": 0}
    if td.rate is None:
        return out | {"reason": td.reason, "provisional_points": 0}
    if prov is None:
        prov = provisional_award(row.member_type, row.resource, td, rules, row.streak_before)
    return out | {"rate_to_date": format_rate(td.rate),
                  "provisional_band": str(prov.band) if prov.band is not None else None,
                  "provisional_points": prov.points}


def member_payload(rows: list[Row], month: int, half: Half, rules: Rules, rate: Decimal,
                   baselines: Mapping[int, HalfBaseline] | None = None,
                   figures: Mapping[int, AccountFigures] | None = None) -> dict:
    order = {r: i for i, r in enumerate(rules.resources)}
    lines = [resource_figures(r, month, half, rules, (baselines or {}).get(r.account_id),
                              (figures or {}).get(r.account_id))
             for r in sorted(rows, key=lambda r: order.get(r.resource, 99))]
    points = sum(ln.get("provisional_points") or 0 for ln in lines)
    schedule = rules.schedule_for(rows[0].member_type, half)
    points = min(points, schedule.cap_points_per_half)
    missing = sorted({m for ln in lines for m in ln.get("missing_months", [])})
    elec = next((ln for ln in lines if ln["resource"] == "electricity"), {})
    htd = {"points": points, "won": won_for(points, rate)}
    if elec.get("rate_to_date") is not None:
        htd["rate"] = elec["rate_to_date"]
    return {"month": int_to_month(month), "half": str(half), "resources": lines,
            "half_to_date": htd, "missing_months": missing}


NOTICE_COLUMNS = ("member_id", "kind", "period", "dedupe_key", "payload", "state", "attempts", "created_at")


def _insert(conn, rows: list[tuple], period: str) -> int:
    """Rows in NOTICE_COLUMNS order (driver form); the number actually recorded."""
    if not rows:
        return 0
    # Counted over the rows' members only (index member_id, kind): a count of the whole month
    # grew with every chunk, which made the run quadratic.
    count = text("SELECT COUNT(*) FROM notifications WHERE member_id BETWEEN :lo AND :hi"
                 " AND kind = :k AND period = :p")
    params = {"lo": min(r[0] for r in rows), "hi": max(r[0] for r in rows), "k": KIND, "p": period}
    before = conn.execute(count, params).scalar_one()
    insert_ignore(conn, table_of(Notification), rows, NOTICE_COLUMNS, ("dedupe_key",))
    return conn.execute(count, params).scalar_one() - before


def monthly_results(db: Database, month: str, clock: Clock, rules: Rules | None = None, *,
                    budget: BudgetSettings | None = None, quiet: QuietHours | None = None,
                    workers: int | None = None) -> MonthlyResult:
    """Each member's monthly-result notice for `month`, once. The notices are written `staged`
    and released at the end through the push budget (`budget`; None: no cap), so no sender
    sends any before the caps were applied to the whole month; a run cut short leaves them
    staged, and the next run releases them with its own. ``workers``: processes that prepare
    member ranges side by side (None: :func:`default_workers`; one below
    core.settlement.workers.PARALLEL_FROM members or on an in-memory database)."""
    rules = rules or default_rules()
    m = parse_month(month)
    period = int_to_month(m)
    today = today_kst(clock)
    if m > today.year * 100 + today.month:
        raise MonthlyError(f"{period} is in the future")
    if m == today.year * 100 + today.month:
        # its readings are not all in: the results would be wrong and, recorded once per member
        # and month, the right ones could never be sent after
        raise MonthlyError(f"{period} has not ended yet (it ends {month_last_day(m)}); "
                           f"its results can be prepared from {month_last_day(m) + timedelta(days=1)}")
    result = MonthlyResult(period)
    run = _Run(m, period, Half.of_month(m), today.year * 100 + today.month, rules, utcnow_naive(clock))
    method = start_method(rules)
    ranges = member_ranges(db, 1 if method is None else default_workers() if workers is None else workers)
    with db.engine.connect() as conn:
        with conn.begin():
            result.already = conn.execute(text(
                "SELECT COUNT(*) FROM notifications WHERE kind = :k AND period = :p"),
                {"k": KIND, "p": period}).scalar_one()
    if len(ranges) == 1:
        members, written = _prepare_range(db, run, None, None)
    else:
        members, written = _in_workers(db, run, ranges, method or "fork")
    result.members = members + result.already
    result.written = written
    result.budget = apply_budget(db, KIND, period, budget or BudgetSettings(), now=clock.now(), quiet=quiet,
                                 staged=True)
    return result


def default_workers() -> int:
    """One process per CPU core, at most 4."""
    return min(4, os.cpu_count() or 1)


def start_method(rules: Rules) -> str | None:
    """How the workers start: forked, unless other non-daemon threads run in this process
    (the scheduler's job threads), whose locks a forked child could wait on forever; then a
    fresh interpreter each ("spawn", a second or so to start), which takes the shipped rules
    (other rules do not travel to it: None, one process). Daemon threads (the CLI's warm-up of
    the chat's language model) are left to themselves."""
    if sum(1 for t in threading.enumerate() if not t.daemon) <= 1:
        return "fork"
    return "spawn" if rules is default_rules() else None


@dataclass
class _Run:
    """What every member range of one run shares."""
    month: int
    period: str
    half: Half
    this_month: int          # today's month: the balance cards are prepared for it
    rules: Rules             # None on its way to a spawned worker (start_method)
    now: datetime


def _comparison(db: Database, month: int) -> Comparison:
    """The comparison groups of the month: they span every member, so they are read once,
    whole, and handed to each member range."""
    with db.engine.connect() as conn, conn.begin():
        return comparison_of(conn, month, compare_month=month)


def _in_workers(db: Database, run: _Run, ranges: list[tuple[int | None, int | None]], method: str = "fork"
                ) -> tuple[int, int]:
    """Each member range prepared in a forked process of its own (own connections, own
    transactions, chunk by chunk: a worker that fails leaves its committed chunks, and the
    next run does the rest, as after any crash). The parent's pool is emptied first so no
    connection is shared. While the workers stage their readings, the parent reads the
    comparison groups and hands them over. Every worker is waited for; (members, notices
    written) summed."""
    db.engine.dispose()
    ctx: Any = multiprocessing.get_context(method)
    # a spawned worker loads the shipped rules itself (start_method): they do not pickle
    sent = run if method == "fork" else replace(run, rules=cast(Rules, None))
    procs, pipes = [], []
    try:
        for lo, hi in ranges:
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_worker, daemon=True, args=(db.url, sent, lo, hi, len(ranges), theirs))
            proc.start()
            theirs.close()
            procs.append(proc)
            pipes.append(mine)
        try:
            groups = _comparison(db, run.month)
        except BaseException:
            for pipe in pipes:
                _send(pipe, ("stop",))
            raise
        finally:
            db.engine.dispose()
        for pipe in pipes:
            _send(pipe, ("groups", groups))
        answers = []
        for pipe in pipes:
            try:
                answers.append(pipe.recv())
            except EOFError:
                answers.append(("error", "a monthly results worker ended without an answer"))
        for proc in procs:
            proc.join(timeout=60)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    failed = [a[1] for a in answers if a[0] != "done"]
    if failed:
        raise MonthlyError("monthly results worker failed: " + "; ".join(failed))
    return sum(a[1] for a in answers), sum(a[2] for a in answers)


def _send(pipe, message: tuple) -> None:
    try:
        pipe.send(message)
    except (OSError, ValueError):  # the worker has ended already (it says why itself)
        pass


def _worker(url: str, run: _Run, lo: int | None, hi: int | None, share: int, pipe) -> None:
    if run.rules is None:  # spawned
        run = replace(run, rules=default_rules())
    db = Database(url)

    def groups() -> Comparison:
        message = pipe.recv()
        if message[0] != "groups":
            raise MonthlyError("stopped: the comparison groups could not be read")
        return message[1]

    try:
        members, written = _prepare_range(db, run, lo, hi, share, groups)
        pipe.send(("done", members, written))
    except BaseException as exc:  # the parent raises with this text
        try:
            pipe.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"))
        except (OSError, ValueError):
            pass
    finally:
        db.dispose()
        pipe.close()


def _prepare_range(db: Database, run: _Run, lo: int | None, hi: int | None, share: int = 1,
                   groups: Callable[[], Comparison] | None = None) -> tuple[int, int]:
    """The cards and notices of the members in [lo, hi] (all when None), chunk by chunk:
    (members staged for a notice, notices written). Alone (``share`` 1), one connection whose
    chunk transactions read, compute and write; side by side, each chunk is read and computed
    in a deferred transaction of a reader (which holds the staging table) and written by a
    writer of its own, so on SQLite (one writer at a time) the computing never holds the write
    lock and another worker's commits never make a reader's snapshot stale for a write.
    ``groups``: gives the comparison groups once the range is staged (the parent reads them
    meanwhile); None: :func:`iter_prepared` reads them."""
    m, period, half, rules, now = run.month, run.period, run.half, run.rules, run.now
    tmp = staging_table()
    split = share > 1
    reader = (db.engine.execution_options(sqlite_deferred=True) if split else db.engine).connect()
    writer = db.engine.connect() if split else reader
    written = 0
    try:
        tune_connection(reader, share)
        created = db_time(reader, now)
        with reader.begin():
            fill_staging(reader, tmp, half, rules, lo, hi)
            reader.execute(text(
                "DELETE FROM tmp_settle WHERE member_id IN (SELECT member_id FROM notifications"
                " WHERE kind = :k AND period = :p)"), {"k": KIND, "p": period})
            lgs = local_government_table(reader, half, rules)
            ids = [r[0] for r in reader.execute(text(
                "SELECT DISTINCT member_id FROM tmp_settle ORDER BY member_id"))]
        members = len(ids)
        comparison = groups() if groups is not None else None

        def notices(upto: int | None, views: dict[int, dict], baselines: dict[int, HalfBaseline],
                    figures: dict[int, AccountFigures]) -> list[tuple]:
            """The notice rows of the staged members with ids up to ``upto`` (None: all left)."""
            nonlocal ids
            cut = len(ids) if upto is None else bisect_right(ids, upto)
            chunk, ids = ids[:cut], ids[cut:]
            if not chunk:
                return []
            by_member: dict[int, list[Row]] = {}
            for row in read_rows(reader, rules, chunk[0], chunk[-1]):
                by_member.setdefault(row.member_id, []).append(row)
            out = []
            for member_id, rows in by_member.items():
                if all(r.billing_mode == "not_used" for r in rows):
                    continue
                lg = lgs.get(rows[0].lg_code) if rows[0].lg_code else None
                rate = lg.rate if lg else rules.rate.default
                payload = member_payload(rows, m, half, rules, rate, baselines, figures)
                view = views.get(member_id) or {}
                payload["projection"] = view.get("projection")
                payload["comparison"] = view.get("comparison") or []
                out.append((member_id, KIND, period, dedupe_key(member_id, period), json_text(payload),
                            STAGED, 0, created))
            return out

        def write(part: PreparedChunk | None, rows: list[tuple]) -> None:
            nonlocal written
            if part is not None:
                write_rows(writer, part.rows, part.member_ids)
            written += _insert(writer, rows, period)

        # Chunk by chunk (memory stays one chunk's): the balance card's figures for today's
        # month; the notice's projection and comparison for the results month (the same
        # figures when both fall in one half); then the chunk's notices; then both written.
        # The cards of the staged half read their readings from the staging table.
        same = Half.of_month(run.this_month) == half
        cards = iter_prepared(reader, run.this_month, rules, now, compare_month=m, chunk=CHUNK,
                              staged=tmp.name if same else None, groups=comparison, lo=lo, hi=hi)
        other = None if same else iter_prepared(reader, m, rules, now, compare_month=m, chunk=CHUNK,
                                                staged=tmp.name, extras=False, groups=comparison, lo=lo, hi=hi)
        with fewer_collections():
            while True:
                with reader.begin():
                    part = next(cards, None)
                    if part is None:
                        rows = notices(None, {}, {}, {})
                    else:
                        shown = next(other, None) if other is not None else part
                        last = part.member_ids[-1] if part.member_ids else None
                        rows = notices(last, shown.views if shown else {}, shown.baselines if shown else {},
                                       shown.figures if shown else {})
                    if not split:
                        write(part, rows)
                if split:
                    with writer.begin():
                        write(part, rows)
                if part is None:
                    break
    finally:
        with reader.begin():
            reader.execute(text("DROP TABLE IF EXISTS tmp_settle"))
        reset_connection(reader)
        reader.close()
        if writer is not reader:
            writer.close()
    return members, written


def queue_monthly_results(db: Database, month: str, *, clock: Clock | None = None,
                          budget: BudgetSettings | None = None, quiet: QuietHours | None = None) -> MonthlyResult:
    """The scheduler's entry point (SCHEDULE_MONTHLY_SOURCE): the notices written, the push
    budget applied to them (`.written`, `.budget`)."""
    return monthly_results(db, month, clock or SystemClock(), budget=budget, quiet=quiet)
