"""Operator accounts: roles and scopes, passwords (scrypt), TOTP (RFC 6238), server-side
sessions, API tokens, and the throttle that counts in the database.

Framework-free; each function works in the caller's transaction. Roles:

- ``admin``: national; every 시군구, and members without one. Must use TOTP.
- ``lg_operator``: the 시군구 in ``local_government_codes``: their members' data, exports and
  campaigns.
- ``readonly``: aggregates of their 시군구 (all when the list is empty and granted so); no
  personal data, no exports, no changes.

Login throttle (shared by every web process, and keyed by account, so a proxy in front does
not hide it): each wrong password or code adds one to the account's failure count; from
``LOCK_AFTER`` failures on the account is locked for ``LOCK_BASE`` seconds, doubling with
each further failure up to ``LOCK_MAX``, then a correct password and code work again and reset
the count. Independently each client address may fail ``IP_FAILURES`` times per
``IP_WINDOW``; that blocks the address, never the account, so a guesser elsewhere cannot keep
the rightful operator out for longer than ``LOCK_MAX``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.models.operators import AuthCounter, Operator, OperatorSession, OperatorToken

ROLES = ("admin", "lg_operator", "readonly")
LOCK_AFTER = 5
LOCK_BASE = 30            # seconds
LOCK_MAX = 15 * 60        # seconds
IP_FAILURES = 30
IP_WINDOW = 10 * 60       # seconds
TOTP_STEP = 30
TOTP_DIGITS = 6
TOKEN_PREFIX = "cpo_"


class OperatorError(ValueError):
    """A refused operator change (the message says why, in English, for the CLI)."""


# --- scope ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """What an operator may see: ``codes`` None means every 시군구 (national)."""

    codes: frozenset[str] | None
    personal_data: bool = True
    may_change: bool = True

    @property
    def national(self) -> bool:
        return self.codes is None

    def allows(self, code: str | None) -> bool:
        return self.codes is None or (code is not None and code in self.codes)

    def label(self) -> str:
        return "all" if self.codes is None else ",".join(sorted(self.codes))

    def where(self, column):
        """A WHERE clause limiting ``column`` (a 시군구 code) to this scope, or None."""
        if self.codes is None:
            return None
        return column.in_(sorted(self.codes))


NATIONAL = Scope(None)


def scope_of(op: Operator) -> Scope:
    codes = frozenset(op.local_government_codes or ())
    if op.role == "admin":
        return NATIONAL
    if op.role == "readonly":
        return Scope(codes, personal_data=False, may_change=False)
    return Scope(codes)


# --- passwords ------------------------------------------------------------------------------

_N, _R, _P = 2 ** 14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(stored: str | None, password: str) -> bool:
    if not stored or not password:
        return False
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def password_problem(password: str) -> str | None:
    if len(password) < 12:
        return "a password needs at least 12 characters"
    return None


# --- TOTP (RFC 6238, SHA-1, 6 digits, 30 s) --------------------------------------------------

def new_totp_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def totp_code(secret: str, step: int) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_step(at: datetime) -> int:

    when = at if at.tzinfo else at.replace(tzinfo=UTC)
    return int(when.timestamp()) // TOTP_STEP


def totp_match(secret: str, code: str, at: datetime, *, after_step: int | None = None) -> int | None:
    """The step a code belongs to (one step of clock drift either way), or None. A step not
    after ``after_step`` is refused: a code works once."""
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != TOTP_DIGITS:
        return None
    now = totp_step(at)
    for step in (now, now - 1, now + 1):
        if (after_step is None or step > after_step) and hmac.compare_digest(totp_code(secret, step), code):
            return step
    return None


def totp_uri(name: str, secret: str, issuer: str = "cpoint-bot") -> str:
    return f"otpauth://totp/{quote(issuer)}:{quote(name)}?secret={secret}&issuer={quote(issuer)}&digits={TOTP_DIGITS}&period={TOTP_STEP}"


# --- accounts -------------------------------------------------------------------------------

def by_name(session: Session, name: str) -> Operator | None:
    return session.scalar(select(Operator).where(Operator.name == name))


def add_operator(session: Session, now: datetime, name: str, role: str, codes: list[str],
                 password: str, known_codes: set[str] | None = None) -> Operator:
    name = name.strip()
    if not name or len(name) > 64:
        raise OperatorError("a name of 1 to 64 characters is needed")
    if role not in ROLES:
        raise OperatorError(f"role must be one of {', '.join(ROLES)}")
    codes = sorted({c.strip() for c in codes if c.strip()})
    if role == "lg_operator" and not codes:
        raise OperatorError("a local government operator needs at least one --lg CODE")
    if role == "admin" and codes:
        raise OperatorError("an admin is national: give no --lg")
    if known_codes is not None and (unknown := [c for c in codes if c not in known_codes]):
        raise OperatorError(f"unknown local government code(s): {', '.join(unknown)}")
    problem = password_problem(password)
    if problem:
        raise OperatorError(problem)
    if by_name(session, name) is not None:
        raise OperatorError(f"an operator named {name!r} exists")
    op = Operator(name=name, role=role, local_government_codes=codes, password_hash=hash_password(password),
                  active=True, failed_logins=0, created_at=now)
    session.add(op)
    session.flush()
    return op


def set_password(op: Operator, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise OperatorError(problem)
    op.password_hash = hash_password(password)
    op.failed_logins, op.locked_until = 0, None


def disable_operator(session: Session, now: datetime, op: Operator) -> None:
    """At once: every session and API token of the operator stops working."""
    op.active = False
    op.disabled_at = now
    session.execute(update(OperatorSession).where(OperatorSession.operator_id == op.id,
                                                  OperatorSession.revoked_at.is_(None)).values(revoked_at=now))
    session.execute(update(OperatorToken).where(OperatorToken.operator_id == op.id,
                                                OperatorToken.revoked_at.is_(None)).values(revoked_at=now))
    session.flush()


def enrol_totp(op: Operator, cipher) -> str:
    """A new TOTP secret (returned once, to show as a QR/URI); stored encrypted."""
    secret = new_totp_secret()
    op.totp_secret_enc = cipher.encrypt(secret)
    op.last_totp_step = None
    return secret


def needs_totp(op: Operator) -> bool:
    return op.role == "admin" or op.totp_secret_enc is not None


# --- login ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoginResult:
    operator: Operator | None
    outcome: str  # ok | wrong | locked | ip_blocked | totp_not_enrolled | disabled
    retry_after: int = 0


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def login(session: Session, cipher, now: datetime, name: str, password: str, code: str,
          address: str) -> LoginResult:
    """Check a login and count a failure, in the caller's transaction (commit it either way)."""
    ip_key = f"login-ip:{address}"
    if counter_value(session, ip_key, IP_WINDOW, now) >= IP_FAILURES:
        return LoginResult(None, "ip_blocked", IP_WINDOW)
    op = session.scalar(select(Operator).where(Operator.name == (name or "").strip()).with_for_update())
    if op is not None and op.locked_until is not None and op.locked_until > now:
        count(session, ip_key, IP_WINDOW, now)
        return LoginResult(None, "locked", int((op.locked_until - now).total_seconds()) + 1)
    ok = check_password(op.password_hash if op is not None else _DUMMY, password)
    step = None
    if ok and op is not None and needs_totp(op):
        if op.totp_secret_enc is None:
            return LoginResult(None, "totp_not_enrolled")
        # A missing code counts like a wrong one: the answer never says the password was right.
        step = totp_match(cipher.decrypt(op.totp_secret_enc), code, now, after_step=op.last_totp_step)
        ok = step is not None
    if op is None or not ok:
        count(session, ip_key, IP_WINDOW, now)
        if op is not None:
            op.failed_logins = (op.failed_logins or 0) + 1
            if op.failed_logins >= LOCK_AFTER:
                wait = min(LOCK_MAX, LOCK_BASE * 2 ** (op.failed_logins - LOCK_AFTER))
                op.locked_until = now + timedelta(seconds=wait)
        return LoginResult(None, "wrong")
    if not op.active:
        return LoginResult(None, "disabled")
    op.failed_logins, op.locked_until = 0, None
    if step is not None:
        op.last_totp_step = step
    return LoginResult(op, "ok")


_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="  # same work for unknown names


def open_session(session: Session, op: Operator, now: datetime, hours: float) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(OperatorSession(token_hash=_sha(raw), operator_id=op.id, created_at=now,
                                expires_at=now + timedelta(hours=hours)))
    session.flush()
    return raw


def session_operator(session: Session, raw: str | None, now: datetime) -> Operator | None:
    """The operator of a live session (not revoked, not expired, operator active)."""
    if not raw:
        return None
    row = session.execute(
        select(OperatorSession, Operator).join(Operator, Operator.id == OperatorSession.operator_id)
        .where(OperatorSession.token_hash == _sha(raw))).first()
    if row is None:
        return None
    s, op = row
    if s.revoked_at is not None or s.expires_at <= now or not op.active:
        return None
    return op


def close_session(session: Session, raw: str | None, now: datetime) -> None:
    if raw:
        session.execute(update(OperatorSession).where(OperatorSession.token_hash == _sha(raw),
                                                      OperatorSession.revoked_at.is_(None)).values(revoked_at=now))


# --- API tokens -----------------------------------------------------------------------------

def issue_token(session: Session, op: Operator, now: datetime, label: str | None = None) -> str:
    if not op.active:
        raise OperatorError(f"{op.name} is disabled")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(OperatorToken(token_hash=_sha(raw), operator_id=op.id, label=label, created_at=now))
    session.flush()
    return raw


def token_operator(session: Session, raw: str | None) -> tuple[Operator, OperatorToken] | None:
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(
        select(Operator, OperatorToken).join(OperatorToken, OperatorToken.operator_id == Operator.id)
        .where(OperatorToken.token_hash == _sha(raw))).first()
    if row is None:
        return None
    op, tok = row
    if tok.revoked_at is not None or not op.active:
        return None
    return op, tok


# --- counters shared by every process ---------------------------------------------------------

def _row(session: Session, key: str, window: int, now: datetime) -> AuthCounter:
    row = session.get(AuthCounter, key, with_for_update=True)
    if row is None:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(AuthCounter).values(key=key, window_start=now, count=0)
                        .on_conflict_do_nothing(index_elements=["key"]))
        row = session.get(AuthCounter, key, with_for_update=True, populate_existing=True)
    assert row is not None
    if row.window_start + timedelta(seconds=window) <= now:
        row.window_start, row.count = now, 0
    return row


def counter_value(session: Session, key: str, window: int, now: datetime) -> int:
    row = session.get(AuthCounter, key)
    if row is None or row.window_start + timedelta(seconds=window) <= now:
        return 0
    return row.count


def count(session: Session, key: str, window: int, now: datetime) -> int:
    """Add one to the key's counter of the current window; returns the new value."""
    row = _row(session, key, window, now)
    row.count += 1
    session.flush()
    return row.count


def retry_after(session: Session, key: str, window: int, now: datetime) -> int:
    row = session.get(AuthCounter, key)
    if row is None:
        return 0
    return max(1, int((row.window_start + timedelta(seconds=window) - now).total_seconds()))
