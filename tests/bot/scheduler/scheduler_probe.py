"""A stand-in for core.monthly in scheduler tests (SCHEDULE_MONTHLY_SOURCE=scheduler_probe:record):
records each call, with the process id, in the file named by SCHEDULER_PROBE_FILE (or a list)."""
from __future__ import annotations

import os
import time

CALLS: list[tuple[str, int]] = []


def record(db, month: str, *, clock, **_) -> int:
    CALLS.append((month, os.getpid()))
    path = os.environ.get("SCHEDULER_PROBE_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{month} {os.getpid()}\n")
    delay = float(os.environ.get("SCHEDULER_PROBE_DELAY", "0"))
    if delay:
        time.sleep(delay)
    return 0


def broken(db, month: str, *, clock, **_) -> int:
    raise RuntimeError("readings not imported yet")
