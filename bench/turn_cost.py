"""CPU cost of one skill turn inside the process, against the bare Flask endpoint.

bench/webhook.py measures the served throughput, which on a small machine swings with whatever
else runs (wrk shares the cores). This calls both WSGI apps directly with the same help and
fallback payloads (no server, no sockets) and prints microseconds per turn, best of several
blocks, and the ratio: a steadier figure to compare changes by.

    python bench/turn_cost.py [--turns 2000] [--blocks 5] [--profile] [--mix fixed|eval]

--mix eval: the fallback turns carry the evaluation set's sentences, every second one new (a
sentence-cache miss), instead of one fixed out-of-scope sentence (all cache hits but the first).
--mix balance: members' balance turns (bench/webhook.py's seeded members, figures prepared)
against the help turn of the same server, the in-process form of `webhook.py --balance`.

The log line goes to /dev/null, as it would go to a file under gunicorn.
"""
from __future__ import annotations

import argparse
import io
import itertools
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def environ(skill: str, body: bytes, secret: str) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": f"/kakao/skills/{skill}", "SERVER_NAME": "bench",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json", "HTTP_X_SKILL_SECRET": secret,
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "wsgi.version": (1, 0)}


def measure(app, bodies, secret: str, turns: int, blocks: int) -> float:
    def start_response(status, _headers, _exc=None):
        if not status.startswith("200"):
            raise SystemExit(f"unexpected {status}")

    turns_left = itertools.cycle(bodies)  # one pass through the bodies across all blocks

    def run(n: int) -> None:
        for _ in range(n):
            skill, body = next(turns_left)
            out = app(environ(skill, body, secret), start_response)
            b"".join(out)
            getattr(out, "close", lambda: None)()

    run(turns)  # warm-up: caches, the database file, the read connection
    best = float("inf")
    for _ in range(blocks):
        t0 = time.perf_counter()
        run(turns)
        best = min(best, (time.perf_counter() - t0) / turns)
    return best * 1e6


def make_bodies(bench_webhook, mix: str, pairs: int) -> list[tuple[str, bytes]]:
    """help and fallback turns in turn; with mix "eval" `pairs` of them, so that every new
    sentence is new once in the whole run."""
    if mix == "fixed":
        pairs = 1000
        typed = [None] * pairs
    else:
        typed = [t.replace(bench_webhook.UNIQUE, f"{k}x") for k, t in enumerate(bench_webhook.fallback_mix(pairs))]
    return [(skill, json.dumps(bench_webhook.payload(skill, f"bench-user-{i % 1000:06d}-{'x' * 30}",
                                                     typed[i] if skill == "fallback" else None),
                               ensure_ascii=False).encode())
            for i in range(pairs) for skill in ("help", "fallback")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--turns", type=int, default=2000)
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="cProfile the skill server's turns")
    ap.add_argument("--mix", choices=["fixed", "eval", "balance"], default="fixed",
                    help="fallback texts: one fixed sentence, or the eval set with half new sentences")
    args = ap.parse_args()

    import webhook as bench_webhook

    from core.crypto import generate_hash_key, generate_key
    from migrations import upgrade_to_head

    url = f"sqlite:///{tempfile.mkdtemp(prefix='cpoint-turns-')}/bench.db"
    upgrade_to_head(url)
    os.environ.update({"DATABASE_URL": url, "SKILL_SECRET": bench_webhook.SECRET,
                       "KAKAO_BOT_ID": bench_webhook.BOT_ID, "FIELD_ENCRYPTION_KEY": generate_key(),
                       "FIELD_HASH_KEY": generate_hash_key(), "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"})
    from bare_app import create_app as bare_app

    from webhooks import create_app

    if args.mix == "balance":
        bench_webhook.seed_balance_members(url)
        os.environ["USER_RATE_LIMIT"] = "off"
    real = create_app()
    devnull = open(os.devnull, "w")
    for handler in logging.getLogger("cpoint").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    if args.mix == "balance":
        def turns(skill: str) -> list[tuple[str, bytes]]:
            return [(skill, json.dumps(bench_webhook.payload(skill, bench_webhook.bench_user(i)),
                                       ensure_ascii=False).encode()) for i in range(bench_webhook.BALANCE_USERS)]
        help_us = measure(real, turns("help"), bench_webhook.SECRET, args.turns, args.blocks)
        bodies = turns("balance")
        balance_us = measure(real, bodies, bench_webhook.SECRET, args.turns, args.blocks)
        print(f"help turn      {help_us:7.1f} us/turn")
        print(f"balance turn   {balance_us:7.1f} us/turn")
        print(f"ratio (help / balance, as throughput): {help_us / balance_us:.2f}   (target >= 0.25)")
    else:
        bodies = make_bodies(bench_webhook, args.mix, args.turns * (args.blocks + 2) // 2)
        bare_us = measure(bare_app(), bodies, bench_webhook.SECRET, args.turns, args.blocks)
        real_us = measure(real, bodies, bench_webhook.SECRET, args.turns, args.blocks)
        print(f"bare Flask endpoint   {bare_us:7.1f} us/turn")
        print(f"cpoint skill server   {real_us:7.1f} us/turn")
        print(f"ratio (bare / cpoint, as throughput): {bare_us / real_us:.2f}")
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        measure(real, bodies, bench_webhook.SECRET, args.turns, 1)
        prof.disable()
        pstats.Stats(prof).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(int(os.environ.get("BENCH_ROWS", "30")))


if __name__ == "__main__":
    main()
