"""The audit trail: who viewed or exported whose personal data, and every change an operator
made. Append-only and tamper-evident.

Each entry carries a sequence number and ``hash = HMAC(key, prev_hash | seq | at | operator |
action | subject | scope | detail)``, where ``prev_hash`` is the previous entry's hash (64
zeros for the first). Editing a row breaks its own hash; deleting one breaks the sequence and
the next entry's ``prev_hash``; rewriting the chain needs the key, which is derived from
FIELD_HASH_KEY and not stored in the database.

Retention: ``purge(before)`` deletes the entries older than a cut-off and appends an
``audit.purge`` anchor recording the last deleted sequence number and hash, so the remaining
chain still verifies from its first entry.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from core.models.operators import AuditEntry

GENESIS = "0" * 64
_LOCK_ID = 418_0001  # PostgreSQL advisory lock serialising appends


def audit_key(cipher) -> bytes:
    """The chain's HMAC key, derived from FIELD_HASH_KEY (never stored with the entries)."""
    return cipher.keyed_hash("audit-chain", purpose="audit_key").encode()


def _digest(key: bytes, prev_hash: str, seq: int, at: datetime, operator: str, action: str,
            subject: str | None, scope: str | None, detail: dict) -> str:
    body = json.dumps([prev_hash, seq, at.isoformat(timespec="seconds"), operator, action, subject, scope,
                       detail], ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def record(session: Session, key: bytes, now: datetime, operator: str, action: str, *,
           subject: str | None = None, scope: str | None = None, detail: dict | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (a change and its entry commit together)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = now.replace(microsecond=0, tzinfo=None)
    detail = json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))
    entry = AuditEntry(seq=seq, at=at, operator=operator[:80], action=action[:48],
                       subject=subject[:120] if subject else None, scope=scope[:200] if scope else None,
                       detail=detail, prev_hash=prev)
    entry.hash = _digest(key, prev, seq, at, entry.operator, entry.action, entry.subject, entry.scope, detail)
    session.add(entry)
    session.flush()
    return entry


@dataclass
class Verification:
    checked: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, key: bytes, chunk: int = 5000) -> Verification:
    """Walk the chain in sequence order; every broken link is reported by sequence number."""
    problems: list[str] = []
    anchors = {e.detail.get("through_seq"): e.detail.get("anchor_hash") for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action == "audit.purge"))}
    prev_seq: int | None = None
    prev_hash: str | None = None
    checked = 0
    after = 0
    while True:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.seq > after)
                                    .order_by(AuditEntry.seq).limit(chunk)))
        if not rows:
            break
        for e in rows:
            if prev_seq is None:
                expected = GENESIS if e.seq == 1 else anchors.get(e.seq - 1)
                if expected is None:
                    problems.append(f"#{e.seq}: the chain starts here without a purge anchor (entries before it are missing)")
                elif e.prev_hash != expected:
                    problems.append(f"#{e.seq}: does not follow the purged entries' anchor")
            else:
                if e.seq != prev_seq + 1:
                    problems.append(f"#{prev_seq + 1}..#{e.seq - 1}: missing (deleted)")
                if e.prev_hash != prev_hash:
                    problems.append(f"#{e.seq}: previous hash does not match the entry before it")
            if _digest(key, e.prev_hash, e.seq, e.at, e.operator, e.action, e.subject, e.scope, e.detail or {}) != e.hash:
                problems.append(f"#{e.seq}: content changed after it was written")
            prev_seq, prev_hash = e.seq, e.hash
            checked += 1
        after = rows[-1].seq
    return Verification(checked, problems)


def entries(session: Session, *, since: datetime | None = None, operator: str | None = None,
            action: str | None = None, limit: int = 1000) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.seq)
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if operator:
        q = q.where(AuditEntry.operator == operator)
    if action:
        q = q.where(AuditEntry.action == action)
    return list(session.scalars(q.limit(limit)))


def as_dict(e: AuditEntry) -> dict:
    return {"seq": e.seq, "at": e.at.isoformat() + "Z", "operator": e.operator, "action": e.action,
            "subject": e.subject, "scope": e.scope, "detail": e.detail, "hash": e.hash}


def purge(session: Session, key: bytes, now: datetime, before: datetime, operator: str = "system") -> int:
    """Delete entries older than ``before`` and anchor the rest; returns how many went."""
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.at < before)
                           .order_by(AuditEntry.seq.desc()).limit(1)).first()
    if last is None:
        return 0
    through, anchor = last
    n = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.seq <= through)) or 0
    # The anchor goes in first, chained to the current head, then the old entries leave.
    record(session, key, now, operator, "audit.purge", subject=None, scope="all",
           detail={"through_seq": through, "anchor_hash": anchor, "deleted": int(n),
                   "before": before.isoformat(timespec="seconds")})
    session.execute(delete(AuditEntry).where(AuditEntry.seq <= through))
    session.flush()
    return int(n)
