"""Who the operator of a request is, what they may see, and the audit line of what they do.

The dashboard keeps a random session id in its signed cookie; the session itself lives in the
database (core.operators), so logout and disabling an operator take effect on the next request
of every process. The admin API takes a per-operator bearer token."""
from __future__ import annotations

from flask import current_app, g, session

from core import audit, operators
from core.clock import utcnow_naive
from core.models.operators import Operator

SESSION_KEY = "cpoint_sid"


def services():
    return current_app.extensions["cpoint"]


def now():
    return utcnow_naive(services().clock)


def audit_key() -> bytes:
    key = current_app.extensions.get("cpoint_audit_key")
    if key is None:
        key = current_app.extensions["cpoint_audit_key"] = audit.audit_key(services().cipher)
    return key


def current_operator() -> Operator | None:
    """The dashboard operator of this request (looked up once per request)."""
    if "cpoint_operator" in g:
        return g.cpoint_operator
    op = None
    raw = session.get(SESSION_KEY)
    if isinstance(raw, str):
        with services().db.session() as s:
            op = operators.session_operator(s, raw, now())
            if op is not None:
                s.expunge(op)
    g.cpoint_operator = op
    return op


def current_scope() -> operators.Scope:
    op = g.get("cpoint_operator")
    if op is None:
        raise RuntimeError("no operator in this request")
    return operators.scope_of(op)


def record(s, action: str, *, subject: str | None = None, detail: dict | None = None, op: Operator | None = None,
           scope: operators.Scope | None = None) -> None:
    """Append an audit entry in the session's transaction."""
    op = op or g.get("cpoint_operator")
    scope = scope or (operators.scope_of(op) if op is not None else None)
    audit.record(s, audit_key(), now(), op.name if op is not None else "anonymous", action, subject=subject,
                 scope=scope.label() if scope is not None else None, detail=detail)
