"""GET /metrics: Prometheus text format (skill turns, dialogs, outbox, pushes).

On unless METRICS_ENABLED=false; when METRICS_TOKEN is set the scraper must send
`Authorization: Bearer <METRICS_TOKEN>`."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, current_app, request

from bot.metrics import CONTENT_TYPE, BotMetrics, multiprocess_dir_from_env
from webhooks.auth import bearer_ok

bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    services = app.extensions["cpoint"]
    metrics = BotMetrics(services.db, clock=services.clock, multiprocess_dir=multiprocess_dir_from_env())
    metrics.observe(app.extensions["cpoint_bot"])
    app.extensions["cpoint_metrics"] = metrics


def metrics_of(app: Flask) -> BotMetrics:
    return app.extensions["cpoint_metrics"]


@bp.get("/metrics")
def metrics():
    cfg = current_app.config["CPOINT"]
    if not cfg.metrics_enabled:
        abort(404)
    if cfg.metrics_token and not bearer_ok(cfg.metrics_token, request.headers.get("Authorization")):
        resp = Response("unauthorized\n", status=401, mimetype="text/plain")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return resp
    body = metrics_of(current_app).exposition()
    resp = Response(body, status=200)
    resp.headers["Content-Type"] = CONTENT_TYPE
    resp.headers["Cache-Control"] = "no-store"
    return resp
