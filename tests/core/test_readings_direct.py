"""Readings written straight into meter_readings (PostgreSQL, core.readings_direct) give exactly
the staged path's result: the same rows, audit, flags, runs and reports, over a sequence of
imports that takes each way, and the files that need the staged way fall back to it."""
from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

import core.usage_import as usage_import
from core.models import ImportChange, ImportRun, MeterReading
from core.usage_import import ImportRejected, import_usage
from tests.auxil.engine import add_lg, add_member
from tests.auxil.support import wipe

READ_READINGS = usage_import.read_readings

G, E, W = "gas", "electricity", "water"
RESOLVED = "7000000001"   # gas, registered at KOONE: a file without company gives it KOONE
TWICE = "5012345678"      # gas, registered at KOONE and at SAMCHULLY: ambiguous without company


def write(path: Path, rows, columns=("resource", "customer_number", "month", "amount")) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        for row in rows:
            w.writerow([f"{c // 100:04d}-{c % 100:02d}" if i == 2 and isinstance(c, int) else c for i, c in enumerate(row)])
    return path


def months(resource, number, first, amounts):
    return [(resource, number, first + i, a) for i, a in enumerate(amounts)]


# (name, rows, columns or None, options, the way PostgreSQL takes: direct or staged)
STEPS = [
    ("first", months(E, "0419283746", 202501, ["300", "310", "320"]) + months(G, RESOLVED, 202501, ["50", "51", "52"])
     + months(W, "1234567", 202501, ["12", "13", "14"]) + months(G, "7000000009", 202501, ["9", "8", "7"]),
     None, {}, "direct"),
    ("same again", months(E, "0419283746", 202501, ["300", "310", "320"]), None, {}, "staged"),
    ("next month", [(E, "0419283746", 202504, "330"), (G, RESOLVED, 202504, "53"), (W, "1234567", 202504, "15")],
     None, {}, "direct"),
    ("a correction", [(E, "0419283746", 202504, "331"), (E, "0419283746", 202505, "340")], None, {}, "staged"),
    ("a row twice", [(G, RESOLVED, 202505, "54"), (G, RESOLVED, 202505, "54"), (W, "1234567", 202505, "16")],
     None, {}, "staged"),
    ("a conflict skipped", [(W, "1234567", 202506, "17"), (W, "1234567", 202506, "18"), (E, "0419283746", 202506, "1")],
     None, {"skip_invalid": True}, "staged"),
    ("ambiguous", [(G, TWICE, 202501, "10"), (E, "0419283746", 202507, "300")], None, {}, "staged"),
    ("ambiguous skipped", [(G, TWICE, 202501, "10"), (E, "0419283746", 202507, "300")], None,
     {"skip_invalid": True}, "staged"),
    ("an outlier allowed", [(E, "0419283746", 202508, "2000000", "KEPCO"), (G, TWICE, 202501, "10", "KOONE")],
     ("resource", "customer_number", "month", "amount", "company"), {"allow_outliers": True}, "direct"),
    ("a tariff", [(E, "0419283746", 202509, "300", "agricultural"), (E, "0419283746", 202510, "301", "")],
     ("resource", "customer_number", "month", "amount", "tariff"), {}, "direct"),
    ("a bad row", [(E, "0419283746", 202511, "300"), (E, "0419283746", "2025-13", "1")], None, {}, "direct"),
    ("a bad row skipped", [(E, "0419283746", 202511, "300"), (E, "0419283746", "2025-13", "1"),
                           (W, "1234567", 202511, "2000000")], None, {"skip_invalid": True}, "direct"),
]


def setup_members(db, cipher):
    with db.transaction() as s:
        add_lg(s, code="41130", name="성남시")
        add_member(s, cipher, lg="41130", accounts=[(E, "0419283746"), (G, RESOLVED, "separate", date(2020, 1, 1),
                                                                          "KOONE")])
        add_member(s, cipher, lg="41130", name="김철수",
                   accounts=[(G, TWICE, "separate", date(2020, 1, 1), "KOONE")])
        add_member(s, cipher, lg="41130", name="이영희",
                   accounts=[(G, TWICE, "separate", date(2020, 1, 1), "SAMCHULLY")])


def run_steps(db, cipher, clock, tmp_path: Path, monkeypatch, direct: bool) -> tuple[list, dict]:
    monkeypatch.setattr(usage_import, "DIRECT_WRITES", direct)
    ways: list[str] = []

    def spy(*args, **kw):
        staged = READ_READINGS(*args, **kw)
        ways.append("direct" if staged.direct is not None else "staged")
        return staged

    monkeypatch.setattr(usage_import, "read_readings", spy)
    setup_members(db, cipher)
    reports = []
    for i, (name, rows, columns, options, _) in enumerate(STEPS):
        path = write(tmp_path / f"{'d' if direct else 's'}{i}.csv", rows, *([columns] if columns else []))
        try:
            res = import_usage(db, cipher, clock, path, **options)
        except ImportRejected as exc:
            reports.append((name, "refused", [str(e) for e in exc.errors]))
            continue
        rejected = Path(res.rejected_file).read_text(encoding="utf-8") if res.rejected_file else None
        reports.append((name, res.rows_total, res.inserted, res.changed, res.unchanged, res.rejected,
                        [str(e) for e in res.errors], [str(e) for e in res.notices], res.extra, rejected))
    with db.session() as s:
        runs = {r.id: i for i, r in enumerate(s.scalars(select(ImportRun).order_by(ImportRun.id)))}
        state = {
            "readings": sorted((r.resource, r.supply_key_hash, r.company, r.month, r.amount, r.tariff,
                                runs[r.import_run_id]) for r in s.scalars(select(MeterReading))),
            "changes": sorted((runs[c.import_run_id], c.kind, c.key, c.old_value, c.new_value)
                              for c in s.scalars(select(ImportChange))),
            "runs": [(r.kind, r.status, r.rows_total, r.rows_rejected, r.rows_inserted, r.rows_changed,
                      r.rows_unchanged, r.rejected_file is not None)
                     for r in s.scalars(select(ImportRun).order_by(ImportRun.id))],
        }
    return [*reports, ways], state


def test_direct_writes_give_the_staged_result(db, cipher, clock, tmp_path, monkeypatch):
    (*direct_reports, ways), direct_state = run_steps(db, cipher, clock, tmp_path, monkeypatch, True)
    wipe(db)
    (*staged_reports, _), staged_state = run_steps(db, cipher, clock, tmp_path, monkeypatch, False)
    # the same reports, rejects files and state (the rejects files' names differ by prefix)
    assert [str(r).replace("/d", "/") for r in direct_reports] == [str(r).replace("/s", "/") for r in staged_reports]
    assert direct_state == staged_state
    assert direct_state["readings"] and {c[1] for c in direct_state["changes"]} == {"reading", "outlier"}
    assert [r[0] for r in direct_reports if r[1] == "refused"] == ["ambiguous", "a bad row"]
    if db.is_postgres:
        # each file went the way it should (a file with a bad row is read the direct way, then
        # refused as a whole: the transaction is rolled back)
        assert ways == [way for *_, way in STEPS]
    else:
        assert set(ways) == {"staged"}


@pytest.mark.parametrize("limit", [1])
def test_many_outlier_flags_fall_back_to_the_staged_path(db, cipher, clock, tmp_path, monkeypatch, limit):
    """Past FLAGS_HELD the flags are left to SQL: the file is read again, staged, same result."""
    import core.readings_direct as direct

    monkeypatch.setattr(direct, "FLAGS_HELD", limit)
    setup_members(db, cipher)
    path = write(tmp_path / "o.csv", months(E, "0419283746", 202501, ["2000000", "2000001", "2000002"]))
    res = import_usage(db, cipher, clock, path, allow_outliers=True)
    assert (res.inserted, res.extra.get("flagged as outliers (import_changes kind 'outlier')")) == (3, 3)
    with db.session() as s:
        assert len(s.scalars(select(MeterReading)).all()) == 3
        assert len(s.scalars(select(ImportChange)).all()) == 3
        assert len(s.scalars(select(ImportRun)).all()) == 1  # the fallen-back pass left nothing


def test_bounded_id_maps_give_the_same_rows(db, cipher, clock, tmp_path, monkeypatch):
    """Past PointIds' bound a supply point met again gets a second id (and the direct path's key
    map keeps two generations): a file of many points met twice each imports as staged."""
    import core.readings_direct as direct

    monkeypatch.setattr(usage_import.PointIds, "CACHE", 4)
    monkeypatch.setattr(direct, "KEYS_KEPT", 8)
    monkeypatch.setattr(direct, "ROWS_HELD", 5)
    monkeypatch.setattr(direct, "FIRST_HELD", 5)
    rows = [(E, f"04{i:08d}", 202501, str(300 + i)) for i in range(30)]
    rows += [(W, f"{1000000 + i}", m, str(10 + i)) for i in range(12) for m in (202501, 202502)]
    rows += [(E, f"04{i:08d}", 202502, str(310 + i)) for i in range(30)]  # every point again, later
    got = []
    for way in (True, False):
        monkeypatch.setattr(usage_import, "DIRECT_WRITES", way)
        res = import_usage(db, cipher, clock, write(tmp_path / f"{way}.csv", rows))
        with db.session() as s:
            got.append((res.inserted, res.extra, sorted((r.resource, r.supply_key_hash, r.company, r.month, r.amount)
                                                        for r in s.scalars(select(MeterReading)))))
        wipe(db)
    assert got[0] == got[1] and got[0][0] == 84


@pytest.mark.parametrize("probe_every", [1, 1000])
def test_months_already_there_later_in_the_file(db, cipher, clock, tmp_path, monkeypatch, probe_every):
    """Months already imported after the first batch: found by the sampled look-up
    (probe_every=1) or refused by the key when the COPY ends (1000: the sample misses them);
    either way the file is imported as the staged path imports it, audit included."""
    import core.readings_direct as direct

    monkeypatch.setattr(direct, "ROWS_HELD", 2)
    monkeypatch.setattr(direct, "FIRST_HELD", 2)
    monkeypatch.setattr(usage_import, "BATCH", 2)  # batches [W, W], [W, E]: E is not the sample's row
    monkeypatch.setattr(direct, "PROBE_EVERY", probe_every)
    setup_members(db, cipher)
    import_usage(db, cipher, clock, write(tmp_path / "a.csv", months(E, "0419283746", 202501, ["300", "310"])))
    later = months(W, "1234567", 202501, ["12", "13", "14"]) + [(E, "0419283746", 202502, "311")]
    ways = []
    monkeypatch.setattr(usage_import, "read_readings", lambda *a, **k: (
        ways.append("direct" if (st := READ_READINGS(*a, **k)).direct is not None else "staged"), st)[1])
    res = import_usage(db, cipher, clock, write(tmp_path / "b.csv", later))
    assert ways == ["staged"]
    assert (res.inserted, res.changed, res.unchanged) == (3, 1, 0)
    with db.session() as s:
        assert [(c.kind, c.old_value, c.new_value) for c in s.scalars(select(ImportChange))] \
            == [("reading", 310, 311)]
