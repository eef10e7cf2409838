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
