"""Helpers for tests of operator accounts: make one, log in to the dashboard, issue a token."""
from __future__ import annotations

import re

from core import operators as ops
from core.clock import utcnow_naive

PASSWORD = "correct horse battery"


def make_operator(db, cipher, clock, name="admin", role="admin", codes=(), password=PASSWORD) -> str | None:
    """Create an operator; returns its TOTP secret (admins are always enrolled)."""
    with db.transaction() as s:
        op = ops.add_operator(s, utcnow_naive(clock), name, role, list(codes), password)
        return ops.enrol_totp(op, cipher) if role == "admin" else None


def code_for(secret: str, clock, offset: int = 0) -> str:
    return ops.totp_code(secret, ops.totp_step(clock.now()) + offset)


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, name, password=PASSWORD, code=""):
    page = client.get("/admin/login")
    return client.post("/admin/login", data={"name": name, "password": password, "code": code,
                                             "csrf_token": csrf(page.get_data(as_text=True))})


def token_for(db, clock, name) -> str:
    with db.transaction() as s:
        return ops.issue_token(s, ops.by_name(s, name), utcnow_naive(clock))
