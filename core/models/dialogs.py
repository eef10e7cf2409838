"""Conversation state per botUserKey: which dialog, which step, the answers so far."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class DialogState(Base):
    __tablename__ = "dialog_states"

    user_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    dialog: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(48))
    slots: Mapped[dict] = mapped_column(JSON, default=dict)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # The language the user chose for the chat ("en"); NULL: the default (Korean).
    lang: Mapped[str | None] = mapped_column(String(8))


class MissStreak(Base):
    """Not-understood turns in a row of a user while no dialog runs (bot.handoff): kept apart
    from the dialog state so that counting one costs a single autocommit write after the turn,
    never the dialog state's versioned write. `asked`: the recent questions, masked (4+ digit
    runs as ****), one per line. Deleted by the next other turn; rows left behind are purged."""

    __tablename__ = "miss_streaks"

    user_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    turns: Mapped[int] = mapped_column(Integer)  # not-understood turns in a row
    asked: Mapped[str] = mapped_column(String(400), default="")
    at: Mapped[datetime] = mapped_column(DateTime)

    # One b-tree page per write on SQLite (no rowid table beside the key, no index on `at`:
    # the table holds only streaks still running, so the daily purge scans it whole).
    __table_args__ = {"sqlite_with_rowid": False}
