"""Database and configuration commands."""
from __future__ import annotations

import click
from flask import current_app

from core.crypto import generate_hash_key, generate_key
from migrations import upgrade_to_head
from webhooks.commands import cpoint, services


@cpoint.command("init-db")
def init_db():
    """Create or upgrade the schema to the newest migration."""
    url = services().db.url
    upgrade_to_head(url)
    click.echo(f"database at head: {services().db.engine.url.render_as_string(hide_password=True)}")


@cpoint.command("gen-keys")
def gen_keys():
    """Print fresh FIELD_ENCRYPTION_KEY and FIELD_HASH_KEY lines for a .env file."""
    click.echo(f"FIELD_ENCRYPTION_KEY={generate_key()}")
    click.echo(f"FIELD_HASH_KEY={generate_hash_key()}")


@cpoint.command("check-config")
def check_config():
    """Say what is missing before the server goes live."""
    problems = current_app.config["CPOINT"].problems()
    for p in problems:
        click.echo(f"- {p}")
    if problems:
        raise SystemExit(1)
    click.echo("configuration ok")
