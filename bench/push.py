"""Push throughput: N notifications through the real sender (database claims, rate limiter, HTTP)
to the loopback stand-in of the Event API, running in its own process.

Prints the achieved rate against the configured one (target >= 95 %, never above), requests made
and users per request (target >= 99), and the sender's CPU seconds per 10,000 messages against a
floor measured in the same run: a bare client posting the same 100-user calls to the same
stand-in with no database and no limiter.

    python bench/push.py [--n 100000] [--rate 2500] [--db sqlite|postgres] [--database-url URL]

`--db postgres` starts a throwaway server with scripts/pg (PGPORT/PGDIR as usual) and uses a
fresh database in it.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bench import samples  # noqa: E402
from bot.push.client import EventApiClient, Recipient  # noqa: E402
from bot.push.sender import Sender  # noqa: E402
from bot.push.settings import PushSettings  # noqa: E402
from bot.ratelimit import TokenBucket  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.db import Database  # noqa: E402
from core.models import Member, Notification  # noqa: E402

BOT = "660c83a8ad9bb98ef71a0bd6"
KEY = "bench-rest-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_standin() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.push.standin", "--port", str(port), "--key", KEY,
                             "--no-bodies"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/_standin/stats", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the stand-in did not start")


def stats(url: str) -> dict:
    return json.loads(urllib.request.urlopen(url + "/_standin/stats", timeout=5).read())


def make_database(kind: str, url: str | None) -> tuple[Database, callable]:
    if url:
        db = Database(url)
        return db, lambda: db.dispose()
    if kind == "sqlite":
        tmp = tempfile.mkdtemp(prefix="bench-push-")
        db = Database(f"sqlite:///{tmp}/push.db")
        return db, lambda: db.dispose()
    server = subprocess.run([str(ROOT / "scripts" / "pg"), "start"], capture_output=True, text=True, check=True,
                            env={**os.environ, "PGPORT": os.environ.get("PGPORT", "55432")}).stdout.strip().splitlines()[-1]
    name = f"cpoint_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = Database(server.rsplit("/", 1)[0] + "/" + name)

    def drop():
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()

    return db, drop


def load(db: Database, n: int) -> None:
    db.recreate_all()
    now = datetime.now(UTC).replace(tzinfo=None)
    chunk = 5000
    with db.engine.begin() as conn:
        for start in range(1, n + 1, chunk):
            ids = range(start, min(n, start + chunk - 1) + 1)
            conn.execute(insert(Member.__table__), [
                {"id": i, "status": "active", "member_type": "individual", "bot_user_key": f"{i:08d}{'b' * 62}",
                 "bot_id": BOT, "incentive_type": "donation", "consents": {}, "marketing_opt_in": False,
                 "campaign_opt_out": False, "is_friend": True, "joined_at": now} for i in ids])
            conn.execute(insert(Notification.__table__), [
                {"member_id": i, "kind": "monthly_result", "period": "2026-10", "dedupe_key": f"monthly_result:{i}:2026-10",
                 "payload": {"month": "2026-10"}, "state": "pending", "attempts": 0, "created_at": now} for i in ids])


def floor(url: str, messages: int) -> float:
    """CPU seconds of a bare client posting `messages` users in 100-user calls (no DB, no limiter)."""
    client = EventApiClient(url, KEY)
    data = {"kind": "monthly_result", "period": "2026-10", "text": samples("push")["text"]}
    calls = messages // 100
    start = time.process_time()
    for c in range(calls):
        users = [Recipient("botUserKey", f"floor-{c:06d}-{u:03d}{'f' * 58}") for u in range(100)]
        result = client.send(BOT, "monthly_result", data, users)
        assert result.ok, result
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rate", type=float, default=2500.0, help="PUSH_RATE_PER_SEC (messages per second)")
    ap.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--database-url", default=None, help="use this (empty) database instead; its tables are recreated")
    ap.add_argument("--floor-messages", type=int, default=20_000)
    args = ap.parse_args()

    db, cleanup = make_database(args.db, args.database_url)
    standin, url = start_standin()
    try:
        t0 = time.monotonic()
        load(db, args.n)
        print(f"loaded {args.n:,} members and notifications into {db.engine.dialect.name} in {time.monotonic() - t0:.1f}s")

        settings = PushSettings(rate_per_sec=args.rate)
        limiter = TokenBucket(settings.rate_per_sec, capacity=2 * settings.batch_size)
        client = EventApiClient(url, KEY, connect_timeout=settings.connect_timeout_sec,
                                read_timeout=settings.read_timeout_sec)
        data = {"kind": "monthly_result", "period": "2026-10", "text": samples("push")["text"]}
        sender = Sender(db, client, limiter, settings, clock=SystemClock(), default_bot_id=BOT,
                        event_data=lambda kind, period, lang=None: data, rng=random.Random(1))
        cpu0, wall0 = time.process_time(), time.monotonic()
        report = sender.run(until_empty=True)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        sender.close()
        seen = stats(url)

        floor_cpu = floor(url, args.floor_messages)
        floor_per_10k = floor_cpu / args.floor_messages * 10_000
        per_10k = cpu / max(1, report.sent) * 10_000
        achieved = report.sent / wall
        upr = report.sent / max(1, report.requests)
        print(f"sent                    {report.sent:,} of {args.n:,} (dead {report.dead}, uncertain {report.uncertain}, "
              f"stand-in duplicates {seen['duplicates']})")
        print(f"achieved rate           {achieved:,.1f} msg/s against configured {args.rate:,.1f} msg/s "
              f"= {achieved / args.rate:.3f} (target >= 0.95, never above 1.00)")
        print(f"requests made           {report.requests:,} (stand-in saw {seen['requests']:,})")
        print(f"users per request       {upr:.2f} (target >= 99)")
        print(f"sender CPU              {cpu:.2f}s in {wall:.1f}s wall = {per_10k:.3f} CPU s per 10,000 messages")
        print(f"floor (bare client)     {floor_per_10k:.3f} CPU s per 10,000 messages "
              f"-> sender/floor = {per_10k / floor_per_10k:.2f}x")
        ok = (report.sent == args.n and seen["duplicates"] == 0 and 0.95 <= achieved / args.rate <= 1.0 and upr >= 99)
        print("verdict                 " + ("OK" if ok else "BELOW TARGET"))
        if not ok:
            raise SystemExit(1)
    finally:
        standin.terminate()
        standin.wait(10)
        cleanup()


if __name__ == "__main__":
    main()
