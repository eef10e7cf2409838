"""GET /healthz: the process is up and the database answers and can take writes."""
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
        # Deferred: reading takes no write lock on SQLite (write_problem checks writability).
        with db.connect(deferred=True) as conn:
            conn.execute(text("SELECT 1"))
            problem = db.write_problem(conn)
    except Exception as exc:  # report, don't crash: the load balancer reads the status
        log.error("health check failed: %s", type(exc).__name__)
        return jsonify(status="error", database="unreachable"), 503
    if problem is not None:  # citizens' answers would fail: take this process out of rotation
        log.error("health check failed: database read-only: %s", problem)
        return jsonify(status="error", database="read_only", reason=problem), 503
    return jsonify(status="ok", database=db.engine.dialect.name)
