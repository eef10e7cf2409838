"""`alembic upgrade head` builds exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import core.models  # noqa: F401
from core.db import Base, make_engine
from migrations import alembic_config, upgrade_to_head


@pytest.fixture
def empty_url(tmp_path):
    """A brand-new empty database of the same kind as the test database."""
    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    name = f"cpoint_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = pg.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def seeded_at(url: str, revision: str, seed):
    """The database at `url` upgraded to `revision`, with `seed(conn)` written: (alembic config,
    engine) for a test of the next revisions on existing rows."""
    cfg = alembic_config(url)
    command.upgrade(cfg, revision)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            seed(conn)
        yield cfg, engine
    finally:
        engine.dispose()


# SQLite cannot reflect an index on an expression (ix_members_member_no_key): alembic skips it
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_upgrade_head_matches_models(empty_url):
    upgrade_to_head(empty_url)
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"models and migrations differ; add a revision (python -m migrations.new '...'): {diff}"
    finally:
        engine.dispose()


def test_upgrade_is_repeatable(empty_url):
    upgrade_to_head(empty_url)
    upgrade_to_head(empty_url)
    engine = make_engine(empty_url)
    try:
        names = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {t.name for t in Base.metadata.sorted_tables} <= names
    assert "alembic_version" in names


def test_init_db_command(tmp_path, monkeypatch):
    from tests.auxil.support import make_config
    from webhooks import create_app

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    app = create_app(make_config(database_url=url))
    result = app.test_cli_runner().invoke(args=["cpoint", "init-db"])
    assert result.exit_code == 0, result.output
    assert "database at head" in result.output
    engine = make_engine(url)
    assert "members" in inspect(engine).get_table_names()
    with engine.connect() as conn:  # every energy-scheme 시·군·구, with the documented defaults
        count, defaults = conn.exec_driver_sql(
            "SELECT COUNT(*), SUM(CASE WHEN figures_default THEN 1 ELSE 0 END) FROM local_governments").one()
    assert count == defaults == 208
    again = app.test_cli_runner().invoke(args=["cpoint", "init-db"])
    assert again.exit_code == 0 and "0 added" in again.output
    engine.dispose()
