"""Read API for operators (bearer ADMIN_TOKEN):

- ``GET /admin/api/statements?bot_user_key=KEY&half=2026H1``: the member's statement of a half
  as JSON (core.statements.statement_view): per resource baseline, actual, rate, band, points,
  reason; totals in points and won; payout month and status. 404 when the member or the
  statement does not exist; 400 for a malformed half; 401 without the token.
- ``GET /admin/api/import-runs?limit=20``: the latest operator imports (for the dashboard).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from core.models import ImportRun, Member
from core.points.periods import Half
from core.statements import statement_view
from webhooks.auth import bearer_ok

bp = Blueprint("admin_api", __name__)


def _error(status: int, code: str, message: str):
    return jsonify(error=code, message=message), status


@bp.before_request
def _auth():
    cfg = current_app.config["CPOINT"]
    if not bearer_ok(cfg.admin_token, request.headers.get("Authorization")):
        resp, status = _error(401, "unauthorized", "missing or wrong bearer token")
        resp.headers["WWW-Authenticate"] = "Bearer"
        return resp, status
    return None


@bp.get("/admin/api/statements")
def statements():
    key = (request.args.get("bot_user_key") or "").strip()
    half_text = request.args.get("half") or ""
    if not key:
        return _error(400, "bad_request", "bot_user_key is required")
    try:
        half = Half.parse(half_text)
    except ValueError as exc:
        return _error(400, "bad_request", str(exc))
    db = current_app.extensions["cpoint"].db
    with db.session() as s:
        member_id = s.scalar(select(Member.id).where(Member.bot_user_key == key))
        if member_id is None:
            return _error(404, "not_found", "no member with this bot_user_key")
        view = statement_view(s, member_id, half)
    if view is None:
        return _error(404, "not_found", f"{half} is not settled for this member")
    return jsonify(view)


@bp.get("/admin/api/import-runs")
def import_runs():
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
