"""Operator commands of the points engine (`flask --app webhooks cpoint ...`).

Every command is a thin shell over core/: it parses options, calls one function and prints
counts. Bad input exits with status 2 and every problem by line number on stderr; nothing is
written then.
"""
from __future__ import annotations

import click
from flask import current_app

from core.csv_screening import ENCODING_CHOICES
from core.usage_import import ImportRejected, ImportResult, import_usage
from webhooks.commands import cpoint, fail, services, sigungu_code

MAX_LISTED = 1000

encoding_option = click.option(
    "--encoding", type=click.Choice(ENCODING_CHOICES, case_sensitive=False), default="utf-8",
    show_default=True, help="Text encoding of FILE: utf-8 (a BOM is fine) or cp949 / euc-kr "
                            "(Korean Excel and the utilities' exports).")


def _rejected(exc: ImportRejected, what: str):
    lines = [str(e) for e in exc.errors]
    shown = lines[:MAX_LISTED]
    if len(lines) > MAX_LISTED:
        shown.append(f"... and {len(lines) - MAX_LISTED} more")
    fail("\n".join([f"{what} rejected: {len(lines)} problem(s); nothing was imported", *shown]))


def _report(result: ImportResult) -> None:
    for err in result.errors:
        click.echo(f"skipped {err}", err=True)
    for note in result.notices:
        click.echo(f"note: {note}", err=True)
    click.echo(f"imported {result.summary()}")


@cpoint.command("import-usage")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--skip-invalid", is_flag=True,
              help="Import the good rows; write the rejected ones to FILE.rejected.csv.")
@encoding_option
@click.option("--allow-outliers", is_flag=True,
              help="Import amounts above the IMPORT_MAX_* plausibility bounds, flagged in "
                   "import_changes (kind outlier), instead of refusing them.")
def import_usage_cmd(file: str, skip_invalid: bool, encoding: str, allow_outliers: bool):
    """Import monthly usage: CSV header resource,customer_number,month,amount, then optionally
    tariff and company (the utility company's code or name; without it each number goes to the
    one company it is a supply point of), or a complex's unit readings:
    resource,complex_code,dong,ho,month,amount. Columns may carry their Korean names, in this
    order (자원,고객번호,사용월,사용량)."""
    from core.unit_readings import import_unit_readings, is_unit_file

    svc = services()
    # The billing company's file of complex units (header resource,complex_code,dong,ho,month,amount).
    importer = import_unit_readings if is_unit_file(file, encoding) else import_usage
    try:
        result = importer(svc.db, svc.cipher, svc.clock, file, skip_invalid=skip_invalid,
                              encoding=encoding, allow_outliers=allow_outliers,
                              settings=current_app.config["CPOINT"].imports)
    except ImportRejected as exc:
        _rejected(exc, file)
    _report(result)


@cpoint.command("settle")
@click.option("--half", "half", required=True, help="The half to settle, e.g. 2026H1.")
@click.option("--verify", default=200, show_default=True,
              help="Members recomputed with the pure engine as a cross-check (-1 = all, 0 = none).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes settling member ranges side by side (default: one per CPU core, at most 4).")
def settle_cmd(half: str, verify: int, workers: int | None):
    """Settle a half: statements, lines and ledger entries for every member (idempotent)."""
    from core.settlement import SettlementError, settle_half

    svc = services()
    try:
        result = settle_half(svc.db, half, svc.clock, verify=verify, workers=workers)
    except SettlementError as exc:
        fail(f"settle {half}: {exc}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(result.summary())


@cpoint.command("monthly-results")
@click.option("--month", required=True, help="Usage month, YYYY-MM.")
def monthly_results_cmd(month: str):
    """Record each member's monthly result notification (outbox; once per member and month)."""
    from core.monthly import MonthlyError, monthly_results

    svc = services()
    push = svc.push  # the same budget caps and quiet hours as the scheduler's run
    try:
        result = monthly_results(svc.db, month, svc.clock, budget=push.budget(), quiet=push.quiet())
    except MonthlyError as exc:
        fail(f"monthly-results: {exc}")
    click.echo(result.summary())


@cpoint.command("payouts")
@click.option("--half", required=True, help="Settled half, e.g. 2026H1.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="CSV to write.")
@click.option("--local-government", "scope", default="all", show_default=True,
              help="A local government's code or name (e.g. 41117), or all.")
@click.option("--release-held", is_flag=True,
              help="Write a later round instead: the lines held in this half's file whose hold is now "
                   "resolved (an own-name account, another payout type, an address).")
def payouts_cmd(half: str, out: str, scope: str, release_held: bool):
    """Record the payout batch of a half (once) and write the finance team's CSV."""
    from core.payouts import PayoutError, create_payouts
    from core.payouts import release_held as release

    svc = services()
    if scope.strip().lower() != "all":  # a code, or the 시군구 by name ('수원시 영통구')
        with svc.db.session() as s:
            scope = sigungu_code(s, scope, "payouts", f"unknown local government {scope!r}")
    try:
        released = release(svc.db, svc.cipher, svc.clock, half, out, scope=scope) if release_held else None
        if release_held and released is None:
            click.echo(f"payouts: no held line of {half} {scope} is resolved yet; nothing written")
            return
        result = released or create_payouts(svc.db, svc.cipher, svc.clock, half, out, scope=scope)
    except PayoutError as exc:
        fail(f"payouts: {exc}")
    from webhooks.commands.operators import audit_export

    audit_export("export.payouts", f"half:{half}", scope, {"file": str(out), "round": result.round})
    click.echo(result.summary())


@cpoint.command("payout-result")
@click.argument("file", type=click.Path(dir_okay=False))
@encoding_option
def payout_result_cmd(file: str, encoding: str):
    """Record the local government's result: CSV member_id,half,status(paid|skipped),reason."""
    from core.payouts import import_payout_results

    svc = services()
    try:
        result = import_payout_results(svc.db, svc.clock, file, encoding=encoding)
    except ImportRejected as exc:
        _rejected(exc, file)
    click.echo(f"payout results: {result.changed} changed, {result.unchanged} unchanged; "
               f"import run #{result.run_id}")


@cpoint.command("import-activities")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--skip-invalid", is_flag=True,
              help="Import the good rows; write the rejected ones to FILE.rejected.csv.")
@encoding_option
def import_activities_cmd(file: str, skip_invalid: bool, encoding: str):
    """Import green-life activities: CSV member_ref,item,quantity,date,partner_ref.

    member_ref is the green-life number (G123) or, as before, the energy member's id; either
    resolves to an active green-life membership."""
    from core.greenlife_accrual import import_activities

    svc = services()
    try:
        result = import_activities(svc.db, svc.clock, file, skip_invalid=skip_invalid, encoding=encoding)
    except ImportRejected as exc:
        _rejected(exc, file)
    _report(result)


@cpoint.command("greenlife-confirm")
@click.option("--month", required=True, help="Activity month, YYYY-MM.")
@click.option("--early", is_flag=True, help="Confirm before the 16th of the next month.")
def greenlife_confirm_cmd(month: str, early: bool):
    """Award the green-life points of a month (bonus, yearly cap; once per month)."""
    from core.greenlife_accrual import GreenlifeError, confirm_month

    svc = services()
    try:
        result = confirm_month(svc.db, svc.clock, month, early=early)
    except GreenlifeError as exc:
        fail(f"greenlife-confirm: {exc}")
    click.echo(result.summary())


@cpoint.command("set-rate")
@click.option("--local-government", "code", required=True,
              help="Local government code, or its name as written (e.g. Suwon-si Yeongtong-gu in Korean).")
@click.option("--rate", required=True, help="Won per point, 0 < rate <= 2, two decimals.")
@click.option("--from", "valid_from", required=True, help="First day it applies, YYYY-MM-DD (or YYYY.MM.DD, YYYYMMDD).")
def set_rate_cmd(code: str, rate: str, valid_from: str):
    """Record an effective-dated won-per-point rate of a local government."""

    from sqlalchemy.exc import IntegrityError

    from core.clock import utcnow_naive
    from core.models import LocalGovernmentRate
    from core.payouts import last_paid_half
    from core.rules import RulesError, default_rules, validate_rate

    svc = services()
    problems = []
    try:
        value = validate_rate(rate, default_rules())
    except RulesError as exc:
        problems.append(str(exc))
    from core.csv_screening import written_day

    day = written_day(valid_from)
    if day is None:
        problems.append(f"--from must be a real day, YYYY-MM-DD (or YYYY.MM.DD, YYYYMMDD): {valid_from!r}")
    if problems:
        fail("set-rate: " + "; ".join(problems))
    try:
        with svc.db.transaction() as s:
            # a name as operators write it -> its code; a 시/도 is refused: each 시군구 has its own rate
            code = sigungu_code(s, code, "set-rate", f"unknown local government {code!r}")
            paid = last_paid_half(s, code)
            assert day is not None  # an unreadable day failed above
            if paid is not None and day <= paid.end:
                # a half's rate is the one in force on its last day: this would change a half
                # whose payout file is recorded (a mistyped year, typically)
                fail(f"set-rate: {day} would change the rate of {paid}, whose payout file is already recorded "
                     f"for {code}; give a day after {paid.end}")
            s.add(LocalGovernmentRate(local_government_code=code, effective_from=day,
                                      won_per_point=value, created_at=utcnow_naive(svc.clock)))
            from core.progress import invalidate_all

            invalidate_all(s.connection())  # prepared balances show won at the rate
    except IntegrityError:
        fail(f"set-rate: {code} already has a rate from {day}")
    click.echo(f"rate of {code} from {day}: {value} won per point")


@cpoint.command("ledger-check")
@click.option("--half", default=None, help="Only this half.")
def ledger_check_cmd(half: str | None):
    """Check that every statement's points equal its ledger sum (exit 1 when not)."""
    from core.ledger import ledger_mismatches

    with services().db.session() as s:
        bad = ledger_mismatches(s, half)
    for member_id, h, points, total in bad[:MAX_LISTED]:
        click.echo(f"member {member_id} {h}: statement {points} P, ledger {total} P", err=True)
    if bad:
        raise SystemExit(1)
    click.echo("ledger matches every statement")


@cpoint.command("import-members")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--skip-invalid", is_flag=True,
              help="Import the good rows; write the rejected ones to FILE.rejected.csv.")
@encoding_option
def import_members_cmd(file: str, skip_invalid: bool, encoding: str):
    """Import members from the programme's registry: CSV header member_no,member_type,name,
    mobile,address,unit,joined_on,electricity,water,gas,incentive_type,bank,account. Columns may
    carry the Korean names of the registry's export, in this order (회원번호,회원구분,성명,...)."""
    from core.member_import import import_members
    from webhooks.commands.operators import _who

    svc = services()
    try:
        result = import_members(svc.db, svc.cipher, svc.clock, file, skip_invalid=skip_invalid, operator=_who(),
                                encoding=encoding)
    except ImportRejected as exc:
        _rejected(exc, file)
    _report(result)
