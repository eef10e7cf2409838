"""GET /healthz: the process is up and the database answers."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

bp = Blueprint("health", __name__)
log = logging.getLogger("cpoint.http")


@bp.get("/healthz")
def healthz():
    db = current_app.extensions["cpoint"].db
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # report, don't crash: the load balancer reads the status
        log.error("health check failed: %s", type(exc).__name__)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database=db.engine.dialect.name)
