"""The HTTP edge: `create_app()` builds the Flask app (config, database, bot, blueprints,
CLI commands, error handlers). No business rule lives here."""
from __future__ import annotations

import importlib
import logging
import pkgutil
from pathlib import Path

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from bot.context import BotSettings, Services
from core.clock import SystemClock
from core.crypto import FieldCipher, MissingCipher
from core.db import Database
from webhooks import logs
from webhooks.config import Config


def _load_config(app: Flask, config) -> Config:
    if isinstance(config, Config):
        return config
    cfg = Config.from_env(app.instance_path)
    for key, value in (config or {}).items():
        if not hasattr(cfg, key):
            raise KeyError(f"unknown setting {key}")
        setattr(cfg, key, value)
    return cfg


def _submodules(package: str):
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        yield importlib.import_module(f"{package}.{info.name}")


def create_app(config=None, *, clock=None, db: Database | None = None) -> Flask:
    """Application factory. `config` is a Config or a dict of Config fields overriding the
    environment; `clock` and `db` may be injected (tests, benchmarks)."""
    try:
        from dotenv import load_dotenv

        load_dotenv(".env", override=False)
    except ImportError:  # pragma: no cover - python-dotenv is in requirements
        pass
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    cfg = _load_config(app, config)
    logs.configure(cfg.log_format, cfg.log_level)
    app.config["CPOINT"] = cfg
    app.json.ensure_ascii = False  # Korean as UTF-8, not \uXXXX: the 30,720-byte limit counts bytes
    # One byte of slack: the skill route reads limit+1 bytes of a chunked body to tell that
    # it is too large (Werkzeug would silently cut it at exactly the limit).
    app.config["MAX_CONTENT_LENGTH"] = cfg.max_body_bytes + 1

    for problem in cfg.problems():
        logging.getLogger("cpoint.config").warning("configuration: %s", problem)
    database = db or Database(cfg.database_url)
    services = Services(
        db=database,
        clock=clock or SystemClock(),
        cipher=(FieldCipher(cfg.field_encryption_key, cfg.field_hash_key)
                if cfg.field_encryption_key and cfg.field_hash_key else MissingCipher()),
        settings=BotSettings(
            dialog_ttl=cfg.dialog_ttl, block_ids=dict(cfg.block_ids), call_centre=cfg.call_centre,
            operator_name=cfg.operator_name, public_base_url=cfg.public_base_url,
            strict_responses=cfg.strict_responses,
        ),
        extras={"config": cfg, "turn_line": logs.TurnLine()},
    )
    if cfg.user_rate_limit and cfg.user_rate_limit.strip().lower() not in ("off", "0", "false"):
        import time

        from bot.ratelimit import UserRateLimiter, parse_rate

        turns, seconds = parse_rate(cfg.user_rate_limit)
        services.extras["rate_limiter"] = UserRateLimiter(turns, seconds, now=time.monotonic)
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


def services_of(app: Flask) -> Services:
    return app.extensions["cpoint"]
