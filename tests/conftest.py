"""Shared fixtures. The database is SQLite by default; set TEST_DATABASE_URL (e.g.
postgresql+psycopg://postgres@127.0.0.1:55432/cpoint_test) to run everything on PostgreSQL.

Helpers (payload builders, constants, the Kakao client) live in tests/support.py; they are
re-exported here so older `from conftest import ...` lines keep working, but prefer
`from support import ...`: several conftest.py files exist and the name is ambiguous."""
from __future__ import annotations

import os

import pytest

from core.clock import FixedClock
from core.crypto import FieldCipher
from core.db import Database
from tests.auxil.support import (  # noqa: F401  (re-exported)
    ADMIN_TOKEN,
    BOT_ID,
    ENC_KEY,
    FIXTURES,
    HASH_KEY,
    KAKAO,
    SECRET,
    T0,
    Kakao,
    load_fixture,
    make_config,
    make_payload,
    quick_reply_labels,
    reply_texts,
    wipe,
)


def pytest_report_header(config):
    return f"database: {_url_for_header()}"


def _url_for_header():
    url = os.environ.get("TEST_DATABASE_URL")
    return url.split("@")[-1] if url else "sqlite (temporary file)"


@pytest.fixture(scope="session")
def database(tmp_path_factory) -> Database:
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    db = Database(url)
    import core.models  # noqa: F401

    db.recreate_all()
    yield db
    db.dispose()


@pytest.fixture
def db(database) -> Database:
    """The test database, emptied after the test."""
    wipe(database)
    yield database
    wipe(database)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(ENC_KEY, HASH_KEY)


@pytest.fixture
def config():
    return make_config()


@pytest.fixture
def app(db, clock, config):
    from webhooks import create_app

    config.database_url = db.url
    application = create_app(config, clock=clock, db=db)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):
    return app.test_client()











@pytest.fixture
def kakao(client) -> Kakao:
    return Kakao(client)
