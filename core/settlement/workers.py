"""The settlement's workers: member ranges settled side by side, each in member chunks.

- :func:`member_ranges`: contiguous member-id ranges of about equal size, one per worker
  process (one range below PARALLEL_FROM members or on an in-memory database).
- :func:`settle_in_workers`: one forked process per range, in two phases (stage and sum the
  standard-usage groups; then, with the summed groups, compute and write).
- :class:`RangeSettler`: stages and settles one range, chunk by chunk (one transaction each):
  on SQLite by the Python engine (read, compute, compare fingerprints, write what is new or
  changed), on PostgreSQL by the SQL engine (compute every line in SQL, insert new statements
  set-based, changed ones through the Python path), with a sample checked by verification.
"""
from __future__ import annotations

import multiprocessing
import time
import traceback

from sqlalchemy import text, update

from core.clock import utcnow_naive
from core.db import Database
from core.db_bulk import reset_connection, tune_connection
from core.local_government_rates import LgInfo, LocalGovernmentRateError, local_government_table
from core.models.points import SettlementRun
from core.settlement import sql_engine
from core.settlement.python_engine import (
    Computed,
    Groups,
    Row,
    SettlementError,
    add_sums,
    compute_member,
    rules_key,
)
from core.settlement.staging import fill_staging, group_sums, read_rows, staging_table, won_earlier
from core.settlement.verification import comparable, verify_with_pure_engine
from core.settlement.write import write_chunk

CHUNK = 5000       # members per transaction, Python path
# Side by side, each worker gets at least CHUNKS_PER_WORKER chunks (of MIN_CHUNK members or
# more), so one worker's writes overlap another's computing: SQLite has one writer, and with one
# chunk each both workers would compute, then queue to write.
CHUNKS_PER_WORKER = 4
MIN_CHUNK = 1000
SQL_CHUNK = 25000  # members per transaction, SQL path (one set-based insert each)
PARALLEL_FROM = 5_000  # members; below this one process is as quick as starting workers


def verify_step(members: int, verify: int) -> int:
    return max(1, members // verify) if verify > 0 else (1 if verify < 0 else 0)


def _python_chunk(members: int, share: int) -> int:
    """Members per chunk on the Python path for a range of ``members`` settled by one of
    ``share`` workers side by side (see CHUNKS_PER_WORKER)."""
    if share <= 1:
        return CHUNK
    return min(CHUNK, max(MIN_CHUNK, -(-members // CHUNKS_PER_WORKER)))


def member_ranges(db: Database, workers: int) -> list[tuple[int | None, int | None]]:
    """Contiguous member-id ranges of about equal size, one per worker process."""
    if workers <= 1:
        return [(None, None)]
    with db.engine.connect() as conn:
        ids = [m for (m,) in conn.execute(text("SELECT id FROM members ORDER BY id"))]
    in_memory = db.url == "sqlite://" or (db.url.startswith("sqlite") and ":memory:" in db.url)
    if len(ids) < PARALLEL_FROM or in_memory:  # an in-memory database is one process's own
        return [(None, None)]
    size = -(-len(ids) // workers)
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def settle_in_workers(db, half, clock, rules, tables, run_id, chunk, verify, ranges, results):
    """Stage and settle each member range in its own process (each with its own database
    connections), in two phases: every worker stages its range and sums its standard-usage
    groups; the parent adds the sums up (a group spans the ranges) and hands the totals back;
    then every worker computes and writes its range. Workers are forked, so the rules and the
    clock come along; the parent's pool is emptied first so no connection is shared.
    ``results``: one empty tally per range, filled in its worker and sent back."""
    db.engine.dispose()
    ctx = multiprocessing.get_context("fork")
    procs, pipes = [], []
    try:
        for (lo, hi), tally in zip(ranges, results):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_worker, daemon=True, args=(
                db.url, half, clock, rules, tables, run_id, chunk, lo, hi, tally, theirs, len(ranges)))
            proc.start()
            theirs.close()
            procs.append(proc)
            pipes.append(mine)
        staged = [_receive(pipe, "staged") for pipe in pipes]
        sums: dict[tuple, list[int]] = {}
        for part_sums, _count, _warnings in staged:
            add_sums(sums, part_sums)
        step = verify_step(sum(count for _, count, _ in staged), verify)
        offset = 0
        for pipe, (_, count, _) in zip(pipes, staged):
            pipe.send(("settle", sums, step, offset))
            offset += count
        done = [_receive(pipe, "settled") for pipe in pipes]
        for proc in procs:
            proc.join(timeout=60)
        return sums, [(res, seen, warnings) for (res, seen), (_, _, warnings) in zip(done, staged)]
    finally:
        for pipe in pipes:
            try:
                pipe.send(("stop",))
            except (OSError, ValueError):
                pass
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()


def _receive(pipe, expected: str):
    try:
        message = pipe.recv()
    except EOFError:
        raise SettlementError("a settlement worker ended without an answer") from None
    if message[0] == "error":
        raise SettlementError(f"settlement worker failed: {message[1]}")
    if message[0] != expected:
        raise SettlementError(f"settlement worker said {message[0]!r}, expected {expected!r}")
    return message[1:] if len(message) > 2 else message[1]


def _worker(url, half, clock, rules, tables, run_id, chunk, lo, hi, result, pipe, share) -> None:
    """One forked worker: stage, report the group sums, settle when told (see above)."""
    db = Database(url)
    part = None
    try:
        part = RangeSettler(db, half, clock, rules, tables, run_id, chunk, lo, hi, result, share)
        sums, count, warnings = part.stage()
        pipe.send(("staged", sums, count, warnings))
        message = pipe.recv()
        if message[0] != "settle":
            return
        _, all_sums, step, offset = message
        seen = part.settle(all_sums, step, offset)
        pipe.send(("settled", part.result, seen))
    except BaseException as exc:  # the parent marks the run failed with this text
        try:
            pipe.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"))
        except (OSError, ValueError):
            pass
    finally:
        if part is not None:
            part.close()
        db.dispose()
        pipe.close()


class RangeSettler:
    """Stages and settles the members in [lo, hi] (all members when None) on connections of
    its own: a reader that holds the staging table and reads in deferred transactions, and, on
    SQLite, a writer whose transactions hold only the writes of one chunk, so (one writer at a
    time) the computing never holds the write lock. On PostgreSQL everything runs on the reader,
    whose session also holds the SQL results (temporary tables are the session's)."""

    def __init__(self, db, half, clock, rules, tables, run_id, chunk, lo, hi, result,
                 share: int = 1) -> None:
        self.db, self.half, self.clock, self.rules, self.tables = db, half, clock, rules, tables
        self.run_id, self.lo, self.hi = run_id, lo, hi
        self.chunk, self.share = chunk, share  # chunk None: the path's default
        self.result = result  # the range's tally (core.settlement.run.SettleResult)
        self.tmp = staging_table()
        self.reader = db.engine.execution_options(sqlite_deferred=True).connect()
        tune_connection(self.reader, share)
        self.writer = None if db.is_postgres else db.engine.connect()
        self.member_ids: list[int] = []
        self.lgs: dict[str, LgInfo] = {}

    def stage(self) -> tuple[dict, int, list[str]]:
        """Fill the staging table; the standard-usage group sums and member count of the range."""
        t = time.perf_counter()
        conn, half, rules = self.reader, self.half, self.rules
        warnings = []
        with conn.begin():
            fill_staging(conn, self.tmp, half, rules, self.lo, self.hi)
        t = self.result.tick("staging", t)
        with conn.begin():
            try:
                self.lgs = local_government_table(conn, half, rules)
            except LocalGovernmentRateError as exc:
                raise SettlementError(str(exc)) from None
            later = conn.execute(text(
                "SELECT COUNT(*) FROM settlement_runs WHERE status = 'completed' AND half > :h"
            ), {"h": str(half)}).scalar_one()
            sums = group_sums(conn, half, rules)
            self.member_ids = [m for (m,) in conn.execute(text(
                "SELECT DISTINCT member_id FROM tmp_settle ORDER BY member_id"))]
        if later:
            warnings.append("a later half is already settled: settle it again to carry changed streaks")
        self.result.members = len(self.member_ids)
        self.result.tick("evaluate_groups", t)
        return sums, len(self.member_ids), warnings

    def settle(self, sums: dict, verify_step: int, offset: int) -> dict[tuple, list[int]]:
        """Compute and write every chunk; returns the evaluations summed per group (checked
        against the SQL sums by the caller)."""
        groups = Groups(sums, self.rules)
        if self.reader.dialect.name == "postgresql":
            return self._settle_in_sql(groups, verify_step, offset)
        writer = self.writer  # SQLite always has its own writer connection (see __init__)
        if writer is None:
            raise RuntimeError("the SQLite path needs the writer connection")
        seen: dict[tuple, list[int]] = {}
        ids_all = self.member_ids
        chunk = self.chunk or _python_chunk(len(ids_all), self.share)
        for start in range(0, len(ids_all), chunk):
            ids = ids_all[start:start + chunk]
            with self.reader.begin():
                work = _read_and_compute(self.reader, self.half, self.rules, self.tables, self.lgs,
                                         groups, ids, self.result, verify_step, offset + start, seen)
            with writer.begin():
                write_chunk(writer, self.half, self.run_id, ids, self.clock, self.result, *work)
                writer.execute(update(SettlementRun).where(SettlementRun.id == self.run_id)
                                    .values(heartbeat_at=utcnow_naive(self.clock)))
                t0 = time.perf_counter()
            self.result.tick("commit", t0)
        return seen

    def _settle_in_sql(self, groups: Groups, verify_step: int, offset: int) -> dict[tuple, list[int]]:
        """PostgreSQL: lines and statements computed in the database (sql_engine);
        per chunk, new statements are inserted set-based, changed ones go through the Python
        path (revision, replaced lines, adjustment), and sampled members are checked against
        line_for and core.points."""
        conn, half, rules, h = self.reader, self.half, self.rules, str(self.half)
        t = time.perf_counter()
        with conn.begin():
            sql_engine.stage_results(conn, half, rules, self.tables, self.lgs, groups,
                                     rules_key(rules))
            seen = sql_engine.evaluated_sums(conn)
        self.result.tick("compute", t)
        ids_all = self.member_ids
        chunk = self.chunk or SQL_CHUNK
        for start in range(0, len(ids_all), chunk):
            ids = ids_all[start:start + chunk]
            lo, hi = ids[0], ids[-1]
            t = time.perf_counter()
            with conn.begin():
                sample = [m for i, m in enumerate(ids)
                          if verify_step and (offset + start + i) % verify_step == 0]
                old = {r[0]: r for r in sql_engine.existing(conn, h, lo, hi)}
                changed_ids = [m for m, r in old.items() if r[2] != r[5]]
                t = self.result.tick("classify", t)
                python = self._python_results(sorted(set(sample) | set(changed_ids)), groups, lo, hi)
                self._check_sample(sample, python)
                t = self.result.tick("check", t)
                self.result.unchanged += len(old) - len(changed_ids)
                created, points = sql_engine.insert_new(conn, h, self.run_id, lo, hi,
                                                           utcnow_naive(self.clock))
                self.result.created += created
                self.result.points_new += points
                self.result.points_total += sql_engine.totals(conn, lo, hi)
                changed = []
                for m in changed_ids:
                    c = python[m][0]
                    if c.result_hash != old[m][5]:
                        raise SettlementError(f"member {m}: the SQL and Python fingerprints differ")
                    changed.append((c, old[m][1:5]))
                t = self.result.tick("write", t)
                if changed:
                    write_chunk(conn, half, self.run_id, ids, self.clock, self.result, [], changed)
                conn.execute(update(SettlementRun).where(SettlementRun.id == self.run_id)
                             .values(heartbeat_at=utcnow_naive(self.clock)))
                t0 = time.perf_counter()
            self.result.tick("commit", t0)
        return seen

    def _python_results(self, member_ids: list[int], groups: Groups, lo: int,
                        hi: int) -> dict[int, tuple[Computed, list, list[Row]]]:
        """Some members computed by line_for (sampled for the check, or changed)."""
        if not member_ids:
            return {}
        by_member: dict[int, list[Row]] = {}
        for row in read_rows(self.reader, self.rules, ids=member_ids):
            by_member.setdefault(row.member_id, []).append(row)
        earlier = won_earlier(self.reader, self.half, lo, hi)
        out = {}
        for m, rows in by_member.items():
            c, picked = compute_member(rows, self.half, self.rules, self.tables, self.lgs, groups,
                                        earlier.get(m, 0))
            out[m] = (c, picked, rows)
        return out

    def _check_sample(self, sample: list[int], python: dict) -> None:
        """The SQL results of sampled members equal line_for's, fingerprint included, and
        core.points' (verify_with_pure_engine)."""
        for m, (statement, lines) in sql_engine.read_back(self.reader, sample).items():
            c, picked, rows = python[m]
            mine = sql_engine.as_computed(statement, lines, c.rows)
            if comparable(mine) != comparable(c):
                raise SettlementError(f"member {m}: SQL result differs from line_for "
                                      f"(SQL {comparable(mine)}; Python {comparable(c)})")
            verify_with_pure_engine(rows, mine, picked, self.half, self.rules)
            self.result.verified += 1

    def close(self) -> None:
        try:
            with self.reader.begin():
                if self.reader.dialect.name == "postgresql":
                    sql_engine.drop_results(self.reader)
                self.reader.execute(text("DROP TABLE IF EXISTS tmp_settle"))
            reset_connection(self.reader)
        finally:
            self.reader.close()
            if self.writer is not None:
                self.writer.close()


def _read_and_compute(conn, half, rules, tables, lgs, groups, ids, result, verify_step, offset,
                      seen_groups) -> tuple[list, list]:
    """Read one chunk of members (staging rows, existing statements, won counted earlier in
    the year) and compute them: (new statements, changed statements with their old version)."""
    lo, hi = ids[0], ids[-1]
    h = str(half)
    t = time.perf_counter()
    by_member: dict[int, list[Row]] = {}
    for row in read_rows(conn, rules, lo, hi):
        by_member.setdefault(row.member_id, []).append(row)
    existing = {m: (sid, rh, pts, ver) for sid, m, rh, pts, ver in conn.execute(text(
        "SELECT id, member_id, result_hash, points, version FROM point_statements"
        " WHERE half = :h AND member_id BETWEEN :lo AND :hi"), {"h": h, "lo": lo, "hi": hi})}
    earlier = won_earlier(conn, half, lo, hi)
    t = result.tick("read", t)

    new: list[Computed] = []
    changed: list[tuple[Computed, tuple]] = []
    for i, member_id in enumerate(ids):
        rows = by_member[member_id]
        c, picked = compute_member(rows, half, rules, tables, lgs, groups, earlier.get(member_id, 0))
        for row, ln in zip(c.rows, c.lines):
            if ln.evaluated:
                acc = seen_groups.get((row.lg_code, row.sido, row.points_table, row.resource))
                if acc is None:
                    acc = seen_groups[(row.lg_code, row.sido, row.points_table, row.resource)] = [0, 0]
                acc[0] += 1
                acc[1] += ln.actual_milli
        if verify_step and (offset + i) % verify_step == 0:
            verify_with_pure_engine(rows, c, picked, half, rules)
            result.verified += 1
        result.points_total += c.points
        old = existing.get(member_id)
        if old is None:
            new.append(c)
        elif old[1] != c.result_hash:
            changed.append((c, old))
        else:
            result.unchanged += 1
    result.tick("compute", t)
    return new, changed
