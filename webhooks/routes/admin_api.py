"""Read API for operators: ``Authorization: Bearer <token>`` with a token issued to one
operator (`flask --app webhooks cpoint operator token NAME`). Each answer is limited to the
operator's 시군구; each read of personal data and each export is audited. Requests are counted
in the database per token (ADMIN_API_RATE_LIMIT) and wrong tokens per address: 429 beyond.

- ``GET /admin/api/statements?bot_user_key=KEY&half=2026H1`` (or ``member_no=NO``, the registry's
  member number of an imported member): the member's statement of a half
  as JSON (core.statements.statement_view): per resource baseline, actual, rate, band, points,
  reason; totals in points and won; payout month and status. 404 when the member (within the
  scope) or the statement does not exist; 400 for a malformed half; 401 without a token.
- ``GET /admin/api/exports/statements?half=2026H1``: the half's statements of the scope as CSV.
- ``GET /admin/api/import-runs?limit=20``: the latest operator imports (national admins).
- ``POST /admin/api/bootstrap`` with ``Bearer ADMIN_TOKEN`` and ``{"name", "password"}``: only
  while no operator exists, creates the first national admin and returns its TOTP enrolment.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from sqlalchemy import func, select

from bot.ratelimit import parse_rate
from core import operator_views as ov
from core import operators as ops
from core.models import ImportRun, Operator
from core.points.periods import Half
from core.statements import statement_view
from webhooks import operator_auth as oa
from webhooks.auth import bearer_ok

bp = Blueprint("admin_api", __name__)


def _error(status: int, code: str, message: str):
    return jsonify(error=code, message=message), status


BAD_TOKENS_PER_ADDRESS = 20
BAD_TOKEN_WINDOW = 600  # seconds


def _unauthorized():
    resp, status = _error(401, "unauthorized", "missing or wrong bearer token")
    resp.headers["WWW-Authenticate"] = "Bearer"
    return resp, status


def _too_many(seconds: int):
    resp, status = _error(429, "too_many_requests", "slow down")
    resp.headers["Retry-After"] = str(seconds)
    return resp, status


@bp.before_request
def _auth():
    if request.endpoint == "admin_api.bootstrap":
        return None
    header = request.headers.get("Authorization") or ""
    raw = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
    cfg = current_app.config["CPOINT"]
    limit, window = parse_rate(cfg.operators.api_rate_limit)
    now = oa.now()
    ip_key = f"api-bad-token:{request.remote_addr or '?'}"
    with oa.services().db.transaction() as s:
        if ops.counter_value(s, ip_key, BAD_TOKEN_WINDOW, now) >= BAD_TOKENS_PER_ADDRESS:
            return _too_many(ops.retry_after(s, ip_key, BAD_TOKEN_WINDOW, now))
        found = ops.token_operator(s, raw)
        if found is None:
            ops.count(s, ip_key, BAD_TOKEN_WINDOW, now)
            return _unauthorized()
        op, token = found
        key = f"api-token:{token.id}"
        if ops.count(s, key, int(window), now) > limit:
            return _too_many(ops.retry_after(s, key, int(window), now))
        token.last_used_at = now
        s.expunge(op)
    g.cpoint_operator = op
    return None


@bp.post("/admin/api/bootstrap")
def bootstrap():
    cfg = current_app.config["CPOINT"]
    if not bearer_ok(cfg.admin_token, request.headers.get("Authorization")):
        return _unauthorized()
    body = request.get_json(silent=True) or {}
    services = oa.services()
    with services.db.transaction() as s:
        if s.scalar(select(func.count()).select_from(Operator)):
            return _error(409, "conflict", "operators exist; ADMIN_TOKEN no longer creates any")
        try:
            op = ops.add_operator(s, oa.now(), str(body.get("name", "")), "admin", [], str(body.get("password", "")))
        except ops.OperatorError as exc:
            return _error(400, "bad_request", str(exc))
        secret = ops.enrol_totp(op, services.cipher)
        oa.record(s, "operator.bootstrap", subject=op.name, op=op)
        uri = ops.totp_uri(op.name, secret)
    return jsonify(name=op.name, role="admin", totp_secret=secret, totp_uri=uri), 201


@bp.get("/admin/api/statements")
def statements():
    key = (request.args.get("bot_user_key") or "").strip()
    member_no = (request.args.get("member_no") or "").strip()
    half_text = request.args.get("half") or ""
    if bool(key) == bool(member_no):
        return _error(400, "bad_request", "give bot_user_key or member_no (one of them)")
    try:
        half = Half.parse(half_text)
    except ValueError as exc:
        return _error(400, "bad_request", str(exc))
    scope = oa.current_scope()
    if not scope.personal_data:
        return _error(403, "forbidden", "read-only accounts cannot read members")
    db = current_app.extensions["cpoint"].db
    with db.transaction() as s:
        try:
            member = ov.find_member(s, scope, bot_user_key=key or None, member_no=member_no or None)
        except ov.OutOfScope:
            oa.record(s, "statement.view_refused", subject="key" if key else "member_no",
                      detail={"half": str(half), "via": "api"})
            return _error(404, "not_found", f"no member with this {'bot_user_key' if key else 'member_no'}")
        view = statement_view(s, member.id, half)
        oa.record(s, "statement.view", subject=f"member:{member.id}",
                  detail={"half": str(half), "via": "api", "local_government_code": member.local_government_code})
    if view is None:
        return _error(404, "not_found", f"{half} is not settled for this member")
    return jsonify(view)


@bp.get("/admin/api/exports/statements")
def export_statements():
    from webhooks.routes.operator_pages import export_response

    return export_response(request.args.get("half", ""), "api")


@bp.get("/admin/api/import-runs")
def import_runs():
    if not oa.current_scope().national:
        return _error(403, "forbidden", "import runs are national work")
    try:
        limit = max(1, min(200, int(request.args.get("limit", 20))))
    except ValueError:
        return _error(400, "bad_request", "limit must be a number")
    db = current_app.extensions["cpoint"].db
    with db.session() as s:
        runs = s.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)).all()
        out = [{"id": r.id, "kind": r.kind, "file_name": r.file_name, "sha256": r.sha256,
                "status": r.status, "rows_total": r.rows_total, "rows_rejected": r.rows_rejected,
                "rows_inserted": r.rows_inserted, "rows_changed": r.rows_changed,
                "rows_unchanged": r.rows_unchanged,
                "started_at": r.started_at.isoformat() + "Z",
                "finished_at": r.finished_at.isoformat() + "Z" if r.finished_at else None}
               for r in runs]
    return jsonify(import_runs=out)
