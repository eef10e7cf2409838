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
