"""`import-usage` of a large customer-number file against a floor measured in the same run.

Writes a CSV of N readings (``resource,customer_number,month,amount``: electricity, water and
gas supply points, 24 months each, valid customer numbers) and times, each in a fresh database
and a child process of its own (so its peak memory is its own):
  floor:  the same file read with csv.reader and its rows written as they are into one plain
          table (COPY on PostgreSQL, executemany on SQLite), one transaction;
  import: core.usage_import.import_usage (screening every row, hashing customer numbers,
          duplicate detection, audited upsert into meter_readings), one transaction.
Each runs twice, alternating; the best time counts. The same at N/10 shows linearity (time per
row at N over time per row at N/10; 1.0 is linear). Peak memory is the child's VmHWM.

The unit file of the billing companies (``resource,complex_code,dong,ho,month,amount``:
electricity and water of complex units billed in the management fee, 24 months each) is measured
the same way against its own floor (the same file into one plain table); the complexes are
registered before the clock starts.

    python bench/import_usage.py [--n 1000000] [--db sqlite|postgres] [--url URL] [--files usage,unit]

PostgreSQL: without --url a throwaway server is started with scripts/pg on port 55433
(PGDIR /tmp/pg-points, database cpoint_bench) and left running for reuse.
Targets (issue 16): the import within 3x of the floor, linear from N/10 to N, peak memory < 500 MB.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import ENC_KEY, HASH_KEY, peak_rss_mb, pg_url, run_child  # noqa: E402

HEADER = ("resource", "customer_number", "month", "amount")
UNIT_HEADER = ("resource", "complex_code", "dong", "ho", "month", "amount")
UNITS_PER_COMPLEX, DONGS = 200, 10
MONTHS = [y * 100 + m for y in (2024, 2025) for m in range(1, 13)]
NUMBER = {"electricity": "{i:010d}", "water": "{i:07d}", "gas": "{i:010d}"}
SPREAD = {"electricity": 300, "water": 15, "gas": 60}


def write_file(path: Path, n: int) -> None:
    """n rows: supply points of the three resources in turn, 24 months each."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        written, point = 0, 0
        while written < n:
            resource = ("electricity", "water", "gas")[point % 3]
            number = NUMBER[resource].format(i=1000000 + point)
            for month in MONTHS:
                if written >= n:
                    break
                amount = SPREAD[resource] * (1 + (point * 7 + month) % 13 / 20)
                w.writerow((resource, number, f"{month // 100}-{month % 100:02d}", f"{amount:.1f}"))
                written += 1
            point += 1


def write_unit_file(path: Path, n: int) -> None:
    """n rows: electricity and water of units in turn (complexes of 10 동 x 20 호), 24 months each."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(UNIT_HEADER)
        written, point = 0, 0
        while written < n:
            resource = ("electricity", "water")[point % 2]
            unit = point // 2
            code = f"C{unit // UNITS_PER_COMPLEX:05d}"
            dong = 101 + (unit // 20) % DONGS
            ho = 100 * (1 + unit % 20 // 4) + 1 + unit % 4
            for month in MONTHS:
                if written >= n:
                    break
                amount = SPREAD[resource] * (1 + (point * 7 + month) % 13 / 20)
                w.writerow((resource, code, str(dong), str(ho), f"{month // 100}-{month % 100:02d}",
                            f"{amount:.1f}"))
                written += 1
            point += 1


def register_complexes(db, n: int) -> None:
    """The complexes of a unit file of n rows, billing electricity and water in the fee."""
    from datetime import datetime

    from core.models import ApartmentComplex

    complexes = n // (2 * len(MONTHS) * UNITS_PER_COMPLEX) + 2
    managed = {"mode": "managed", "company": "bench"}
    with db.transaction() as s:
        for i in range(complexes):
            code = f"C{i:05d}"
            s.add(ApartmentComplex(code=code, name=code, road_address=code, jibun_address=None, road_key=code,
                                   jibun_key=None, dongs=[str(101 + d) for d in range(DONGS)],
                                   resources={"electricity": managed, "water": managed,
                                              "gas": {"mode": "separate", "company": None}},
                                   updated_at=datetime(2026, 1, 1)))


def fresh(url: str):
    import core.models  # noqa: F401
    from core.db import Database

    db = Database(url)
    db.recreate_all()
    return db


def child(step: str, url: str, path: str, kind: str = "usage") -> dict:
    from sqlalchemy import Column, MetaData, Numeric, String, Table

    from core.clock import KST, FixedClock
    from core.crypto import FieldCipher
    from core.db_bulk import bulk_insert
    from core.unit_readings import import_unit_readings
    from core.usage_import import import_usage

    db = fresh(url)
    header = UNIT_HEADER if kind == "unit" else HEADER
    if kind == "unit" and step != "floor":
        register_complexes(db, sum(1 for _ in open(path, encoding="utf-8")))
    t0 = time.perf_counter()
    if step == "floor":
        table = Table("floor_rows", MetaData(),
                      *[Column(name, Numeric(14, 3) if name == "amount" else String(40)) for name in header])
        table.drop(db.engine, checkfirst=True)
        table.create(db.engine)
        t0 = time.perf_counter()
        rows = 0
        with db.engine.begin() as conn, open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            batch: list = []
            for row in reader:
                batch.append(row)
                if len(batch) >= 10000:
                    bulk_insert(conn, table, batch, header, ready=True)
                    rows += len(batch)
                    batch = []
            bulk_insert(conn, table, batch, header, ready=True)
            rows += len(batch)
        out: dict = {"rows": rows}
    else:
        from datetime import datetime
        clock = FixedClock(datetime(2026, 11, 22, 10, 0, tzinfo=KST))
        importer = import_unit_readings if kind == "unit" else import_usage
        res = importer(db, FieldCipher(ENC_KEY, HASH_KEY), clock, path)
        out = {"rows": res.rows_total, "inserted": res.inserted}
    out["seconds"] = time.perf_counter() - t0
    out["max_rss_mb"] = peak_rss_mb()
    db.dispose()
    return out


def measure(url: str, n: int, tmp: Path, kind: str = "usage") -> dict:
    path = tmp / f"{kind}-{n}.csv"
    (write_unit_file if kind == "unit" else write_file)(path, n)
    floors, imports = [], []
    for _ in range(2):
        floors.append(run_child(__file__, "floor", url, "--file", str(path), "--kind", kind))
        imports.append(run_child(__file__, "import", url, "--file", str(path), "--kind", kind))
    if any(r["rows"] != n for r in floors + imports):
        raise SystemExit(f"row counts differ from {n}: {floors + imports}")
    floor = min(f["seconds"] for f in floors)
    imp = min(r["seconds"] for r in imports)
    return {"n": n, "floor_s": floor, "import_s": imp, "ratio": imp / floor,
            "import_rss_mb": max(r["max_rss_mb"] for r in imports),
            "floor_rss_mb": max(f["max_rss_mb"] for f in floors)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--url")
    ap.add_argument("--child")
    ap.add_argument("--file")
    ap.add_argument("--kind", default="usage", choices=("usage", "unit"))
    ap.add_argument("--files", default="usage,unit", help="which files to measure: usage, unit or both")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.url, args.file, args.kind)))
        return
    kinds = [k for k in args.files.split(",") if k in ("usage", "unit")]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        url = args.url or (pg_url() if args.db == "postgres" else f"sqlite:///{tmp}/bench.db")
        for kind in kinds:
            results = [measure(url, n, Path(tmp), kind) for n in (args.n // 10, args.n)]
            report(kind, args.db, results)


def report(kind: str, db: str, results: list[dict]) -> None:
    print(f"import-usage, {'unit' if kind == 'unit' else 'customer-number'} file ({db})")
    print(f"{'rows':>10} {'floor s':>9} {'import s':>9} {'ratio':>6} {'import MB':>10} {'floor MB':>9}")
    for r in results:
        print(f"{r['n']:>10,} {r['floor_s']:>9.2f} {r['import_s']:>9.2f} {r['ratio']:>6.2f}"
              f" {r['import_rss_mb']:>10.0f} {r['floor_rss_mb']:>9.0f}")
    small, big = results
    per_row = (big["import_s"] / big["n"]) / (small["import_s"] / small["n"])
    floor_per_row = (big["floor_s"] / big["n"]) / (small["floor_s"] / small["n"])
    print(f"linearity (time per row at {big['n']:,} / at {small['n']:,}): import {per_row:.2f},"
          f" floor {floor_per_row:.2f}")
    ok = big["ratio"] <= 3 and big["import_rss_mb"] < 500
    print(f"targets (ratio <= 3, peak < 500 MB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
