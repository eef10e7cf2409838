"""A real server on loopback and headless Chromium (Debian's package) driven by Playwright.

The browser tests skip, saying why, only where Chromium is not installed and CI is unset;
in CI they must run (scripts/setup-extra installs chromium for the dev setup)."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from core.clock import FixedClock
from core.db import Database
from tests.auxil.support import T0, make_config

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--lang=ko-KR"]


def chromium_path() -> str | None:
    for name in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if name and os.path.exists(name):
            return name
    return None


def _need_browser():
    path = chromium_path()
    try:
        import playwright  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but Chromium or Playwright is missing: scripts/setup-extra dev installs them")
        pytest.skip("Chromium (Debian package `chromium`) or playwright not installed; CI unset")
    return path


class LiveServer:
    """create_app on a werkzeug server in a thread, on 127.0.0.1 and a free port."""

    def __init__(self, tmp: Path, **config) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args, **kw):  # the test output stays readable
                pass

        from webhooks import create_app

        self.db = Database(f"sqlite:///{tmp / 'browser.db'}")
        self.db.create_all()
        self.clock = FixedClock(T0)
        self._app = None
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.config = make_config(database_url=self.db.url, emulator_enabled=True, public_base_url=self.url,
                                  log_format="text", log_level="WARNING", **config)
        self.app = create_app(self.config, clock=self.clock, db=self.db)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _wsgi(self, environ, start_response):
        return self.app(environ, start_response)

    @property
    def services(self):
        return self.app.extensions["cpoint"]

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=10)
        self.db.dispose()


@pytest.fixture(scope="module")
def chromium():
    return _need_browser()


@pytest.fixture(scope="module")
def live_server(chromium, tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    p = context.new_page()
    p.set_default_timeout(15000)
    yield p
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
