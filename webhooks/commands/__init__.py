"""The `flask --app webhooks cpoint ...` command group. Each module in this package attaches
its commands to `cpoint` when create_app imports it."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

cpoint = AppGroup("cpoint", help="cpoint-bot operations: database, imports, settlement, pushes.")


def services():
    return current_app.extensions["cpoint"]


def fail(message: str, code: int = 2):
    click.echo(message, err=True)
    raise SystemExit(code)


def sigungu_code(session, typed: str, command: str, unknown: str | None = None) -> str:
    """A 시군구's code from its code or its name as operators write it ('수원시 영통구');
    fails the command on a province, an ambiguous name (with the codes) or an unknown one
    (``unknown``: that message instead of the resolver's)."""
    from core.broadcasts import RegionError, resolve_sigungu

    try:
        return resolve_sigungu(session, typed)
    except RegionError as exc:
        fail(f"{command}: {unknown}" if unknown and exc.kind == "unknown" else f"{command}: {exc}")
        raise  # fail() does not return
