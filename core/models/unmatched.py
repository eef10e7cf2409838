"""Questions the bot did not understand, or only as a close call, queued for operators
(core.unmatched). Digits runs are masked before a row is written and nothing typed at a
personal-data step is ever stored; rows are purged after UNMATCHED_RETENTION_DAYS."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class UnmatchedQuestion(Base):
    __tablename__ = "unmatched_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    text: Mapped[str] = mapped_column(String(300))  # as typed, 4+ digit runs masked
    normalised: Mapped[str] = mapped_column(String(300))  # the grouping key
    outcome: Mapped[str] = mapped_column(String(8))  # "none" | "close"
    guesses: Mapped[str] = mapped_column(String(200), default="")  # "intent 0.42, intent 0.31"
    # The member's 시군구 when a member asked (operators see their own); None for everyone else.
    local_government_code: Mapped[str | None] = mapped_column(ForeignKey("local_governments.code"))

    __table_args__ = (
        Index("ix_unmatched_questions_created_at", "created_at"),
        Index("ix_unmatched_questions_normalised", "normalised"),
    )
