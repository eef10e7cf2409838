"""Throughput and p99 latency of the skill server against a bare Flask endpoint.

Both are served by gunicorn with the same worker settings; wrk (Debian package, installed if
missing) drives `help` and `fallback` requests from a second process over loopback at a fixed
number of connections. Prints requests/s and p99 of both and the ratio.

    python bench/webhook.py [--connections 16] [--seconds 15] [--rounds 3] [--workers 2] [--db sqlite|postgres]
                            [--mix fixed|eval]

--mix eval: the fallback requests carry the evaluation set's sentences, every second one made
new (a sentence-cache miss) instead of one fixed out-of-scope sentence (all cache hits).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT_ID = "660c83a8ad9bb98ef71a0bd6"
SECRET = "bench-secret"
sys.path.insert(0, str(ROOT))
from bench import samples  # noqa: E402

UTTERANCES = samples("webhook")
EVAL = ROOT / "tests" / "fixtures" / "understanding" / "eval.tsv"
UNIQUE = "__N__"  # replaced by a request counter: a sentence typed for the first time


def fallback_mix(n: int, unique_share: float = 0.5) -> list[str]:
    """A realistic stream of typed fallback texts, NOT all cache hits: the evaluation set's
    sentences in turn, and every 1/unique_share-th of them made new with a number no one typed
    before (a sentence-cache miss, whose words are mostly known; the number is a new word)."""
    import csv

    with EVAL.open(encoding="utf-8") as fh:
        sentences = [row[0] for row in list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]]
    every = round(1 / unique_share) if unique_share else 0
    return [sentences[k % len(sentences)] + (f" {UNIQUE}" if every and k % every == 0 else "") for k in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("installing wrk (Debian package)...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk")


def payload(skill: str, user: str, utterance: str | None = None) -> dict:
    return {
        "intent": {"id": f"blk-{skill}", "name": skill},
        "userRequest": {"timezone": "Asia/Seoul", "params": {"surface": "Kakaotalk.plusfriend"},
                        "block": {"id": f"blk-{skill}", "name": skill}, "utterance": utterance or UTTERANCES[skill], "lang": "ko",
                        "user": {"id": user, "type": "botUserKey",
                                 "properties": {"botUserKey": user, "plusfriendUserKey": "pf" + user[-6:], "isFriend": True}}},
        "bot": {"id": BOT_ID, "name": "bench"},
        "action": {"id": f"act-{skill}", "name": skill, "params": {}, "detailParams": {}, "clientExtra": None},
        "contexts": [],
    }


def wrk_script(path: Path, users: int = 1000, mix: str = "fixed") -> None:
    reqs = []
    typed = fallback_mix(users) if mix == "eval" else [None] * users
    for i in range(users):
        for skill in ("help", "fallback"):
            body = json.dumps(payload(skill, f"bench-user-{i:06d}-{'x' * 30}", typed[i] if skill == "fallback" else None),
                              ensure_ascii=False)
            reqs.append((f"/kakao/skills/{skill}", body))
    lua = ["local reqs = {}", "local fresh = {}", "local i = 0",
           'local headers = {["Content-Type"] = "application/json", ["X-Skill-Secret"] = "%s"}' % SECRET,
           "init = function(args)"]
    for k, (p, body) in enumerate(reqs):
        lua.append(f'  table.insert(reqs, wrk.format("POST", "{p}", headers, {json.dumps(body, ensure_ascii=False)}))')
        if UNIQUE in body:  # formatted per request: a new sentence each time round
            lua.append(f'  fresh[{k + 1}] = {{"{p}", {json.dumps(body, ensure_ascii=False)}}}')
    lua += ["end", "request = function()", "  i = i + 1", "  local k = (i % #reqs) + 1", "  local f = fresh[k]",
            f'  if f then return wrk.format("POST", f[1], headers, (f[2]:gsub("{UNIQUE}", (id or "0") .. "x" .. i))) end',
            "  return reqs[k]", "end",
            "setup = function(thread) thread:set('id', tostring(math.random(1, 1000000000))) end",
            "response = function(status, headers, body)",
            '  if status ~= 200 then io.stderr:write("status " .. status .. "\\n") end', "end"]
    path.write_text("\n".join(lua), encoding="utf-8")


def serve(app_spec: str, port: int, workers: int, threads: int, env: dict, log: Path,
          worker_class: str = "gthread") -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
           "--worker-class", worker_class, "--threads", str(threads), "--keep-alive", "5", app_spec]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.5)
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{app_spec} did not start; see {log}")


def wait_until_warm(port: int, workers: int, threads: int) -> None:
    """Fallback turns from several connections at once until each has been answered: every
    worker then has its model loaded (a worker answers its first fallback turn once the model
    it loads in the background is ready), so the measured run does not time the loading."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    body = json.dumps(payload("fallback", "bench-warm-user-" + "x" * 30), ensure_ascii=False).encode()

    def post(_):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/kakao/skills/fallback", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "X-Skill-Secret": SECRET})
        with urllib.request.urlopen(req, timeout=120) as resp:
            resp.read()

    n = 4 * workers * threads
    with ThreadPoolExecutor(n) as pool:
        for _ in range(3):
            list(pool.map(post, range(n)))


def run_wrk(wrk: str, port: int, script: Path, connections: int, seconds: int) -> dict:
    # Warm-up, then the measured run.
    subprocess.run([wrk, "-t2", f"-c{connections}", "-d3s", "-s", str(script), f"http://127.0.0.1:{port}"],
                   capture_output=True, check=True)
    out = subprocess.run([wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True)
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non200 = out.stderr.count("status ")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale, "non200": non200 + (int(errors.group(1)) if errors else 0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2)
    # The Procfile's settings: two threads per worker keep the tail shorter than four on a
    # two-core machine (fewer threads waiting for the GIL), for both servers alike.
    ap.add_argument("--threads", type=int, default=2, help="gthread threads per worker")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs of each server (median)")
    ap.add_argument("--worker-class", default="gthread", help="gunicorn worker class (sync, gthread)")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--mix", choices=["fixed", "eval"], default="fixed",
                    help="fallback texts: one fixed sentence, or the eval set with half new sentences")
    args = ap.parse_args()
    wrk = ensure_wrk()
    sys.path.insert(0, str(ROOT))
    from core.crypto import generate_hash_key, generate_key
    from migrations import upgrade_to_head

    tmp = Path(tempfile.mkdtemp(prefix="cpoint-bench-"))
    if args.db == "postgres":
        url = subprocess.run([str(ROOT / "scripts" / "pg"), "start"], capture_output=True, text=True, check=True,
                             env={**os.environ, "PGPORT": os.environ.get("PGPORT", "55439"),
                                  "PGDIR": os.environ.get("PGDIR", "/tmp/pg-bench-webhook")}).stdout.strip()
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade_to_head(url)
    env = {**os.environ, "DATABASE_URL": url, "SKILL_SECRET": SECRET, "KAKAO_BOT_ID": BOT_ID,
           "FIELD_ENCRYPTION_KEY": generate_key(), "FIELD_HASH_KEY": generate_hash_key(),
           "LOG_FORMAT": "json", "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"), "PYTHONPATH": str(ROOT)}
    script = tmp / "requests.lua"
    wrk_script(script, mix=args.mix)
    apps = (("bare Flask endpoint", "bench.bare_app:create_app()"),
            ("cpoint skill server", "webhooks:create_app()"))
    runs: dict[str, list[dict]] = {name: [] for name, _ in apps}
    # Rounds alternate the two servers so that a slow spell of the machine hits both; each
    # figure is the median over the rounds.
    for _ in range(args.rounds):
        for name, spec in apps:
            port = free_port()
            proc = serve(spec, port, args.workers, args.threads, env, tmp / f"{port}.log", args.worker_class)
            try:
                wait_until_warm(port, args.workers, args.threads)
                runs[name].append(run_wrk(wrk, port, script, args.connections, args.seconds))
            finally:
                proc.terminate()
                proc.wait(timeout=10)
                if os.environ.get("BENCH_KEEP_LOGS"):
                    print(f"server log: {tmp / f'{port}.log'}")
    results = {name: {"rps": statistics.median(r["rps"] for r in rs),
                      "p99_ms": statistics.median(r["p99_ms"] for r in rs),
                      "non200": sum(r["non200"] for r in rs),
                      "all_rps": [round(r["rps"]) for r in rs],
                      "all_p99": [round(r["p99_ms"], 1) for r in rs]} for name, rs in runs.items()}
    bare, real = results["bare Flask endpoint"], results["cpoint skill server"]
    print(f"\nskill endpoint benchmark: gunicorn gthread x{args.workers} workers x{args.threads} threads, "
          f"wrk {args.connections} connections, {args.seconds}s x {args.rounds} rounds (median), "
          f"help+fallback alternating, db={args.db}, fallback texts={args.mix}")
    print(f"{'server':<22}{'req/s':>10}{'p99 ms':>10}{'non-200':>10}  rounds: req/s, p99 ms")
    for name, r in results.items():
        print(f"{name:<22}{r['rps']:>10.0f}{r['p99_ms']:>10.1f}{r['non200']:>10}  {r['all_rps']}, {r['all_p99']}")
    print(f"throughput ratio (cpoint / bare): {real['rps'] / bare['rps']:.2f}   (target >= 0.60)")
    print(f"cpoint p99: {real['p99_ms']:.1f} ms   (target < 25 ms)")
    if not os.environ.get("BENCH_KEEP_LOGS"):
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
