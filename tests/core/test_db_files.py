"""The SQLite database holds personal data: its files are readable by their owner only, and
the local set-up writes its secrets the same way."""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from sqlalchemy import text

from core.db import Database

ROOT = Path(__file__).resolve().parents[2]


def test_a_new_sqlite_database_is_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        db = Database(f"sqlite:///{tmp_path / 'cpoint.db'}")
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        files = [p for p in tmp_path.iterdir() if p.name.startswith("cpoint.db")]
        assert {p.name for p in files} >= {"cpoint.db", "cpoint.db-wal"}
        for p in files:
            assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, (p.name, oct(p.stat().st_mode))
        db.dispose()
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_is_tightened(tmp_path):
    path = tmp_path / "old.db"
    path.touch()
    path.chmod(0o644)
    Database(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_scripts_run_writes_secrets_and_the_database_owner_only():
    script = (ROOT / "scripts" / "run").read_text()
    umask = script.index("umask 077")
    assert umask < script.index("> .env") and umask < script.index("flask cpoint init-db")
    assert re.search(r"chmod 600 \.env", script)
