"""Cost of the citizen dialogs per turn, as a ratio against a floor measured in the same run.

In one process, through the Flask app and a real database (SQLite file, or PostgreSQL with
--db-url): the floor is the `help` turn (no dialog state, no member lookup); against it, every
turn of complete signups (22 turns each, the last one creating the member), the balance card of
a member with two years of readings and a settled half, and the campaign carousel. Prints
median and p95 milliseconds and the ratios of the medians.

    python bench/dialogs.py [--signups 30] [--repeat 200] [--db-url postgresql+psycopg://...]
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import samples  # noqa: E402

BOT_ID = "660c83a8ad9bb98ef71a0bd6"
SECRET = "bench-secret"
SAMPLES = samples("dialogs")
SIGNUP = [(step["kind"], step["text"], step.get("extra")) for step in SAMPLES["signup"]]


def payload(user: str, text: str, skill: str, extra: dict | None) -> dict:
    return {"intent": {"id": f"blk-{skill}", "name": skill},
            "userRequest": {"timezone": "Asia/Seoul", "params": {"surface": "Kakaotalk.plusfriend"},
                            "block": {"id": f"blk-{skill}", "name": skill}, "utterance": text, "lang": "ko",
                            "user": {"id": user, "type": "botUserKey",
                                     "properties": {"botUserKey": user, "plusfriendUserKey": "pf" + user[-6:],
                                                    "isFriend": True}}},
            "bot": {"id": BOT_ID, "name": "bench"},
            "action": {"id": f"act-{skill}", "name": skill, "params": {}, "detailParams": {}, "clientExtra": extra},
            "contexts": []}


class Timer:
    def __init__(self, client) -> None:
        self.client = client

    def post(self, skill: str, body: dict) -> float:
        data = json.dumps(body, ensure_ascii=False).encode()
        started = time.perf_counter()
        resp = self.client.post(f"/kakao/skills/{skill}", data=data,
                                headers={"Content-Type": "application/json", "X-Skill-Secret": SECRET})
        elapsed = (time.perf_counter() - started) * 1000
        if resp.status_code != 200 or SAMPLES["error_marker"] in resp.get_data(as_text=True):
            raise SystemExit(f"{skill}: unexpected reply {resp.status_code} {resp.get_data(as_text=True)[:300]}")
        return elapsed


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--signups", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=200, help="turns measured for the floor, balance and campaigns")
    ap.add_argument("--db-url", default=None)
    args = ap.parse_args()

    from core import members as M
    from core.clock import KST, FixedClock
    from core.crypto import generate_hash_key, generate_key
    from core.db import Database
    from core.local_governments import parse_address, seed_local_governments
    from core.models import Campaign
    from core.settlement import settle_half
    from core.usage_import import import_usage
    from webhooks import create_app
    from webhooks.config import Settings

    tmp = Path(tempfile.mkdtemp(prefix="cpoint-bench-dialogs-"))
    url = args.db_url or f"sqlite:///{tmp / 'bench.db'}"
    db = Database(url)
    import core.models  # noqa: F401

    db.recreate_all()
    clock = FixedClock(datetime(2026, 11, 22, 10, tzinfo=KST))
    cfg = Settings.from_env({"DATABASE_URL": url, "SKILL_SECRET": SECRET, "KAKAO_BOT_ID": BOT_ID,
                             "FIELD_ENCRYPTION_KEY": generate_key(), "FIELD_HASH_KEY": generate_hash_key(),
                             "LOG_LEVEL": "WARNING",
                             "USER_RATE_LIMIT": "off"})  # a benchmark sends turns faster than people
    app = create_app(cfg, clock=clock, db=db)
    services = app.extensions["cpoint"]
    timer = Timer(app.test_client())

    with db.transaction() as s:
        seed_local_governments(s)
        s.add(Campaign(id="cmp-bench", title=SAMPLES["campaign"]["title"], summary=SAMPLES["campaign"]["summary"],
                       image_url="https://example.org/c.png", detail_url="https://example.org/c",
                       starts_on=date(2026, 11, 1), ends_on=date(2026, 12, 31), active=True,
                       created_at=datetime(2026, 11, 1)))
    # a member with two years of readings and a settled half, for the balance card
    then = FixedClock(datetime(2024, 12, 1, 9, tzinfo=KST))
    with db.transaction() as s:
        M.create_member(s, services.cipher, then, M.SignupData(
            member_type="individual", user_key="bench-member", name=SAMPLES["member"]["name"], mobile="010-2222-3333",
            address=parse_address(SAMPLES["member"]["address"]),
            resources=[M.ResourceChoice("electricity", "separate", "0419283746"),
                       M.ResourceChoice("water", "separate", "2345678"), M.ResourceChoice("gas", "not_used")],
            consents={"terms": "t", "privacy": "t", "third_party": "t", "optional": True}, marketing_opt_in=True))
    path = tmp / "usage.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["resource", "customer_number", "month", "amount"])
        for resource, number, base in (("electricity", "0419283746", 300), ("water", "2345678", 20)):
            for year in (2024, 2025, 2026):
                for month in range(1, 13 if year < 2026 else 11):
                    w.writerow([resource, number, f"{year}-{month:02d}", base - (year - 2024) * base // 20])
    import_usage(db, services.cipher, clock, path)
    settle_half(db, "2026H1", clock)

    def measure(skill: str, user: str, text: str) -> list[float]:
        for _ in range(10):  # warm-up
            timer.post(skill, payload(user, text, skill, {}))
        return [timer.post(skill, payload(user, text, skill, {})) for _ in range(args.repeat)]

    floor = measure("help", "bench-visitor", SAMPLES["help"])
    signup_turns: list[float] = []
    joins: list[float] = []
    for n in range(args.signups):
        user = f"bench-signup-{n:05d}"
        timer.post("signup", payload(user, SAMPLES["signup_start"], "signup", {}))
        for kind, text, extra in SIGNUP:
            text = text.format(n=100 + n, elec=f"{1000000000 + n:010d}")
            if kind == "tap":
                ms = timer.post("signup", payload(user, text, "signup", {"dialog": "signup", **extra}))
            else:
                ms = timer.post("fallback", payload(user, text, "fallback", None))
            (joins if extra and extra.get("value") == "join" else signup_turns).append(ms)
    with db.session() as s:
        from sqlalchemy import func, select

        from core.models import Member

        assert s.scalar(select(func.count()).select_from(Member)) == args.signups + 1, "signups did not complete"
    balance = measure("balance", "bench-member", SAMPLES["balance"])
    campaigns = measure("campaigns", "bench-member", SAMPLES["campaigns"])

    base = statistics.median(floor)
    print(f"\ndialog benchmark: {'PostgreSQL' if db.is_postgres else 'SQLite'}, in-process Flask client, "
          f"{args.signups} signups, {args.repeat} repeats")
    print(f"{'turn':<34}{'median ms':>11}{'p95 ms':>9}{'x floor':>9}")
    rows = [("help (floor)", floor), ("signup step (answer + next q.)", signup_turns),
            ("signup join (creates the member)", joins), ("balance (3 views + chart url)", balance),
            ("campaigns carousel", campaigns)]
    for name, values in rows:
        med = statistics.median(values)
        print(f"{name:<34}{med:>11.2f}{p95(values):>9.2f}{med / base:>9.2f}")
    print("target: every turn well under the 5 s Kakao deadline; signup steps <= 3x and balance <= 6x the floor")
    db.dispose()


if __name__ == "__main__":
    main()
