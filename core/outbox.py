"""The notification outbox: writing notifications, claiming batches, every state transition.

A notification (core.models.outbox.Notification) moves through:

    pending --claim--> in_flight --answer--> sent        Kakao accepted the batch (taskId kept)
       ^                   |                 pending     retryable failure, not_before = backoff
       |                   |                 dead        refused, or out of attempts (reason kept)
       |                   +--sender died--> uncertain   posted, answer never recorded (policy)
       +--skip------------------------------ skipped     blocked, withdrawn, opted out, ...

Exactly once: the claim (pending -> in_flight, with the sender id and a batch id), the POST and
the record of its answer are separate short steps, each of the two writes its own transaction.
Claims lock rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (several senders side
by side) and take SQLite's write lock at BEGIN (core/db.py), so a pending row is claimed by one
sender only. A sender posts one batch at a time, so at most one batch per sender can be caught
between claim and record when it dies; that batch is found by `recover_orphans` and becomes
`uncertain` (policy ``skip``: reported, not sent again) or goes back to pending (``resend``).

Knows nothing of Kakao: recipients are ``bot_user_key`` / ``app_user_id`` here; the push client
maps them to the Event API's user types.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from functools import cache, lru_cache

from sqlalchemy import DateTime, and_, bindparam, delete, func, literal_column, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnClause

from core.clock import KST
from core.db import Database, sqlite_time
from core.models.dialogs import DialogState
from core.models.members import Member
from core.models.outbox import Notification
from core.models.push import EventBatch, PushSender
from core.pii import log_safe_token
from core.sqla import rowcount, table_of

KINDS = ("monthly_result", "payout_notice", "payout_reminder", "campaign", "reminder", "greenlife_digest")
# Opt-in, by its own switch (core.push_preferences.set_digest), not a topic.
DIGEST_KIND = "greenlife_digest"
# Advertising (정보통신망법 §50): consent needed, never in quiet hours, labelled (광고).
AD_KINDS = frozenset({"campaign"})
UNCERTAIN_POLICIES = ("skip", "resend")
# Written but not yet released by the push budget (core.push_budget.apply_budget(staged=True)):
# no sender claims it, so nothing goes out before the caps were applied to its whole group.
STAGED = "staged"

# Why a notification was not sent (Notification.last_error of `skipped` rows).
SKIP_WITHDRAWN = "withdrawn"
SKIP_BLOCKED = "blocked"
SKIP_NOT_FRIEND = "not_friend"
SKIP_NO_USER_KEY = "no_user_key"
SKIP_OPTED_OUT = "opted_out"
SKIP_NO_CONSENT = "no_marketing_consent"
SKIP_TOPIC_OFF = "topic_off"  # the member turned the topic off (core.push_preferences)

# Topics a member may turn off in the chat, and the kinds each covers. Payout notices and
# held-payment warnings (payout_reminder) are critical: no switch turns them off.
TOPIC_KINDS: dict[str, tuple[str, ...]] = {
    "monthly": ("monthly_result",),
    "campaign": ("campaign",),
    "reminders": ("reminder",),
}
CRITICAL_KINDS = frozenset({"payout_notice", "payout_reminder"})


def dedupe_key(kind: str, member_id: int, period: str) -> str:
    """member + kind + period: the same fact is never told twice."""
    return f"{kind}:{member_id}:{period}"


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


# -- quiet hours ------------------------------------------------------------------------------

_HHMM = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


@dataclass(frozen=True)
class QuietHours:
    """Hours (KST) in which advertising is never sent: 21:00-08:00 by law (§50 ③). Sends stop
    `margin` before the start (Kakao's brand messages stop at 20:50) and resume at the end."""

    start: time
    end: time
    margin: timedelta = timedelta(0)

    @classmethod
    def parse(cls, text: str, margin_minutes: int = 0) -> QuietHours:
        m = _HHMM.match(text or "")
        if not m:
            raise ValueError(f"quiet hours must look like 21:00-08:00, got {text!r}")
        if not 0 <= margin_minutes < 24 * 60:
            raise ValueError(f"quiet hours margin must be 0-1439 minutes, got {margin_minutes}")
        start, end = time(int(m.group(1)), int(m.group(2))), time(int(m.group(3)), int(m.group(4)))
        if start == end:
            raise ValueError(f"quiet hours start and end are equal: {text!r}")
        return cls(start, end, timedelta(minutes=margin_minutes))

    def _bounds(self) -> tuple[int, int]:
        start = (self.start.hour * 3600 + self.start.minute * 60 - int(self.margin.total_seconds())) % 86400
        return start, self.end.hour * 3600 + self.end.minute * 60

    def contains(self, at: datetime) -> bool:
        local = _aware(at).astimezone(KST)
        s = local.hour * 3600 + local.minute * 60 + local.second
        start, end = self._bounds()
        if start < end:
            return start <= s < end
        return s >= start or s < end

    def reopens_at(self, at: datetime) -> datetime:
        """The next end of the quiet hours at or after `at` (aware, KST)."""
        local = _aware(at).astimezone(KST)
        candidate = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate

    def hold_until(self, at: datetime) -> datetime | None:
        """Naive UTC `not_before` for advertising created or claimed at `at`, or None."""
        return _naive_utc(self.reopens_at(at)) if self.contains(at) else None

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


# -- who may receive what -------------------------------------------------------------------

def skip_reason(kind: str, *, status: str | None, blocked_at, is_friend: bool | None,
                bot_user_key: str | None, app_user_id: str | None,
                campaign_opt_out: bool | None, marketing_opt_in: bool | None,
                monthly_off: bool | None = False, reminders_off: bool | None = False) -> str | None:
    """Why this member must not get a notification of `kind` now, or None. Critical kinds
    (payout notices, held-payment warnings) ignore the member's topic switches."""
    if status != "active":
        return SKIP_WITHDRAWN
    if blocked_at is not None:
        return SKIP_BLOCKED
    if is_friend is False:
        return SKIP_NOT_FRIEND
    if not (bot_user_key or app_user_id):
        return SKIP_NO_USER_KEY
    if kind in AD_KINDS:
        if campaign_opt_out:
            return SKIP_OPTED_OUT
        if not marketing_opt_in:
            return SKIP_NO_CONSENT
    if kind == "monthly_result" and monthly_off:
        return SKIP_TOPIC_OFF
    if kind == "reminder" and reminders_off:
        return SKIP_TOPIC_OFF
    return None


def recipient_of(bot_user_key: str | None, app_user_id: str | None) -> tuple[str, str] | None:
    """The id the Event API reaches the member by: the botUserKey when we have it (bot-scoped,
    what the chat gave us), else the appUserId."""
    if bot_user_key:
        return "bot_user_key", bot_user_key
    if app_user_id:
        return "app_user_id", app_user_id
    return None


# -- writing notifications ------------------------------------------------------------------

def _insert(session: Session) -> postgresql.Insert | sqlite.Insert:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table_of(Notification))
    if name == "sqlite":
        return sqlite.insert(table_of(Notification))
    raise RuntimeError(f"unsupported database {name}")  # pragma: no cover - SQLite and PostgreSQL only


def enqueue_many(session: Session, rows: Sequence[dict], *, now: datetime) -> int:
    """Insert notifications; rows whose dedupe_key exists already are left as they are.

    Each row: member_id, kind, period, payload, optional dedupe_key, not_before, state,
    last_error. Returns how many rows were new (within the caller's transaction)."""
    if not rows:
        return 0
    now = _naive_utc(now)
    values = []
    for r in rows:
        if r["kind"] not in KINDS:
            raise ValueError(f"unknown notification kind {r['kind']!r}")
        values.append({
            "member_id": r["member_id"], "kind": r["kind"], "period": r["period"],
            "dedupe_key": r.get("dedupe_key") or dedupe_key(r["kind"], r["member_id"], r["period"]),
            "payload": r.get("payload") or {}, "state": r.get("state", "pending"), "attempts": 0,
            "not_before": r.get("not_before"), "last_error": r.get("last_error"), "created_at": now,
        })
    keys = [v["dedupe_key"] for v in values]
    before = session.execute(select(func.count()).where(Notification.dedupe_key.in_(keys))).scalar_one()
    stmt = _insert(session).on_conflict_do_nothing(index_elements=["dedupe_key"])
    session.execute(stmt, values)
    after = session.execute(select(func.count()).where(Notification.dedupe_key.in_(keys))).scalar_one()
    return after - before


def enqueue(session: Session, *, member_id: int, kind: str, period: str, payload: dict | None,
            now: datetime, not_before: datetime | None = None, key: str | None = None) -> bool:
    """One notification, exactly once per dedupe key (default member + kind + period)."""
    return enqueue_many(session, [{"member_id": member_id, "kind": kind, "period": period,
                                   "payload": payload or {}, "dedupe_key": key,
                                   "not_before": not_before}], now=now) == 1


# -- senders --------------------------------------------------------------------------------

def pid_alive(pid: int) -> bool:
    """Is process `pid` running on this host (a zombie counts as dead)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def register_sender(db: Database, sender_id: str, *, host: str, pid: int, now: datetime,
                    keep: timedelta = timedelta(days=7)) -> None:
    now = _naive_utc(now)
    with db.transaction() as s:
        s.add(PushSender(id=sender_id, host=host, pid=pid, started_at=now, heartbeat_at=now))
        # Forget senders long gone that left nothing in flight.
        busy = select(EventBatch.sender_id).where(EventBatch.state == "in_flight")
        s.execute(delete(PushSender).where(PushSender.heartbeat_at < now - keep,
                                           PushSender.id.not_in(busy)))


def stop_sender(db: Database, sender_id: str, *, now: datetime) -> None:
    with db.transaction() as s:
        s.execute(update(PushSender).where(PushSender.id == sender_id)
                  .values(stopped_at=_naive_utc(now), heartbeat_at=_naive_utc(now)))


# -- claiming -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClaimedItem:
    notification_id: int
    member_id: int
    recipient_type: str  # bot_user_key | app_user_id
    recipient_id: str
    attempts: int  # POSTs including this one


@dataclass
class Batch:
    id: str
    kind: str
    period: str
    bot_id: str
    items: list[ClaimedItem]
    lang: str | None = None  # the chat language of its users (None: the default, Korean)

    @property
    def size(self) -> int:
        return len(self.items)


@dataclass
class ClaimResult:
    batch: Batch | None
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    held: int = 0  # advertising moved past the quiet hours
    more: bool = False  # the batch's group has more due rows than the batch took

    @property
    def progressed(self) -> bool:
        return self.batch is not None or bool(self.skipped) or bool(self.held)


# A literal, not a bound parameter: the planners then use the partial indexes on pending rows.
_PENDING: ColumnClause[str] = literal_column("'pending'")


def _due(now: datetime):
    N = Notification
    return and_(N.state == _PENDING, or_(N.not_before.is_(None), N.not_before <= now))


def hold_advertising(session: Session, quiet: QuietHours | None, now: datetime) -> int:
    """Inside the quiet hours, move pending advertising to the hour they end."""
    until = quiet.hold_until(_aware(now)) if quiet is not None else None
    if until is None:
        return 0
    N = Notification
    return rowcount(session.execute(
        update(N).where(N.state == "pending", N.kind.in_(AD_KINDS),
                        or_(N.not_before.is_(None), N.not_before < until))
        .values(not_before=until).execution_options(synchronize_session=False)
    )) or 0


def hold_quiet(db: Database, quiet: QuietHours | None, *, now: datetime) -> int:
    """`hold_advertising` in its own transaction."""
    if quiet is None or not quiet.contains(_aware(now)):
        return 0
    with db.transaction() as s:
        return hold_advertising(s, quiet, _naive_utc(now))


def peek_due(db: Database, *, now: datetime, limit: int, quiet: QuietHours | None = None,
             kinds: Iterable[str] | None = None) -> int:
    """How many notifications are due now (at most `limit`): what the next claim may take."""
    now = _naive_utc(now)
    N = Notification
    q = select(N.id).where(_due(now))
    if quiet is not None and quiet.contains(_aware(now)):
        q = q.where(N.kind.not_in(AD_KINDS))
    if kinds:
        q = q.where(N.kind.in_(list(kinds)))
    with db.transaction(deferred=True) as s:
        return s.execute(select(func.count()).select_from(q.limit(limit).subquery())).scalar_one()


def _head_query(dialect: str, quiet_now: bool, kinds: list[str] | None, now: datetime, default_bot: str):
    """The oldest due notification: walks the partial index of pending rows in id order (SQLite
    would otherwise sort every pending row to find it: 100 ms at 100,000 pending)."""
    params = {"now": now, "default_bot": default_bot, "ads": sorted(AD_KINDS), "kinds": kinds or []}
    if dialect == "sqlite":
        sql = ("SELECT n.id, n.kind, n.period, coalesce(m.bot_id, :default_bot) AS bot "
               "FROM notifications AS n INDEXED BY ix_notifications_pending_id JOIN members AS m ON m.id = n.member_id "
               "WHERE n.state = 'pending' AND (n.not_before IS NULL OR n.not_before <= :now)"
               + (" AND n.kind NOT IN :ads" if quiet_now else "") + (" AND n.kind IN :kinds" if kinds else "")
               + " ORDER BY n.id LIMIT 1")
        binds = [bindparam("now", type_=DateTime())]
        if quiet_now:
            binds.append(bindparam("ads", expanding=True))
        else:
            params.pop("ads")
        if kinds:
            binds.append(bindparam("kinds", expanding=True))
        else:
            params.pop("kinds")
        stmt = text(sql).bindparams(*binds)
        return stmt, params
    if not quiet_now:
        params.pop("ads")
    if not kinds:
        params.pop("kinds")
    return _head_select(quiet_now, bool(kinds)), params


@cache
def _head_select(quiet_now: bool, with_kinds: bool):
    N, M = Notification.__table__.c, Member.__table__.c
    nt = Notification.__table__
    q = (select(N.id, N.kind, N.period, func.coalesce(M.bot_id, bindparam("default_bot")).label("bot"))
         .select_from(nt.join(Member.__table__, M.id == N.member_id))
         .where(N.state == _PENDING, or_(N.not_before.is_(None), N.not_before <= bindparam("now", type_=DateTime()))))
    if quiet_now:
        q = q.where(N.kind.not_in(bindparam("ads", expanding=True)))
    if with_kinds:
        q = q.where(N.kind.in_(bindparam("kinds", expanding=True)))
    return q.order_by(N.id).limit(1).with_for_update(skip_locked=True, of=nt)


@cache
def _batch_statements():
    return (table_of(EventBatch).insert(),
            table_of(PushSender).update().where(PushSender.__table__.c.id == bindparam("sid"))
            .values(heartbeat_at=bindparam("hb")))


@cache
def _skip_statement():
    N = table_of(Notification)
    return (N.update().where(N.c.id.in_(bindparam("ids", expanding=True)), N.c.state == "pending")
            .values(state="skipped", last_error=bindparam("reason"), claimed_at=bindparam("at")))


@lru_cache(maxsize=256)
def _group_query(rows: int):
    """Due rows of one (kind, period) after an id, oldest first, locked (built once per page
    size, so its cache key is computed once). The bot id is checked in Python: a filter on the
    member's bot id lets PostgreSQL's planner start from members (half a second at 100,000)."""
    N, M = Notification.__table__.c, Member.__table__.c
    nt = Notification.__table__
    D = DialogState.__table__.c
    return (select(N.id, N.member_id, N.attempts, M.status, M.blocked_at, M.is_friend, M.bot_user_key,
                   M.app_user_id, M.campaign_opt_out, M.marketing_opt_in, M.bot_id, M.push_monthly_off,
                   M.push_reminders_off, D.lang)
            .select_from(nt.join(Member.__table__, M.id == N.member_id)
                         .outerjoin(DialogState.__table__, D.user_key == M.bot_user_key))
            .where(N.state == _PENDING, or_(N.not_before.is_(None), N.not_before <= bindparam("now", type_=DateTime())),
                   N.kind == bindparam("kind"), N.period == bindparam("period"), N.id > bindparam("after"))
            .order_by(N.id).limit(rows).with_for_update(skip_locked=True, of=nt))


def claim_batch(db: Database, *, sender_id: str, now: datetime, limit: int, default_bot_id: str,
                quiet: QuietHours | None = None, kinds: Iterable[str] | None = None) -> ClaimResult:
    """Claim up to `limit` due notifications of one (kind, period, bot id) for distinct users.

    Members who must not receive them (blocked, withdrawn, opted out...) are set `skipped` with
    the reason in the same transaction. The batch is recorded (EventBatch, in_flight) and the
    sender's heartbeat renewed before the transaction commits. (Core statements with bound
    parameters: this runs once per Event API call.)"""
    if not 1 <= limit <= 100:
        raise ValueError("a batch holds 1 to 100 users (Event API limit)")
    now = _naive_utc(now)
    result = ClaimResult(None)
    kinds = list(kinds) if kinds else None
    with db.transaction() as s:
        conn = s.connection()
        result.held = hold_advertising(s, quiet, now)
        quiet_now = quiet is not None and quiet.contains(_aware(now))
        head = conn.execute(*_head_query(conn.dialect.name, quiet_now, kinds, now, default_bot_id)).first()
        if head is None:
            return result
        kind, period, bot_id = head.kind, head.period, head.bot
        items: list[ClaimedItem] = []
        lang: str | None = None  # the batch's language: its first user's chat language
        skipped: dict[str, list[int]] = {}
        users: set[tuple[str, str]] = set()
        after = head.id - 1
        while len(items) < limit:
            want = limit - len(items)
            # One row more than needed: tells whether this group has more (the sender then
            # skips its look before the next claim).
            rows = conn.execute(_group_query(want + 1), {"now": now, "kind": kind, "period": period,
                                                         "after": after}).all()
            for r in rows:
                if len(items) == limit:
                    result.more = True
                    break
                after = r.id
                if (r.bot_id or default_bot_id) != bot_id:
                    result.more = True
                    continue  # another bot's path: a batch of its own
                if items and (r.lang or None) != lang:
                    result.more = True
                    continue  # the chat language the user chose: the shared text is in it
                reason = skip_reason(kind, status=r.status, blocked_at=r.blocked_at, is_friend=r.is_friend,
                                     bot_user_key=r.bot_user_key, app_user_id=r.app_user_id,
                                     campaign_opt_out=r.campaign_opt_out, marketing_opt_in=r.marketing_opt_in,
                                     monthly_off=r.push_monthly_off, reminders_off=r.push_reminders_off)
                if reason:
                    skipped.setdefault(reason, []).append(r.id)
                    continue
                who = recipient_of(r.bot_user_key, r.app_user_id)
                assert who is not None  # skip_reason skips members without a user key
                if who in users:
                    result.more = True
                    continue  # the same user twice: stays pending for a later batch
                users.add(who)
                lang = r.lang or None
                items.append(ClaimedItem(r.id, r.member_id, who[0], who[1], (r.attempts or 0) + 1))
            if len(rows) <= want:
                break
        for reason, ids in skipped.items():
            conn.execute(_skip_statement(), {"ids": ids, "reason": reason, "at": now})
        result.skipped = {k: len(v) for k, v in skipped.items()}
        if not items:
            return result
        batch_id = log_safe_token(16)  # logged when its answer cannot be recorded
        # One statement per row (each row has its own recipient), sent as one executemany
        # straight to the driver: this is the hot path of the sender.
        sqlite = conn.dialect.name == "sqlite"
        ph = "?" if sqlite else "%s"
        stamp = sqlite_time(now) if sqlite else now
        conn.exec_driver_sql(
            f"UPDATE notifications SET state = 'in_flight', claimed_by = {ph}, batch_id = {ph}, claimed_at = {ph}, "
            f"bot_id = {ph}, attempts = attempts + 1, recipient_type = {ph}, recipient_id = {ph} WHERE id = {ph}",
            [(sender_id, batch_id, stamp, bot_id, i.recipient_type, i.recipient_id, i.notification_id) for i in items])
        insert_batch, heartbeat = _batch_statements()
        conn.execute(insert_batch, {"id": batch_id, "sender_id": sender_id, "kind": kind, "period": period,
                                    "bot_id": bot_id, "user_count": len(items), "state": "in_flight",
                                    "claimed_at": now, "task_checks": 0})
        conn.execute(heartbeat, {"sid": sender_id, "hb": now})
        result.batch = Batch(batch_id, kind, period, bot_id, items, lang)
    return result


# -- recording the answer -------------------------------------------------------------------

def _batch_values(**values) -> dict:
    return {k: v for k, v in values.items() if v is not None}


def record_accepted(db: Database, batch_id: str, *, task_id: str | None, now: datetime,
                    http_status: int | None = 200, check_at: datetime | None = None) -> int:
    """Kakao accepted the batch: its notifications are sent (also those another sender had
    already given up as uncertain: now we know). Returns the number of notifications."""
    now = _naive_utc(now)
    N, B = table_of(Notification), table_of(EventBatch)
    with db.transaction() as s:
        conn = s.connection()
        n = rowcount(conn.execute(N.update().where(N.c.batch_id == bindparam("b"), N.c.state.in_(("in_flight", "uncertain")))
                                  .values(state="sent", task_id=bindparam("t"), sent_at=bindparam("at"), last_error=None),
                                  {"b": batch_id, "t": task_id, "at": now}))
        conn.execute(B.update().where(B.c.id == bindparam("b")).values(
            state="accepted", task_id=bindparam("t"), answered_at=bindparam("at"), http_status=bindparam("code"),
            error=None, task_state=bindparam("ts"), task_next_check_at=bindparam("check")),
            {"b": batch_id, "t": task_id, "at": now, "code": http_status, "ts": "pending" if task_id else None,
             "check": _naive_utc(check_at) if (task_id and check_at) else None})
    return n


def record_retry(db: Database, batch_id: str, *, error: str, now: datetime, max_attempts: int,
                 delay: Callable[[int], float], not_before: datetime | None = None,
                 http_status: int | None = None, batch_state: str = "retry",
                 spent: bool = True) -> tuple[int, int]:
    """A retryable failure: each notification goes back to pending after its backoff, or dead
    when it has used `max_attempts`. Returns (retried, dead).

    `spent=False` (no connection was made: the batch certainly never reached Kakao): the attempt
    is given back and nothing dies, however long the outage lasts; the rows wait for
    `delay(attempts)` seconds (the caller caps it) and are claimed again by any sender."""
    now = _naive_utc(now)
    floor = _naive_utc(not_before) if not_before else None
    N = Notification
    retried = dead = 0
    with db.transaction() as s:
        rows = s.execute(select(N.id, N.attempts).where(N.batch_id == batch_id, N.state == "in_flight")).all()
        by_attempts: dict[int, list[int]] = {}
        for r in rows:
            by_attempts.setdefault(r.attempts or 0, []).append(r.id)
        for attempts, ids in sorted(by_attempts.items()):
            if spent and attempts >= max_attempts:
                dead += rowcount(s.execute(update(N).where(N.id.in_(ids)).values(
                    state="dead", claimed_by=None, last_error=f"gave up after {attempts} attempts: {error}"[:2000])
                    .execution_options(synchronize_session=False)))
            else:
                at = now + timedelta(seconds=max(0.0, delay(attempts)))
                if floor and floor > at:
                    at = floor
                retried += rowcount(s.execute(update(N).where(N.id.in_(ids)).values(
                    state="pending", claimed_by=None, batch_id=None, not_before=at, last_error=error[:2000],
                    attempts=N.attempts if spent else N.attempts - 1)
                    .execution_options(synchronize_session=False)))
        s.execute(update(EventBatch).where(EventBatch.id == batch_id).values(
            **_batch_values(state=batch_state, answered_at=now, http_status=http_status, error=error[:2000])))
    return retried, dead


def record_dead(db: Database, batch_id: str, *, error: str, now: datetime, http_status: int | None = None) -> int:
    """Kakao refused the batch for good (not retryable): every notification is dead."""
    now = _naive_utc(now)
    N = Notification
    with db.transaction() as s:
        n = rowcount(s.execute(update(N).where(N.batch_id == batch_id, N.state == "in_flight")
                               .values(state="dead", claimed_by=None, last_error=error[:2000])
                               .execution_options(synchronize_session=False)))
        s.execute(update(EventBatch).where(EventBatch.id == batch_id).values(
            **_batch_values(state="dead", answered_at=now, http_status=http_status, error=error[:2000])))
    return n


def release_batch(db: Database, batch_id: str, *, error: str, now: datetime, http_status: int | None = None) -> int:
    """Not the notifications' fault (e.g. Kakao refused our key): back to pending, the attempt
    not counted. The sender stops until an operator fixes the configuration."""
    now = _naive_utc(now)
    N = Notification
    with db.transaction() as s:
        n = rowcount(s.execute(update(N).where(N.batch_id == batch_id, N.state == "in_flight")
                               .values(state="pending", claimed_by=None, batch_id=None, attempts=N.attempts - 1,
                                       last_error=error[:2000])
                               .execution_options(synchronize_session=False)))
        s.execute(update(EventBatch).where(EventBatch.id == batch_id).values(
            **_batch_values(state="released", answered_at=now, http_status=http_status, error=error[:2000])))
    return n


def record_uncertain(db: Database, batch_id: str, *, reason: str, now: datetime, policy: str,
                     max_attempts: int) -> int:
    """The batch may or may not have reached Kakao (read timeout, sender died after posting).

    Policy ``skip`` (default): the notifications become `uncertain` and are reported, never sent
    again automatically (a member might otherwise get the message twice). ``resend``: they go
    back to pending (dead when out of attempts)."""
    if policy not in UNCERTAIN_POLICIES:
        raise ValueError(f"uncertain policy must be one of {UNCERTAIN_POLICIES}")
    now = _naive_utc(now)
    N = Notification
    with db.transaction() as s:
        if policy == "skip":
            n = rowcount(s.execute(update(N).where(N.batch_id == batch_id, N.state == "in_flight")
                                   .values(state="uncertain", last_error=reason[:2000])
                                   .execution_options(synchronize_session=False)))
        else:
            n = rowcount(s.execute(update(N).where(N.batch_id == batch_id, N.state == "in_flight", N.attempts < max_attempts)
                                   .values(state="pending", claimed_by=None, batch_id=None, not_before=now,
                                           last_error=f"re-sent: {reason}"[:2000])
                                   .execution_options(synchronize_session=False)))
            n += rowcount(s.execute(update(N).where(N.batch_id == batch_id, N.state == "in_flight")
                                    .values(state="dead", last_error=f"uncertain and out of attempts: {reason}"[:2000])
                                    .execution_options(synchronize_session=False)))
        s.execute(update(EventBatch).where(EventBatch.id == batch_id, EventBatch.state == "in_flight").values(
            state="uncertain", answered_at=now, error=f"{reason} (policy {policy})"[:2000]))
    return n


@dataclass(frozen=True)
class Orphan:
    batch_id: str
    sender_id: str
    users: int
    why: str


def find_orphans(db: Database, *, now: datetime, lease: timedelta, me: str, host: str,
                 alive: Callable[[int], bool] = pid_alive, my_pid: int | None = None) -> list[Orphan]:
    """In-flight batches whose sender is dead: no heartbeat within `lease`, stopped, unknown, or
    (on this host) its process is gone."""
    now = _naive_utc(now)
    my_pid = os.getpid() if my_pid is None else my_pid
    out = []
    with db.transaction(deferred=True) as s:
        rows = s.execute(
            select(EventBatch.id, EventBatch.sender_id, EventBatch.user_count, PushSender.host, PushSender.pid,
                   PushSender.heartbeat_at, PushSender.stopped_at)
            .outerjoin(PushSender, PushSender.id == EventBatch.sender_id)
            .where(EventBatch.state == "in_flight", EventBatch.sender_id != me)
        ).all()
    for r in rows:
        why = None
        if r.host is None:
            why = "sender unknown"
        elif r.stopped_at is not None:
            why = "sender stopped"
        elif r.heartbeat_at < now - lease:
            why = f"no heartbeat since {r.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC"
        elif r.host == host and (r.pid == my_pid or not alive(r.pid)):
            why = f"process {r.pid} on {host} is gone"
        if why:
            out.append(Orphan(r.id, r.sender_id, r.user_count, why))
    return out


def recover_orphans(db: Database, *, now: datetime, lease: timedelta, me: str, host: str, policy: str,
                    max_attempts: int, alive: Callable[[int], bool] = pid_alive,
                    my_pid: int | None = None) -> list[Orphan]:
    """Mark the in-flight batches of dead senders uncertain (see record_uncertain)."""
    found = find_orphans(db, now=now, lease=lease, me=me, host=host, alive=alive, my_pid=my_pid)
    for o in found:
        record_uncertain(db, o.batch_id, reason=f"sender {o.sender_id} died with the batch in flight ({o.why})",
                         now=now, policy=policy, max_attempts=max_attempts)
    return found


# -- operator actions -----------------------------------------------------------------------

def requeue(db: Database, *, now: datetime, batch_id: str | None = None, state: str = "uncertain",
            kind: str | None = None) -> int:
    """Send again: `uncertain` (after checking with Kakao) or `dead` (after fixing the cause)
    notifications go back to pending with their attempts reset."""
    if state not in ("uncertain", "dead"):
        raise ValueError("only uncertain or dead notifications can be requeued")
    N = Notification
    q = update(N).where(N.state == state)
    if batch_id:
        q = q.where(N.batch_id == batch_id)
    if kind:
        q = q.where(N.kind == kind)
    with db.transaction() as s:
        return rowcount(s.execute(q.values(state="pending", attempts=0, claimed_by=None, batch_id=None,
                                           not_before=_naive_utc(now), last_error=f"requeued from {state}")
                                  .execution_options(synchronize_session=False)))


def settle_uncertain(db: Database, *, batch_id: str, now: datetime) -> int:
    """The operator confirmed (e.g. in Kakao's console) that an uncertain batch was delivered."""
    N = Notification
    with db.transaction() as s:
        return rowcount(s.execute(update(N).where(N.batch_id == batch_id, N.state == "uncertain")
                                  .values(state="sent", sent_at=_naive_utc(now), last_error="confirmed sent by operator")
                                  .execution_options(synchronize_session=False)))


# -- reporting ------------------------------------------------------------------------------

@dataclass
class OutboxReport:
    by_state: dict[str, int]
    by_kind_state: dict[tuple[str, str], int]
    dead: list[tuple[str, int, str]]  # (reason, count, kinds)
    uncertain_batches: list[dict]
    tasks_pending: int
    delivery_failed: int


def report(db: Database, *, dead_limit: int = 20) -> OutboxReport:
    N = Notification
    with db.transaction(deferred=True) as s:
        rows = s.execute(select(N.kind, N.state, func.count()).group_by(N.kind, N.state)).all()
        dead = s.execute(select(N.last_error, func.count(), func.min(N.kind), func.max(N.kind))
                         .where(N.state == "dead").group_by(N.last_error)
                         .order_by(func.count().desc()).limit(dead_limit)).all()
        unc = s.execute(select(EventBatch.id, EventBatch.kind, EventBatch.period, EventBatch.user_count,
                               EventBatch.claimed_at, EventBatch.error)
                        .where(EventBatch.state == "uncertain")
                        .where(EventBatch.id.in_(select(N.batch_id).where(N.state == "uncertain")))
                        .order_by(EventBatch.claimed_at)).all()
        tasks = s.execute(select(func.count()).where(EventBatch.task_state == "pending")).scalar_one()
        failed = s.execute(select(func.count()).where(N.delivery == "failed")).scalar_one()
    by_state: dict[str, int] = {}
    by_kind_state = {}
    for kind, state, count in rows:
        by_state[state] = by_state.get(state, 0) + count
        by_kind_state[(kind, state)] = count
    return OutboxReport(
        by_state=by_state, by_kind_state=by_kind_state,
        dead=[(reason or "", count, lo if lo == hi else f"{lo}..{hi}") for reason, count, lo, hi in dead],
        uncertain_batches=[dict(id=u.id, kind=u.kind, period=u.period, users=u.user_count,
                                claimed_at=u.claimed_at, error=u.error) for u in unc],
        tasks_pending=tasks, delivery_failed=failed,
    )
