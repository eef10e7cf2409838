"""Household disputes (a citizen says the member registered at their household is not them):

    flask --app webhooks cpoint disputes list [--all] [--json]
    flask --app webhooks cpoint disputes resolve ID --note TEXT
    flask --app webhooks cpoint households check [--json]

The operator checks the resident registration with the citizen by phone; resolving records what
was done (an operator withdraws or moves the other member through the usual commands). Every
resolution is audited as ``cli:<login name>``.
"""
from __future__ import annotations

import json

import click

from core import members as M
from core.pii import mask_number
from webhooks.commands import cpoint, fail, services
from webhooks.commands.operators import _now, _record, _who


@cpoint.group("disputes")
def disputes_group():
    """Household disputes queued from the chat: list, resolve."""


@disputes_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Resolved ones too.")
@click.option("--json", "as_json", is_flag=True)
def disputes_list(show_all: bool, as_json: bool):
    """Open disputes, oldest first (the address as typed, the contact number masked)."""
    with services().db.transaction() as s:
        rows = [{"id": d.id, "state": d.state, "created_at": d.created_at.isoformat(timespec="seconds"),
                 "address": d.address, "mobile": mask_number(d.mobile) if d.mobile else None,
                 "resolved_by": d.resolved_by, "resolution": d.resolution}
                for d in M.household_disputes(s, None if show_all else "open")]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("no disputes")
    for r in rows:
        click.echo(f"#{r['id']} {r['state']} {r['created_at']} {r['address']} {r['mobile'] or '-'}"
                   + (f" ({r['resolved_by']}: {r['resolution']})" if r["resolution"] else ""))


@disputes_group.command("resolve")
@click.argument("dispute_id", type=int)
@click.option("--note", required=True, help="What was found and done.")
def disputes_resolve(dispute_id: int, note: str):
    """Close a dispute with a note."""
    svc = services()
    with svc.db.transaction() as s:
        try:
            M.resolve_household_dispute(s, svc.clock, dispute_id, _who(), note)
        except (LookupError, ValueError) as exc:
            fail(f"disputes resolve: {exc}")
        _record(s, "dispute.resolve", subject=str(dispute_id), detail={"note": note[:200]})
    click.echo(f"dispute {dispute_id} resolved at {_now().isoformat(timespec='seconds')}")


@cpoint.group("households")
def households_group():
    """The one-member-per-household keys."""


@households_group.command("check")
@click.option("--json", "as_json", is_flag=True)
def households_check(as_json: bool):
    """Read-only: members whose stored household hash the current key rules would change, and
    households that would then hold two members. Exit 1 when any would change."""
    svc = services()
    with svc.db.transaction() as s:
        result = M.check_household_keys(s, svc.cipher)
    data = {"checked": result.checked, "changed": result.changed, "collisions": result.collisions}
    if as_json:
        click.echo(json.dumps(data))
    else:
        click.echo(f"checked {result.checked}; hash would change for {len(result.changed)} members "
                   f"{result.changed[:50]}; households with more than one member: {result.collisions[:50]}")
    if result.changed or result.collisions:
        raise SystemExit(1)
