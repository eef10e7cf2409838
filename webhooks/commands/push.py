"""Push commands:

    flask --app webhooks cpoint push                 send what is due once, report
    flask --app webhooks cpoint broadcast --campaign ID [--at TIME] [--segment S] [--message TEXT]
    flask --app webhooks cpoint broadcast --campaign ID ... --dry-run   the estimate only, nothing scheduled
    flask --app webhooks cpoint broadcast --list | --cancel ID
    flask --app webhooks cpoint budget [--scope national|CODE --won N]   monthly push budget caps
    flask --app webhooks cpoint scheduler            the clock (the Procfile's `scheduler`)
    flask --app webhooks cpoint outbox               counts by state, dead ones with reasons, held
                                                     over a budget (--release-held KIND:PERIOD), estimates
"""
from __future__ import annotations

import json
import re
import signal
import threading
from datetime import UTC, datetime

import click
from sqlalchemy import select

from core import broadcasts, outbox
from core.clock import KST, now_kst
from core.models.push import CampaignBroadcast
from webhooks.commands import cpoint, fail, services, sigungu_code

_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_time(text: str) -> datetime:
    """'2026-11-23 09:00' (KST) or an ISO time with its offset."""
    text = (text or "").strip()
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        at = None
        for fmt in _TIME_FORMATS:
            try:
                at = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if at is None:
        raise click.BadParameter(f"{text!r} is not a time; use YYYY-MM-DD HH:MM (KST)", param_hint="--at")
    return at.replace(tzinfo=KST) if at.tzinfo is None else at


def parse_segment(text: str) -> tuple[str, str | None]:
    kind, _, value = (text or "all").partition(":")
    return kind.strip(), (value.strip() or None)


def _push():
    from bot.push.runtime import build_push

    return build_push(services())


@cpoint.command("push")
@click.option("--max-batches", type=click.IntRange(min=1), default=None, help="Stop after this many Event API calls.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(outbox.KINDS), help="Only these kinds (repeatable).")
@click.option("--reconcile/--no-reconcile", default=False, help="Also look up the results of accepted batches.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def push_command(max_batches, kinds, reconcile, as_json):
    """Send the notifications that are due now, once, and report."""
    push = _push()
    try:
        sender = push.sender(kinds=kinds or None)
    except (ValueError, RuntimeError) as exc:
        fail(f"cannot send: {exc}")
    stopping = threading.Event()

    def _stop(signum, _frame):  # SIGTERM: claim nothing more, record the batch under way, exit
        stopping.set()

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        report = sender.run(until_empty=True, max_batches=max_batches, stop=stopping.is_set)
        rec = push.reconcile() if reconcile else None
    finally:
        signal.signal(signal.SIGTERM, previous)
        sender.close()
    data = report.as_dict()
    data["stopped"] = stopping.is_set()
    data["rate_per_sec"] = push.settings.rate_per_sec
    data["users_per_request"] = round(report.users_per_request, 2)
    if rec is not None:
        data["reconciled"] = rec.as_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
    else:
        click.echo(f"sent {report.sent} in {report.requests} requests ({data['users_per_request']} users/request) "
                   f"in {report.seconds:.1f}s at most {push.settings.rate_per_sec:g}/s")
        click.echo(f"retrying later {report.retried}, dead {report.dead}, uncertain {report.uncertain}, "
                   f"skipped {sum(report.skipped.values())} {dict(report.skipped) or ''}".rstrip())
        if report.held:
            click.echo(f"campaign messages held for the quiet hours: {report.held}")
        for o in report.recovered:
            click.echo(f"batch {o.batch_id} of dead sender {o.sender_id} ({o.users} users): uncertain, {o.why}")
        if rec is not None:
            click.echo(f"task results: {rec.as_dict()}")
    if report.error:
        fail(report.error, 1)


@cpoint.command("broadcast")
@click.option("--campaign", "campaign_id", help="Campaign id, e.g. cmp-2025-summer-cooling.")
@click.option("--at", "at_text", help="Send time, YYYY-MM-DD HH:MM in KST (default: now). Held past the quiet hours.")
@click.option("--segment", default="all", show_default=True,
              help="all | region:<local government code, province (sido) or sigungu name> | member_type:<type> | participants")
@click.option("--message", help="The message (default: the campaign's title and summary).")
@click.option("--list", "list_", is_flag=True, help="List broadcasts.")
@click.option("--cancel", "cancel_id", type=int, help="Cancel a broadcast (its pending messages are dropped).")
@click.option("--dry-run", "dry_run", is_flag=True,
              help="With --campaign: print the estimate (recipients, messages, cost, budget) and schedule nothing.")
def broadcast_command(campaign_id, at_text, segment, message, list_, cancel_id, dry_run):
    """Schedule a campaign message (advertising: labelled, consent only, never at night). Every
    broadcast prints its estimate first: recipients after opt-outs, blocks and quiet hours,
    messages, cost at PUSH_PRICE_WON, and whether a monthly budget cap would hold it."""
    svc = services()
    chosen = [x for x in (campaign_id, list_ or None, cancel_id) if x is not None]
    if len(chosen) != 1:
        fail("give exactly one of --campaign ID, --list, --cancel ID")
    if list_:
        with svc.db.session() as s:
            rows = s.scalars(select(CampaignBroadcast).order_by(CampaignBroadcast.id)).all()
        for b in rows:
            at = b.scheduled_at.replace(tzinfo=UTC).astimezone(KST)
            seg = b.segment + (f":{b.segment_value}" if b.segment_value else "")
            click.echo(f"{b.id}\t{b.state}\t{at:%Y-%m-%d %H:%M} KST\t{b.campaign_id}\t{seg}\tqueued {b.queued}, skipped {b.skipped}")
        if not rows:
            click.echo("no broadcasts")
        return
    if cancel_id is not None:
        if not broadcasts.cancel(svc.db, cancel_id, now=svc.clock.now()):
            fail(f"no broadcast {cancel_id} to cancel")
        click.echo(f"broadcast {cancel_id} cancelled")
        return
    at = parse_time(at_text) if at_text else svc.clock.now().astimezone(KST)
    kind, value = parse_segment(segment)
    if dry_run and not campaign_id:
        fail("--dry-run goes with --campaign")
    try:
        b = broadcasts.schedule(svc.db, campaign_id=campaign_id, at=at, now=svc.clock.now(), segment=kind,
                                segment_value=value, message=message, created_by="cli", dry_run=dry_run)
    except broadcasts.BroadcastError as exc:
        fail(f"broadcast not scheduled: {exc}")
    from bot.push.render import ad_text
    from bot.push.runtime import push_settings

    ps = push_settings(svc)
    quiet = ps.quiet()
    when = max(at, now_kst(svc.clock))
    _print_estimate(svc, b, when, ps)
    if dry_run:
        click.echo("dry run: nothing scheduled")
        return
    seg = b.segment + (f":{b.segment_value}" if b.segment_value else "")
    click.echo(f"broadcast {b.id} scheduled for {at.astimezone(KST):%Y-%m-%d %H:%M} KST to segment {seg}")
    if quiet.contains(when):
        click.echo(f"inside the quiet hours ({quiet}): it goes out at {quiet.reopens_at(when):%Y-%m-%d %H:%M} KST")
    click.echo("members see:")
    click.echo(ad_text(b.message, operator=svc.settings.operator_name, contact=svc.settings.call_centre))


def _print_estimate(svc, b, when, ps) -> None:
    from core import push_budget

    est = broadcasts.estimate(svc.db, b, now=when, quiet=ps.quiet(), price_won=ps.price_won)
    click.echo("estimate (figures as of now; members may opt out or block before it goes out):")
    for line in est.lines():
        click.echo(f"  {line}")
    with svc.db.transaction(deferred=True) as s:
        over = push_budget.check(s, est, ps.budget(), now=when, exclude=None).over
    if over:
        click.echo("  budget: would be HELD for an operator to release (cpoint outbox --release-held):")
        for reason in over.values():
            click.echo(f"    {reason}")
    else:
        click.echo("  budget: within the monthly caps")


@cpoint.command("budget")
@click.option("--scope", help="national, or a local government code (e.g. 41117).")
@click.option("--won", type=click.IntRange(min=0), help="Monthly cap in won; 0 removes the cap.")
def budget_command(scope, won):
    """Monthly push budget caps per scope: list them with this month's spending, or set one."""
    from core import push_budget
    from core.models import LocalGovernment
    svc = services()
    ps = svc.push
    if (scope is None) != (won is None):
        fail("give --scope and --won together (or neither, to list)")
    if scope is not None:
        scope = scope.strip()
        with svc.db.transaction() as s:
            if scope.lower() == push_budget.NATIONAL:
                scope = push_budget.NATIONAL
            else:  # a code, or the 시군구 by name as the broadcast's region takes it ('수원시 영통구')
                scope = sigungu_code(s, scope, "budget", f"unknown scope {scope!r}: national, or a city, county "
                                                         "or district (its code or name)")
            push_budget.set_cap(s, scope, won, now=svc.clock.now(), by="cli")
        click.echo(f"budget {scope}: {won:,} won a month" if won else f"budget {scope}: no cap")
    with svc.db.transaction(deferred=True) as s:
        national, per_lg, default_lg = push_budget.caps(s, ps.budget())
        spent = push_budget.committed(s, now=svc.clock.now())
        names = {lg.code: lg.name if lg.name == lg.sido else f"{lg.sido} {lg.name}" for lg in s.query(LocalGovernment)}
    price = ps.price_won
    click.echo(f"price {price} won a message; committed this month (sent or waiting):")
    click.echo(f"  national  {sum(spent.values()) * price:>12,} won  cap {national:,}" if national else
               f"  national  {sum(spent.values()) * price:>12,} won  no cap")
    for lg in sorted(set(per_lg) | {k for k in spent if k != push_budget.NO_LG}):
        cap = per_lg.get(lg, default_lg)
        click.echo(f"  {lg:<9} {spent.get(lg, 0) * price:>12,} won  " + (f"cap {cap:,}" if cap else "no cap")
                   + (f"  {names[lg]}" if lg in names else ""))


@cpoint.command("scheduler")
def scheduler_command():
    """Run the clock: monthly results, payout notices, broadcasts, outbox, task results."""
    from bot.push.runtime import build_scheduler
    from webhooks.commands.operators import retention_for

    clock = build_scheduler(services())
    clock.retention = retention_for(services())
    clock.run_forever()


_BATCH = re.compile(r"^[0-9a-f]{32}$")


@cpoint.command("outbox")
@click.option("--dead", "dead_limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many dead reasons to list.")
@click.option("--requeue-uncertain", "requeue_batch", help="Send an uncertain batch again (after checking with Kakao), or 'all'.")
@click.option("--confirm-sent", "confirm_batch", help="Record an uncertain batch as delivered.")
@click.option("--requeue-dead", "requeue_dead", is_flag=True, help="Send dead notifications again (after fixing the cause).")
@click.option("--kind", type=click.Choice(outbox.KINDS), help="With --requeue-dead: only this kind.")
@click.option("--release-held", "release", help="Send notifications held over a budget cap: KIND:PERIOD (e.g. campaign:b3).")
@click.option("--json", "as_json", is_flag=True)
def outbox_command(dead_limit, requeue_batch, confirm_batch, requeue_dead, kind, release, as_json):
    """Notifications by state; dead ones with their reasons; uncertain batches; what is held
    over a budget cap; the estimate of what is waiting (recipients, messages, cost)."""
    from core import push_budget

    svc = services()
    now = svc.clock.now()
    if release:
        rkind, _, rperiod = release.partition(":")
        if rkind not in outbox.KINDS or not rperiod:
            fail("--release-held takes KIND:PERIOD, e.g. campaign:b3 or monthly_result:2026-10")
        with svc.db.transaction() as s:
            n = push_budget.release_held(s, rkind, rperiod, now=now, by="cli")
        click.echo(f"released {n} held notifications of {rkind} {rperiod}")
    if requeue_batch:
        if requeue_batch != "all" and not _BATCH.match(requeue_batch):
            fail("--requeue-uncertain takes a batch id (32 hex characters) or 'all'")
        n = outbox.requeue(svc.db, now=now, batch_id=None if requeue_batch == "all" else requeue_batch)
        click.echo(f"requeued {n} uncertain notifications")
    if confirm_batch:
        if not _BATCH.match(confirm_batch):
            fail("--confirm-sent takes a batch id (32 hex characters)")
        click.echo(f"recorded {outbox.settle_uncertain(svc.db, batch_id=confirm_batch, now=now)} notifications as sent")
    if requeue_dead:
        click.echo(f"requeued {outbox.requeue(svc.db, now=now, state='dead', kind=kind)} dead notifications")
    r = outbox.report(svc.db, dead_limit=dead_limit)
    ps = svc.push
    with svc.db.transaction(deferred=True) as s:
        held = push_budget.held_groups(s)
        waiting = [(k, p, push_budget.estimate_group(s, k, p, now=now, quiet=ps.quiet(), price_won=ps.price_won))
                   for k, p in push_budget.pending_groups(s)]
    if as_json:
        click.echo(json.dumps({"by_state": r.by_state,
                               "by_kind": {f"{k}/{s}": n for (k, s), n in sorted(r.by_kind_state.items())},
                               "dead": [{"reason": a, "count": b, "kind": c} for a, b, c in r.dead],
                               "uncertain_batches": r.uncertain_batches, "tasks_pending": r.tasks_pending,
                               "delivery_failed": r.delivery_failed,
                               "held": [{"kind": h.kind, "period": h.period, "reason": h.reason, "count": h.count}
                                        for h in held],
                               "waiting": [{"kind": k, "period": p, **e.as_dict()} for k, p, e in waiting]},
                              ensure_ascii=False, default=str))
        return
    states = ("pending", "in_flight", "sent", "uncertain", "dead", "skipped", "held")
    click.echo("state      " + "  ".join(f"{s:>9}" for s in states))
    kinds = sorted({k for k, _ in r.by_kind_state})
    for k in kinds:
        click.echo(f"{k:<10} " + "  ".join(f"{r.by_kind_state.get((k, s), 0):>9}" for s in states))
    click.echo(f"{'total':<10} " + "  ".join(f"{r.by_state.get(s, 0):>9}" for s in states))
    if r.dead:
        click.echo("dead, by reason:")
        for reason, count, kinds_ in r.dead:
            click.echo(f"  {count:>7}  [{kinds_}] {reason}")
    if r.uncertain_batches:
        click.echo("uncertain batches (may or may not have reached Kakao; not sent again):")
        for u in r.uncertain_batches:
            click.echo(f"  {u['id']}  {u['kind']} {u['period']}  {u['users']} users  claimed {u['claimed_at']:%Y-%m-%d %H:%M} UTC  {u['error'] or ''}")
        click.echo("  check them in Kakao's console, then --confirm-sent BATCH or --requeue-uncertain BATCH")
    click.echo(f"task results pending: {r.tasks_pending}; per-user delivery failures: {r.delivery_failed}")
    if held:
        click.echo("held over a budget cap (release with --release-held KIND:PERIOD):")
        for h in held:
            click.echo(f"  {h.count:>7}  {h.kind}:{h.period}  {h.reason}")
    for k, p, e in waiting:
        click.echo(f"waiting {k}:{p}: {e.recipients} recipients, {e.messages} messages, {e.cost_won:,} won"
                   + (f", at {e.quiet_until:%Y-%m-%d %H:%M} KST (quiet hours)" if e.quiet_until else ""))
