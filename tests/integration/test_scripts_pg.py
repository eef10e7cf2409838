"""scripts/pg keeps its data across stop and start; only `scripts/pg reset` wipes it."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                                reason="PostgreSQL server binaries are not installed")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_data_survives_stop_and_start_until_reset():
    pgdir = f"/tmp/cpoint-pg-keep-{uuid.uuid4().hex[:8]}"  # postgres must reach it when we are root
    env = {**os.environ, "PGDIR": pgdir, "PGPORT": str(_port()), "PGDATABASE_NAME": "keepme"}

    def pg(*args: str) -> str:
        return subprocess.run([str(ROOT / "scripts" / "pg"), *args], env=env, capture_output=True, text=True,
                              check=True, timeout=120).stdout.strip()

    def rows(url: str) -> list:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE IF NOT EXISTS kept (x int)"))
                return conn.execute(text("SELECT x FROM kept")).scalars().all()
        finally:
            engine.dispose()

    try:
        url = pg("start")
        assert rows(url) == []
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO kept VALUES (42)"))
        engine.dispose()
        pg("stop")
        assert pg("start") == url
        assert rows(url) == [42]
        pg("reset")
        assert not os.path.exists(pgdir)
        assert rows(pg("start")) == []
    finally:
        subprocess.run([str(ROOT / "scripts" / "pg"), "reset"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(pgdir, ignore_errors=True)
