"""`flask --app webhooks cpoint demo-data`: a small believable demo for the emulator and dashboard."""
from __future__ import annotations

import click

from core.demo import DEMO_SEED, DemoRefused, load_demo
from webhooks.commands import cpoint, fail, services


@cpoint.command("demo-data")
@click.option("--seed", default=DEMO_SEED, show_default=True, help="Seed of the generated data (same seed, same data).")
@click.option("--force", is_flag=True, help="Load even though the database holds members that are not demo members.")
@click.option("--no-settle", is_flag=True, help="Skip settling the last complete half.")
def demo_data(seed: int, force: bool, no_settle: bool):
    """Load demo local governments, members, two years of readings, a settled half and a campaign.

    Refuses to touch a database that holds real members (use --force to override); does nothing
    when the demo is already loaded."""
    svc = services()
    try:
        summary = load_demo(svc.db, svc.cipher, svc.clock, seed=seed, force=force, settle=not no_settle)
    except DemoRefused as exc:
        fail(f"refused: {exc}", 3)
    click.echo(summary.message)
    if summary.settled:
        click.echo(summary.settled)
