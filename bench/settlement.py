"""Settlement of one half against a floor measured in the same run.

Generates N households (three resources each, 30 months of readings: Jan 2024 - Jun 2026) in a
fresh temporary database, then times
  floor:      one raw SQL aggregate query computing every account's B_H (with the one-year
              fallback and the missing-month fill), A_H and reduction rate, fetched to Python;
  settlement: core.settlement.settle_half("2026H1"): statements, lines and ledger written.
Floor and settlement run twice each, alternating (the results are emptied between the two
settlements); the best time of each counts. Each measured step runs in a child process so its
peak memory (max RSS) is its own; with forked workers, the peak summed Pss of the whole process
tree counts when it is larger. The same is done at N/10 to show how cost grows. Prints a table:
times, ratio settlement/floor, peak memory.

    python bench/settlement.py [--n 100000] [--db sqlite|postgres|both] [--url URL]

PostgreSQL: without --url a throwaway server is started with scripts/pg on port 55433
(PGDIR /tmp/pg-points, database cpoint_bench) and left running for reuse.
Targets (issue 3): settlement within 2x the floor, linear growth, peak memory < 500 MB at 100,000.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import samples  # noqa: E402
from bench.harness import ENC_KEY, HASH_KEY, drop_sqlite, peak_rss_mb, run_child, targets  # noqa: E402

HALF = "2026H1"
FIRST_MONTH, MONTHS = 202401, 30
RESOURCES = (("electricity", 300, 120), ("water", 15, 6), ("gas", 60, 40))  # mean, spread
LGS = [(f"{41000 + i * 5}", samples("settlement")["sido"].format(i=i % 8), samples("settlement")["sigungu"].format(i=i))
       for i in range(60)]

FLOOR_SQL = """
SELECT account_id, baseline, actual,
       CASE WHEN baseline > 0 THEN 100 * (baseline - actual) / baseline END AS rate
FROM (
  SELECT account_id,
    3.0 * (COALESCE(b1,0)+COALESCE(b2,0)+COALESCE(b3,0)+COALESCE(b4,0)+COALESCE(b5,0)+COALESCE(b6,0))
      / NULLIF((b1 IS NOT NULL) + (b2 IS NOT NULL) + (b3 IS NOT NULL) + (b4 IS NOT NULL)
               + (b5 IS NOT NULL) + (b6 IS NOT NULL), 0) / 1000 AS baseline,
    (a1 + a2 + a3 + a4 + a5 + a6) / 1000.0 AS actual
  FROM (
    SELECT account_id, a1, a2, a3, a4, a5, a6, {bsum}
    FROM (
      SELECT ra.id AS account_id, {pivots}
      FROM resource_accounts ra
      JOIN meter_readings r ON r.resource = ra.resource AND r.supply_key_hash = ra.supply_key_hash
        AND r.month IN ({months})
      GROUP BY ra.id
    ) pivot
  ) b
) x
"""


def floor_sql(postgres: bool) -> str:
    from core.points.periods import Half

    half = Half.parse(HALF)
    ref = {"a": half.months, "p": [m - 100 for m in half.months], "q": [m - 200 for m in half.months]}
    milli = "CAST(ROUND(r.amount * 1000) AS BIGINT)"
    pivots = ", ".join(f"MAX(CASE WHEN r.month = {m} THEN {milli} END) AS {p}{i + 1}"
                       for p, ms in ref.items() for i, m in enumerate(ms))
    bsum = ", ".join(
        f"CASE WHEN p{i} IS NOT NULL AND q{i} IS NOT NULL THEN p{i} + q{i}"
        f" WHEN p{i} IS NOT NULL THEN 2 * p{i} WHEN q{i} IS NOT NULL THEN 2 * q{i} END AS b{i}"
        for i in range(1, 7))
    months = ", ".join(str(m) for ms in ref.values() for m in ms)
    sql = FLOOR_SQL.format(pivots=pivots, bsum=bsum, months=months)
    if postgres:  # booleans do not add up on PostgreSQL
        for i in range(1, 7):
            sql = sql.replace(f"(b{i} IS NOT NULL)", f"(b{i} IS NOT NULL)::int")
    return sql


# --- data ---------------------------------------------------------------------------------

def months() -> list[int]:
    out, m = [], FIRST_MONTH
    for _ in range(MONTHS):
        out.append(m)
        m = m + 1 if m % 100 < 12 else (m // 100 + 1) * 100 + 1
    return out


def generate(url: str, n: int) -> None:
    from sqlalchemy import text

    import core.models  # noqa: F401
    from core.crypto import FieldCipher
    from core.db import Database

    db = Database(url)
    db.recreate_all()
    cipher = FieldCipher(ENC_KEY, HASH_KEY)
    rnd = random.Random(42)
    joined = datetime(2023, 6, 1)
    with db.engine.begin() as conn:
        conn.execute(core.models.LocalGovernment.__table__.insert(), [
            {"code": c, "sido": s, "name": nm, "address_prefixes": [], "won_per_point": 2,
             "incentive_types": ["cash", "donation"], "payout_month_h1": 12, "payout_month_h2": 6}
            for c, s, nm in LGS])
        members, accounts, addresses = [], [], []
        for i in range(1, n + 1):
            lg = LGS[i % len(LGS)][0]
            members.append({
                "id": i, "status": "active", "member_type": "individual" if i % 20 else "commercial",
                "name": samples("settlement")["name"], "local_government_code": lg, "address": samples("settlement")["address"],
                "incentive_type": "cash", "consents": {}, "marketing_opt_in": False,
                "campaign_opt_out": False, "is_friend": True, "joined_at": joined})
            addresses.append({"member_id": i, "local_government_code": lg, "valid_from": date(2023, 6, 1)})
            for r, (res, _, _) in enumerate(RESOURCES):
                accounts.append({
                    "id": (i - 1) * 3 + r + 1, "member_id": i, "resource": res,
                    "billing_mode": "separate",
                    "supply_key_hash": cipher.keyed_hash(f"{i:010d}", purpose=res),
                    "registered_on": date(2023, 6, 1)})
        for table, rows in ((core.models.Member.__table__, members),
                            (core.models.MemberAddress.__table__, addresses),
                            (core.models.ResourceAccount.__table__, accounts)):
            for start in range(0, len(rows), 20000):
                conn.execute(table.insert(), rows[start:start + 20000])
    # readings, in primary-key order (resource, hash, month)
    ms = months()
    keys = sorted((a["resource"], a["supply_key_hash"]) for a in accounts)
    spreads = {res: (mean, spread) for res, mean, spread in RESOURCES}
    del members, accounts, addresses

    def rows():
        for res, h in keys:
            mean, spread = spreads[res]
            level = mean + rnd.uniform(-spread, spread)
            trend = rnd.uniform(-0.08, 0.03)
            for idx, m in enumerate(ms):
                if rnd.random() < 0.01:  # ~1% months missing: fallback, fill, missing actual
                    continue
                value = max(0.0, level * (1 + trend * idx / 12) * rnd.uniform(0.9, 1.1))
                yield res, h, m, f"{value:.1f}"

    now = datetime(2026, 11, 1)
    if db.is_postgres:
        raw = db.engine.raw_connection()
        try:
            with raw.cursor() as cur:
                with cur.copy("COPY meter_readings (resource, supply_key_hash, month, amount, updated_at)"
                              " FROM STDIN") as copy:
                    for res, h, m, v in rows():
                        copy.write_row((res, h, m, v, now))
            raw.commit()
        finally:
            raw.close()
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("BEGIN")
            batch = []
            sql = ("INSERT INTO meter_readings (resource, supply_key_hash, month, amount, updated_at)"
                   " VALUES (?, ?, ?, ?, ?)")
            stamp = now.isoformat(sep=" ")
            for res, h, m, v in rows():
                batch.append((res, h, m, float(v), stamp))
                if len(batch) >= 100000:
                    cur.executemany(sql, batch)
                    batch.clear()
            cur.executemany(sql, batch)
            cur.execute("COMMIT")
            cur.execute("ANALYZE")
        finally:
            raw.close()
    db.dispose()


# --- measured steps (each in a child process) -------------------------------------------

def child(step: str, url: str) -> dict:
    from sqlalchemy import text

    from core.clock import KST, FixedClock
    from core.db import Database

    # imported before the clock starts: neither the floor nor the settlement pays for imports
    from core.db_bulk import tune_connection
    from core.settlement import settle_half

    db = Database(url)
    sampler = TreeMemory()
    t0 = time.perf_counter()
    if step == "floor":
        with db.engine.connect() as conn:
            tune_connection(conn)  # the same session settings the settlement uses
            rows = conn.execute(text(floor_sql(db.is_postgres))).fetchall()
        out = {"rows": len(rows)}
    else:
        clock = FixedClock(datetime(2026, 11, 22, 10, 0, tzinfo=KST))
        res = settle_half(db, HALF, clock)
        out = {"members": res.members, "created": res.created, "points": res.points_total,
               "verified": res.verified, "timings": res.timings, "workers": res.workers}
    out["seconds"] = time.perf_counter() - t0
    out["max_rss_mb"] = peak_rss_mb()
    out["tree_pss_mb"] = sampler.stop()
    db.dispose()
    return out


class TreeMemory:
    """Peak memory of this process and its children (the settlement's forked workers),
    sampled every 50 ms as the sum of their proportional set sizes (Pss: a page shared by
    the forked processes counts once in all)."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, tree_pss_mb(os.getpid()))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def tree_pss_mb(pid: int) -> float:
    total = 0.0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def clear_results(url: str) -> None:
    """Empty what a settlement writes, so the next one starts from the same state."""
    from sqlalchemy import text

    from core.db import Database

    db = Database(url)
    tables = ("points_ledger", "statement_revisions", "statement_lines", "point_statements",
              "settlement_runs")
    with db.engine.begin() as conn:
        if db.is_postgres:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))  # payout_lines, empty here
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    db.dispose()


def measure(label: str, url: str, n: int) -> dict:
    """Floor and settlement twice each, alternating; the best of each counts (the machine's
    noise falls on both alike)."""
    t0 = time.perf_counter()
    generate(url, n)
    gen = time.perf_counter() - t0
    floors, settles = [], []
    for attempt in range(2):
        if attempt:
            clear_results(url)
        floors.append(run_child(__file__, "floor", url))
        settles.append(run_child(__file__, "settle", url))
    floor = min(f["seconds"] for f in floors)
    settle = min(settles, key=lambda r: r["seconds"])
    return {"db": label, "n": n, "generate_s": gen, "floor_s": floor, "settle_s": settle["seconds"],
            "ratio": settle["seconds"] / floor, "settle_runs": [r["seconds"] for r in settles],
            "floor_runs": [f["seconds"] for f in floors],
            "settle_rss_mb": max(max(r["max_rss_mb"], r["tree_pss_mb"]) for r in settles),
            "workers": settle["workers"], "floor_rss_mb": max(f["max_rss_mb"] for f in floors),
            "members": settle["members"], "rows": floors[0]["rows"], "verified": settle["verified"],
            "timings": settle["timings"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--url", help="PostgreSQL URL to use (its tables are dropped and recreated)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url)))
        return

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, url_for in targets(args.db, args.url, tmp):
            for n in (max(1, args.n // 10), args.n):
                print(f"{label}: generating {n} households ...", file=sys.stderr, flush=True)
                results.append(measure(label, url_for(n), n))
                r = results[-1]
                phases = " ".join(f"{k} {v:.2f}" for k, v in r["timings"].items())
                floors, settles = (" / ".join(f"{x:.2f}" for x in r[k])
                                   for k in ("floor_runs", "settle_runs"))
                print(f"  floor {floors} s, settle {settles} s "
                      f"(best: {phases})", file=sys.stderr, flush=True)
                drop_sqlite(url_for(n))

    print()
    print(f"{'db':<11} {'households':>10} {'accounts':>9} {'floor s':>8} {'settle s':>9} "
          f"{'ratio':>6} {'workers':>7} {'peak MB':>8} {'floor MB':>9} {'gen s':>6}")
    for r in results:
        print(f"{r['db']:<11} {r['n']:>10} {r['rows']:>9} {r['floor_s']:>8.2f} {r['settle_s']:>9.2f} "
              f"{r['ratio']:>6.2f} {r['workers']:>7} {r['settle_rss_mb']:>8.0f} {r['floor_rss_mb']:>9.0f} "
              f"{r['generate_s']:>6.0f}")
    print("peak MB: the settlement's own peak RSS or, when larger, the peak of its process tree "
          "(itself and its workers) sampled every 50 ms as summed Pss")
    for label in {r["db"] for r in results}:
        small, big = [r for r in results if r["db"] == label]
        growth = big["settle_s"] / small["settle_s"]
        print(f"{label}: x{big['n'] // small['n']} households -> settlement x{growth:.1f}, "
              f"floor x{big['floor_s'] / small['floor_s']:.1f}")
    print("targets: ratio <= 2.0, growth ~ linear, peak memory < 500 MB at 100,000 households")


if __name__ == "__main__":
    main()
