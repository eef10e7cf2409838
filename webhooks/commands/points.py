"""Operator commands of the points engine (`flask --app webhooks cpoint ...`).

Every command is a thin shell over core/: it parses options, calls one function and prints
counts. Bad input exits with status 2 and every problem by line number on stderr; nothing is
written then.
"""
from __future__ import annotations

import click

from core.usage_import import ImportRejected, import_usage
from webhooks.commands import cpoint, fail, services

MAX_LISTED = 1000


def _rejected(exc: ImportRejected, what: str):
    lines = [str(e) for e in exc.errors]
    shown = lines[:MAX_LISTED]
    if len(lines) > MAX_LISTED:
        shown.append(f"... and {len(lines) - MAX_LISTED} more")
    fail("\n".join([f"{what} rejected: {len(lines)} problem(s); nothing was imported", *shown]))


@cpoint.command("import-usage")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--skip-invalid", is_flag=True,
              help="Import the good rows; write the rejected ones to FILE.rejected.csv.")
def import_usage_cmd(file: str, skip_invalid: bool):
    """Import monthly usage: CSV header resource,customer_number,month,amount."""
    svc = services()
    try:
        result = import_usage(svc.db, svc.cipher, svc.clock, file, skip_invalid=skip_invalid)
    except ImportRejected as exc:
        _rejected(exc, file)
    for err in result.errors:
        click.echo(f"skipped {err}", err=True)
    click.echo(f"imported {result.summary()}")


@cpoint.command("settle")
@click.option("--half", "half", required=True, help="The half to settle, e.g. 2026H1.")
@click.option("--verify", default=200, show_default=True,
              help="Members recomputed with the pure engine as a cross-check (-1 = all, 0 = none).")
def settle_cmd(half: str, verify: int):
    """Settle a half: statements, lines and ledger entries for every member (idempotent)."""
    from core.settlement import SettlementError, settle_half

    svc = services()
    try:
        result = settle_half(svc.db, half, svc.clock, verify=verify)
    except SettlementError as exc:
        fail(f"settle {half}: {exc}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(result.summary())
