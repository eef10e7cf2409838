"""Operator accounts, the audit trail and the purge of withdrawn members:

    flask --app webhooks cpoint operator add NAME --role admin|lg_operator|readonly [--lg CODE ...]
    flask --app webhooks cpoint operator disable NAME | list [--json] | token NAME | totp NAME | password NAME
    flask --app webhooks cpoint audit [--since 2026-01-01] [--operator NAME] [--json]
    flask --app webhooks cpoint audit verify | purge
    flask --app webhooks cpoint purge-withdrawn

Every change made here is audited as ``cli:<login name>``.
"""
from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from core import audit
from core import operators as ops
from core.clock import utcnow_naive
from core.models import Operator
from webhooks.commands import cpoint, fail, services, sigungu_code


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli"


def _key() -> bytes:
    return audit.audit_key(services().cipher)


def _now() -> datetime:
    return utcnow_naive(services().clock)


def _record(s, action: str, subject: str | None = None, detail: dict | None = None) -> None:
    audit.record(s, _key(), _now(), _who(), action, subject=subject, scope="all", detail=detail)


def audit_export(action: str, subject: str, scope: str, detail: dict) -> None:
    """Audit an export made on the command line (payout files hold masked names and accounts)."""
    with services().db.transaction() as s:
        audit.record(s, _key(), _now(), _who(), action, subject=subject, scope=scope, detail=detail)


def _operator(s, name: str) -> Operator:
    op = ops.by_name(s, name)
    if op is None:
        fail(f"no operator named {name!r}")
    return op


@cpoint.group("operator")
def operator_group():
    """Operator accounts: add, disable, list, API tokens, TOTP."""


@operator_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ops.ROLES), required=True)
@click.option("--lg", "codes", multiple=True,
              help="Local government the operator may see: its code or name, e.g. 41117 or 'Suwon-si Yeongtong-gu' "
                   "written in Korean (repeat for several).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 12 characters (asked for when not given).")
def operator_add(name: str, role: str, codes: tuple[str, ...], password: str):
    """Add an operator. An admin is enrolled in TOTP at once (scan the printed URI)."""
    from core.operator_views import local_government_codes

    svc = services()
    with svc.db.transaction() as s:
        # a code, or the 시군구 by name ('수원시 영통구'; '중구' is refused with the codes)
        resolved = [sigungu_code(s, typed, "operator add", f"unknown local government code(s): {typed}")
                    if typed.strip() else typed for typed in codes]
        try:
            op = ops.add_operator(s, _now(), name, role, resolved, password, known_codes=local_government_codes(s))
        except ops.OperatorError as exc:
            fail(f"operator add: {exc}")
        secret = ops.enrol_totp(op, svc.cipher) if role == "admin" else None
        _record(s, "operator.add", op.name, {"role": role, "local_government_codes": op.local_government_codes})
    click.echo(f"operator {name} added ({role}{': ' + ', '.join(op.local_government_codes) if op.local_government_codes else ''})")
    if secret:
        click.echo(f"TOTP (required for admins): {ops.totp_uri(name, secret)}")


@operator_group.command("disable")
@click.argument("name")
def operator_disable(name: str):
    """Disable an operator: their sessions and API tokens stop at once."""
    with services().db.transaction() as s:
        op = _operator(s, name)
        ops.disable_operator(s, _now(), op)
        _record(s, "operator.disable", op.name)
    click.echo(f"operator {name} disabled; sessions and tokens revoked")


@operator_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def operator_list(as_json: bool):
    """List operators with role, scope and state."""
    with services().db.session() as s:
        rows = [{"name": o.name, "role": o.role, "local_government_codes": o.local_government_codes or [],
                 "active": bool(o.active), "totp": o.totp_secret_enc is not None,
                 "created_at": o.created_at.isoformat(timespec="seconds")}
                for o in s.scalars(select(Operator).order_by(Operator.name))]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        scope = "all" if r["role"] == "admin" else ",".join(r["local_government_codes"]) or "-"
        click.echo(f"{r['name']}\t{r['role']}\t{scope}\t{'active' if r['active'] else 'disabled'}\t"
                   f"{'totp' if r['totp'] else 'no-totp'}")


@operator_group.command("token")
@click.argument("name")
@click.option("--label", default=None, help="What the token is for.")
def operator_token(name: str, label: str | None):
    """Issue an admin API token (shown once; stored hashed)."""
    with services().db.transaction() as s:
        op = _operator(s, name)
        try:
            raw = ops.issue_token(s, op, _now(), label)
        except ops.OperatorError as exc:
            fail(f"operator token: {exc}")
        _record(s, "operator.token", op.name, {"label": label})
    click.echo(raw)


@operator_group.command("totp")
@click.argument("name")
def operator_totp(name: str):
    """Enrol (or re-enrol) the operator in TOTP; prints the otpauth URI once."""
    svc = services()
    with svc.db.transaction() as s:
        op = _operator(s, name)
        secret = ops.enrol_totp(op, svc.cipher)
        _record(s, "operator.totp", op.name)
    click.echo(ops.totp_uri(name, secret))


@operator_group.command("password")
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def operator_password(name: str, password: str):
    """Set a new password (and lift a lock)."""
    with services().db.transaction() as s:
        op = _operator(s, name)
        try:
            ops.set_password(op, password)
        except ops.OperatorError as exc:
            fail(f"operator password: {exc}")
        _record(s, "operator.password", op.name)
    click.echo(f"password of {name} set")


@cpoint.group("audit", invoke_without_command=True)
@click.option("--since", default=None, help="From this day (YYYY-MM-DD) or time (ISO 8601, UTC).")
@click.option("--operator", default=None)
@click.option("--action", default=None)
@click.option("--limit", default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
@with_appcontext
def audit_group(ctx, since: str | None, operator: str | None, action: str | None, limit: int, as_json: bool):
    """Print audit entries (or: verify, purge)."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        since_at = datetime.fromisoformat(since) if since else None
        if since_at is not None and since_at.tzinfo is not None:  # "...T10:00+09:00": that moment, in UTC
            since_at = since_at.astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        fail(f"--since must be YYYY-MM-DD or ISO 8601: {since!r}")
    with services().db.session() as s:
        rows = [audit.as_dict(e) for e in audit.entries(s, since=since_at, operator=operator, action=action, limit=limit)]
    for r in rows:
        if as_json:
            click.echo(json.dumps(r, ensure_ascii=False))
        else:
            click.echo(f"#{r['seq']}\t{r['at']}\t{r['operator']}\t{r['action']}\t{r['subject'] or ''}\t{r['scope'] or ''}")


@audit_group.command("verify")
def audit_verify():
    """Check the hash chain; exit 1 naming each broken link."""
    with services().db.session() as s:
        result = audit.verify(s, _key())
    for p in result.problems:
        click.echo(p, err=True)
    if not result.ok:
        raise SystemExit(1)
    click.echo(f"audit chain intact: {result.checked} entries")


@audit_group.command("purge")
@click.option("--days", type=int, default=None, help="Keep this many days (default AUDIT_RETENTION_DAYS).")
def audit_purge(days: int | None):
    """Delete entries past retention, leaving an anchor so the rest still verifies."""
    from flask import current_app

    keep = days if days is not None else current_app.config["CPOINT"].operators.audit_retention_days
    now = _now()
    with services().db.transaction() as s:
        n = audit.purge(s, _key(), now, now - timedelta(days=keep), operator=_who())
    click.echo(f"audit entries purged: {n}")


@cpoint.command("purge-withdrawn")
@click.option("--days", type=int, default=None, help="Default WITHDRAWN_PURGE_DAYS.")
def purge_withdrawn_cmd(days: int | None):
    """Remove what is left of members withdrawn more than --days ago (ledger kept)."""
    from flask import current_app

    from core.withdrawn_purge import purge_withdrawn

    keep = days if days is not None else current_app.config["CPOINT"].operators.withdrawn_purge_days
    total = 0
    while True:
        with services().db.transaction() as s:
            result = purge_withdrawn(s, _now(), keep)
            if result.members:
                _record(s, "member.purge", None, {"member_ids": result.members})
        total += len(result.members)
        if not result.members:
            break
    click.echo(f"withdrawn members purged: {total}")


def retention_for(svc):
    """The scheduler's retention work with this app's settings (core.retention)."""
    from flask import current_app

    from core.retention import run_retention

    cfg = current_app.config["CPOINT"].operators
    key = audit.audit_key(svc.cipher)
    return lambda: run_retention(svc.db, svc.clock, key, withdrawn_days=cfg.withdrawn_purge_days,
                                 audit_days=cfg.audit_retention_days,
                                 unmatched_days=cfg.unmatched_retention_days)
