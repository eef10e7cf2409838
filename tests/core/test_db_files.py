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


def test_opening_the_database_again_keeps_the_write_ahead_log_of_open_connections(tmp_path):
    """A second Database on a file this process has open must not take its locks away (closing
    any descriptor of the file releases them all): another process closing its connection
    would then delete the -wal under ours, and our later commits would be lost to everyone."""
    import subprocess
    import sys

    path = tmp_path / "shared.db"
    db = Database(f"sqlite:///{path}")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    with db.engine.connect() as conn:  # the pool keeps this connection open (and its locks)
        conn.execute(text("INSERT INTO t VALUES (1)"))
        conn.commit()
        Database(f"sqlite:///{path}").dispose()  # e.g. a command or a generator in the same process

        def count_elsewhere() -> str:
            code = f"import sqlite3; c = sqlite3.connect({str(path)!r}); print(c.execute('SELECT COUNT(*) FROM t').fetchone()[0]); c.close()"
            return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

        assert count_elsewhere() == "1"  # another process opens and closes the file
        conn.execute(text("INSERT INTO t VALUES (2)"))
        conn.commit()
        assert (path.parent / "shared.db-wal").exists()
        assert count_elsewhere() == "2"  # our commit after it reached the file everyone reads
    db.dispose()


def test_scripts_run_writes_secrets_and_the_database_owner_only():
    script = (ROOT / "scripts" / "run").read_text()
    umask = script.index("umask 077")
    assert umask < script.index("> .env") and umask < script.index("flask cpoint init-db")
    assert re.search(r"chmod 600 \.env", script)
