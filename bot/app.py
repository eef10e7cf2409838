"""BotApp: the framework-free core of the skill server.

The HTTP adapter (webhooks/) parses the request into a Turn and calls `BotApp.respond`; this
module runs the turn through the router in at most one database transaction (opened when the
turn first needs it) and always returns a valid v2.0 response, encoded once as UTF-8 JSON
(`handle` gives it as a dict). Handlers register with decorators, like Slack Bolt listeners."""
from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

import orjson

from core.clock import utcnow_naive
from core.db import driver_datetime, driver_fetchone, driver_json, is_write_conflict
from core.models import DialogState
from core.pii import mask_key, scrub_rrn

from bot.context import Ctx, DialogControl, Services, StateRecord

log = logging.getLogger("cpoint.bot")

Handler = Callable[[Ctx], dict]
_ATTEMPTS = 4  # a turn that lost a write race is run again from the start


class Dialog(Protocol):
    """A multi-step conversation (cf. python-telegram-bot's ConversationHandler).

    `name` is stored in the dialog state; `skill` is the skill that starts it."""

    name: str
    skill: str

    def start(self, ctx: Ctx) -> dict: ...

    def handle(self, ctx: Ctx) -> dict | None:
        """Answer a turn while this dialog is active; None hands the turn back to the router."""

    def reprompt(self, ctx: Ctx) -> dict:
        """Ask the current step's question again (after a refusal or on resume)."""

    def cancel(self, ctx: Ctx) -> None:
        """Drop whatever the dialog kept (called before the state is ended)."""


@dataclass
class TurnObserver:
    """Hooks for metrics and audit; each gets (skill, outcome, seconds) or (dialog, event)."""

    on_turn: list[Callable[[str, str, float], None]] = field(default_factory=list)
    on_dialog: list[Callable[[str, str], None]] = field(default_factory=list)


class BotApp:
    def __init__(self) -> None:
        self.skills: dict[str, Handler] = {}
        self.dialogs: dict[str, Dialog] = {}
        self.observers = TurnObserver()
        self.error_reply: Callable[[str], dict] | None = None
        # Run at the end of every turn inside its transaction (e.g. channel reachability from
        # isFriend); a failing hook is logged and never costs the citizen the reply.
        self.after_turn: list[Callable[[Ctx], None]] = []
        self.router = None  # set by bot.router.install

    # -- registration -------------------------------------------------------
    def skill(self, name: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.skills[name] = fn
            return fn

        return deco

    def add_dialog(self, dialog: Dialog) -> Dialog:
        self.dialogs[dialog.name] = dialog
        return dialog

    def dialog_event(self, dialog: str, event: str) -> None:
        for cb in self.observers.on_dialog:
            cb(dialog, event)

    # -- handling -----------------------------------------------------------
    def handle(self, turn, services: Services, request_id: str) -> dict:
        """Run one turn and return the reply as a dict (see `respond`)."""
        return orjson.loads(self.respond(turn, services, request_id))

    def respond(self, turn, services: Services, request_id: str) -> bytes:
        """Run one turn and return the reply as compact UTF-8 JSON, the body the skill
        endpoint sends. Never raises: any failure becomes a polite error reply."""
        started = time.perf_counter()
        adapter = TurnLog(log, {"request_id": request_id, "user": mask_key(turn.user_key), "skill": turn.skill})
        outcome = "error"
        limiter = services.rate_limiter
        if limiter is not None and not limiter.allow(turn.user_key):
            from bot.ui import rate_limited_reply

            adapter.warning("turn rate limited")
            self._observe(turn.skill, "rate_limited", time.perf_counter() - started, adapter)
            return encode_reply(rate_limited_reply())
        try:
            for attempt in range(_ATTEMPTS):
                try:
                    # First try deferred (turns that only read never queue); a turn that lost a
                    # write race reruns holding the write lock from BEGIN, which waits its turn.
                    reply, outcome = self._run(turn, services, request_id, adapter, deferred=attempt == 0)
                    break
                except _StateRace:
                    if attempt == _ATTEMPTS - 1:
                        raise
                    time.sleep(0.002 * (2 ** attempt) * (0.5 + random.random()))
        except Exception:
            adapter.exception("turn failed")
            reply, outcome = self._error(request_id), "error"
        try:
            body = encode_reply(reply)
            problems = reply_problems(body, reply)
        except (TypeError, ValueError, RecursionError) as exc:
            body, problems = b"", [f"response: not serialisable as JSON ({exc.__class__.__name__})"]
        if problems:
            if services.settings.strict_responses:  # tests: a bad reply is a failing test
                raise AssertionError(f"invalid reply: {problems}")
            adapter.error("invalid reply replaced: %s", problems[:5])
            body, outcome = encode_reply(self._error(request_id)), "error"
        elapsed = time.perf_counter() - started
        fields = {"outcome": outcome, "ms": round(elapsed * 1000, 1),
                  "utterance": scrub_rrn(turn.utterance)[:80] if outcome != "refused" else "[refused]"}
        line = services.turn_line
        if line is not None:  # the edge's writer for this one line (webhooks.logs.TurnLine)
            line(adapter, "turn handled", fields)
        else:
            adapter.info("turn handled", extra=fields)
        self._observe(turn.skill, outcome, elapsed, adapter)
        return body

    def _observe(self, skill: str, outcome: str, elapsed: float, adapter) -> None:
        for cb in self.observers.on_turn:
            try:
                cb(skill, outcome, elapsed)
            except Exception:  # metrics must never break a reply
                adapter.exception("observer failed")

    def _error(self, request_id: str) -> dict:
        from bot.ui import error_reply

        return error_reply(request_id)

    def _run(self, turn, services: Services, request_id: str, adapter, deferred: bool = True) -> tuple[dict, str]:
        from sqlalchemy.exc import IntegrityError, OperationalError

        try:
            # The transaction opens only when the turn needs it (most turns read two rows
            # and answer from static content). Deferred on SQLite: most turns only read, and
            # must not queue behind each other; a rerun takes the write lock at BEGIN.
            with services.db.lazy(deferred=deferred) as tx:
                ctx = Ctx(turn=turn, tx=tx, services=services, request_id=request_id, log=adapter)
                try:
                    if not deferred:
                        tx.conn  # noqa: B018  (a rerun holds the write lock before it reads)
                    ctx.dialog = DialogControl(ctx, self._load_state(ctx))
                    tx.on_open.append(lambda conn: self._recheck_state(ctx, conn))
                    reply = self.router.route(ctx)
                    ctx.finish_session()  # flush what handlers wrote before the state and hooks
                    self._save_state(ctx)
                    self._after_turn(ctx)
                finally:
                    if ctx._session is not None:
                        ctx._session.close()
                return reply, ctx.outcome
        except IntegrityError as exc:
            # Two first turns of the same user raced to create the state row: run again.
            if "dialog_states" in str(exc.orig):
                raise _StateRace() from exc
            raise
        except OperationalError as exc:
            # Another turn wrote first (SQLite, deferred transaction): run this one again.
            if is_write_conflict(exc):
                raise _StateRace() from exc
            raise

    def _load_state(self, ctx: Ctx) -> StateRecord:
        key = ctx.turn.user_key
        # Straight on the driver and, until the turn needs its transaction, outside one: this
        # runs on every turn, and SQLAlchemy's execution machinery would cost several times
        # the indexed lookup (bench/webhook.py). `_recheck_state` makes it safe.
        locked = ctx.tx.opened and ctx.services.db.is_postgres
        if locked:  # a row lock cannot reach through the outer joins below
            found = ctx.tx.fetchone(_STATE_FOR_UPDATE, (key,))
        else:  # the member's channel friendship comes along (bot.push.reachability)
            row = ctx.tx.fetchone(_STATE_AND_REACH, (key,))
            ctx.member_reach = () if row[8] is None else tuple(row[8:])
            found = row[:7] if row[7] is not None else None
        if found is None:
            return StateRecord(user_key=key)
        dialog, step, slots, failures, expires_at, updated_at, version = found
        rec = StateRecord(user_key=key, dialog=dialog, step=step, slots=driver_json(slots) or {},
                          failures=failures or 0, expires_at=driver_datetime(expires_at),
                          updated_at=driver_datetime(updated_at), version=version or 0, stored=True)
        if rec.dialog and rec.expires_at and rec.expires_at < utcnow_naive(ctx.clock):
            expired = rec.dialog
            rec.dialog = rec.step = rec.expires_at = None
            rec.slots, rec.failures, rec.dirty = {}, 0, True
            self.dialog_event(expired, "expired")
        return rec

    @staticmethod
    def _recheck_state(ctx: Ctx, conn) -> None:
        """Run when the turn opens its transaction: the state it read before must still be
        the stored one, else another turn of the user changed it meanwhile and this turn runs
        again from the start. On PostgreSQL the row lock then serialises the user's turns."""
        rec = ctx.dialog.row
        q = _VERSION_FOR_UPDATE if ctx.services.db.is_postgres else _VERSION
        now = driver_fetchone(conn, q, (rec.user_key,))
        if (now is not None) != rec.stored or (now is not None and (now[0] or 0) != rec.version):
            raise _StateRace()

    def _after_turn(self, ctx: Ctx) -> None:
        # Hooks read cheaply and wrap their rare writes in a savepoint themselves: a savepoint
        # around every hook on every turn would cost more than the hooks.
        for hook in self.after_turn:
            try:
                hook(ctx)
            except Exception as exc:
                if is_write_conflict(exc):
                    raise  # lost a SQLite write race: the whole turn reruns
                ctx.log.exception("after-turn hook %s failed", getattr(hook, "__name__", hook))

    @staticmethod
    def _save_state(ctx: Ctx) -> None:
        rec = ctx.dialog.row
        if not rec.dirty:
            return
        values = dict(dialog=rec.dialog, step=rec.step, slots=rec.slots, failures=rec.failures,
                      expires_at=rec.expires_at, updated_at=rec.updated_at or utcnow_naive(ctx.clock),
                      version=rec.version + 1)
        conn = ctx.conn
        if rec.stored:
            conn.execute(_STATE_TABLE.update().where(_STATE_TABLE.c.user_key == rec.user_key), values)
        else:
            # Two first turns of one user may race here: the loser's IntegrityError reruns it.
            conn.execute(_STATE_TABLE.insert(), {"user_key": rec.user_key, **values})


_STATE_TABLE = DialogState.__table__
_STATE = ("SELECT dialog, step, slots, failures, expires_at, updated_at, version"
          " FROM dialog_states WHERE user_key = ?")
_STATE_FOR_UPDATE = _STATE + " FOR UPDATE"  # a rerun that holds its transaction from the start
# One read for the two rows every turn looks at: always one row, NULLs where either is missing.
_STATE_AND_REACH = (
    "SELECT d.dialog, d.step, d.slots, d.failures, d.expires_at, d.updated_at, d.version,"
    " d.user_key, m.id, m.is_friend, m.blocked_at FROM (SELECT CAST(? AS VARCHAR) AS k) q"
    " LEFT JOIN dialog_states d ON d.user_key = q.k LEFT JOIN members m ON m.bot_user_key = q.k")
_VERSION = "SELECT version FROM dialog_states WHERE user_key = ?"
_VERSION_FOR_UPDATE = _VERSION + " FOR UPDATE"  # serialise concurrent turns of one user (PostgreSQL)


def encode_reply(reply: dict) -> bytes:
    """A reply as compact UTF-8 JSON (the size Kakao's limit is measured on). orjson: the
    encoding runs on every turn and is several times faster than the standard library's."""
    return orjson.dumps(reply)


_VALIDATED: dict[bytes, list[str]] = {}
_VALIDATED_MAX = 512
_VALIDATED_LOCK = threading.Lock()


def reply_problems(body: bytes, reply: dict) -> list[str]:
    """`validate_response` of a reply, remembered by its encoded body: most turns send one of
    a few static replies (menus, help, FAQ answers), and equal bodies have equal problems."""
    found = _VALIDATED.get(body)
    if found is None:
        from bot.kakao.validate import validate_response

        found = validate_response(reply)
        with _VALIDATED_LOCK:
            if len(_VALIDATED) >= _VALIDATED_MAX:
                _VALIDATED.clear()  # personalised replies are not worth an LRU's bookkeeping
            _VALIDATED[body] = found
    return list(found)


class TurnLog(logging.LoggerAdapter):
    """Every line of a turn carries its request id; per-call `extra` is merged, not dropped."""

    def process(self, msg, kwargs):
        kwargs["extra"] = {**self.extra, **(kwargs.get("extra") or {})}
        return msg, kwargs


class _StateRace(Exception):
    pass
