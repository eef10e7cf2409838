"""`cpoint import-members` against a floor measured in the same run (issue 15).

Writes a registry CSV of N members (three resources: an electricity customer number, a water
customer number, gas billed with the management fee; a third paid in cash to an account) and,
in a fresh temporary database with the default local governments, times

  floor:  the same CSV read with the csv module, the same fields encrypted the same way
          (customer numbers and accounts: Fernet; household and supply keys: keyed hashes) and
          the rows written by one plain COPY (PostgreSQL) / executemany (SQLite) into one table;
  import: core.member_import.import_members: every check of a chat signup, the file against the
          database, members + accounts + address rows in one transaction, an import run.

Each runs in a child process (its own peak memory, VmHWM), ``--repeat`` times alternating on a
freshly created schema; the best time of each counts. The same is done at N/10 to show how the
cost grows, and the growth projects the national registry (2.4 million members).

    python bench/import_members.py [--n 100000] [--db sqlite|postgres|both] [--url URL] [--repeat 2]

PostgreSQL: without --url a throwaway server is started with scripts/pg on port 55442
(PGDIR /tmp/pg-import-members, database cpoint_bench) and left running for reuse.
Targets: within 3x the floor, linear from N/10 to N, peak memory < 500 MB at 100,000.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import samples  # noqa: E402
from bench.harness import ENC_KEY, HASH_KEY, drop_sqlite, peak_rss_mb, run_child, targets  # noqa: E402

NATIONAL = 2_400_000
PG_PORT = "55442"
PG_DIR = "/tmp/pg-import-members"


# --- data ---------------------------------------------------------------------------------

def write_csv(path: Path, n: int) -> None:
    from core.member_import import MEMBER_HEADER

    s = samples("import_members")
    names, addresses = s["names"], s["addresses"]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(MEMBER_HEADER)
        for i in range(1, n + 1):
            building, unit = divmod(i, 4000)
            cash = i % 3 == 0
            w.writerow([
                f"R{i:08d}", "individual", names[i % len(names)], f"010-{1000 + i // 10000:04d}-{i % 10000:04d}",
                addresses[i % len(addresses)].format(no=building + 1),
                s["unit"].format(dong=101 + unit // 40, ho=101 + unit % 40),
                f"20{18 + i % 7}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                f"{i:010d}", f"7{i:08d}", "managed",
                "cash" if cash else "donation", s["bank"] if cash else "", f"1002-{i:09d}" if cash else "",
            ])


def fresh_schema(url: str) -> None:
    from core.db import Database
    from core.local_governments import seed_local_governments

    db = Database(url)
    db.recreate_all()
    with db.transaction() as s:
        seed_local_governments(s)
    db.dispose()


def floor_table():
    from sqlalchemy import Column, Date, Integer, MetaData, String, Table, Text

    return Table(
        "bench_import_floor", MetaData(),
        Column("id", Integer, primary_key=True),
        Column("member_no", String(20)), Column("member_type", String(24)), Column("name", String(64)),
        Column("mobile", String(20)), Column("address", String(200)), Column("unit", String(100)),
        Column("joined_on", Date), Column("household_hash", String(64)),
        Column("electricity_enc", Text), Column("electricity_hash", String(64)),
        Column("water_enc", Text), Column("water_hash", String(64)), Column("gas", String(16)),
        Column("incentive_type", String(24)), Column("bank", String(40)), Column("account_enc", Text),
    )


# --- measured steps (each in a child process) -------------------------------------------

def child(step: str, url: str, path: str) -> dict:
    from datetime import date

    from core.clock import KST, FixedClock
    from core.crypto import FieldCipher
    from core.db import Database
    from core.db_bulk import bulk_insert
    from core.member_import import MEMBER_HEADER, import_members
    from core.members import HOUSEHOLD_PURPOSE

    db = Database(url)
    cipher = FieldCipher(ENC_KEY, HASH_KEY)
    table = floor_table()
    if step == "floor":
        table.drop(db.engine, checkfirst=True)  # SQLite: recreate_all leaves tables of no model
        table.create(db.engine)
    t0 = time.perf_counter()
    if step == "floor":
        rows = []
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            for raw in reader:
                v = dict(zip(MEMBER_HEADER, raw))
                rows.append((
                    v["member_no"], v["member_type"], v["name"], v["mobile"], v["address"], v["unit"],
                    date.fromisoformat(v["joined_on"]),
                    cipher.keyed_hash(f"{v['address']}|{v['unit']}", purpose=HOUSEHOLD_PURPOSE),
                    cipher.encrypt(v["electricity"]), cipher.keyed_hash(v["electricity"], purpose="electricity"),
                    cipher.encrypt(v["water"]), cipher.keyed_hash(v["water"], purpose="water"), v["gas"],
                    v["incentive_type"], v["bank"] or None, cipher.encrypt(v["account"]) if v["account"] else None,
                ))
        with db.engine.begin() as conn:
            bulk_insert(conn, table, rows, [c.name for c in table.columns if c.name != "id"])
        out = {"rows": len(rows)}
    else:
        clock = FixedClock(datetime(2026, 11, 22, 10, 0, tzinfo=KST))
        res = import_members(db, cipher, clock, path)
        out = {"rows": res.inserted, "rejected": res.rejected}
    out["seconds"] = time.perf_counter() - t0
    out["max_rss_mb"] = peak_rss_mb()
    db.dispose()
    return out


def measure(label: str, url: str, n: int, path: Path, repeat: int) -> dict:
    floors, imports = [], []
    for _ in range(repeat):
        fresh_schema(url)
        floors.append(run_child(__file__, "floor", url, "--file", str(path)))
        fresh_schema(url)
        imports.append(run_child(__file__, "import", url, "--file", str(path)))
        if imports[-1]["rows"] != n:
            raise SystemExit(f"import wrote {imports[-1]['rows']} of {n} members ({imports[-1]['rejected']} rejected)")
    floor = min(f["seconds"] for f in floors)
    best = min(imports, key=lambda r: r["seconds"])
    return {"db": label, "n": n, "floor_s": floor, "import_s": best["seconds"], "ratio": best["seconds"] / floor,
            "floor_runs": [f["seconds"] for f in floors], "import_runs": [r["seconds"] for r in imports],
            "import_mb": max(r["max_rss_mb"] for r in imports), "floor_mb": max(f["max_rss_mb"] for f in floors)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    ap.add_argument("--url", help="PostgreSQL URL to use (its tables are dropped and recreated)")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.file)))
        return

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        sizes = (max(1, args.n // 10), args.n)
        files = {}
        for n in sizes:
            files[n] = Path(tmp) / f"registry-{n}.csv"
            write_csv(files[n], n)
        for label, url_for in targets(args.db, args.url, tmp, port=PG_PORT, pgdir=PG_DIR):
            for n in sizes:
                print(f"{label}: importing {n} members ...", file=sys.stderr, flush=True)
                results.append(measure(label, url_for(n), n, files[n], args.repeat))
                r = results[-1]
                print("  floor " + " / ".join(f"{x:.2f}" for x in r["floor_runs"]) + " s, import "
                      + " / ".join(f"{x:.2f}" for x in r["import_runs"]) + " s", file=sys.stderr, flush=True)
                drop_sqlite(url_for(n))

    print()
    print(f"{'db':<11} {'members':>9} {'floor s':>8} {'import s':>9} {'ratio':>6} {'import MB':>10} {'floor MB':>9}")
    for r in results:
        print(f"{r['db']:<11} {r['n']:>9} {r['floor_s']:>8.2f} {r['import_s']:>9.2f} {r['ratio']:>6.2f} "
              f"{r['import_mb']:>10.0f} {r['floor_mb']:>9.0f}")
    for label in dict.fromkeys(r["db"] for r in results):
        small, big = [r for r in results if r["db"] == label]
        k = big["n"] / small["n"]
        growth = big["import_s"] / small["import_s"]
        # straight line through the two measurements: time and memory per member, and what is fixed
        per_s = (big["import_s"] - small["import_s"]) / (big["n"] - small["n"])
        per_mb = (big["import_mb"] - small["import_mb"]) / (big["n"] - small["n"])
        t_nat = big["import_s"] + per_s * (NATIONAL - big["n"])
        mb_nat = big["import_mb"] + per_mb * (NATIONAL - big["n"])
        print(f"{label}: x{k:.0f} members -> import x{growth:.1f}, floor x{big['floor_s'] / small['floor_s']:.1f}; "
              f"{per_s * 1e6:.0f} us and {per_mb * 1024:.1f} KB per member")
        print(f"{label}: projected for the national registry ({NATIONAL:,} members, one file): "
              f"{t_nat / 60:.1f} min, peak {mb_nat:,.0f} MB")
    print("targets: ratio <= 3.0, growth ~ linear, peak memory < 500 MB at 100,000 members")


if __name__ == "__main__":
    main()
