"""What a handler gets: the turn, a database session in one transaction, the services, and
the user's dialog state."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from bot import texts
from bot.push.settings import EventApiSettings, PushSettings
from core.clock import Clock, utcnow_naive
from core.crypto import FieldCipher
from core.db import Database, LazyTransaction
from core.dialog_store import DialogStore, StateRecord
from core.settings import setting

_URL = r"^https?://\S+$"
# The programme's public website: the help card links to it, and by default the full terms too.
PROGRAMME_SITE = "https://www.cpoint.or.kr"


class BotSettings(BaseModel):
    """Settings of the conversation layer (webhooks.config reads them from the environment)."""

    model_config = ConfigDict(validate_assignment=True, str_strip_whitespace=True)

    dialog_ttl_hours: float = setting("DIALOG_TTL_HOURS", 24.0, "How long an unfinished dialog (signup) can be resumed.", gt=0, le=24 * 90)
    # Open Builder block id per skill; quick replies use `block` actions when one is known,
    # `message` actions otherwise (the text then reaches the fallback and keyword routing).
    block_ids: dict[str, str] = setting("KAKAO_BLOCK_IDS", dict, "JSON map skill -> Open Builder block id; quick replies then call blocks directly.")
    household_refusals_per_day: int = setting("HOUSEHOLD_REFUSALS_PER_DAY", 5, "Refused 'household already joined' checks a chat user gets in a day; after them the address step answers with the call centre only, so the check cannot be used to probe addresses.", ge=1, le=100)
    link_attempts_per_day: int = setting("LINK_ATTEMPTS_PER_DAY", 5, "Failed attempts to link a KakaoTalk account to a member of the registry (the chat's \"already a member\" choice) that a chat user, and a member, get in a day; after them the chat offers the call centre only, so members cannot be enumerated.", ge=1, le=100)
    call_centre: str = setting("CALL_CENTRE", "1660-2030", "Call centre number in replies.", min_length=1)
    unmatched_flush_seconds: float = setting("UNMATCHED_FLUSH_SECONDS", 5.0, "Questions the bot did not understand wait at most this long (or 500 of them) before they are written to the operators' queue in one batch, outside the citizens' turns; 0 writes each at once.", ge=0, le=300)
    channel_chat_url: str = setting("CHANNEL_CHAT_URL", "", "The channel's 1:1 chat link (e.g. http://pf.kakao.com/_xxxx/chat), offered with the call centre when the bot does not understand or a citizen asks for a person; empty: the call centre only.", pattern=r"^(https?://\S+)?$")
    handoff_after_not_understood: int = setting("HANDOFF_AFTER_NOT_UNDERSTOOD", 2, "Not-understood turns in a row (menu taps between them do not break the row; an understood question, a dialog step or an hour without a miss does) after which the bot offers a person (the 1:1 chat and the call centre) with a summary the citizen can paste.", ge=1, le=20)
    handoff_operator_button: bool = setting("HANDOFF_OPERATOR_BUTTON", False, "Add a 'talk to staff' button (Kakao's `operator` action) to the person offer: only with the channel's counselling (chat handover) plugin set up in Open Builder.")
    terms_url: str = setting("TERMS_URL", PROGRAMME_SITE, "Where the full terms of use and privacy notice are published (the signup's consent step links to it).", pattern=_URL)
    operator_name: str = setting("OPERATOR_NAME", texts.t("common.operator_name"), "Sender name in campaign (advertising) messages.", min_length=1)
    public_base_url: str = setting("PUBLIC_BASE_URL", "http://localhost:5000", "Public https base URL of this server (chart images, links).", pattern=_URL)
    website: str = PROGRAMME_SITE  # not a setting: the programme's site, named in texts
    max_failures: int = 3
    strict_responses: bool = False  # tests: raise on an invalid reply instead of replacing it

    @field_validator("block_ids", mode="before")
    @classmethod
    def _json(cls, value):
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def dialog_ttl(self) -> timedelta:
        return timedelta(hours=self.dialog_ttl_hours)


class TurnLimiter(Protocol):
    def allow(self, user_key: str) -> bool: ...


class TurnLineWriter(Protocol):
    """Writes the one "turn handled" log line (the edge decides its format)."""

    def __call__(self, log: logging.LoggerAdapter, message: str, fields: dict) -> None: ...


class ChartLink(Protocol):
    """The public URL of a member's usage chart (the edge knows its route and host)."""

    def __call__(self, member_id: int) -> str: ...


@dataclass
class Services:
    """Long-lived collaborators, injected so tests control them."""

    db: Database
    clock: Clock
    cipher: FieldCipher
    settings: BotSettings = field(default_factory=BotSettings)
    push: PushSettings = field(default_factory=PushSettings)
    event_api: EventApiSettings = field(default_factory=EventApiSettings)
    rate_limiter: TurnLimiter | None = None  # per-user turn limit; None: off
    turn_line: TurnLineWriter | None = None  # None: a plain log line
    chart_link: ChartLink | None = None  # None: charts are off (no keys)


class DialogControl:
    """Read and change the user's dialog state inside the turn's transaction.

    The state is a plain record, read with one driver query (before the turn's transaction
    opens, and checked again when it does) and written back once at the end of the turn only
    if something changed (most turns write nothing)."""

    def __init__(self, ctx: Ctx, row: StateRecord) -> None:
        self._ctx = ctx
        self.row = row

    @property
    def name(self) -> str | None:
        return self.row.dialog

    @property
    def step(self) -> str | None:
        return self.row.step

    @property
    def slots(self) -> dict:
        return self.row.slots or {}

    @property
    def failures(self) -> int:
        return self.row.failures

    @property
    def lang(self) -> str | None:
        """The language the user chose for the chat (None: the default)."""
        return self.row.lang

    def set_lang(self, lang: str | None) -> None:
        """Keep the user's language choice (it outlives dialogs: `end` leaves it)."""
        if lang != self.row.lang:
            self.row.lang = lang
            self.row.updated_at = utcnow_naive(self._ctx.services.clock)
            self.row.dirty = True

    @property
    def active(self) -> bool:
        return self.row.dialog is not None

    def _touch(self) -> None:
        now = utcnow_naive(self._ctx.services.clock)
        self.row.updated_at = now
        self.row.expires_at = now + self._ctx.services.settings.dialog_ttl
        self.row.dirty = True

    def keep(self) -> None:
        """Keep the dialog as it is for another full time to live ("잠깐만요": they went to look)."""
        self._touch()

    def begin(self, dialog: str, step: str, slots: dict | None = None) -> None:
        self.row.dialog, self.row.step = dialog, step
        self.row.slots = dict(slots or {})
        self.row.failures = 0
        self._touch()

    def goto(self, step: str, **slots) -> None:
        self.row.step = step
        if slots:
            self.update(**slots)
        self.row.failures = 0
        self._touch()

    def update(self, **slots) -> None:
        merged = dict(self.row.slots or {})
        merged.update(slots)
        self.row.slots = merged
        self._touch()

    def fail(self) -> int:
        """Count one unusable answer at the current step; returns the count."""
        self.row.failures = (self.row.failures or 0) + 1
        self._touch()
        return self.row.failures

    def end(self) -> None:
        self.row.dialog = self.row.step = None
        self.row.slots = {}
        self.row.failures = 0
        self._touch()
        self.row.expires_at = None


@dataclass
class Ctx:
    turn: Any  # bot.kakao.payload.Turn
    tx: LazyTransaction  # the turn's one transaction, opened on first use of `conn`
    services: Services
    request_id: str
    log: logging.LoggerAdapter
    dialog: DialogControl = None  # type: ignore[assignment]
    outcome: str = "ok"  # for metrics: ok | error | refused | unmatched | completed | cancelled
    # (member id, is_friend, blocked_at, status) of the member with this botUserKey, read with the
    # dialog state at the start of the turn; () when there is none, None when not read
    member_reach: tuple | None = None
    intent: str | None = None  # what understanding made of typed text (for the turn line)
    store: DialogStore | None = None  # the dialog-state store the turn reads and writes through
    # Run after the turn's transaction committed (never for an attempt that is run again).
    after_commit: list = field(default_factory=list)
    _session: Session | None = field(default=None, repr=False)

    @property
    def conn(self) -> Connection:
        """The turn's Core connection in its one transaction (opened on first use)."""
        return self.tx.conn

    @property
    def session(self) -> Session:
        """An ORM session inside the turn's transaction, made on first use (most turns never
        need one). It never commits on its own: the turn commits once at the end."""
        if self._session is None:
            # Joins the open transaction ("rollback_only"): a handler's commit() never ends it.
            self._session = Session(bind=self.conn, expire_on_commit=False)
        return self._session

    def finish_session(self) -> None:
        if self._session is not None:
            self._session.flush()
            self._session.close()
            self._session = None

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def settings(self) -> BotSettings:
        return self.services.settings

    @property
    def cipher(self) -> FieldCipher:
        return self.services.cipher
