"""The HTTP edge: `create_app()` builds the Flask app (config, database, bot, blueprints,
CLI commands, error handlers). No business rule lives here."""
from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path

import click
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from bot.context import Services
from core.clock import SystemClock
from core.crypto import FieldCipher, MissingCipher
from core.db import Database
from webhooks import logs


def _load_settings(config):
    from webhooks.config import Settings

    if isinstance(config, Settings):
        return config
    cfg = Settings.from_env()
    for key, value in (config or {}).items():
        if not hasattr(cfg, key):
            raise KeyError(f"unknown setting {key}")
        setattr(cfg, key, value)
    return cfg


def _serving() -> bool:
    """False while the `flask` CLI loads the app for a command other than `run` (gen-keys and
    check-config must work on a machine without keys); True under gunicorn and `flask run`."""
    ctx = click.get_current_context(silent=True)
    return ctx is None or ctx.command.name == "run"


def _submodules(package: str):
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        yield importlib.import_module(f"{package}.{info.name}")


def create_app(config=None, *, clock=None, db: Database | None = None) -> Flask:
    """Application factory. `config` is a Settings or a dict of Settings fields overriding
    the environment; `clock` and `db` may be injected (tests, benchmarks). Refuses to serve,
    naming each setting, when one that citizens need is missing or invalid."""
    try:
        from dotenv import load_dotenv

        load_dotenv(".env", override=False)
    except ImportError:  # pragma: no cover - python-dotenv is in requirements
        pass
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    from webhooks.config import SettingsError

    cfg = _load_settings(config)
    problems = cfg.problems()
    if problems and _serving():
        raise SettingsError("cpoint-bot will not serve citizens until these settings are fixed:\n"
                            + "\n".join(f"- {p}" for p in problems))
    logs.configure(cfg.log.format, cfg.log.level)
    app.config["CPOINT"] = cfg
    app.json.ensure_ascii = False  # Korean as UTF-8, not \uXXXX: the 30,720-byte limit counts bytes
    # One byte of slack: the skill route reads limit+1 bytes of a chunked body to tell that
    # it is too large (Werkzeug would silently cut it at exactly the limit).
    app.config["MAX_CONTENT_LENGTH"] = cfg.max_body_bytes + 1

    for problem in problems:  # only reached by CLI commands
        logging.getLogger("cpoint.config").warning("configuration: %s", problem)
    # Web processes answer Kakao within 5 s; the scheduler and commands may wait longer.
    database = db or Database(cfg.database_url or "sqlite:///" + str(Path(app.instance_path) / "cpoint.db"),
                              deadlines=cfg.database.deadlines(web=_serving()))
    services = Services(
        db=database,
        clock=clock or SystemClock(),
        cipher=(FieldCipher(cfg.field_encryption_key, cfg.field_hash_key)
                if cfg.field_encryption_key and cfg.field_hash_key else MissingCipher()),
        # The groups are shared, not copied: a change to app.config["CPOINT"].bot is seen here.
        settings=cfg.bot, push=cfg.push, event_api=cfg.event_api,
        turn_line=logs.TurnLine(),
    )
    if cfg.user_rate_limit.lower() not in ("off", "0", "false"):
        import time

        from bot.ratelimit import UserRateLimiter, parse_rate

        turns, seconds = parse_rate(cfg.user_rate_limit)
        services.rate_limiter = UserRateLimiter(turns, seconds, now=time.monotonic)
    from bot.registry import build_bot

    app.extensions["cpoint"] = services
    app.extensions["cpoint_bot"] = build_bot()

    for module in _submodules("webhooks.routes"):
        bp = getattr(module, "bp", None)
        if bp is not None:
            app.register_blueprint(bp)
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app)

    from webhooks.commands import cpoint

    for _ in _submodules("webhooks.commands"):
        pass  # importing a module attaches its commands to the `cpoint` group
    app.cli.add_command(cpoint)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return jsonify(error=exc.name.lower().replace(" ", "_"), message=exc.description), exc.code

    return app

