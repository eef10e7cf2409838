"""Can a push reach the member? Three sources (protocol doc §3, §6):

- the channel add/block webhook (matched by appUserId): `apply_channel_event`;
- `isFriend` in skill payloads: true when the user added the channel, absent otherwise
  (`note_turn`, only for turns from the real channel surface: the bot test sends no isFriend);
- task results (bot/push/reconcile.py): per-user failures.

Members who cannot be reached get their notifications `skipped` when claimed (core.outbox).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.clock import Clock, utcnow_naive
from core.db import Database
from core.models.members import Member
from core.models.push import ChannelEvent

log = logging.getLogger("cpoint.push")

CHANNEL_SURFACE = "Kakaotalk.plusfriend"
EVENTS = ("added", "blocked")
ID_TYPES = ("app_user_id", "open_id")


def note_turn(tx, turn, known: tuple | None, read_reach) -> int:
    """Record what a skill payload says about the channel friendship in the turn's own unit
    of work (a core.db.LazyTransaction): a cheap read, and a write only when it changed, in
    the turn's transaction. ``known``: (member id, is_friend, blocked_at, status), or () for no member,
    as read earlier in the turn when nothing was written since; otherwise ``read_reach(tx,
    user_key)`` reads it (core.dialog_store.DialogStore.reach). Returns the rows changed."""
    if getattr(turn, "surface", None) != CHANNEL_SURFACE or not getattr(turn, "user_key", None):
        return 0
    M = Member
    row = known if known is not None else read_reach(tx, turn.user_key)
    if not row:
        return 0
    member_id, is_friend, blocked_at = row[:3]
    is_friend = None if is_friend is None else bool(is_friend)  # SQLite stores 0/1
    if turn.is_friend and (is_friend is False or blocked_at is not None):
        values, guard = {"is_friend": True, "blocked_at": None}, or_(M.is_friend.is_(False), M.blocked_at.is_not(None))
    elif not turn.is_friend and is_friend is not False:
        values, guard = {"is_friend": False}, M.is_friend.is_not(False)
    else:
        return 0
    conn = tx.conn
    with conn.begin_nested():  # a failed write must not spoil the turn's transaction
        return conn.execute(update(M).where(M.id == member_id, guard).values(**values)).rowcount or 0


def after_turn(ctx) -> None:
    """BotApp hook: runs at the end of every turn (see BotApp.after_turn). What the turn read
    at its start still holds unless the turn opened its transaction (it may have written the
    member: a signup creates it)."""
    note_turn(ctx.tx, ctx.turn, None if ctx.tx.opened else ctx.member_reach, ctx.store.reach)


class ChannelEventError(ValueError):
    """The webhook body is not a channel add/block notification (answered 400)."""


@dataclass(frozen=True)
class ChannelNotice:
    event: str
    user_id: str
    id_type: str
    channel_public_id: str | None
    updated_at: datetime | None


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).replace(tzinfo=None)


def parse_channel_event(body) -> ChannelNotice:
    if not isinstance(body, dict):
        raise ChannelEventError("body is not a JSON object")
    event = body.get("event")
    if event not in EVENTS:
        raise ChannelEventError(f"event must be one of {', '.join(EVENTS)}")
    user_id = body.get("id")
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 64:
        raise ChannelEventError("id is missing")
    id_type = body.get("id_type") or "app_user_id"
    if id_type not in ID_TYPES:
        raise ChannelEventError(f"id_type must be one of {', '.join(ID_TYPES)}")
    channel = body.get("channel_public_id") or body.get("plus_friend_public_id")
    updated = _parse_time(body.get("updated_at"))
    if updated is None and isinstance(body.get("timestamp"), (int, float)) and not isinstance(body.get("timestamp"), bool):
        ts = body["timestamp"] / (1000 if body["timestamp"] > 10**11 else 1)  # deprecated field, ms or s
        updated = datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)
    return ChannelNotice(event, user_id.strip(), id_type, channel if isinstance(channel, str) else None, updated)


def apply_channel_event(db: Database, resource_id: str, notice: ChannelNotice, *, clock: Clock) -> str:
    """Apply once per resource id. Returns duplicate | applied | stale | no_member | unsupported_id.

    A notification older than one already applied for the same user (they arrive out of order)
    is kept but changes nothing."""
    now = utcnow_naive(clock)
    at = notice.updated_at or now
    try:
        with db.transaction() as s:
            if s.get(ChannelEvent, resource_id) is not None:
                return "duplicate"
            outcome, member_id = "unsupported_id", None
            if notice.id_type == "app_user_id":
                newer = s.scalar(select(ChannelEvent.resource_id).where(
                    ChannelEvent.user_id == notice.user_id, ChannelEvent.id_type == notice.id_type,
                    ChannelEvent.applied.in_(("applied", "no_member")),
                    or_(ChannelEvent.updated_at > at,
                        and_(ChannelEvent.updated_at == at, ChannelEvent.event == "blocked"))).limit(1))
                members = list(s.scalars(select(Member.id).where(Member.app_user_id == notice.user_id)))
                member_id = members[0] if members else None
                if not members:
                    outcome = "no_member"
                elif newer is not None:
                    outcome = "stale"
                else:
                    values = ({"is_friend": False, "blocked_at": at} if notice.event == "blocked"
                              else {"is_friend": True, "blocked_at": None})
                    s.execute(update(Member).where(Member.id.in_(members)).values(**values)
                              .execution_options(synchronize_session=False))
                    outcome = "applied"
            s.add(ChannelEvent(resource_id=resource_id, event=notice.event, user_id=notice.user_id,
                               id_type=notice.id_type, channel_public_id=notice.channel_public_id,
                               updated_at=notice.updated_at, received_at=now, member_id=member_id, applied=outcome))
        return outcome
    except IntegrityError:
        return "duplicate"  # the same notification delivered twice at the same moment
