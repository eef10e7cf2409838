"""Throughput and p99 latency of the skill server against a bare Flask endpoint.

Both are served the same way (the Procfile's granian by default, or gunicorn); wrk (Debian package, installed if
missing) drives `help` and `fallback` requests from a second process over loopback at a fixed
number of connections. Prints requests/s and p99 of both and the ratio.

    python bench/webhook.py [--connections 16] [--seconds 15] [--rounds 3] [--workers 2] [--db sqlite|postgres]
                            [--mix fixed|eval]
    python bench/webhook.py --stacks [--seconds 10] [--rounds 3]
    python bench/webhook.py --balance [--seconds 10] [--rounds 3]

`--mix eval`: the fallback requests carry the evaluation set's sentences, every second one made
new (a sentence-cache miss) instead of one fixed out-of-scope sentence (all cache hits).

`--balance` (issue 17): one skill server, a member's balance turn against the help turn in the same
run (rounds alternate them). The wrk users are members with readings of this half and the
previous half settled; their figures are prepared as monthly results prepare them
(core.progress), so a balance turn reads them back. Targets: balance >= 0.25 of help's
requests/s, balance p99 < 100 ms.

`--stacks` compares serving stacks of the real app with each other instead, on `help` turns,
by absolute requests/s and p99 in one run (rounds alternate the stacks): today's gthread
Procfile line, two plain sync workers without the access log (the figure to beat), gunicorn's
gevent worker, granian (Rust HTTP server, WSGI), nginx buffering in front of sync workers, and
the Procfile's current `web` line itself (`procfile`: scripts/web, nginx in front of granian;
also with two threads per process).
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


def wrk_script(path: Path, users: int = 1000, skills: tuple[str, ...] = ("help", "fallback"),
               mix: str = "fixed") -> None:
    reqs = []
    typed = fallback_mix(users) if mix == "eval" else [None] * users
    for i in range(users):
        for skill in skills:
            body = json.dumps(payload(skill, f"bench-user-{i:06d}-{'x' * 30}", typed[i] if skill == "fallback" else None),
                              ensure_ascii=False)
            reqs.append((f"/kakao/skills/{skill}", body))
    lua = ["local reqs = {}", "local fresh = {}", "local i = 0",
           'local headers = {["Content-Type"] = "application/json", ["X-Skill-Secret"] = "' + SECRET + '"}',
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


BALANCE_USERS = 1000


def bench_user(i: int) -> str:
    return f"bench-user-{i:06d}-{'x' * 30}"


def seed_balance_members(url: str, n: int = BALANCE_USERS) -> None:
    """wrk's users (bench_user(0..n-1)) as members with readings of today's half and the two
    years before, the previous half settled, and their balance figures prepared."""
    from bench.monthly import generate
    from core.clock import SystemClock, today_kst, utcnow_naive
    from core.db import Database
    from core.points.periods import Half, month_of
    from core.progress import prepare_progress
    from core.rules import default_rules
    from core.settlement import settle_half

    clock = SystemClock()
    today = today_kst(clock)
    half = Half.of_date(today)
    base = [m - back for m in half.months for back in (100, 200)]
    actual = [m for m in half.months if m < month_of(today)] or [half.months[0]]
    generate(url, n, fresh=False, user_key=lambda i: bench_user(i - 1), base_months=base, actual_months=actual)
    db = Database(url)
    settle_half(db, half.previous(), clock, workers=1)
    with db.engine.begin() as conn:
        prepare_progress(conn, month_of(today), default_rules(), utcnow_naive(clock))
    db.dispose()


def compare_balance(args, wrk: str, env: dict, tmp: Path) -> None:
    """The balance turn against the help turn on one server, same run."""
    scripts = {}
    for skill in ("help", "balance"):
        scripts[skill] = tmp / f"{skill}.lua"
        wrk_script(scripts[skill], users=BALANCE_USERS, skills=(skill,))
    runs: dict[str, list[dict]] = {"help": [], "balance": []}
    env = {**env, "USER_RATE_LIMIT": "off"}
    port = free_port()
    proc = serve("webhooks:create_app()", port, args.workers, args.threads, env, tmp / "balance.log",
                 args.worker_class, args.server)
    try:
        wait_until_warm(port, args.workers, args.threads)
        for _ in range(args.rounds):
            for skill in ("help", "balance"):
                runs[skill].append(run_wrk(wrk, port, scripts[skill], args.connections, args.seconds))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    res = {k: {"rps": statistics.median(r["rps"] for r in rs), "p99_ms": statistics.median(r["p99_ms"] for r in rs),
               "non200": sum(r["non200"] for r in rs), "all_rps": [round(r["rps"]) for r in rs],
               "all_p99": [round(r["p99_ms"], 1) for r in rs]} for k, rs in runs.items()}
    print(f"\nbalance turn benchmark: {args.server} x{args.workers} workers x{args.threads} threads, "
          f"wrk {args.connections} connections, {args.seconds}s x {args.rounds} rounds (median), "
          f"{BALANCE_USERS} members, db={args.db}")
    print(f"{'turn':<10}{'req/s':>10}{'p99 ms':>10}{'non-200':>10}  rounds: req/s, p99 ms")
    for name, r in res.items():
        print(f"{name:<10}{r['rps']:>10.0f}{r['p99_ms']:>10.1f}{r['non200']:>10}  {r['all_rps']}, {r['all_p99']}")
    print(f"throughput ratio (balance / help): {res['balance']['rps'] / res['help']['rps']:.2f}   (target >= 0.25)")
    print(f"balance p99: {res['balance']['p99_ms']:.1f} ms   (target < 100 ms)")


def serve(app_spec: str, port: int, workers: int, threads: int, env: dict, log: Path,
          worker_class: str = "gthread", server: str = "granian") -> subprocess.Popen:
    if server == "web":  # the Procfile's scripts/web: nginx in front of granian
        env = {**env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(workers),
               "WEB_THREADS": str(threads), "WEB_APP": app_spec.removesuffix("()"),
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
        cmd = ["bash", str(ROOT / "scripts" / "web")]
    elif server == "granian":
        cmd = granian_cmd(app_spec, port, workers, threads)
    else:
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


def wait_port(port: int, procs: list, log: Path, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.5)
                return
        except OSError:
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.1)
    stop(procs)
    raise RuntimeError(f"server did not start; see {log}")


def stop(procs: list) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def procfile_web() -> str:
    line = next(l for l in (ROOT / "Procfile").read_text().splitlines() if l.startswith("web:"))
    return line.split(":", 1)[1].strip()


NGINX_CONF = """{user}daemon off; worker_processes 1; pid {tmp}/nginx-{port}.pid; error_log {tmp}/nginx-{port}.err warn;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {tmp}/body-{port}; proxy_temp_path {tmp}/proxy-{port};
  fastcgi_temp_path {tmp}/f-{port}; uwsgi_temp_path {tmp}/u-{port}; scgi_temp_path {tmp}/s-{port};
  client_header_timeout 5s; client_body_timeout 5s; keepalive_timeout 5s;
  upstream app {{ server unix:{sock}; keepalive 8; }}
  server {{ listen 127.0.0.1:{port}; location / {{ proxy_pass http://app; proxy_http_version 1.1;
    proxy_set_header Connection ""; proxy_set_header Host $host; proxy_buffering on; proxy_request_buffering on; }} }} }}
"""


def start_stack(name: str, port: int, workers: int, env: dict, tmp: Path) -> list:
    """The real app served by one candidate stack on 127.0.0.1:port; returns the processes."""
    log = tmp / f"{name}-{port}.log"
    out = log.open("w")
    gunicorn = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--keep-alive", "5"]
    app = "webhooks:create_app()"
    if name == "gthread (access log)":
        cmds = [gunicorn + ["--worker-class", "gthread", "--threads", "2", "--access-logfile", "-",
                            "--bind", f"127.0.0.1:{port}", app]]
    elif name == "sync":
        cmds = [gunicorn + ["--worker-class", "sync", "--bind", f"127.0.0.1:{port}", app]]
    elif name == "gevent":
        cmds = [gunicorn + ["--worker-class", "gevent", "--bind", f"127.0.0.1:{port}", app]]
    elif name in ("granian", "granian 2 threads"):
        cmds = [granian_cmd("webhooks:create_app()", port, workers, 1 if name == "granian" else 2)]
    elif name == "nginx+sync":
        sock = tmp / f"app-{port}.sock"
        conf = tmp / f"nginx-{port}.conf"
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the socket
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, sock=sock, user=user))
        cmds = [gunicorn + ["--worker-class", "sync", "--bind", f"unix:{sock}", app],
                [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-e", str(tmp / f"nginx-{port}.err")]]
    elif name in ("procfile", "procfile 2 threads"):
        env = {**env, "HOST": "127.0.0.1", "WEB_THREADS": "1" if name == "procfile" else "2",
               "WEB_CONCURRENCY": str(workers), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
        cmds = [["bash", "-c", "exec " + procfile_web()]]
    else:
        raise ValueError(name)
    procs = [subprocess.Popen(cmd, cwd=ROOT, env={**env, "PORT": str(port)}, stdout=out, stderr=subprocess.STDOUT)
             for cmd in cmds]
    wait_port(port, procs, log)
    return procs


STACKS = ("gthread (access log)", "sync", "gevent", "granian", "granian 2 threads", "nginx+sync", "procfile",
          "procfile 2 threads")


def granian_cmd(app_spec: str, port: int, workers: int, threads: int) -> list[str]:
    return [sys.executable, "-m", "granian", "--interface", "wsgi", "--factory", "--workers", str(workers),
            "--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
            app_spec.removesuffix("()")]


def compare_stacks(args, wrk: str, env: dict, tmp: Path) -> None:
    script = tmp / "help.lua"
    wrk_script(script, skills=("help",))
    names = [n for n in STACKS if n in args.only] if args.only else list(STACKS)
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        names = [n for n in names if n != "nginx+sync"]  # apt-get install nginx-light
    try:
        import gevent  # noqa: F401  (not a dependency: pip install gevent to compare it)
    except ImportError:
        names = [n for n in names if n != "gevent"]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for rnd in range(args.rounds):
        order = names if rnd % 2 == 0 else names[::-1]
        for name in order:
            port = free_port()
            procs = start_stack(name, port, args.workers, env, tmp)
            try:
                runs[name].append(run_wrk(wrk, port, script, args.connections, args.seconds))
            finally:
                stop(procs)
    print(f"\nserving stacks, help turns: {args.workers} workers, wrk {args.connections} connections, "
          f"{args.seconds}s x {args.rounds} rounds (median), db={args.db}")
    print(f"{'stack':<22}{'req/s':>10}{'p99 ms':>10}{'non-200':>10}{'vs sync':>9}  rounds: req/s, p99 ms")
    sync = statistics.median(r["rps"] for r in runs["sync"]) if runs.get("sync") else None
    for name, rs in runs.items():
        rps = statistics.median(r["rps"] for r in rs)
        p99 = statistics.median(r["p99_ms"] for r in rs)
        ratio = f"{rps / sync:.2f}" if sync else "-"
        print(f"{name:<22}{rps:>10.0f}{p99:>10.1f}{sum(r['non200'] for r in rs):>10}{ratio:>9}  "
              f"{[round(r['rps']) for r in rs]}, {[round(r['p99_ms'], 1) for r in rs]}")


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
    # The Procfile's settings (granian, one blocking thread per worker), for both servers alike.
    ap.add_argument("--server", choices=["web", "granian", "gunicorn"], default="web",
                    help="web: the Procfile's scripts/web (nginx, granian); gunicorn: --worker-class below")
    ap.add_argument("--threads", type=int, default=1, help="threads per worker (granian blocking threads, gthread threads)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs of each server (median)")
    ap.add_argument("--worker-class", default="gthread", help="gunicorn worker class (sync, gthread)")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--mix", choices=["fixed", "eval"], default="fixed",
                    help="fallback texts: one fixed sentence, or the eval set with half new sentences")
    ap.add_argument("--stacks", action="store_true", help="compare serving stacks (help turns) instead")
    ap.add_argument("--balance", action="store_true", help="a member's balance turn against the help turn instead")
    ap.add_argument("--only", nargs="*", help=f"with --stacks: a subset of {', '.join(STACKS)}")
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
    if args.balance:
        seed_balance_members(url)
        try:
            compare_balance(args, wrk, env, tmp)
        finally:
            if not os.environ.get("BENCH_KEEP_LOGS"):
                shutil.rmtree(tmp, ignore_errors=True)
        return
    if args.stacks:
        try:
            compare_stacks(args, wrk, env, tmp)
        finally:
            if not os.environ.get("BENCH_KEEP_LOGS"):
                shutil.rmtree(tmp, ignore_errors=True)
        return
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
            proc = serve(spec, port, args.workers, args.threads, env, tmp / f"{port}.log", args.worker_class,
                         args.server)
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
    kind = {"web": "scripts/web (nginx + granian)", "granian": "granian"}.get(args.server, f"gunicorn {args.worker_class}")
    print(f"\nskill endpoint benchmark: {kind} x{args.workers} workers x{args.threads} threads, "
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
