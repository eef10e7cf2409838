"""Database and configuration commands."""
from __future__ import annotations

import click
from flask import current_app

from core.crypto import generate_hash_key, generate_key
from core.csv_screening import ImportRejected, decode_operator_bytes
from migrations import upgrade_to_head
from webhooks.commands import cpoint, fail, services
from webhooks.commands.points import encoding_option


@cpoint.command("init-db")
def init_db():
    """Create or upgrade the schema to the newest migration, then load every 시·군·구 of the
    shipped list (core/data/sigungu.csv) that has no row yet, with the documented defaults."""
    from core.sigungu import load_sigungu

    url = services().db.url
    upgrade_to_head(url)
    click.echo(f"database at head: {services().db.engine.url.render_as_string(hide_password=True)}")
    with services().db.transaction() as s:
        added = load_sigungu(s)
    click.echo(f"local governments: {added} added from the shipped list")


@cpoint.command("gen-keys")
def gen_keys():
    """Print fresh FIELD_ENCRYPTION_KEY and FIELD_HASH_KEY lines for a .env file."""
    click.echo(f"FIELD_ENCRYPTION_KEY={generate_key()}")
    click.echo(f"FIELD_HASH_KEY={generate_hash_key()}")


@cpoint.command("check-config")
def check_config():
    """Say what is missing or unsafe before the server goes live (exit status 1), and what is
    doubtful (warnings)."""
    cfg = current_app.config["CPOINT"]
    problems = cfg.problems()
    unsafe, doubtful = cfg.production_review()
    for p in problems + unsafe:
        click.echo(f"- {p}")
    for p in doubtful:
        click.echo(f"warning: {p}")
    if problems or unsafe:
        raise SystemExit(1)
    click.echo("configuration ok" + (f" ({len(doubtful)} warnings)" if doubtful else ""))


def paid_rate_changes(session, rows) -> list[str]:
    """A file's rate change for a 시군구 with a recorded payout file: that half's rate would
    change after it was paid; the new rate is recorded from a day with set-rate instead."""
    from core.models import LocalGovernment
    from core.payouts import last_paid_half

    out = []
    for row in rows:
        lg = session.get(LocalGovernment, row.code)
        if lg is None or lg.won_per_point == row.won_per_point:
            continue
        paid = last_paid_half(session, row.code)
        if paid is not None:
            out.append(f"{row.code} {row.name}: won_per_point {lg.won_per_point} -> {row.won_per_point} would change "
                       f"{paid}, whose payout file is recorded; keep {lg.won_per_point} here and record the new rate "
                       f"with: cpoint set-rate --local-government {row.code} --rate {row.won_per_point} "
                       f"--from <a day after {paid.end}>")
    return out


@cpoint.command("load-local-governments")
@click.argument("file", required=False, type=click.Path(dir_okay=False, exists=True))
@encoding_option
def load_local_governments(file: str | None, encoding: str):
    """Insert or update 시군구 (rate, incentive types, payout months, address prefixes) from a
    CSV in the format of core/data/local_governments.csv; without FILE, that built-in list.
    Every bad row is reported by line number and nothing is written."""
    from pathlib import Path

    from core.local_governments import (
        LocalGovernmentDataError,
        default_local_governments,
        read_local_governments,
        seed_local_governments,
    )

    try:
        rows = (read_local_governments(decode_operator_bytes(Path(file).read_bytes(), encoding)) if file
                else default_local_governments())
    except LocalGovernmentDataError as exc:
        fail("local governments rejected; nothing was written:\n" + "\n".join(exc.errors))
    except ImportRejected as exc:
        fail("local governments rejected; nothing was written:\n"
             + "\n".join(str(e) for e in exc.errors))
    with services().db.transaction() as s:
        paid = paid_rate_changes(s, rows)
        if paid:
            fail("local governments rejected; nothing was written:\n" + "\n".join(paid))
        inserted, updated = seed_local_governments(s, rows)
    click.echo(f"local governments: {inserted} new, {updated} updated, {len(rows) - inserted - updated} unchanged")
