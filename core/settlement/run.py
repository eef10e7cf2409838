"""The settlement run: bookkeeping, :func:`settle_half` and its :class:`SettleResult`.

A ``settlement_runs`` row marks the run ``running``; a partial unique index allows one per half,
so two processes never settle the same half at once (a crashed run whose heartbeat is older
than ``STALE_AFTER`` is marked ``abandoned`` and taken over). The member ranges are settled by
core.settlement.workers; at the end the standard-usage groups summed in SQL must equal the
evaluations of the lines, and the run is marked ``completed`` (or ``failed`` with the error).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.clock import Clock, today_kst, utcnow_naive
from core.db import Database
from core.models.points import SettlementRun
from core.points.periods import Half
from core.rules import Rules, RulesError, default_rules
from core.settlement.python_engine import SettlementError, add_sums, expand_groups, plans_for
from core.settlement.workers import RangeSettler, member_ranges, settle_in_workers, verify_step

STALE_AFTER = timedelta(minutes=15)


@dataclass
class SettleResult:
    run_id: int
    half: str
    members: int = 0
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    adjustments: int = 0
    points_delta: int = 0
    points_new: int = 0
    points_total: int = 0
    verified: int = 0
    workers: int = 1  # processes that settled member ranges side by side
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase

    def tick(self, phase: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[phase] = self.timings.get(phase, 0.0) + now - since
        return now

    def summary(self) -> str:
        return (f"settled {self.half}: {self.members} member(s); {self.created} new statement(s) "
                f"({self.points_new} P), {self.changed} changed, {self.unchanged} unchanged; "
                f"{self.adjustments} adjustment(s) ({self.points_delta:+d} P); "
                f"{self.points_total} P in total; {self.verified} checked against core.points; "
                f"run #{self.run_id}")


def _start_run(db: Database, half: Half, clock: Clock, rules: Rules) -> int:
    now = utcnow_naive(clock)
    for _ in range(2):
        try:
            with db.transaction() as s:
                run = SettlementRun(half=str(half), status="running", started_at=now,
                                    heartbeat_at=now, rules_source=rules.source[-255:])
                s.add(run)
                s.flush()
                return run.id
        except IntegrityError:
            with db.transaction() as s:
                other = s.scalars(select(SettlementRun).where(
                    SettlementRun.half == str(half), SettlementRun.status == "running")).first()
                if other is None:
                    continue
                if now - other.heartbeat_at < STALE_AFTER:
                    raise SettlementError(
                        f"another settlement of {half} is running (run #{other.id}, started "
                        f"{other.started_at:%Y-%m-%d %H:%M} UTC)") from None
                other.status, other.finished_at = "abandoned", now
                other.error = "heartbeat stale; taken over"
    raise SettlementError(f"could not start a settlement run for {half}")


def _finish_run(db: Database, run_id: int, clock: Clock, result: SettleResult | None,
                error: str | None = None) -> None:
    with db.transaction() as s:
        run = s.get(SettlementRun, run_id)
        if run is None:  # _start_run committed it; nothing deletes runs
            raise SettlementError(f"settlement run #{run_id} has disappeared")
        run.finished_at = utcnow_naive(clock)
        if result is None:
            run.status, run.error = "failed", (error or "")[:4000]
            return
        run.status = "completed"
        run.members, run.created, run.changed = result.members, result.created, result.changed
        run.unchanged, run.adjustments = result.unchanged, result.adjustments
        run.points_delta = result.points_delta + result.points_new


def settle_half(db: Database, half: str | Half, clock: Clock, *, rules: Rules | None = None,
                chunk: int | None = None, verify: int = 200, workers: int | None = None) -> SettleResult:
    """Settle ``half`` for every member (see core.settlement). Idempotent: unchanged
    inputs write nothing; changed inputs write one adjustment per member. ``verify``: members
    recomputed with the pure engine (0 = none, -1 = all). ``workers``: processes that settle
    member ranges side by side (default: one per CPU core, at most 4; one process below
    workers.PARALLEL_FROM members)."""
    rules = rules or default_rules()
    try:
        half = Half.parse(half)
    except ValueError as exc:
        raise SettlementError(str(exc)) from None
    if rules.baseline_mode != "rolling" or rules.baseline_history != "supply_point":
        raise SettlementError("the database settlement supports baseline_mode = rolling and "
                              "baseline_history = supply_point only")
    if half.end >= today_kst(clock):
        raise SettlementError(f"{half} has not ended yet (it ends {half.end})")
    try:
        tables = plans_for(rules, half)
    except RulesError as exc:
        raise SettlementError(str(exc)) from None

    run_id = _start_run(db, half, clock, rules)
    result = SettleResult(run_id, str(half))
    _drop_prepared(db)  # streaks and the yearly cap room change: prepared balances are not true
    try:
        if workers is None:
            workers = min(4, os.cpu_count() or 1)
        _settle(db, half, clock, rules, tables, run_id, chunk, verify, result, workers)
    except BaseException as exc:
        _finish_run(db, run_id, clock, None, f"{type(exc).__name__}: {exc}")
        raise
    _drop_prepared(db)
    _finish_run(db, run_id, clock, result)
    return result


def _drop_prepared(db: Database) -> None:
    from core.progress import invalidate_all

    with db.engine.begin() as conn:
        invalidate_all(conn)


def _settle(db, half, clock, rules, tables, run_id, chunk, verify, result, workers) -> None:
    ranges = member_ranges(db, workers)
    tallies = [SettleResult(run_id, str(half)) for _ in ranges]  # one per range, merged below
    if len(ranges) == 1:
        part = RangeSettler(db, half, clock, rules, tables, run_id, chunk, *ranges[0], tallies[0])
        try:
            sums, count, warnings = part.stage()
            step = verify_step(count, verify)
            seen = part.settle(sums, step, 0)
        finally:
            part.close()
        parts = [(part.result, seen, warnings)]
    else:
        sums, parts = settle_in_workers(db, half, clock, rules, tables, run_id, chunk, verify,
                                        ranges, tallies)
        result.workers = len(ranges)
    seen_groups: dict[tuple, list[int]] = {}
    for part_result, seen, warnings in parts:
        _merge_result(result, part_result)
        for w in warnings:
            if w not in result.warnings:
                result.warnings.append(w)
        add_sums(seen_groups, seen)
    if expand_groups(seen_groups) != {k: v for k, v in sums.items() if v[0]}:
        raise SettlementError("standard-usage groups summed in SQL differ from the "
                              "evaluations of the lines (a bug: the run is marked failed)")


def _merge_result(into: SettleResult, part: SettleResult) -> None:
    for name in ("members", "created", "changed", "unchanged", "adjustments", "points_delta",
                 "points_new", "points_total", "verified"):
        setattr(into, name, getattr(into, name) + getattr(part, name))
    for phase, seconds in part.timings.items():  # workers run side by side: the slowest counts
        into.timings[phase] = max(into.timings.get(phase, 0.0), seconds)
