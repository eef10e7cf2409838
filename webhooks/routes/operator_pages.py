"""Operator pages behind the dashboard login, each within the operator's 시군구 and audited:

- ``/admin/members``: one member by id or bot user key (masked); another 시군구's member is
  answered exactly like a member that does not exist (404). Read-only accounts: 403.
- ``/admin/exports/statements.csv?half=2026H1``: the half's statements of the scope.
- ``/admin/unmatched`` (and ``/admin/unmatched.csv``): what citizens typed that the bot did
  not understand, or only as a close call, grouped by normalised text and counted (digit runs
  masked; a 시군구 operator sees their members' messages, a national one everybody's).
- ``/admin/pushes``: what is waiting to be sent with its estimate (recipients after opt-outs,
  blocks and quiet hours, messages, cost) and what a monthly budget cap holds, with the reason;
  an operator who may change things releases a held group (a 시군구 operator: their members').
- ``/admin/campaigns``: list, create, edit, schedule (a later start), close; a preview drawn as
  KakaoTalk by the emulator's renderer (webhooks/static/emulator.js).
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from core import campaign_admin as ca
from core import operator_views as ov
from core import unmatched as um
from core.clock import today_kst
from core.models import Campaign, LocalGovernment
from core.points.periods import Half
from webhooks import operator_auth as oa
from webhooks.auth import operator_page_headers
from webhooks.campaign_preview import preview_reply
from webhooks.routes.dashboard import _csrf_ok, _csrf_token, login_required
from webhooks.texts import operator_table as otable
from webhooks.texts import operator_text as ot

bp = Blueprint("operator_pages", __name__)


@bp.app_context_processor
def _labels():
    def role_label(role):
        return otable("roles").get(role, role)

    def scope_label(op):
        return ot("scope.national") if op.role == "admin" else ", ".join(op.local_government_codes or [])

    return {"role_label": role_label, "scope_label": scope_label}


@bp.after_request
def _headers(resp: Response) -> Response:
    # scripts only from this server (the preview's renderer); its data is inert JSON
    return operator_page_headers(resp, scripts=True, remote_images=True)


def _page(template: str, status: int = 200, **kw):
    return render_template(template, operator=oa.current_operator(), csrf_token=_csrf_token(), **kw), status


# --- members --------------------------------------------------------------------------------

@bp.get("/admin/members")
@login_required
def members():
    scope = oa.current_scope()
    member_id = request.args.get("id", "").strip()
    key = request.args.get("key", "").strip()
    member_no = request.args.get("no", "").strip()  # the registry's member number
    mobile = request.args.get("mobile", "").strip()  # as a caller gives it
    customer = request.args.get("customer", "").strip()  # a customer number off a bill
    if not member_id and not key and not member_no and not mobile and not customer:
        return _page("operator_member.html", record=None, error=None)
    if not scope.personal_data:
        return _page("operator_member.html", 403, record=None, error=ot("members.no_personal_data"))
    services = oa.services()
    if not member_id and not key and not member_no:
        return _search(services, scope, mobile=mobile or None, customer=customer or None)
    with services.db.transaction() as s:
        try:
            member = ov.find_member(s, scope, member_id=int(member_id) if member_id.isdigit() else None,
                                    bot_user_key=key or None, member_no=member_no or None)
        except ov.OutOfScope:
            oa.record(s, "member.view_refused",
                      subject=f"id={member_id}" if member_id else "key" if key else "member_no")
            record = None
        else:
            record = ov.member_record(s, services.cipher, member)
            oa.record(s, "member.view", subject=f"member:{member.id}",
                      detail={"local_government_code": member.local_government_code})
    if record is None:
        return _page("operator_member.html", 404, record=None, error=ot("members.not_found"))
    return _page("operator_member.html", record=record, error=None)


def _search(services, scope, *, mobile: str | None, customer: str | None):
    """By mobile or customer number: the one member's record, or the members to choose from
    (masked); the search is audited by what was searched on, never the value typed."""
    by = "mobile" if mobile else "customer_number"
    with services.db.transaction() as s:
        found = ov.search_members(s, services.cipher, scope, mobile=mobile, customer_number=customer)
        if not found:
            oa.record(s, "member.view_refused", subject=by)
            return _page("operator_member.html", 404, record=None, error=ot("members.not_found"))
        if len(found) > 1:
            oa.record(s, "member.search", subject=by, detail={"found": len(found)})
            return _page("operator_member.html", record=None, error=None, matches=ov.match_rows(found))
        member = found[0]
        record = ov.member_record(s, services.cipher, member)
        oa.record(s, "member.view", subject=f"member:{member.id}",
                  detail={"local_government_code": member.local_government_code, "by": by})
    return _page("operator_member.html", record=record, error=None)


# --- exports --------------------------------------------------------------------------------

def export_response(half_text: str, channel: str):
    """The scoped statements CSV of a half, audited (shared with the admin API)."""
    scope = oa.current_scope()
    if not scope.personal_data:
        abort(403, description="read-only accounts cannot export")
    try:
        half = str(Half.parse(half_text))
    except ValueError as exc:
        abort(400, description=str(exc))
    with oa.services().db.transaction() as s:
        body, n = ov.statements_export(s, scope, half)
        oa.record(s, "export.statements", subject=f"half:{half}", detail={"rows": n, "via": channel})
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="statements-{half}-{scope.label().replace(",", "_")}.csv"'})


@bp.get("/admin/exports/statements.csv")
@login_required
def export_statements():
    return export_response(request.args.get("half", ""), "dashboard")


# --- unmatched questions ------------------------------------------------------------------

@bp.get("/admin/unmatched")
@login_required
def unmatched():
    scope = oa.current_scope()
    with oa.services().db.transaction() as s:
        groups = um.groups(s, scope)
        total = um.total(s, scope)
    days = current_app.config["CPOINT"].operators.unmatched_retention_days
    return _page("operator_unmatched.html", groups=groups, total=total, days=days)


@bp.get("/admin/unmatched.csv")
@login_required
def unmatched_csv():
    scope = oa.current_scope()
    if not scope.personal_data:
        abort(403, description="read-only accounts cannot export")
    with oa.services().db.transaction() as s:
        body, n = um.export_csv(s, scope)
        oa.record(s, "export.unmatched", subject=None, detail={"groups": n})
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="unmatched-{scope.label().replace(",", "_")}.csv"'})


# --- pushes: estimates and budget holds -----------------------------------------------------

@bp.get("/admin/pushes")
@login_required
def pushes():
    from core import push_budget as pb

    scope = oa.current_scope()
    services = oa.services()
    ps = services.push
    now = services.clock.now()
    with services.db.transaction(deferred=True) as s:
        held = pb.held_groups(s, scope.codes)
        waiting = [(k, p, pb.estimate_group(s, k, p, now=now, quiet=ps.quiet(), price_won=ps.price_won))
                   for k, p in pb.pending_groups(s)] if scope.national else []
        national, per_lg, default_lg = pb.caps(s, ps.budget())
        spent = pb.committed(s, now=now)
    if scope.national:
        budgets = [("national", sum(spent.values()) * ps.price_won, national)]
        budgets += [(lg, spent.get(lg, 0) * ps.price_won, per_lg.get(lg, default_lg))
                    for lg in sorted(set(per_lg) | {k for k in spent if k != pb.NO_LG})]
    else:
        budgets = [(lg, spent.get(lg, 0) * ps.price_won, per_lg.get(lg, default_lg)) for lg in sorted(scope.codes or ())]
    return _page("operator_pushes.html", held=held, waiting=waiting, budgets=budgets, price=ps.price_won,
                 notice=request.args.get("notice"))


@bp.post("/admin/pushes/release")
@login_required
def pushes_release():
    from core import push_budget as pb
    from core.outbox import KINDS

    if not _csrf_ok():
        abort(400, description="missing or wrong CSRF token")
    scope = oa.current_scope()
    if not scope.may_change:
        abort(403, description="read-only accounts cannot release held pushes")
    kind, period = request.form.get("kind", ""), request.form.get("period", "")
    if kind not in KINDS or not period:
        abort(400, description="kind and period")
    with oa.services().db.transaction() as s:
        n = pb.release_held(s, kind, period, now=oa.now(), codes=scope.codes, by=oa.current_operator().name)
        oa.record(s, "push.release_held", subject=f"{kind}:{period}", detail={"released": n})
    return redirect(url_for("operator_pages.pushes", notice=f"released {n}"))


# --- campaigns ------------------------------------------------------------------------------

def _lgs(s, scope) -> list[LocalGovernment]:
    q = select(LocalGovernment).order_by(LocalGovernment.code)
    clause = scope.where(LocalGovernment.code)
    return list(s.scalars(q if clause is None else q.where(clause)))


@bp.get("/admin/campaigns")
@login_required
def campaigns():
    scope = oa.current_scope()
    services = oa.services()
    today = today_kst(services.clock)
    with services.db.session() as s:
        rows = [(c, ca.status(c, today), ca.may_edit(scope, c)) for c in ca.visible(s, scope)]
    return _page("operator_campaigns.html", rows=rows, status_label=otable("campaigns.status"),
                 may_create=scope.may_change, notice=request.args.get("notice"))


def _form_of(c: Campaign | None) -> dict:
    if c is None:
        return {"segment": "all"}
    return {"title": c.title, "summary": c.summary, "starts_on": c.starts_on.isoformat(),
            "ends_on": c.ends_on.isoformat(), "image_url": c.image_url or "", "detail_url": c.detail_url or "",
            "local_government_code": c.local_government_code or "", "segment": c.segment or "all",
            "segment_value": c.segment_value or ""}


@bp.route("/admin/campaigns/new", methods=["GET", "POST"])
@bp.route("/admin/campaigns/<campaign_id>/edit", methods=["GET", "POST"])
@login_required
def campaign_form(campaign_id: str | None = None):
    scope = oa.current_scope()
    if not scope.may_change:
        abort(403)
    services = oa.services()
    with services.db.session() as s:
        existing = s.get(Campaign, campaign_id) if campaign_id else None
        if campaign_id and (existing is None or not ca.may_edit(scope, existing)):
            abort(404)
        lgs = [(lg.code, lg.name) for lg in _lgs(s, scope)]
        form = _form_of(existing)
    problems: dict[str, str] = {}
    preview = None
    status = 200
    if request.method == "POST":
        if not _csrf_ok():
            abort(400, description="missing or wrong CSRF token")
        form = {k: request.form.get(k, "") for k in ("title", "summary", "starts_on", "ends_on", "image_url",
                                                      "detail_url", "local_government_code", "segment",
                                                      "segment_value")}
        try:
            # a new campaign must still run; an old one's dates may be corrected as they were
            data = ca.parse_input(form, scope, today=None if campaign_id else today_kst(services.clock))
        except ca.CampaignInputError as exc:
            problems = {k: ot(f"campaigns.problems.{v}") for k, v in exc.problems.items()}
            status = 400
        else:
            if request.form.get("action") == "preview":
                preview = preview_reply(data.title, data.summary, data.starts_on, data.ends_on, data.image_url,
                                        data.detail_url)
            else:
                with services.db.transaction() as s:
                    try:
                        if campaign_id:
                            c, changed = ca.edit(s, scope, oa.current_operator().name, oa.now(), campaign_id, data)
                        else:
                            c, changed = ca.create(s, scope, oa.current_operator().name, oa.now(), data)
                    except ca.CampaignForbidden:
                        abort(403)
                    oa.record(s, "campaign.update" if campaign_id else "campaign.create", subject=f"campaign:{c.id}",
                              detail={"changed": changed, "local_government_code": c.local_government_code})
                return redirect(url_for("operator_pages.campaigns", notice="saved"))
    return _page("operator_campaign_form.html", status, form=form, problems=problems, lgs=lgs,
                 campaign_id=campaign_id, preview=preview, national=scope.national,
                 member_types=ca.MEMBER_TYPES)


@bp.get("/admin/campaigns/<campaign_id>/preview")
@login_required
def campaign_preview(campaign_id: str):
    scope = oa.current_scope()
    with oa.services().db.session() as s:
        c = s.get(Campaign, campaign_id)
        if c is None or not (c.local_government_code is None or scope.allows(c.local_government_code)):
            abort(404)
        preview = preview_reply(c.title, c.summary, c.starts_on, c.ends_on, c.image_url, c.detail_url)
        title = c.title
    return _page("operator_campaign_preview.html", preview=preview, title=title)


@bp.post("/admin/campaigns/<campaign_id>/close")
@login_required
def campaign_close(campaign_id: str):
    if not _csrf_ok():
        abort(400, description="missing or wrong CSRF token")
    scope = oa.current_scope()
    with oa.services().db.transaction() as s:
        try:
            c = ca.close(s, scope, oa.current_operator().name, oa.now(), campaign_id)
        except ca.CampaignForbidden:
            abort(404)
        oa.record(s, "campaign.close", subject=f"campaign:{c.id}",
                  detail={"local_government_code": c.local_government_code})
    return redirect(url_for("operator_pages.campaigns", notice="closed"))
