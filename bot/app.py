"""BotApp: the framework-free core of the skill server.

The HTTP adapter (webhooks/) parses the request into a Turn and calls `BotApp.respond`; this
module runs the turn through the router in at most one database transaction (opened when the
turn first needs it) and always returns a valid v2.0 response, encoded once as UTF-8 JSON
(`handle` gives it as a dict). Handlers register with decorators, like Slack Bolt listeners."""
from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import orjson

from bot import texts
from bot.context import Ctx, DialogControl, Services
from bot.kakao.response import BuiltReply
from bot.ratelimit import turn_allowed
from core.db import is_write_conflict
from core.dialog_store import DialogStore
from core.pii import mask_key, mask_names, scrub_rrn

if TYPE_CHECKING:  # bot.router imports this module
    from bot.router import Router

log = logging.getLogger("cpoint.bot")

Handler = Callable[[Ctx], dict]
_ATTEMPTS = 4  # a turn that lost a write race is run again from the start
_RETRY_WINDOW = 1.0  # seconds: no new attempt after this (the database hangs; see respond)


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
        self.router: Router | None = None  # set by bot.router.install
        # What the "turn handled" line may keep of an utterance (see `said`): whether an
        # answer at (dialog, step) may be personal data (bot.dialogs.privacy; until set, any
        # step of any dialog is), and the menu words that are logged as they are.
        self.personal_step: Callable[[str | None, str | None], bool] = lambda dialog, step: dialog is not None
        self.menu_words: frozenset[str] = frozenset()
        self.static_skills: frozenset[str] = frozenset()
        self._store: DialogStore | None = None  # for the last Database seen (one per process)

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
        # what the turn line may tell: "state", the (dialog, step) the user was in when the turn
        # began, once read; "intent", what understanding made of typed text
        notes: dict = {}
        if not turn_allowed(services, turn.user_key):
            from bot.ui import rate_limited_reply

            adapter.warning("turn rate limited")
            self._observe(turn.skill, "rate_limited", time.perf_counter() - started, adapter)
            return encode_reply(rate_limited_reply())
        try:
            for attempt in range(_ATTEMPTS):
                try:
                    # First try deferred (turns that only read never queue); a turn that lost a
                    # write race reruns holding the write lock from BEGIN, which waits its turn.
                    reply, outcome = self._run(turn, services, request_id, adapter, deferred=attempt == 0,
                                               notes=notes)
                    break
                except _StateRace:
                    # A race between two turns resolves in milliseconds; a turn that already
                    # waited this long met a database that does not answer (a lock held, the
                    # busy timeout spent): trying again would pass Kakao's 5 seconds.
                    if attempt == _ATTEMPTS - 1 or time.perf_counter() - started > _RETRY_WINDOW:
                        raise
                    time.sleep(0.002 * (2 ** attempt) * (0.5 + random.random()))
        except Exception:
            adapter.exception("turn failed")
            with texts.using(notes.get("lang")):
                reply, outcome = self._error(request_id, services), "error"
        try:
            body = encode_reply(reply)
            # A reply exactly as the typed builder made it is valid (BuiltReply); tests validate
            # every reply all the same, so a builder that let something through would show there.
            if isinstance(reply, BuiltReply) and reply.encoded == body and not services.settings.strict_responses:
                problems = []
            else:
                problems = reply_problems(body, reply)
        except (TypeError, ValueError, RecursionError) as exc:
            body, problems = b"", [f"response: not serialisable as JSON ({exc.__class__.__name__})"]
        if problems:
            if services.settings.strict_responses:  # tests: a bad reply is a failing test
                raise AssertionError(f"invalid reply: {problems}")
            adapter.error("invalid reply replaced: %s", problems[:5])
            with texts.using(notes.get("lang")):
                body, outcome = encode_reply(self._error(request_id, services)), "error"
        elapsed = time.perf_counter() - started
        fields = {"outcome": outcome, "ms": round(elapsed * 1000, 1),
                  **self.said(turn, notes.get("state"), outcome, notes.get("intent"))}
        line = services.turn_line
        if line is not None:  # the edge's writer for this one line (webhooks.logs.TurnLine)
            line(adapter, "turn handled", fields)
        else:
            adapter.info("turn handled", extra=fields)
        self._observe(turn.skill, outcome, elapsed, adapter)
        return body

    def said(self, turn, state: tuple | None, outcome: str, intent: str | None = None) -> dict:
        """What the turn line keeps of the utterance. Nothing for a refused resident registration
        number or a photo or file (its link may open a bill), nor while the user was at a step
        that takes personal data (or when the step is unknown: the turn failed before the
        dialog state was read); the text of a tapped button, a menu word or a turn of a
        static skill; otherwise a redacted form: the understood intent, the length and the text
        with runs of digits and e-mail addresses masked."""
        utterance = turn.utterance or ""
        if outcome in ("refused", "media"):
            return {"said": outcome}
        if state is None:
            return {"said": "unknown_step", "chars": len(utterance)}
        dialog, step = state
        if self.personal_step(dialog, step):
            return {"said": "personal", "dialog": dialog, "step": step}
        text = _SPACES.sub(" ", utterance.strip())
        if turn.client_extra or text in self.menu_words or turn.skill in self.static_skills:
            return {"said": "menu", "utterance": scrub_rrn(text)[:80]}
        return {"said": "typed", "intent": intent, "chars": len(utterance), "utterance": redact(text)[:80]}

    def _observe(self, skill: str, outcome: str, elapsed: float, adapter) -> None:
        for cb in self.observers.on_turn:
            try:
                cb(skill, outcome, elapsed)
            except Exception:  # metrics must never break a reply
                adapter.exception("observer failed")

    def _error(self, request_id: str, services: Services) -> dict:
        from bot.ui import error_reply

        return error_reply(request_id, services.settings.call_centre)

    def _run(self, turn, services: Services, request_id: str, adapter, deferred: bool = True,
             notes: dict | None = None) -> tuple[dict, str]:
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
                    store = ctx.store = self._store_for(services.db)
                    rec, ctx.member_reach = store.load(tx, turn.user_key, services.clock)
                    if notes is not None:
                        # a dialog past its TTL counts as still running: its step is unknown
                        notes["state"] = (rec.dialog, rec.step) if not rec.expired else (rec.expired, None)
                        notes["lang"] = rec.lang  # the error reply, if any, speaks it too
                    if rec.expired:
                        self.dialog_event(rec.expired, "expired")
                    ctx.dialog = DialogControl(ctx, rec)
                    tx.on_open.append(lambda conn: self._recheck_state(store, ctx, conn))
                    assert self.router is not None, "bot.router.install(app) was not called"
                    with texts.using(rec.lang):  # the user's language for every reply text
                        reply = self.router.route(ctx)
                    if notes is not None:
                        notes["intent"] = ctx.intent
                    ctx.finish_session()  # flush what handlers wrote before the state and hooks
                    store.save(tx, ctx.dialog.row, services.clock)
                    self._after_turn(ctx)
                finally:
                    if ctx._session is not None:
                        ctx._session.close()
            # Committed: work of the turn's own (operator telemetry) runs now, outside the
            # turn's snapshot, so it never makes the turn's write conflict, and once per turn.
            for fn in ctx.after_commit:
                try:
                    fn()
                except Exception:
                    adapter.exception("after-commit work failed")
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
        raise AssertionError("unreachable: the turn returned or raised")  # for the type checker

    def _store_for(self, db) -> DialogStore:
        store = self._store
        if store is None or store.db is not db:
            store = self._store = DialogStore(db)
        return store

    @staticmethod
    def _recheck_state(store: DialogStore, ctx: Ctx, conn) -> None:
        """Run when the turn opens its transaction: the state it read before must still be
        the stored one, else another turn of the user changed it meanwhile and this turn runs
        again from the start. On PostgreSQL the row lock then serialises the user's turns."""
        if not store.is_current(conn, ctx.dialog.row):
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


_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")


def redact(text: str) -> str:
    """Free text as the turn line keeps it: e-mail addresses and runs of digits masked
    (mobiles, accounts, customer numbers, house numbers, dates), and a name after its label."""
    return mask_names(_DIGITS.sub("#", _EMAIL.sub("<email>", text)))


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
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs


class _StateRace(Exception):
    pass
