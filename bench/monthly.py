"""Monthly results with projections and comparisons, against a floor measured in the same run.

Generates N households (electricity for all, water for half of them; readings of Jul-Dec 2024
and 2025 and Jul-Oct 2026) in 60 시·군·구 in a fresh temporary database, then times
  floor:    one SQL aggregate of October's reduction per account (U against the mean of the
            two earlier Octobers), fetched to Python;
  monthly:  core.monthly.monthly_results("2026-10") on 22 Nov 2026: the prepared balance figures
            (half so far, next-band projection by the rules engine, fair comparison with similar
            homes) for every member, and one notification per member with the same figures.
Each is run twice, alternating (results emptied between the runs); the best time counts. Done
at every size given, to show how the cost grows.

Two more references, measured in the same run, show what any way of preparing these results
must spend at least (the issue's floor reads 3 readings per account; the results read 18):
  inputs:   one SQL aggregate of what the half so far and its baseline B_H read per account:
            the six months of the half and the same months one and two years before, fetched;
  writes:   the rows the monthly run wrote (a prepared card and a notice per member) written
            again, bare: deleted, then inserted through the driver in one transaction each
            (executemany on SQLite, COPY on PostgreSQL), nothing computed.

    python bench/monthly.py [--sizes 10000 100000] [--url URL]

Target (issue 17): monthly within 3x the floor, linear growth.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import samples  # noqa: E402

LGS = [(f"{41000 + i * 5}", samples("settlement")["sido"].format(i=i % 8), samples("settlement")["sigungu"].format(i=i))
       for i in range(60)]
MONTH = 202610
BASE_MONTHS = [y * 100 + m for y in (2024, 2025) for m in range(7, 13)]
ACTUAL_MONTHS = [202607, 202608, 202609, 202610]
RESOURCES = (("electricity", 300, 120), ("water", 15, 6))

FLOOR_SQL = f"""
SELECT ra.id,
  SUM(CASE WHEN r.month = {MONTH} THEN r.amount END) AS used,
  SUM(CASE WHEN r.month IN ({MONTH - 100}, {MONTH - 200}) THEN r.amount END)
    / NULLIF(SUM(CASE WHEN r.month IN ({MONTH - 100}, {MONTH - 200}) THEN 1 ELSE 0 END), 0) AS baseline
FROM resource_accounts ra
JOIN meter_readings r ON r.resource = ra.resource AND r.supply_key_hash = ra.supply_key_hash
  AND r.month IN ({MONTH}, {MONTH - 100}, {MONTH - 200})
WHERE ra.ended_on IS NULL
GROUP BY ra.id
"""
HALF_MONTHS = [y * 100 + m for y in (2024, 2025, 2026) for m in range(7, 13)]
INPUTS_SQL = f"""
SELECT ra.id, {", ".join(f"SUM(CASE WHEN r.month = {m} THEN r.amount END)" for m in HALF_MONTHS)}
FROM resource_accounts ra
JOIN meter_readings r ON r.resource = ra.resource AND r.supply_key_hash = ra.supply_key_hash
  AND r.month IN ({", ".join(map(str, HALF_MONTHS))})
WHERE ra.ended_on IS NULL
GROUP BY ra.id
"""


def generate(url: str, n: int, *, fresh: bool = True, user_key=None, base_months=None, actual_months=None) -> None:
    """N households with readings. ``fresh``: recreate the schema (else the database is at
    head and empty); ``user_key(i)``: the members' botUserKey (bench/webhook.py's users)."""
    import core.models
    from core.db import Database

    base_months = base_months or BASE_MONTHS
    actual_months = actual_months or ACTUAL_MONTHS
    db = Database(url)
    if fresh:
        db.recreate_all()
    rnd = random.Random(17)
    joined = datetime(2023, 6, 1)
    accounts = []
    with db.engine.begin() as conn:
        conn.execute(core.models.LocalGovernment.__table__.insert(), [
            {"code": c, "sido": s, "name": nm, "address_prefixes": [], "won_per_point": 2,
             "incentive_types": ["cash", "donation"], "payout_month_h1": 12, "payout_month_h2": 6}
            for c, s, nm in LGS])
        members, addresses = [], []
        for i in range(1, n + 1):
            lg = LGS[i % len(LGS)][0]
            members.append({
                "id": i, "status": "active", "member_type": "individual",
                "name": samples("settlement")["name"], "local_government_code": lg,
                "address": samples("settlement")["address"], "incentive_type": "cash", "consents": {},
                "marketing_opt_in": False, "campaign_opt_out": False, "is_friend": True, "joined_at": joined,
                "floor_area": rnd.choice((45, 59, 74, 84, 99, 114, 140)),
                "bot_user_key": user_key(i) if user_key else None})
            addresses.append({"member_id": i, "local_government_code": lg, "valid_from": date(2023, 6, 1)})
            for r, (res, _, _) in enumerate(RESOURCES):
                if res == "water" and i % 2:
                    continue
                accounts.append({"id": (i - 1) * 2 + r + 1, "member_id": i, "resource": res,
                                 "billing_mode": "separate", "supply_key_hash": f"{res[0]}{i:010d}",
                                 "registered_on": date(2023, 6, 1)})
        for table, rows in ((core.models.Member.__table__, members),
                            (core.models.MemberAddress.__table__, addresses),
                            (core.models.ResourceAccount.__table__, accounts)):
            for start in range(0, len(rows), 20000):
                conn.execute(table.insert(), rows[start:start + 20000])
    spreads = {res: (mean, spread) for res, mean, spread in RESOURCES}
    stamp = datetime(2026, 11, 1).isoformat(sep=" ")

    def rows():
        for a in sorted(accounts, key=lambda a: (a["resource"], a["supply_key_hash"])):
            mean, spread = spreads[a["resource"]]
            level = mean + rnd.uniform(-spread, spread)
            cut = rnd.uniform(-0.05, 0.18)
            for m in base_months + actual_months:
                value = level * (1 - (cut if m in actual_months else 0)) * rnd.uniform(0.93, 1.07)
                yield a["resource"], a["supply_key_hash"], m, round(value, 1), stamp

    raw = db.engine.raw_connection()
    try:
        if db.is_postgres:
            with raw.cursor() as cur:
                with cur.copy("COPY meter_readings (resource, supply_key_hash, month, amount, updated_at)"
                              " FROM STDIN") as copy:
                    for row in rows():
                        copy.write_row(row)
                cur.execute("ANALYZE")
            raw.commit()
        else:
            cur = raw.cursor()
            cur.execute("BEGIN")
            cur.executemany("INSERT INTO meter_readings (resource, supply_key_hash, month, amount, updated_at)"
                            " VALUES (?, ?, ?, ?, ?)", rows())
            cur.execute("COMMIT")
            cur.execute("ANALYZE")
    finally:
        raw.close()
    db.dispose()


def floor(url: str, sql: str = FLOOR_SQL) -> tuple[float, int]:
    from sqlalchemy import text

    from core.db import Database

    db = Database(url)
    t0 = time.perf_counter()
    with db.engine.connect() as conn:
        rows = conn.execute(text(sql)).fetchall()
    took = time.perf_counter() - t0
    db.dispose()
    return took, len(rows)


def writes(url: str) -> float:
    """The monthly run's rows written again, bare (the run must have left them): the rows of
    prepared_progress and notifications read out, deleted, and inserted again through the
    driver, one transaction per table; the seconds of the inserts."""
    from core.db import Database
    from core.db_bulk import bulk_insert, driver_connection, json_text
    from core.models.outbox import Notification
    from core.models.progress import PreparedProgress
    from core.sqla import table_of

    db = Database(url)
    took = 0.0
    with db.engine.connect() as conn:
        for table in (table_of(PreparedProgress), table_of(Notification)):
            with conn.begin():
                cur = driver_connection(conn).cursor()
                cur.execute(f"SELECT * FROM {table.name}")
                columns = [d[0] for d in cur.description]
                rows = [tuple(json_text(v) if isinstance(v, (dict, list)) else v for v in r) for r in cur.fetchall()]
                cur.execute(f"DELETE FROM {table.name}")
                cur.close()
            t0 = time.perf_counter()
            with conn.begin():
                bulk_insert(conn, table, rows, columns, ready=True)
            took += time.perf_counter() - t0
    db.dispose()
    return took


def monthly(url: str) -> tuple[float, int, int]:
    from sqlalchemy import text

    from core.clock import KST, FixedClock
    from core.db import Database
    from core.monthly import monthly_results

    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM notifications"))
        conn.execute(text("DELETE FROM prepared_progress"))
    clock = FixedClock(datetime(2026, 11, 22, 10, tzinfo=KST))
    t0 = time.perf_counter()
    result = monthly_results(db, "2026-10", clock)
    took = time.perf_counter() - t0
    with db.engine.connect() as conn:
        prepared = conn.execute(text("SELECT COUNT(*) FROM prepared_progress")).scalar_one()
    db.dispose()
    return took, result.written, prepared


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--url", default=None, help="a database URL (default: a temporary SQLite file)")
    args = ap.parse_args()
    out = []
    for n in args.sizes:
        tmp = Path(tempfile.mkdtemp(prefix="cpoint-bench-monthly-"))
        url = args.url or f"sqlite:///{tmp / 'bench.db'}"
        t0 = time.perf_counter()
        generate(url, n)
        print(f"generated {n:,} households in {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
        floors, inputs, runs, bare = [], [], [], []
        for _ in range(2):
            floors.append(floor(url))
            inputs.append(floor(url, INPUTS_SQL)[0])
            runs.append(monthly(url))
            bare.append(writes(url))
            print(f"  n={n:,}: floor {floors[-1][0]:.2f}s, inputs {inputs[-1]:.2f}s, monthly {runs[-1][0]:.2f}s,"
                  f" writes {bare[-1]:.2f}s", file=sys.stderr, flush=True)
        best_floor = min(f[0] for f in floors)
        best = min(r[0] for r in runs)
        out.append((n, best_floor, best, runs[0][1], runs[0][2], floors[0][1], min(inputs), min(bare)))
    print(f"\nmonthly results with projections and comparisons (db={'postgres' if args.url and 'postgres' in args.url else 'sqlite'})")
    print(f"{'households':>10}{'accounts':>10}{'floor s':>10}{'monthly s':>11}{'ratio':>8}{'per 1k s':>10}"
          f"{'notices':>9}{'prepared':>10}{'inputs s':>10}{'writes s':>10}{'least':>7}")
    for n, fl, mo, written, prepared, accounts, inp, wr in out:
        print(f"{n:>10,}{accounts:>10,}{fl:>10.2f}{mo:>11.2f}{mo / fl:>8.1f}{mo / n * 1000:>10.3f}{written:>9,}"
              f"{prepared:>10,}{inp:>10.2f}{wr:>10.2f}{(inp + wr) / fl:>7.1f}")
    print("least: (inputs + writes) / floor, what reading the half's readings and writing the results"
          " cost before anything is computed")
    if len(out) > 1:
        (n0, _, m0, *_), (n1, _, m1, *_) = out[0], out[-1]
        print(f"growth: {n1 / n0:.0f}x households -> {m1 / m0:.1f}x time (linear = {n1 / n0:.0f}x)")
    print("target: monthly within 3x the floor, linear")


if __name__ == "__main__":
    main()
