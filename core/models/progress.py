"""Prepared progress (core.progress): one row per member with the figures of the balance card
and the monthly notice, made in bulk when readings are imported or monthly results run."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class PreparedProgress(Base):
    __tablename__ = "prepared_progress"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    half: Mapped[str] = mapped_column(String(8))            # 2026H2
    through_month: Mapped[int] = mapped_column(Integer)     # yyyymm the view was made for
    signature: Mapped[str] = mapped_column(String(32))      # core.progress.signature
    view: Mapped[dict] = mapped_column(JSON, default=dict)  # current_half_view + projection + comparison
    prepared_at: Mapped[datetime] = mapped_column(DateTime)
