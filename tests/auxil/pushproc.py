"""Helpers of the push integration tests: real processes (`flask --app webhooks cpoint ...`)
against the test database and a loopback stand-in of the Event API."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from core.models import Notification

ROOT = Path(__file__).resolve().parents[2]
BOT = "660c83a8ad9bb98ef71a0bd6"
REST_KEY = "test-rest-key"


def env_for(db, config, standin_url: str, **settings) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": db.url, "FIELD_ENCRYPTION_KEY": config.field_encryption_key,
        "FIELD_HASH_KEY": config.field_hash_key, "KAKAO_API_BASE": standin_url, "KAKAO_REST_API_KEY": REST_KEY,
        "KAKAO_BOT_ID": BOT, "SKILL_SECRET": "test-skill-secret", "LOG_FORMAT": "json", "LOG_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "bot" / "scheduler")]),
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in settings.items()})
    return env


def cpoint(*args: str, env: dict, log_path: Path) -> subprocess.Popen:
    """Start `flask --app webhooks cpoint <args>`; stdout+stderr go to log_path."""
    fh = open(log_path, "ab")
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "webhooks", "cpoint", *args], cwd=ROOT,
                            env=env, stdout=fh, stderr=subprocess.STDOUT)


def wait_for(predicate, timeout: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def notification_states(db) -> dict[int, tuple[str, str | None]]:
    """member_id -> (state, batch_id)."""
    with db.session() as s:
        return {m: (st, b) for m, st, b in s.execute(select(Notification.member_id, Notification.state,
                                                             Notification.batch_id))}


def last_json_line(path: Path) -> dict:
    for line in reversed(path.read_text(encoding="utf-8", errors="replace").splitlines()):
        line = line.strip()
        if line.startswith("{") and '"sent"' in line and '"requests"' in line:
            return json.loads(line)
    raise AssertionError(f"no report in {path}:\n{path.read_text()[-2000:]}")
