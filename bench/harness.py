"""What the benchmarks that time a job against a floor share: the databases to run on (a
temporary SQLite file, or a throwaway PostgreSQL server started with scripts/pg and left
running for reuse), each measured step in a child process of its own, and that process's
peak memory."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENC_KEY = "0FcZ0xqgWRg3n2Oc0dJmXl2zp7x3Rj7gJvdQ4tTnq0k="
HASH_KEY = "bench-hash-key"


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM (not ru_maxrss, which Linux carries over
    from the parent across exec and would report the generator's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(script: str, step: str, url: str, *extra: str) -> dict:
    """``script --child step --url url extra...`` in a new process; the JSON it prints last."""
    proc = subprocess.run([sys.executable, script, "--child", step, "--url", url, *extra],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{step} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pg_url(port: str = "55433", pgdir: str = "/tmp/pg-points") -> str:
    """A throwaway PostgreSQL server (scripts/pg, database cpoint_bench), started if needed."""
    env = {**os.environ, "PGPORT": port, "PGDIR": pgdir, "PGDATABASE_NAME": "cpoint_bench"}
    out = subprocess.run([str(ROOT / "scripts" / "pg"), "start"], capture_output=True, text=True,
                         env=env, check=True)
    return out.stdout.strip().splitlines()[-1]


def targets(db: str, url: str | None, tmp: str, **pg: str) -> list[tuple[str, Callable[[int], str]]]:
    """(label, database URL for n rows) of each database `db` names (sqlite, postgres, both):
    SQLite a file per size in `tmp`, PostgreSQL `url` or a throwaway server (`pg`: pg_url's
    port and pgdir)."""
    out: list[tuple[str, Callable[[int], str]]] = []
    if db in ("sqlite", "both"):
        out.append(("sqlite", lambda n: f"sqlite:///{tmp}/bench-{n}.db"))
    if db in ("postgres", "both"):
        server = url or pg_url(**pg)
        out.append(("postgresql", lambda n: server))
    return out


def drop_sqlite(url: str) -> None:
    """Remove a SQLite target's file once measured (they are large)."""
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).unlink(missing_ok=True)
