"""Cost of the "see it working" endpoints, as ratios to a floor measured in the same run.

In one process, on the demo data set (`cpoint demo-data`) in a fresh SQLite file (or the
PostgreSQL of TEST_DATABASE_URL), through Flask's test client:

- floor: GET /healthz (the app's cheapest round trip: routing + one SELECT 1)
- GET /metrics (counters + the outbox read at scrape time)
- GET /charts/<token>.png served from the cache, and drawn cold (cache emptied each time)
- GET /admin (every dashboard query + the page)
- POST /emulator/api/send (a typed message through the emulator to the fallback skill)

Prints the median of each in ms and its ratio to the floor.

    python bench/see_it.py [--repeat 30]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the project root (core, bot, webhooks, tests)

from bench import samples  # noqa: E402


def median_ms(fn, repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()

    from sqlalchemy import select

    from core.clock import KST, FixedClock
    from core.db import Database
    from core.demo import load_demo
    from core.models import Member
    from tests.auxil.operators import PASSWORD, code_for, make_operator
    from tests.auxil.support import make_config
    from webhooks import create_app

    tmp = Path(tempfile.mkdtemp(prefix="bench-see-"))
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}"
    db = Database(url)
    import core.models  # noqa: F401

    db.recreate_all()
    clock = FixedClock(datetime(2026, 11, 22, 10, tzinfo=KST))
    app = create_app(make_config(database_url=url, emulator_enabled=True, log_level="WARNING",
                                 chart_cache_dir=str(tmp / "charts"), strict_responses=False), clock=clock, db=db)
    services = app.extensions["cpoint"]
    t = time.perf_counter()
    summary = load_demo(db, services.cipher, clock)
    demo_s = time.perf_counter() - t
    c = app.test_client()
    with db.session() as s:
        member_id = s.scalars(select(Member.id).where(Member.bot_user_key == "demo-citizen-01")).one()
    path = services.chart_link(member_id).split("5000", 1)[1]
    page = c.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    secret = make_operator(db, services.cipher, clock)
    assert c.post("/admin/login", data={"name": "admin", "password": PASSWORD, "code": code_for(secret, clock),
                                        "csrf_token": token}).status_code == 302
    cache = app.extensions["cpoint_charts"]

    def cold_chart():
        cache._mem.clear()
        for f in cache.dir.glob("*.png"):
            f.unlink()
        assert c.get(path).status_code == 200

    def ok(resp):
        assert resp.status_code == 200, resp.status_code

    cases = [
        ("floor: GET /healthz", lambda: ok(c.get("/healthz"))),
        ("GET /metrics", lambda: ok(c.get("/metrics"))),
        ("GET chart (cached)", lambda: ok(c.get(path))),
        ("GET chart (drawn)", cold_chart),
        ("GET /admin", lambda: ok(c.get("/admin"))),
        ("POST /emulator/api/send", lambda: ok(c.post("/emulator/api/send", json={
            "user": "demo-visitor", "source": "text", "text": samples("see_it")["utterance"]}))),
    ]
    print(f"database: {db.engine.dialect.name}; demo data: {summary.members} members, {summary.readings} readings "
          f"loaded in {demo_s:.1f} s; median of {args.repeat} runs")
    floor = None
    for name, fn in cases:
        ms = median_ms(fn, args.repeat if "drawn" not in name else max(5, args.repeat // 5))
        floor = floor or ms
        print(f"{name:28s} {ms:9.2f} ms   x{ms / floor:7.1f} the floor")
    db.dispose()


if __name__ == "__main__":
    main()
