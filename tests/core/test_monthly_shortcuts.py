"""Monthly results' shortcuts change nothing: the cards reading the staged readings, and the
notices reusing what the cards computed, give exactly the rows of a run without them, on a
varied population (missing months, one-year and filled baselines, excluded tariffs on the
account and on a month's reading, resources not used, late registration, a November reading
after the notice's month, members already notified, whose staged rows are dropped)."""
from __future__ import annotations

import functools
from datetime import date, datetime

from sqlalchemy import select, text

import core.monthly as monthly
from core.clock import KST, FixedClock
from core.models import Notification
from core.models.progress import PreparedProgress

N = 240
CLOCK = FixedClock(datetime(2026, 11, 22, 10, tzinfo=KST))


def _population(db) -> None:
    from bench.monthly import generate

    generate(db.url, N, fresh=False)
    with db.engine.begin() as conn:
        def run(sql: str, **params) -> None:
            conn.execute(text(sql), params)

        # members' accounts: electricity id 2i-1 ("e000000000i"), water id 2i (even members)
        run("DELETE FROM meter_readings WHERE month = 202609 AND supply_key_hash IN"
            " (SELECT supply_key_hash FROM resource_accounts WHERE member_id % 7 = 1)")       # missing month
        run("DELETE FROM meter_readings WHERE month = 202507 AND supply_key_hash IN"
            " (SELECT supply_key_hash FROM resource_accounts WHERE member_id % 5 = 2)")       # one-year B(m)
        run("DELETE FROM meter_readings WHERE month IN (202408, 202508) AND supply_key_hash IN"
            " (SELECT supply_key_hash FROM resource_accounts WHERE member_id % 6 = 3)")       # a filled month
        run("UPDATE meter_readings SET tariff = 'late_night' WHERE month = 202608 AND supply_key_hash IN"
            " (SELECT supply_key_hash FROM resource_accounts WHERE member_id % 11 = 4)")      # E5, a month
        run("UPDATE resource_accounts SET tariff = 'agricultural' WHERE resource = 'electricity'"
            " AND member_id % 13 = 5")
        run("UPDATE resource_accounts SET billing_mode = 'not_used' WHERE resource = 'water' AND member_id % 17 = 6")
        run("UPDATE resource_accounts SET registered_on = :d WHERE member_id % 19 = 7", d=date(2026, 8, 1))
        run("INSERT INTO meter_readings (resource, supply_key_hash, month, amount, updated_at)"
            " SELECT resource, supply_key_hash, 202611, 250.5, :t FROM resource_accounts"
            " WHERE member_id % 9 = 8", t=datetime(2026, 11, 20))                            # read after Oct
        run("UPDATE meter_readings SET amount = 0 WHERE month < 202607 AND supply_key_hash IN"
            " (SELECT supply_key_hash FROM resource_accounts WHERE member_id % 23 = 9)")      # zero baseline
    # members already notified for October: the run skips their notices and drops their staged rows
    with db.transaction() as s:
        for mid in range(3, N, 31):
            s.add(Notification(member_id=mid, kind=monthly.KIND, period="2026-10",
                               dedupe_key=monthly.dedupe_key(mid, "2026-10"), payload={}, state="sent",
                               created_at=datetime(2026, 11, 1)))


def _rows(db) -> tuple[dict, dict]:
    with db.session() as s:
        notes = {n.member_id: n.payload for n in s.scalars(select(Notification).where(Notification.state != "sent"))}
        views = {p.member_id: p.view for p in s.scalars(select(PreparedProgress))}
    return notes, views


def _forget(db) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM notifications WHERE state <> 'sent'"))
        conn.execute(text("DELETE FROM prepared_progress"))


def test_the_shortcuts_give_the_rows_of_a_run_without_them(db, monkeypatch):
    _population(db)
    result = monthly.monthly_results(db, "2026-10", CLOCK)
    assert result.already == len(range(3, N, 31)) and result.written > N // 2
    fast_notes, fast_views = _rows(db)
    assert len(fast_views) == N and len(fast_notes) == result.written

    # the same run without them: the cards aggregate the readings themselves, and each notice
    # computes its figures from its staged row alone
    _forget(db)
    plain_prepared = functools.partial(monthly.iter_prepared, staged=None)
    monkeypatch.setattr(monthly, "iter_prepared", lambda *a, staged=None, **k: plain_prepared(*a, **k))
    plain_figures = monthly.resource_figures
    monkeypatch.setattr(monthly, "resource_figures",
                        lambda row, month, half, rules, baseline=None, known=None: plain_figures(row, month, half, rules))
    monthly.monthly_results(db, "2026-10", CLOCK)
    plain_notes, plain_views = _rows(db)

    assert fast_views == plain_views
    assert fast_notes == plain_notes
    # the population reaches the cases named above
    reasons = {ln.get("reason") for p in fast_notes.values() for ln in p["resources"]}
    assert {"EXCLUDED_TARIFF", "RESOURCE_NOT_USED", "NOT_REGISTERED_FOR_HALF", None} <= reasons
    assert any(p["missing_months"] for p in fast_notes.values())
    assert any(r.get("reason") == "ZERO_BASELINE" for v in fast_views.values() for r in v["resources"])


def _states(db) -> dict[int, str]:
    with db.engine.connect() as conn:
        return dict(conn.execute(text("SELECT member_id, state FROM notifications WHERE state <> 'sent'")).all())


def test_workers_write_the_rows_of_one_process_and_a_failed_run_resumes(db, monkeypatch):
    """Member ranges prepared side by side by forked workers give exactly the rows of one
    process. A worker that fails keeps the chunks it committed (their notices stay staged);
    the next run does the rest, records no notice twice, and leaves the rows of a run that
    never failed."""
    import pytest

    from core.settlement import workers

    _population(db)
    monthly.monthly_results(db, "2026-10", CLOCK, workers=1)
    one_notes, one_views = _rows(db)
    one_states = _states(db)

    _forget(db)
    monkeypatch.setattr(workers, "PARALLEL_FROM", 1)
    monkeypatch.setattr(monthly, "CHUNK", 25)   # several chunks per range: 1-120, 121-240
    result = monthly.monthly_results(db, "2026-10", CLOCK, workers=2)
    assert result.written == len(one_notes) and result.already == len(range(3, N, 31))
    assert _rows(db) == (one_notes, one_views) and _states(db) == one_states

    _forget(db)
    plain = monthly.member_payload

    def failing(rows, *args, **kw):
        if rows[0].member_id == 200:   # the second range's fourth chunk (196-220)
            raise RuntimeError("boom")
        return plain(rows, *args, **kw)

    monkeypatch.setattr(monthly, "member_payload", failing)
    with pytest.raises(monthly.MonthlyError, match="boom"):
        monthly.monthly_results(db, "2026-10", CLOCK, workers=2)
    kept = _states(db)
    assert set(kept.values()) == {"staged"}
    assert {m for m in kept if m > 120} and max(kept) < 196 and len(kept) < len(one_notes)

    monkeypatch.setattr(monthly, "member_payload", plain)
    again = monthly.monthly_results(db, "2026-10", CLOCK, workers=2)
    assert again.written == len(one_notes) - len(kept)
    assert _rows(db) == (one_notes, one_views) and _states(db) == one_states


def test_workers_stop_when_the_comparison_cannot_be_read(db, monkeypatch):
    """The parent reads the comparison groups while the workers stage their ranges; when that
    read fails the workers are told to stop before they write anything, and the run fails."""
    import pytest

    from core.settlement import workers

    _population(db)
    monkeypatch.setattr(workers, "PARALLEL_FROM", 1)

    def broken(*args, **kw):
        raise RuntimeError("no groups")

    monkeypatch.setattr(monthly, "comparison_of", broken)
    with pytest.raises(RuntimeError, match="no groups"):
        monthly.monthly_results(db, "2026-10", CLOCK, workers=2)
    assert _states(db) == {} and _rows(db) == ({}, {})


def test_workers_spawned_beside_working_threads_write_the_rows_of_one_process(db, monkeypatch):
    """With another working thread in the process (as the scheduler's), the workers are fresh
    interpreters that load the shipped rules: the same rows as one process."""
    import threading

    from core.settlement import workers

    _population(db)
    monthly.monthly_results(db, "2026-10", CLOCK, workers=1)
    one = _rows(db), _states(db)
    _forget(db)
    monkeypatch.setattr(workers, "PARALLEL_FROM", 1)
    started = []
    real = monthly._in_workers

    def spy(db, run, ranges, method="fork"):
        started.append(method)
        return real(db, run, ranges, method)

    monkeypatch.setattr(monthly, "_in_workers", spy)
    done = threading.Event()
    job = threading.Thread(target=done.wait)  # a working (non-daemon) thread
    job.start()
    try:
        result = monthly.monthly_results(db, "2026-10", CLOCK, workers=2)
    finally:
        done.set()
        job.join()
    assert started == ["spawn"] and result.written == len(one[0][0])
    assert (_rows(db), _states(db)) == one
